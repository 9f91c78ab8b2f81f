"""Benchmark harness: every figure is a ratio of two things measured side by side in one run.

    python benchmarks/run.py                 # all sections but fused_gpu (about 13 minutes on 2 cores)
    python benchmarks/run.py --only per_fit startup

Prints a table and appends JSON lines to benchmarks/results/<date>.jsonl. The targets are
those of the performance issue; the harness reports them, it never asserts timings in tests.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
RESULTS = ROOT / "benchmarks" / "results"


def pima_like(path: Path) -> Path:
    """The column's data shape: 768 rows, 8 numeric columns, a binary Outcome (synthetic)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    m = 768
    X = np.column_stack([rng.poisson(3.8, m), rng.normal(120, 32, m).clip(0), rng.normal(69, 19, m).clip(0),
                         rng.normal(20, 16, m).clip(0), rng.gamma(1, 80, m), rng.normal(32, 8, m).clip(0),
                         rng.gamma(2, 0.24, m), rng.integers(21, 81, m)])  # fmt: skip
    logit = -8.4 + 0.12 * X[:, 0] + 0.035 * X[:, 1] + 0.09 * X[:, 5] + 0.9 * X[:, 6] + 0.015 * X[:, 7]
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["Outcome"] = (rng.random(m) < 1 / (1 + np.exp(-logit))).astype(int)
    frame.to_csv(path, index=False)
    return path


# --- per fit: this project's estimator vs the column's plain scikeras + TensorFlow ----------

PER_FIT = r'''
import os, sys, time, json
mode, path, fits = sys.argv[1], sys.argv[2], int(sys.argv[3])
import pandas as pd
frame = pd.read_csv(path); X, y = frame.drop(columns="Outcome").iloc[:614], frame["Outcome"].iloc[:614]
if mode == "column":
    os.environ["KERAS_BACKEND"] = "tensorflow"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    from scikeras.wrappers import KerasClassifier
    def create_model():
        model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(16, activation="relu"), keras.layers.Dropout(0.2),
            keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
        return model
    make = lambda: KerasClassifier(model=create_model, epochs=100, batch_size=32, verbose=0)
else:
    from pipeline.engines.execution import select_backend
    select_backend("jax", "~/.cache/staged-keras-search/xla")
    from pipeline.config.schema import EarlyStoppingSpec, ModelSpec
    from pipeline.engines.estimators import make_estimator
    from pipeline.records import Dataset
    data = Dataset("pima", X, y, "binary")
    params = {"model__depth": 3, "model__neurons": 16, "model__dropout": 0.2}
    model = ModelSpec(epochs=100, batch_size=32, early_stopping=EarlyStoppingSpec(enabled=False))
    make = lambda: make_estimator(data, params, model, seed=0)
times = []
for _ in range(fits):
    est = make(); t = time.perf_counter(); est.fit(X, y); times.append(time.perf_counter() - t)
print(json.dumps(times))
'''


def per_fit(data: Path) -> list[dict]:
    out = {}
    for mode in ("column", "project"):
        proc = subprocess.run([PY, "-c", PER_FIT, mode, str(data), "4"], capture_output=True, text=True, cwd=ROOT)
        times = json.loads(proc.stdout.strip().splitlines()[-1])
        out[mode] = {"first": times[0], "steady": statistics.median(times[1:])}
    return [
        row("per_fit", "per fit, steady (project / column TF)", out["project"]["steady"], out["column"]["steady"], "s",
            target="≤ 0.35"),
        row("per_fit", "per fit, first in a process (project / column TF)", out["project"]["first"],
            out["column"]["first"], "s"),
    ]  # fmt: skip


# --- runs through the real CLI ------------------------------------------------------------


