"""Selection rules: which candidate of a stage's table wins, and whether it displaces the incumbent.

Tables in, row numbers and verdicts out (the ``Decision``'s fields); the test behind "beyond
the noise" is ``significance.corrected_ttest``, the one the comparison of orderings uses.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.significance import ALPHA, corrected_ttest, corrected_variance
from pipeline.space import Simpler


def pick_winner(
    table: pd.DataFrame, cv: int = 2, select: str = "best", simpler: Simpler | None = None, folds: int | None = None
) -> tuple[int, list[int]] | None:
    """The winning row and the rows that tie with it.

    ``best``: the highest finite mean score (ties go to the earlier candidate); ties are the
    candidates within one standard error of the best (its fold spread over ``cv`` splits).
    ``one_se``: the simplest of those ties, where the stage's ``simpler`` rules say what simpler means.
    ``paired_se``: the simplest candidate whose per-split deficit to the best is within one
    corrected standard error of those paired differences: the folds' shared ups and downs
    cancel, so a simpler candidate wins only where it is not worse split by split (``folds``:
    the k of k-fold, for Nadeau and Bengio's correction; ``cv`` counts every split).
    None when no candidate has a finite score.
    """
    scores = table["mean_test_score"].to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        return None
    best = int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))
    if select == "paired_se":
        tied = [i for i in range(len(scores)) if np.isfinite(scores[i]) and _within_paired_se(table, best, i, folds or cv)]
    else:
        standard_error = float(table.loc[best, "std_test_score"]) / np.sqrt(cv)
        tied = [i for i in range(len(scores)) if np.isfinite(scores[i]) and scores[i] >= scores[best] - standard_error]
    winner = best
    if select in ("one_se", "paired_se") and simpler:
        winner = min(tied, key=lambda i: (simplicity(json.loads(table.loc[i, "params"]), simpler), -scores[i], i))
    return winner, [i for i in tied if i != winner]


def _within_paired_se(table: pd.DataFrame, best: int, row: int, folds: int) -> bool:
    """Whether ``row``'s mean deficit to ``best`` over the shared splits is at most one corrected standard error."""
    d = paired_differences(table, best, row)
    return bool(d.size) and float(d.mean()) <= np.sqrt(corrected_variance(d, folds))


def simplicity(params: Mapping[str, Any], simpler: Simpler) -> tuple[float, ...]:
    """Sort key: smaller is simpler. Rules: ascending, descending, or a list simplest-first."""
    key = []
    for param, rule in simpler.items():
        value = params.get(param)
        if value is None:  # not searched for this candidate (a condition skipped it): simplest
            key.append(-np.inf)
        elif rule == "ascending":
            key.append(float(value))
        elif rule == "descending":
            key.append(-float(value))
        else:
            key.append(rule.index(value) if value in rule else len(rule))
    return tuple(key)


def paired_differences(table: pd.DataFrame, a: int, b: int) -> np.ndarray:
    """Row ``a``'s score minus row ``b``'s on every split both finished (the folds are shared: paired)."""
    splits = [c for c in table.columns if c.startswith("split") and c.endswith("_test_score")]
    d = table.loc[a, splits].to_numpy(float) - table.loc[b, splits].to_numpy(float)
    return np.asarray(d[np.isfinite(d)], dtype=float)


def incumbent_row(table: pd.DataFrame, current: Mapping[str, Any]) -> int | None:
    """The candidate that is the value already frozen (every one of its parameters as ``current`` has it)."""
    for i, params in enumerate(table["params"]):
        own = json.loads(params)
        if own and all(k in current and current[k] == v for k, v in own.items()):
            return i
    return None


def keep_or_switch(table: pd.DataFrame, best: int, incumbent: int | None, cv: int) -> tuple[int, dict[str, Any]]:
    """The incumbent, unless the best candidate beats it beyond the noise; and the verdict (``Decision``'s fields).

    The folds are shared, so the test is on the paired per-split differences, a one-sided
    t-test with Nadeau and Bengio's correction for overlapping training sets (as the
    comparison of orderings uses): a gain of 0.000008 is not a reason to switch.
    """
    if incumbent is None:
        return best, {"incumbent": "absent"}
    if incumbent == best:
        return best, {"incumbent": "kept_best"}
    if not np.isfinite(table.loc[incumbent, "mean_test_score"]):
        return best, {"incumbent": "failed"}
    d = paired_differences(table, best, incumbent)
    p = corrected_ttest(d, cv, alternative="greater")
    verdict = {"challenger": json.loads(table.loc[best, "params"]), "gain": float(d.mean()), "p_value": p}
    if p < ALPHA:  # a challenger must beat the incumbent with a one-sided p below it
        return best, {"incumbent": "switched", **verdict}
    return incumbent, {"incumbent": "kept", **verdict}
