"""The search space as pure functions: conditions, candidate grids, frozen inputs, the winner.

A leaf: tables and dicts in, tables and dicts out; no estimator, no scikit-learn model
selection, no Keras. Grids use scikeras' routed names (``optimizer__learning_rate``).
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

Conditions = Mapping[str, Mapping[str, list]]  # param -> {other param: values it applies for}
Simpler = Mapping[str, Any]  # param -> "ascending" | "descending" | [values, simplest first]


def candidate_grids(
    grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions
) -> tuple[list[dict[str, list]], dict[str, Any], list[str]]:
    """Apply conditions: returns sub-grids, the stage's base params, and what was skipped.

    A conditioned parameter (momentum needs optimizer in [sgd, rmsprop]) is searched only
    where its condition holds. If the condition's parameter is tuned in this same stage the
    grid is split in two; if it is frozen, the conditioned parameter is skipped (and said so).
    """
    grids = [dict(grid)]
    base = dict(current)
    skipped: list[str] = []
    for param, requires in conditions.items():
        for other, allowed in requires.items():
            if other in grid:
                split: list[dict[str, list]] = []
                for g in grids:
                    fits = [v for v in g[other] if v in allowed]
                    rest = [v for v in g[other] if v not in allowed]
                    if fits:
                        kept = {param: [base[param]]} if param not in g and param in base else {}
                        split.append({**g, other: fits, **kept})
                    if rest:
                        split.append({k: v for k, v in g.items() if k != param} | {other: rest})
                grids = split
                base.pop(param, None)
                if param in grid:
                    skipped.append(f"{param} only for {other} in {list(allowed)}")
            elif current.get(other) not in allowed and (param in grid or param in base):
                base.pop(param, None)
                if param in grid:
                    grids = [{k: v for k, v in g.items() if k != param} for g in grids]
                    skipped.append(f"{param} (applies to {other} in {list(allowed)}; {other}={current.get(other)})")
    return [g for g in grids if g] or [{}], base, skipped


def count_candidates(grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions) -> int:
    """Candidates of the full grid after conditions (0 when they skip every tuned parameter)."""
    grids, _, _ = candidate_grids(grid, current, conditions)
    return 0 if grids == [{}] else sum(math.prod(len(v) for v in g.values()) for g in grids)


def conditions_touching(grid: Mapping[str, list], conditions: Conditions) -> dict[str, dict[str, list]]:
    """The conditions that can change this grid: on its parameters, or by its parameters.

    Others act only through the frozen values, which a stage's description holds anyway.
    """
    return {param: dict(requires) for param, requires in conditions.items()
            if param in grid or any(other in grid for other in requires)}  # fmt: skip


def frozen_inputs(grid: Mapping[str, list], current: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """The values a stage holds fixed: what decides its result besides its own grid."""
    return {k: v for k, v in effective_params(current, conditions).items() if k not in grid}


def effective_params(current: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """The frozen params with those whose condition fails removed (no momentum for adam)."""
    _, base, _ = candidate_grids({}, current, conditions)
    return base


def pick_winner(
    table: pd.DataFrame, cv: int = 2, select: str = "best", simpler: Simpler | None = None
) -> tuple[int, list[int]] | None:
    """The winning row and the rows that tie with it (within one standard error of the best).

    ``best``: the highest finite mean score (ties go to the earlier candidate).
    ``one_se``: the simplest candidate within one standard error of the best, where the
    stage's ``simpler`` rules say what simpler means. None when no candidate has a finite score.
    """
    scores = table["mean_test_score"].to_numpy(dtype=float)
    if not np.isfinite(scores).any():
        return None
    best = int(np.nanargmax(np.where(np.isfinite(scores), scores, -np.inf)))
    standard_error = float(table.loc[best, "std_test_score"]) / np.sqrt(cv)
    tied = [i for i in range(len(scores)) if np.isfinite(scores[i]) and scores[i] >= scores[best] - standard_error]
    winner = best
    if select == "one_se" and simpler:
        winner = min(tied, key=lambda i: (simplicity(json.loads(table.loc[i, "params"]), simpler), -scores[i], i))
    return winner, [i for i in tied if i != winner]


def simplicity(params: Mapping[str, Any], simpler: Simpler) -> tuple:
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


NOISE_ALPHA = 0.05  # a challenger must beat the incumbent with a one-sided p below this


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
    splits = [c for c in table.columns if c.startswith("split") and c.endswith("_test_score")]
    d = table.loc[best, splits].to_numpy(float) - table.loc[incumbent, splits].to_numpy(float)
    d = d[np.isfinite(d)]
    p = corrected_ttest(d, cv, alternative="greater")
    verdict = {"challenger": json.loads(table.loc[best, "params"]), "gain": float(d.mean()), "p_value": p}
    if p < NOISE_ALPHA:
        return best, {"incumbent": "switched", **verdict}
    return incumbent, {"incumbent": "kept", **verdict}


def corrected_ttest(differences, cv: int, alternative: str = "two-sided") -> float:
    """p-value of paired per-split score differences, with Nadeau and Bengio's correction.

    Training sets of CV splits overlap, so the plain paired t-test is over-confident: the
    variance is scaled by ``1/J + n_test/n_train`` over the J splits, and with k-fold CV
    ``n_test/n_train = 1/(k - 1)`` whatever the number of repeats or seeds (``cv`` is k).
    ``alternative``: "two-sided", or "greater" (the mean difference is above zero).
    """
    d = np.asarray(differences, dtype=float)
    variance = d.var(ddof=1) * (1 / d.size + 1 / max(cv - 1, 1)) if d.size > 1 else 0.0
    if variance <= 0:
        if alternative == "greater":
            return 0.0 if d.size and d.mean() > 0 else 1.0
        return 1.0 if not d.size or d.mean() == 0 else 0.0
    from scipy import stats

    t = d.mean() / np.sqrt(variance)
    if alternative == "greater":
        return float(stats.t.sf(t, df=d.size - 1))
    return float(2 * stats.t.sf(abs(t), df=d.size - 1))


def label(params: Mapping[str, Any], sep: str = ", ") -> str:
    """``optimizer=sgd, momentum=0.9``: a parameter set in words, in its order (the routed prefix dropped)."""
    return sep.join(f"{k.split('__')[-1]}={v}" for k, v in params.items())
