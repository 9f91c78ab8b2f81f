"""Selection rules: which candidate of a stage's table wins, and why, in words.

Tables in, row numbers and the reason out (``best``, or the simplest within one standard error of the best).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from pipeline.common.space import Simpler, label


def pick_winner(table: pd.DataFrame, splits: int = 2, select: str = "best",
                simpler: Simpler | None = None) -> tuple[int, list[int], str] | None:  # fmt: skip
    """The winning row, the rows that tie with it, and why it won (in words).

    ``best``: the highest finite mean score (ties go to the earlier candidate). Ties are the candidates within one
    standard error of the best, the sample standard error of its ``splits`` split scores (``standard_errors``).
    ``one_se``: the simplest of those ties, where the stage's ``simpler`` rules say what simpler means.
    None when no candidate has a finite score.
    """
    scores = table["mean_test_score"].to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        return None
    best = int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))
    error = float(standard_errors(table, splits)[best])
    tied = [i for i in range(len(scores)) if np.isfinite(scores[i]) and scores[i] >= scores[best] - error]
    winner, why = best, "best"
    if select == "one_se" and simpler:
        winner = min(tied, key=lambda i: (simplicity(json.loads(table.loc[i, "params"]), simpler), -scores[i], i))
        if winner != best:
            chosen = label({k: v for k, v in json.loads(table.loc[winner, "params"]).items() if k in simpler})
            why = (f"simplest within one SE ({error:.4f}) of the best {scores[best]:.4f}: {chosen} at "
                   f"{scores[winner]:.4f}")  # fmt: skip
        elif len(tied) > 1:
            why = f"best, and the simplest of the {len(tied)} within one SE ({error:.4f})"
    return winner, [i for i in tied if i != winner], why


def standard_errors(table: pd.DataFrame, splits: int) -> np.ndarray:
    """Each row's standard error of its mean score: the sample standard deviation (ddof=1) of its finite split
    scores over the square root of their number; from ``std_test_score`` (scikit-learn's, ddof=0) where a table
    has no split columns."""
    columns = [c for c in table.columns if c.startswith("split") and c.endswith("_test_score")]
    if columns:
        values = table[columns].to_numpy(dtype=float)
        n = np.isfinite(values).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.nanstd(np.where(np.isfinite(values), values, np.nan), axis=1, ddof=1)
            return np.asarray(np.where(n > 1, sd / np.sqrt(np.maximum(n, 1)), 0.0), dtype=float)
    n = max(splits, 2)
    return np.asarray(table["std_test_score"].to_numpy(dtype=float) * np.sqrt(n / (n - 1)) / np.sqrt(n), dtype=float)


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
