"""The fused engine's stages in one process: the first (device start-up) and later ones.

    python benchmarks/scripts/in_process.py DATA.csv COMPILE_CACHE   # prints seconds per grid as JSON
"""
import json
import sys


def main() -> None:
    from pipeline import data, engines
    from pipeline.common.records import Problem, Stage
    from pipeline.config.schema import DatasetSpec, EarlyStoppingSpec, ModelSpec, RunSpec, SearchSpec
    from pipeline.search.stage import run_stage
    from pipeline.search.strategies.grid import FullGrid

    spec = RunSpec(search=SearchSpec(cv=5, engine="fused"),
                   model=ModelSpec(epochs=100, batch_size=32, early_stopping=EarlyStoppingSpec(enabled=False)))
    spec.execution.compile_cache = sys.argv[2]
    train, _ = data.split(data.load_dataset(DatasetSpec("file", sys.argv[1], "Outcome")), 0.2, 0)
    problem = Problem(train, "accuracy", 5, 0)
    base = {"optimizer": "sgd", "model__depth": 3, "model__neurons": 16, "model__dropout": 0.2}
    momentum = [0.0, 0.2, 0.4, 0.6, 0.9]
    grids = {"25x5": {"optimizer__learning_rate": [0.001, 0.01, 0.05, 0.1, 0.2], "optimizer__momentum": momentum},
             "100x5": {"optimizer__learning_rate": [round(0.001 * 1.35**i, 6) for i in range(20)],
                       "optimizer__momentum": momentum}}
    with engines.create(spec, print) as engine:
        import jax

        device = jax.devices()[0]
        out = {"device": f"{device.platform}: {device.device_kind}", "devices": len(jax.devices())}

        def evaluate(stage, candidates, base, budget=None):
            return engine.evaluate(problem, stage, candidates, base, lambda fits: None, budget)

        for name, grid in grids.items():
            times = [run_stage(Stage("s", grid), FullGrid(), base, {}, evaluate, cv=5).seconds for _ in range(3)]
            out[name] = {"first": times[0], "steady": min(times[1:])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
