"""Early stopping on and off inside the search: seconds, CV and test scores."""
from __future__ import annotations

from pathlib import Path

from benchmarks.common import cli, row, summary


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
