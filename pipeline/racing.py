"""Racing inside a stage: successive halving over epochs, as scikit-learn's ``HalvingGridSearchCV`` schedules it.

A leaf (NumPy only). The GridSearchCV engine runs scikit-learn's own halving search; the fused
engine continues its survivors inside its programs and follows this schedule, which a test
holds equal to scikit-learn's (``n_resources_``, ``n_candidates_``) for every case it tries.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Halving:
    """Every candidate trains ``min_epochs`` (or as scikit-learn's "exhaust": so that the last rung trains
    ``max_epochs``), then the best 1/``factor`` go on with ``factor`` times the epochs, and so on."""

    factor: float
    min_epochs: int | None
    max_epochs: int

    def identity(self) -> dict[str, Any]:
        return {"kind": "halving", **asdict(self)}


def rungs(n_candidates: int, halving: Halving) -> list[tuple[int, int]]:
    """(epochs, candidates) of each rung: scikit-learn's successive-halving schedule with epochs as the resource."""
    factor, most = halving.factor, halving.max_epochs
    required = 1 + math.floor(math.log(n_candidates, factor))
    least = halving.min_epochs or 1
    if halving.min_epochs is None:  # "exhaust": start as high as lets the last required rung use every epoch
        least = max(least, most // factor ** (required - 1))
    possible = 1 + math.floor(math.log(most // least, factor))
    out, candidates = [], n_candidates
    for rung in range(min(possible, required)):
        out.append((min(int(factor**rung * least), most), candidates))
        candidates = math.ceil(candidates / factor)
    return out


def last_rung(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the last rung of a raced stage's table (the whole table of a stage that was not raced)."""
    if "iter" not in table:
        return table
    return table.loc[table["iter"] == table["iter"].max()].reset_index(drop=True)


def describe_rungs(table: pd.DataFrame) -> str:
    """``25 → 9 → 3 candidates at 11, 33, 100 epochs`` (empty for a stage that was not raced)."""
    if "iter" not in table:
        return ""
    rungs = table.groupby("iter").agg(candidates=("params", "size"), epochs=("n_resources", "first"))
    return (f"{' → '.join(str(n) for n in rungs['candidates'])} candidates at "
            f"{', '.join(str(int(e)) for e in rungs['epochs'])} epochs")  # fmt: skip


def survivors(mean_scores: Sequence[float], keep: int) -> list[int]:
    """The ``keep`` best rows (a NaN score counts as the worst), as scikit-learn's ``_top_k`` picks them,
    returned in their original order."""
    scores = np.asarray(mean_scores, dtype=float)
    order = np.roll(np.argsort(scores), np.count_nonzero(np.isnan(scores)))
    return sorted(int(i) for i in order[-keep:])