def project_env() -> dict[str, str]:
    """This checkout first on the path (and whatever the caller had there, e.g. carried wheels)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}


def cli(*args: str, cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([PY, "-m", "pipeline", *args], cwd=cwd, env=project_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"pipeline {' '.join(args)} failed: {proc.stderr.strip()[-500:]}")
    return time.perf_counter() - started


def summary(folder: Path):
    import pandas as pd

    return pd.read_csv(folder / "summary.csv"), json.loads((folder / "test_score.json").read_text())["value"]


SPACE = [  # four stages of three values: 81 joint candidates
    "order.stages=[optimizer,activation,neurons,depth]",
    "stages.optimizer.grid.optimizer=[sgd,adam,rmsprop]",
    "stages.activation.grid.model__activation=[relu,tanh,elu]",
    "stages.neurons.grid.model__neurons=[8,16,32]",
    "stages.depth.grid.model__depth=[1,2,3]",
    "model.epochs=20",
]


def strategies(work: Path, seeds=(0, 1, 2)) -> list[dict]:
    import numpy as np

    rows, found = [], {}
    for seed in seeds:
        for strategy in ("staged", "exhaustive", "random"):
            folder = work / f"{strategy}-{seed}"
            seconds = cli(*SPACE, f"search.strategy={strategy}", f"search.seed={seed}", "store.mode=off",
                          f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
            table, test = summary(folder)
            last = table.iloc[-1]
            found[(strategy, seed)] = dict(fits=int(table["fits"].sum()), seconds=seconds, cv=float(last["mean_score"]),
                                           std=float(last["std_score"]), test=test)  # fmt: skip
    for strategy in ("staged", "random"):
        fits = np.mean([found[(strategy, s)]["fits"] / found[("exhaustive", s)]["fits"] for s in seeds])
        secs = np.mean([found[(strategy, s)]["seconds"] / found[("exhaustive", s)]["seconds"] for s in seeds])
        within = sum(found[(strategy, s)]["cv"] >= found[("exhaustive", s)]["cv"] - found[("exhaustive", s)]["std"] / np.sqrt(3)
                     for s in seeds)  # fmt: skip
        rows.append(row("strategies", f"{strategy} / exhaustive fits (81-candidate space, {len(seeds)} seeds)", fits, 1, "ratio",
                        target="≤ 0.15" if strategy == "staged" else ""))  # fmt: skip
        rows.append(row("strategies", f"{strategy} / exhaustive seconds", secs, 1, "ratio"))
        rows.append(row("strategies", f"{strategy}: best CV within 1 SE of exhaustive, seeds", within, len(seeds), "count",
                        target="all" if strategy == "staged" else ""))  # fmt: skip
    for (strategy, seed), v in sorted(found.items()):
        rows.append(row("strategies", f"{strategy} seed {seed}: cv {v['cv']:.4f} ± {v['std']:.4f}, test {v['test']:.4f}, "
                        f"{v['fits']} fits", v["seconds"], 1, "s"))  # fmt: skip
    return rows


def n_jobs(work: Path) -> list[dict]:
    """The same stage with 1 and 2 jobs; a first one-candidate stage starts the workers (as in a real run)."""
    args = ["order.stages=[depth,neurons]", "stages.depth.grid.model__depth=[2]",
            "stages.neurons.grid.model__neurons=[8,16,32,64]", "search.cv=4", "model.epochs=40",
            "model.early_stopping.enabled=false", "store.mode=off"]  # fmt: skip
    seconds, first = {}, {}
    for jobs in (1, 2):
        cli(*args, f"search.n_jobs={jobs}", f"hydra.run.dir={work / f'warm-{jobs}'}", cwd=work)  # fills compile caches
        cli(*args, f"search.n_jobs={jobs}", f"hydra.run.dir={work / f'jobs-{jobs}'}", cwd=work)
        table = summary(work / f"jobs-{jobs}")[0]
        first[jobs], seconds[jobs] = float(table["seconds"].iloc[0]), float(table["seconds"].iloc[1])
    return [row("n_jobs", "stage seconds, n_jobs=1 / n_jobs=2 (16 fits, workers running)", seconds[1], seconds[2], "s",
                target="≥ 1.6"),
            row("n_jobs", "first stage (4 fits) incl. starting the workers, n_jobs=1 / n_jobs=2", first[1], first[2], "s")]  # fmt: skip


def warm_rerun(work: Path) -> list[dict]:
    cold = cli(f"hydra.run.dir={work / 'cold'}", cwd=work)
    warm = cli(f"hydra.run.dir={work / 'warm'}", cwd=work)
    fits = int(summary(work / "warm")[0].query("not reused")["fits"].sum())
    return [row("warm_rerun", "default command: warm rerun / cold run (wall clock)", warm, cold, "s", target="≤ 0.10"),
            row("warm_rerun", "fits performed by the warm rerun", fits, 1, "count", target="0")]  # fmt: skip


def early_stopping(work: Path) -> list[dict]:
    args = ["order.stages=[neurons]", "model.epochs=150", "store.mode=off"]
    out = {}
    for enabled in ("true", "false"):
        folder = work / f"es-{enabled}"
        cli(*args, f"model.early_stopping.enabled={enabled}", f"hydra.run.dir={folder}", cwd=work)
        table, test = summary(folder)
        out[enabled] = (float(table["seconds"].sum()), float(table["mean_score"].iloc[-1]), test)
    return [row("early_stopping", "stage seconds, early stopping on / off (150 epochs)", out["true"][0], out["false"][0], "s"),
            row("early_stopping", f"best CV on {out['true'][1]:.4f} vs off {out['false'][1]:.4f}",
                out["true"][1], out["false"][1], "ratio"),
            row("early_stopping", f"test on {out['true'][2]:.4f} vs off {out['false'][2]:.4f}", out["true"][2], out["false"][2],
                "ratio")]  # fmt: skip


FUSED_STAGE = [  # the column's model (Pima-like data, 8 -> 16 -> 16 -> 16 -> 1, dropout 0.2, 100 epochs, batch 32)
    "dataset=file", "dataset.target=Outcome", "order.stages=[lr_momentum]", "model.params.optimizer=sgd",
    "model.params.model__depth=3", "model.params.model__neurons=16", "model.params.model__dropout=0.2",
    "stages.lr_momentum.grid.optimizer__learning_rate=[0.001,0.01,0.05,0.1,0.2]",
    "stages.lr_momentum.grid.optimizer__momentum=[0.0,0.2,0.4,0.6,0.9]",  # 25 candidates
    "search.cv=5", "model.epochs=100", "model.batch_size=32", "model.early_stopping.enabled=false", "store.mode=off",
]  # fmt: skip


def fused_stage(work: Path, engine: str, name: str, cache: Path) -> dict:
    """One 25-candidate x 5-fold stage through the CLI: its seconds, winner, best CV and mean fit time."""
    folder = work / name
    cli(*FUSED_STAGE, f"dataset.path={work / 'pima_like.csv'}", f"search.engine={engine}",
        f"execution.compile_cache={cache}", f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
    table = summary(folder)[0].iloc[0]
    import pandas as pd

    results = pd.read_csv(folder / "cv_results" / "01_lr_momentum.csv")
    return {"seconds": float(table["seconds"]), "winner": table["winner"], "cv": float(table["mean_score"]),
            "fit": float(results["mean_fit_time"].mean())}  # fmt: skip


def fused(work: Path) -> list[dict]:
    """The fused engine against GridSearchCV on the same stage; cold = an empty compile cache."""
    cold = fused_stage(work, "fused", "fused-cold", work / "xla-fused")
    runs = [fused_stage(work, "fused", f"fused-warm-{i}", work / "xla-fused") for i in range(3)]
    warm = sorted(runs, key=lambda r: r["seconds"])[1]  # the median of three
    grid = fused_stage(work, "gridsearchcv", "grid", work / "xla-grid")
    return [row("fused", "25x5 stage seconds: gridsearchcv / fused (compile cache filled)", grid["seconds"], warm["seconds"],
                "s", target="≥ 30"),
            row("fused", "25x5 stage seconds: gridsearchcv / fused (empty compile cache)", grid["seconds"], cold["seconds"], "s"),
            row("fused", "fused stage (cache filled) / one GridSearchCV fit (mean_fit_time)", warm["seconds"], grid["fit"], "s",
                target="≤ 3"),
            row("fused", f"best CV: fused {warm['cv']:.4f} ({warm['winner']}) vs gridsearchcv {grid['cv']:.4f} "
                f"({grid['winner']})", warm["cv"], grid["cv"], "ratio")]  # fmt: skip


IN_PROCESS = r'''
import json, sys, time
from pipeline import data, engines
from pipeline.config.schema import DatasetSpec, EarlyStoppingSpec, ModelSpec, RunSpec, SearchSpec
from pipeline.records import Problem, Stage
from pipeline.stage import run_stage
from pipeline.strategies.grid import FullGrid
spec = RunSpec(search=SearchSpec(cv=5, engine="fused"), model=ModelSpec(epochs=100, batch_size=32,
               early_stopping=EarlyStoppingSpec(enabled=False)))
spec.execution.compile_cache = sys.argv[2]
train, _ = data.split(data.load_dataset(DatasetSpec("file", sys.argv[1], "Outcome")), 0.2, 0)
problem = Problem(train, "accuracy", 5, 0)
base = {"optimizer": "sgd", "model__depth": 3, "model__neurons": 16, "model__dropout": 0.2}
momentum = [0.0, 0.2, 0.4, 0.6, 0.9]
grids = {"25x5": {"optimizer__learning_rate": [0.001, 0.01, 0.05, 0.1, 0.2], "optimizer__momentum": momentum},
         "100x5": {"optimizer__learning_rate": [round(0.001 * 1.35**i, 6) for i in range(20)], "optimizer__momentum": momentum}}
with engines.create(spec, print) as engine:
    import jax
    out = {"device": f"{jax.devices()[0].platform}: {jax.devices()[0].device_kind}", "devices": len(jax.devices())}
    evaluate = lambda s, c, b: engine.evaluate(problem, s, c, b)
    for name, grid in grids.items():
        times = [run_stage(Stage("s", grid), FullGrid(), base, {}, evaluate, cv=5).seconds for _ in range(3)]
        out[name] = {"first": times[0], "steady": min(times[1:])}
print(json.dumps(out))
'''


def fused_gpu(work: Path) -> list[dict]:
    """The fused engine where JAX sees a GPU (benchmarks/gpu_check.sh): the stage through the CLI with an
    empty compile cache, then in one process: its first stage (device start-up) and later ones."""
    cold = fused_stage(work, "fused", "device-cold", work / "xla-device")
    proc = subprocess.run([PY, "-c", IN_PROCESS, str(work / "pima_like.csv"), str(work / "xla-device")], capture_output=True,
                          text=True, cwd=ROOT, env=project_env())  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    where = f"{got['device']} ({got['devices']} device{'s' if got['devices'] > 1 else ''})"
    rows = [row("fused_gpu", f"{where}: 25x5 stage via the CLI, empty compile cache", cold["seconds"], 1, "s")]
    for grid in ("25x5", "100x5"):
        rows += [row("fused_gpu", f"{where}: {grid} stage, first in a process (cache filled)", got[grid]["first"], 1, "s"),
                 row("fused_gpu", f"{where}: {grid} stage, later in the process", got[grid]["steady"], 1, "s")]  # fmt: skip
    return rows


COLUMN_WIDTHS, COLUMN_OPTIMIZERS = [4, 8, 16, 24, 32], ["sgd", "rmsprop", "adagrad", "adam", "nadam"]
COLUMN_WAY = r'''
import json, os, sys, time
started = time.perf_counter()
os.environ["KERAS_BACKEND"] = "tensorflow"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, pandas as pd
from scikeras.wrappers import KerasClassifier
from sklearn.model_selection import GridSearchCV
frame = pd.read_csv(sys.argv[1]); X, y = frame.drop(columns="Outcome").iloc[:614], frame["Outcome"].iloc[:614]
def create_model(neurons):
    layers = [keras.Input((8,))]
    for _ in range(3):
        layers += [keras.layers.Dense(neurons, activation="relu"), keras.layers.Dropout(0.2)]
    return keras.Sequential(layers + [keras.layers.Dense(1, activation="sigmoid")])
model = KerasClassifier(model=create_model, loss="binary_crossentropy", epochs=100, batch_size=32, verbose=0)
grid = GridSearchCV(model, {"model__neurons": json.loads(sys.argv[2]), "optimizer": json.loads(sys.argv[3])}, cv=5, n_jobs=-1)
grid.fit(X, y)
print(json.dumps({"seconds": time.perf_counter() - started, "best": grid.best_score_, "params": grid.best_params_}))
'''


def column_args(data: Path) -> list[str]:
    """The column's grid as this project's command: one exhaustive stage of 5 optimizers x 5 widths."""
    return ["dataset=file", f"dataset.path={data}", "dataset.target=Outcome", "search.strategy=exhaustive",
            "order.stages=[optimizer,neurons]", f"stages.optimizer.grid.optimizer=[{','.join(COLUMN_OPTIMIZERS)}]",
            f"stages.neurons.grid.model__neurons=[{','.join(map(str, COLUMN_WIDTHS))}]", "model.params.model__depth=3",
            "model.params.model__dropout=0.2", "model.epochs=100", "model.batch_size=32", "search.cv=5",
            "model.early_stopping.enabled=false", "store.mode=off"]  # fmt: skip


def column_grid(work: Path) -> list[dict]:
    """The column's own grid (5 widths x 5 optimizers, cv=5, 100 epochs, batch 32, 3 hidden layers with dropout):
    the column's way (scikeras + TensorFlow GridSearchCV, 125 fits on every core) against one command of
    this project with the fused engine and an empty compile cache, both whole commands, imports included."""
    data = work / "pima_like.csv"
    proc = subprocess.run([PY, "-c", COLUMN_WAY, str(data), json.dumps(COLUMN_WIDTHS), json.dumps(COLUMN_OPTIMIZERS)],
                          capture_output=True, text=True, cwd=ROOT)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    theirs = json.loads(proc.stdout.strip().splitlines()[-1])
    folder = work / "column-fused"
    ours = cli(*column_args(data), "search.engine=fused", f"execution.compile_cache={work / 'xla-column'}",
               f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
    table = summary(folder)[0].iloc[0]
    return [row("column_grid", "the column's grid, whole command: fused (empty compile cache) / scikeras + TensorFlow",
                ours, theirs["seconds"], "s", target="≤ 0.016"),
            row("column_grid", f"fused stage seconds (in the {ours:.1f} s command)", float(table["seconds"]), 1, "s"),
            row("column_grid", f"best CV: fused {float(table['mean_score']):.4f} ({table['winner']}) vs the column's "
                f"{theirs['best']:.4f} ({theirs['params']})", float(table["mean_score"]), theirs["best"], "ratio")]  # fmt: skip


def default_command(work: Path) -> list[dict]:
    """The default command, fused against GridSearchCV: empty compile caches (a new machine, dataset or model),
    then filled ones (the median of three), whole commands."""
    def run(engine: str, name: str, cache: str) -> float:
        return cli(f"search.engine={engine}", "store.mode=off", f"execution.compile_cache={work / cache}",
                   f"hydra.run.dir={work / name}", cwd=work)  # fmt: skip

    cold = {engine: run(engine, f"default-{engine}-cold", f"xla-default-{engine}") for engine in ("gridsearchcv", "fused")}
    warm = {engine: statistics.median(run(engine, f"default-{engine}-warm-{i}", f"xla-default-{engine}") for i in range(3))
            for engine in ("gridsearchcv", "fused")}  # fmt: skip
    programs = (work / "default-fused-cold" / "pipeline.log").read_text().count("compiled a program for")
    return [row("default_command", f"default command, empty compile caches: fused / gridsearchcv ({programs} fused "
                "programs compiled)", cold["fused"], cold["gridsearchcv"], "s", target="≤ 0.25"),
            row("default_command", "default command, compile caches filled: fused / gridsearchcv (median of 3)",
                warm["fused"], warm["gridsearchcv"], "s"),
            row("default_command", "default command, compile caches filled: fused wall seconds (median of 3)",
                warm["fused"], 1, "s", target="≤ 8 s")]  # fmt: skip


def reuse(work: Path) -> list[dict]:
    """Fits trained with candidate reuse against fits trained with the stage store alone (what ran before),
    for the default command and experiment=orderings; and the same winners and scores as a run that reuses nothing."""
    import pandas as pd

    def fits(folders) -> tuple[int, int]:
        tables = [summary(f)[0] for f in folders]
        before = sum(int(t.loc[~t["reused"], "fits"].sum()) for t in tables)  # the stage store alone
        now = sum(int((t.loc[~t["reused"], "fits"] - t.loc[~t["reused"], "fits_reused"]).sum()) for t in tables)
        return now, before

    cli("search.select=best", "store.dir=default-store", f"hydra.run.dir={work / 'reuse-default'}", cwd=work)
    cli("search.select=best", "store.mode=off", f"hydra.run.dir={work / 'reuse-off'}", cwd=work)
    same = pd.read_csv(work / "reuse-default" / "summary.csv")[["winner", "mean_score"]].equals(
        pd.read_csv(work / "reuse-off" / "summary.csv")[["winner", "mean_score"]])
    cli("-m", "experiment=orderings", "search.select=best", "search.engine=fused", "store.dir=orderings-store",
        f"hydra.sweep.dir={work / 'reuse-orderings'}", cwd=work)  # fmt: skip
    sweep = sorted(p for p in (work / "reuse-orderings").iterdir() if (p / "summary.csv").is_file())
    now, before = fits([work / "reuse-default"])
    now_o, before_o = fits(sweep)
    return [row("reuse", f"default command: fits trained / without candidate reuse (winners and scores "
                f"{'identical' if same else 'DIFFERENT'})", now, before, "fits", target="≤ 0.8"),
            row("reuse", f"experiment=orderings ({len(sweep)} runs, fused): fits trained / with the stage store alone",
                now_o, before_o, "fits", target="≤ 0.7")]  # fmt: skip


SELECTION_DATASETS = ("breast_cancer", "wine", "iris", "pima_like")


def selection(work: Path) -> list[dict]:
    """Held-out test scores of select=best, one_se and incumbent: 4 datasets x 5 seeds, the default order, fused."""
    import numpy as np

    scores: dict[tuple[str, str], list[float]] = {}
    for dataset in SELECTION_DATASETS:
        data = ["dataset=file", f"dataset.path={work / 'pima_like.csv'}", "dataset.target=Outcome"] \
            if dataset == "pima_like" else [f"dataset={dataset}"]  # fmt: skip
        for rule in ("best", "one_se", "incumbent"):
            sweep = work / f"select-{dataset}-{rule}"
            cli("-m", *data, f"search.select={rule}", "search.seed=0,1,2,3,4", "search.engine=fused",
                "store.dir=selection-store", f"hydra.sweep.dir={sweep}", cwd=work)  # fmt: skip
            scores[(dataset, rule)] = [summary(p)[1] for p in sorted(sweep.iterdir()) if (p / "summary.csv").is_file()]
    rows = []
    for dataset in SELECTION_DATASETS:
        best = np.mean(scores[(dataset, "best")])
        for rule in ("one_se", "incumbent"):
            mean, spread = np.mean(scores[(dataset, rule)]), np.std(scores[(dataset, rule)])
            rows.append(row("selection", f"{dataset}: test score {rule} {mean:.4f} ± {spread:.4f} vs best {best:.4f} "
                            f"± {np.std(scores[(dataset, 'best')]):.4f} (5 seeds)", mean, best, "ratio"))  # fmt: skip
    for rule in ("best", "one_se", "incumbent"):
        overall = np.mean([s for d in SELECTION_DATASETS for s in scores[(d, rule)]])
        rows.append(row("selection", f"all datasets x seeds: mean test score, select={rule}", overall, 1, "score"))
    return rows


def racing(work: Path) -> list[dict]:
    """search.racing=halving against the same command without it. Both engines: model-epochs and wall seconds
    on the column's grid and the default order. Fused, 3 datasets x 3 seeds: how often each raced stage's winner
    is the full stage's (or within one standard error of its best, in the full stage's table), test scores."""
    import numpy as np
    import pandas as pd

    def pair(name: str, args: list[str]) -> dict:
        out = {}
        for racing in ("none", "halving"):
            folder = work / f"racing-{name}-{racing}"
            seconds = cli(*args, f"search.racing={racing}", f"hydra.run.dir={folder}", cwd=work)
            out[racing] = (folder, seconds, summary(folder)[0], summary(folder)[1])
        return out

    def agreement(runs: dict) -> tuple[int, int, int]:
        (full_dir, _, full, _), (_, _, raced, _) = runs["none"], runs["halving"]
        same = within = 0
        for k, (winner, full_winner) in enumerate(zip(raced["winner"], full["winner"])):
            table = pd.read_csv(next((full_dir / "cv_results").glob(f"{k + 1:02d}_*.csv")))
            best = table.loc[table["mean_test_score"].idxmax()]
            folds = len([c for c in table.columns if c.startswith("split") and c.endswith("_test_score")])
            mine = table.loc[table["params"] == winner, "mean_test_score"]
            same += winner == full_winner
            within += winner == full_winner or (len(mine) > 0 and float(mine.iloc[0]) >= best["mean_test_score"]
                                                - best["std_test_score"] / folds**0.5)  # fmt: skip
        return same, within, len(raced)

    rows = []
    cases = {"the column's grid (exhaustive, 25 x 5 folds, 100 epochs)": column_args(work / "pima_like.csv"),
             "the default order": ["store.mode=off"]}  # fmt: skip
    for engine in ("fused", "gridsearchcv"):
        for i, (name, args) in enumerate(cases.items()):
            runs = pair(f"{engine}-{i}", [*args, f"search.engine={engine}"])
            same, within, stages = agreement(runs)
            epochs = {r: int(runs[r][2]["model_epochs"].sum()) for r in runs}
            rows.append(row("racing", f"{engine}, {name}: model-epochs raced / full ({epochs['halving']} / "
                            f"{epochs['none']}); winners {same} of {stages} stages the same, {within} the same or "
                            f"within 1 SE; held-out test {runs['halving'][3]:.4f} vs {runs['none'][3]:.4f}",
                            epochs["halving"], epochs["none"], "model-epochs", target="≤ 0.333"))  # fmt: skip
            rows.append(row("racing", f"{engine}, {name}: wall seconds raced / full", runs["halving"][1],
                            runs["none"][1], "s"))  # fmt: skip
    counts, tests = np.zeros(3, int), {"none": [], "halving": []}
    for dataset in ("breast_cancer", "wine", "iris"):
        for seed in (0, 1, 2):
            runs = pair(f"{dataset}-{seed}", [f"dataset={dataset}", f"search.seed={seed}", "search.engine=fused",
                                              "store.mode=off"])  # fmt: skip
            counts += agreement(runs)
            for r in runs:
                tests[r].append(runs[r][3])
    same, within, stages = counts
    rows.append(row("racing", f"fused, default order, 3 datasets x 3 seeds: raced winners the same as the full "
                    f"stage's in {same} of {stages} stages, the same or within 1 SE in {within}; held-out test "
                    f"{np.mean(tests['halving']):.4f} vs {np.mean(tests['none']):.4f}", within, stages, "stages",
                    target="≥ 0.8"))  # fmt: skip
    return rows


ORDERINGS = ("default", "architecture_first", "width_first", "regularization_first")


def nuisance(work: Path) -> list[dict]:
    """nuisance=learning_rate, fused: the spread of the held-out score across 4 orderings (3 seeds, 2 datasets) with
    and without it; staged-with-nuisance against the exhaustive grid of the same space; the cost in wall seconds."""
    import numpy as np

    rows = []
    for dataset in ("breast_cancer", "wine"):
        spread = {}
        for setting in ("none", "learning_rate"):
            means = []
            for order in ORDERINGS:
                tests = []
                for seed in (0, 1, 2):
                    folder = work / f"nuisance-{dataset}-{setting}-{order}-{seed}"
                    cli(f"dataset={dataset}", f"order={order}", f"nuisance={setting}", f"search.seed={seed}",
                        "search.engine=fused", "store.dir=nuisance-store", f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
                    tests.append(summary(folder)[1])
                means.append(np.mean(tests))
            spread[setting] = max(means) - min(means)
            rows.append(row("nuisance", f"{dataset}, nuisance={setting}: mean held-out test per ordering "
                            f"({', '.join(f'{o} {m:.4f}' for o, m in zip(ORDERINGS, means))})", spread[setting], 1,
                            "spread"))  # fmt: skip
        rows.append(row("nuisance", f"{dataset}: spread across orderings with / without re-tuning", spread["learning_rate"],
                        spread["none"], "ratio", target="≤ 0.5"))  # fmt: skip
    lr = ["+search.nuisance.optimizer__learning_rate.values=[0.0003,0.001,0.003]", "search.engine=fused", "store.mode=off"]
    within, ratios = 0, []
    for seed in (0, 1, 2):
        found = {}
        for strategy in ("staged", "exhaustive"):
            folder = work / f"nuisance-{strategy}-{seed}"
            cli(*SPACE, *lr, f"search.strategy={strategy}", f"search.seed={seed}", f"hydra.run.dir={folder}", cwd=work)
            table = summary(folder)[0]
            found[strategy] = (float(table["mean_score"].iloc[-1]), float(table["std_score"].iloc[-1]),
                               int(table["fits"].sum()))  # fmt: skip
        (staged, _, staged_fits), (best, std, fits) = found["staged"], found["exhaustive"]
        within += staged >= best - std / np.sqrt(3)
        ratios.append(staged_fits / fits)
        rows.append(row("nuisance", f"seed {seed}: staged with nuisance best CV {staged:.4f} ({staged_fits} fits) vs "
                        f"exhaustive {best:.4f} ± {std:.4f} ({fits} fits)", staged, best, "ratio"))  # fmt: skip
    rows.append(row("nuisance", "staged with nuisance: best CV within 1 SE of exhaustive's (81 x 3 learning rates), seeds",
                    within, 3, "count", target="all 3"))  # fmt: skip
    rows.append(row("nuisance", "staged with nuisance / exhaustive fits", float(np.mean(ratios)), 1, "ratio", target="≤ 0.2"))
    seconds = {}
    for setting in ("none", "learning_rate"):  # the first run of each fills the compile cache; the second is timed
        for attempt in ("warm-up", "timed"):
            seconds[setting] = cli(f"nuisance={setting}", "search.engine=fused", "store.mode=off",
                                   f"hydra.run.dir={work / f'nuisance-cost-{setting}-{attempt}'}", cwd=work)  # fmt: skip
    rows.append(row("nuisance", "default command, fused, compile cache filled: wall seconds with / without re-tuning",
                    seconds["learning_rate"], seconds["none"], "s", target="≤ 1.5"))  # fmt: skip
    return rows


def startup(work: Path) -> list[dict]:
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([PY, "-m", "pipeline", "--help"], cwd=work, capture_output=True, env=project_env())
        times.append(time.perf_counter() - started)
    probe = ("import runpy, sys; sys.argv = ['pipeline', *sys.argv[1:]]\ntry:\n    runpy.run_module('pipeline', "
             "run_name='__main__')\nexcept SystemExit:\n    pass\nprint('mlflow' in sys.modules)")  # fmt: skip
    tiny = ["dataset=iris", "order.stages=[depth]", "model.epochs=1", "search.cv=2", "store.mode=off"]
    imported = subprocess.run([PY, "-c", probe, *tiny, f"hydra.run.dir={work / 'probe'}"], cwd=work, capture_output=True,
                              text=True, env=project_env()).stdout.strip().splitlines()[-1]  # fmt: skip
    return [row("startup", "python -m pipeline --help (median of 5)", statistics.median(times), 1, "s", target="≤ 1.5 s"),
            row("startup", f"a run with tracking=none imports MLflow: {imported}", imported == "True", 0, "bool",
                target="False")]  # fmt: skip


def row(section: str, what: str, value: float, baseline: float, unit: str, target: str = "") -> dict:
    value, baseline = float(value), float(baseline)
    return {"section": section, "what": what, "value": value, "baseline": baseline,
            "ratio": value / baseline if baseline else float("nan"), "unit": unit, "target": target}  # fmt: skip


SECTIONS = {"per_fit": per_fit, "strategies": strategies, "n_jobs": n_jobs, "warm_rerun": warm_rerun,
            "column_grid": column_grid, "default_command": default_command, "reuse": reuse, "selection": selection,
            "racing": racing, "nuisance": nuisance,
            "early_stopping": early_stopping, "startup": startup, "fused": fused, "fused_gpu": fused_gpu}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(SECTIONS), help="run only these sections")
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S")
    log = RESULTS / f"{stamp}.jsonl"
    machine = {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version(),
               "date": stamp, "command": " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])}  # fmt: skip
    table = Table(title=f"benchmarks ({machine['cpus']} CPUs, {stamp})", title_justify="left")
    for column in ("section", "what", "value", "baseline", "ratio", "target"):
        table.add_column(column, overflow="fold")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = pima_like(work / "pima_like.csv")
        for name in args.only or [s for s in SECTIONS if s != "fused_gpu"]:
            rows = SECTIONS[name](data) if name == "per_fit" else SECTIONS[name](work)
            with log.open("a") as f:
                for r in rows:
                    f.write(json.dumps({**machine, **r}, default=float) + "\n")
                    table.add_row(r["section"], r["what"], f"{r['value']:.3f} {r['unit']}", f"{r['baseline']:.3f}",
                                  f"{r['ratio']:.3f}", r["target"])  # fmt: skip
            Console().print(f"[dim]{name} done[/dim]")
    Console().print(table)
    print(f"results: {log}")


if __name__ == "__main__":
    main()
