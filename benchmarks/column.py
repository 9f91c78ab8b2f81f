"""The column's grid: its way (scikeras + TensorFlow GridSearchCV) against one command of this project."""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import cli, row, script, summary

COLUMN_WIDTHS, COLUMN_OPTIMIZERS = [4, 8, 16, 24, 32], ["sgd", "rmsprop", "adagrad", "adam", "nadam"]


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
    theirs = script("column_way", str(data), json.dumps(COLUMN_WIDTHS), json.dumps(COLUMN_OPTIMIZERS))
    folder = work / "column-fused"
    ours = cli(*column_args(data), "search.engine=fused", f"execution.compile_cache={work / 'xla-column'}",
               f"hydra.run.dir={folder}", cwd=work)  # fmt: skip
    table = summary(folder)[0].iloc[0]
    return [row("column_grid", "the column's grid, whole command: fused (empty compile cache) / scikeras + TensorFlow",
                ours, theirs["seconds"], "s", target="≤ 0.016"),
            row("column_grid", f"fused stage seconds (in the {ours:.1f} s command)", float(table["seconds"]), 1, "s"),
            row("column_grid", f"best CV: fused {float(table['mean_score']):.4f} ({table['winner']}) vs the column's "
                f"{theirs['best']:.4f} ({theirs['params']})", float(table["mean_score"]), theirs["best"], "ratio")]  # fmt: skip
