"""The fused engine against GridSearchCV on one 25 x 5 stage of the column's model; and on a GPU."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, script, summary

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


def fused_gpu(work: Path) -> list[dict]:
    """The fused engine where JAX sees a GPU (benchmarks/gpu_check.sh): the stage through the CLI with an
    empty compile cache, then in one process: its first stage (device start-up) and later ones."""
    cold = fused_stage(work, "fused", "device-cold", work / "xla-device")
    got = script("in_process", str(work / "pima_like.csv"), str(work / "xla-device"))
    where = f"{got['device']} ({got['devices']} device{'s' if got['devices'] > 1 else ''})"
    rows = [row("fused_gpu", f"{where}: 25x5 stage via the CLI, empty compile cache", cold["seconds"], 1, "s")]
    for grid in ("25x5", "100x5"):
        rows += [row("fused_gpu", f"{where}: {grid} stage, first in a process (cache filled)", got[grid]["first"], 1, "s"),
                 row("fused_gpu", f"{where}: {grid} stage, later in the process", got[grid]["steady"], 1, "s")]  # fmt: skip
    return rows
