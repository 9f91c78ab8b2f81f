"""Which stages matter on this data (order=auto), and the order that follows.

A random-forest surrogate of CV score is fitted to the screened configurations; a stage's
importance is the rise in the surrogate's error when its parameters are permuted together
(grouped permutation importance: learning rate and momentum count as one family), as a share
of all the stages' rises; a bootstrap over the configurations gives its 95 % interval.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline.common.records import Importance, StageImportance

BOOTSTRAP = 40  # resamples of the screened configurations behind each interval
PERMUTATIONS = 3  # shuffles per stage, averaged
TREES = 25  # of each surrogate forest (the screenings are small: a few dozen configurations)
LEVEL = 0.95


def order_by_importance(table: pd.DataFrame, families: Mapping[str, Sequence[str]], seed: int, direction: str,
                        skip_below: float) -> Importance:  # fmt: skip
    """Each stage's importance from the screening's table; the stages ordered by it, those whose interval lies
    wholly below ``skip_below`` skipped (none when the screening cannot tell the stages apart)."""
    measured = measure(table, families, seed)
    told_apart = any(m.share > 0 for m in measured)
    skipped = tuple(m.stage for m in measured if told_apart and m.high < skip_below)
    kept = [m.stage for m in measured if m.stage not in skipped]
    order = tuple(reversed(kept)) if direction == "important_last" else tuple(kept)
    finite = int(np.isfinite(table["mean_test_score"].to_numpy(dtype=float)).sum())
    return Importance(measured, order, skipped, finite, skip_below, direction)


def measure(table: pd.DataFrame, families: Mapping[str, Sequence[str]], seed: int) -> tuple[StageImportance, ...]:
    """Every stage's share with its interval, most important first (ties in the families' order)."""
    scores = table["mean_test_score"].to_numpy(dtype=float)
    finite = np.isfinite(scores)
    names = list(families)
    params = [p for stage in names for p in families[stage]]
    groups, start = [], 0
    for stage in names:
        groups.append(list(range(start, start + len(families[stage]))))
        start += len(families[stage])
    if finite.sum() < 3 or np.ptp(scores[finite]) == 0:  # nothing to learn from: no stage can be told apart
        return tuple(StageImportance(stage, 0.0, 0.0, 0.0) for stage in names)
    X, y = features(table.loc[finite, "params"], params), scores[finite]
    point = _shares(X, y, groups, seed)
    rng = np.random.default_rng(seed)
    resampled = np.array([_shares(X[rows], y[rows], groups, seed + b + 1)
                          for b, rows in enumerate(rng.integers(0, len(y), (BOOTSTRAP, len(y))))])  # fmt: skip
    low, high = np.quantile(resampled, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    found = [StageImportance(stage, float(point[i]), float(low[i]), float(high[i])) for i, stage in enumerate(names)]
    return tuple(sorted(found, key=lambda m: -m.share))


def features(params: pd.Series, names: Sequence[str]) -> np.ndarray:
    """One numeric column per parameter: numbers as they are, other values as codes (a forest splits either way);
    a parameter a condition left out (momentum for adam) below every value it takes."""
    rows = [json.loads(p) for p in params]
    columns = []
    for name in names:
        values = [row.get(name) for row in rows]
        present = [v for v in values if v is not None]
        if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
            absent = min(present) - 1.0
            columns.append([float(v) if v is not None else absent for v in values])
        else:
            levels = sorted({json.dumps(v) for v in values})
            columns.append([float(levels.index(json.dumps(v))) for v in values])
    return np.column_stack(columns)


def _shares(X: np.ndarray, y: np.ndarray, groups: list[list[int]], seed: int) -> np.ndarray:
    """Each group's rise in the surrogate's squared error when its columns are shuffled together, as shares."""
    from sklearn.ensemble import RandomForestRegressor

    forest = RandomForestRegressor(n_estimators=TREES, min_samples_leaf=2, random_state=seed, n_jobs=1).fit(X, y)
    rng = np.random.default_rng(seed)
    shuffled = []
    for columns in groups:
        for _ in range(PERMUTATIONS):
            copy = X.copy()
            copy[:, columns] = X[rng.permutation(len(X))][:, columns]
            shuffled.append(copy)
    predictions = forest.predict(np.vstack([X, *shuffled])).reshape(1 + len(shuffled), len(X))
    errors = ((predictions - y) ** 2).mean(axis=1)
    rises = np.clip(errors[1:].reshape(len(groups), PERMUTATIONS).mean(axis=1) - errors[0], 0, None)
    return rises / rises.sum() if rises.sum() > 0 else np.zeros(len(groups))
