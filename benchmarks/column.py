"""The column's grid: its way (scikeras + TensorFlow GridSearchCV) against one command of this project."""
from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import cli, row, script, summary

# The column's own grid: nureons = [8, 16, 32, 64, 128] x ['SGD', 'RMSprop', 'Adadelta', 'Adam', 'Nadam'].
COLUMN_WIDTHS, COLUMN_OPTIMIZERS = [8, 16, 32, 64, 128], ["sgd", "rmsprop", "adadelta", "adam", "nadam"]
# The grid this benchmark measured before 2026-12-06 (narrower, Adagrad for Adadelta, dropout 0.2): a second row.
SMALL_WIDTHS, SMALL_OPTIMIZERS = [4, 8, 16, 24, 32], ["sgd", "rmsprop", "adagrad", "adam", "nadam"]


def column_args(data: Path, widths: list[int] = COLUMN_WIDTHS, optimizers: list[str] = COLUMN_OPTIMIZERS,
                dropout: float = 0.0) -> list[str]:  # fmt: skip
    """The column's grid as this project's command: one exhaustive stage of 5 optimizers x 5 widths, three hidden
    layers of the width (the column's third layer has 8 units; ``build_network`` gives every layer the width, so
    this does more arithmetic than the column's network), cv=5, 100 epochs, batch 32, no early stopping."""
    return ["dataset=file", f"dataset.path={data}", "dataset.target=Outcome", "search.strategy=exhaustive",
            "order.stages=[optimizer,neurons]", f"stages.optimizer.grid.optimizer=[{','.join(optimizers)}]",
            f"stages.neurons.grid.model__neurons=[{','.join(map(str, widths))}]", "model.params.model__depth=3",
            f"model.params.model__dropout={dropout}", "model.epochs=100", "model.batch_size=32", "search.cv=5",
            "model.early_stopping.enabled=false", "store.mode=off"]  # fmt: skip


def fused_command(work: Path, name: str, cache: Path, args: list[str]) -> tuple[float, dict]:
    """One whole fused command (imports included): its seconds and its one summary row."""
    folder = work / name
    seconds = cli(*args, "search.engine=fused", f"execution.compile_cache={cache}", f"hydra.run.dir={folder}", cwd=work)
    return seconds, summary(folder)[0].iloc[0].to_dict()


def column_grid(work: Path) -> list[dict]:
    """The column's own grid (widths 8-128 x SGD, RMSprop, Adadelta, Adam, Nadam, cv=5, 100 epochs, batch 32, 3
    hidden layers): the column's way (scikeras + TensorFlow GridSearchCV, 125 fits on every core) against one command
    of this project with the fused engine, cold (an empty compile cache) and warm (median of three), whole commands
    with their imports; then the smaller grid measured before, warm, labelled as such."""
    data = work / "pima_like.csv"
    theirs = script("column_way", str(data), json.dumps(COLUMN_WIDTHS), json.dumps(COLUMN_OPTIMIZERS))
    cache = work / "xla-column"
    cold, table = fused_command(work, "column-cold", cache, column_args(data))
    warm_runs = sorted(fused_command(work, f"column-warm-{i}", cache, column_args(data)) for i in range(3))
    warm, warm_table = warm_runs[1]
    small = column_args(data, SMALL_WIDTHS, SMALL_OPTIMIZERS, dropout=0.2)
    fused_command(work, "small-cold", work / "xla-small", small)
    small_warm = sorted(fused_command(work, f"small-warm-{i}", work / "xla-small", small)[0] for i in range(3))[1]
    return [row("column_grid", "the column's real grid (8-128 x 5 optimizers), whole command: fused, warm compile cache "
                "(median of 3)", warm, 1, "s", target="≤ 25"),
            row("column_grid", "the column's real grid, whole command: fused, empty compile cache", cold, 1, "s",
                target="≤ 35"),
            row("column_grid", "the column's real grid: fused warm / the column's way (scikeras + TensorFlow, "
                "its (n, n, 8) network)", warm, theirs["seconds"], "s"),
            row("column_grid", f"fused stage seconds (in the {warm:.1f} s warm command)", float(warm_table["seconds"]), 1, "s"),
            row("column_grid", f"best CV: fused {float(table['mean_score']):.4f} ({table['winner']}) vs the column's "
                f"{theirs['best']:.4f} ({theirs['params']})", float(table["mean_score"]), theirs["best"], "ratio"),
            row("column_grid", "the smaller grid measured before (4-32 x SGD, RMSprop, Adagrad, Adam, Nadam, dropout "
                "0.2), whole command: fused, warm (median of 3)", small_warm, 1, "s")]  # fmt: skip
