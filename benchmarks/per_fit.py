"""Per fit: this project's estimator against the column's plain scikeras + TensorFlow, each in a fresh process."""
from __future__ import annotations

import statistics
from pathlib import Path

from benchmarks.common import row, script


def per_fit(data: Path) -> list[dict]:
    out = {}
    for mode in ("column", "project"):
        times = script("per_fit", mode, str(data), "4")
        out[mode] = {"first": times[0], "steady": statistics.median(times[1:])}
    return [
        row("per_fit", "per fit, steady (project / column TF)", out["project"]["steady"], out["column"]["steady"], "s",
            target="≤ 0.35"),
        row("per_fit", "per fit, first in a process (project / column TF)", out["project"]["first"],
            out["column"]["first"], "s"),
    ]  # fmt: skip
