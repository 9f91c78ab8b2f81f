"""The search space as pure functions: conditions, candidate grids, frozen inputs, labels.

A leaf: dicts in, dicts out; no estimator, no scikit-learn model
selection, no Keras. Grids use scikeras' routed names (``optimizer__learning_rate``).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

Conditions = Mapping[str, Mapping[str, list[Any]]]  # param -> {other param: values it applies for}
Simpler = Mapping[str, Any]  # param -> "ascending" | "descending" | [values, simplest first]


def candidate_grids(
    grid: Mapping[str, list[Any]], current: Mapping[str, Any], conditions: Conditions
) -> tuple[list[dict[str, list[Any]]], dict[str, Any], list[str]]:
    """Apply conditions: returns sub-grids, the stage's base params, and what was skipped.

    A conditioned parameter (momentum needs optimizer in [sgd, rmsprop]) is searched only
    where its condition holds. If the condition's parameter is tuned in this same stage the
    grid is split in two (the parameter is tuned where it applies: nothing skipped); if it is frozen, the
    conditioned parameter is skipped (and said so).
    """
    grids = [dict(grid)]
    base = dict(current)
    skipped: list[str] = []
    for param, requires in conditions.items():
        for other, allowed in requires.items():
            if other in grid:
                split: list[dict[str, list[Any]]] = []
                for g in grids:
                    fits = [v for v in g[other] if v in allowed]
                    rest = [v for v in g[other] if v not in allowed]
                    if fits:
                        kept = {param: [base[param]]} if param not in g and param in base else {}
                        split.append({**g, other: fits, **kept})
                    if rest:
                        split.append({k: v for k, v in g.items() if k != param} | {other: rest})
                grids = split  # tuned where its condition holds: nothing is skipped
                base.pop(param, None)
            elif current.get(other) not in allowed and (param in grid or param in base):
                base.pop(param, None)
                if param in grid:
                    grids = [{k: v for k, v in g.items() if k != param} for g in grids]
                    skipped.append(f"{param} (applies to {other} in {list(allowed)}; {other}={current.get(other)})")
    return [g for g in grids if g] or [{}], base, skipped


def count_candidates(grid: Mapping[str, list[Any]], current: Mapping[str, Any], conditions: Conditions) -> int:
    """Candidates of the full grid after conditions (0 when they skip every tuned parameter)."""
    grids, _, _ = candidate_grids(grid, current, conditions)
    return 0 if grids == [{}] else sum(math.prod(len(v) for v in g.values()) for g in grids)


def most_candidates(grids: Sequence[Mapping[str, list[Any]]], base: Mapping[str, Any], conditions: Conditions) -> int:
    """The most candidates a staged search over ``grids`` (in order, from ``base``) can evaluate, whatever its
    winners: each stage counted at the frozen values that let most of its conditioned parameters in, among the
    values an earlier stage may have frozen. Known before any stage runs: the baselines' budget (``plan``)."""
    reachable: dict[str, list[Any]] = {k: [v] for k, v in base.items()}
    total = 0
    for grid in grids:
        deciding = sorted({other for param, requires in conditions.items() if param in grid for other in requires
                           if other not in grid})  # fmt: skip
        options = [dict(zip(deciding, values, strict=True))
                   for values in itertools.product(*(reachable.get(other, [None]) for other in deciding))]  # fmt: skip
        total += max(count_candidates(grid, {**base, **option}, conditions) for option in options)
        for param, values in grid.items():
            reachable[param] = list(dict.fromkeys([*reachable.get(param, []), *values]))
    return total


def conditions_touching(grid: Mapping[str, list[Any]], conditions: Conditions) -> dict[str, dict[str, list[Any]]]:
    """The conditions that can change this grid: on its parameters, or by its parameters.

    Others act only through the frozen values, which a stage's description holds anyway.
    """
    return {param: dict(requires) for param, requires in conditions.items()
            if param in grid or any(other in grid for other in requires)}  # fmt: skip


def frozen_inputs(grid: Mapping[str, list[Any]], current: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """The values a stage holds fixed: what decides its result besides its own grid. A frozen value that only some
    candidates take counts too (a frozen momentum trained into the sgd sub-grid of an optimizer stage, though the
    frozen optimizer, adam, takes none)."""
    grids, base, _ = candidate_grids(grid, current, conditions)
    carried = {k: v[0] for g in grids for k, v in g.items() if k not in grid}
    return {k: v for k, v in {**base, **carried}.items() if k not in grid}


def effective_params(current: Mapping[str, Any], conditions: Conditions) -> dict[str, Any]:
    """The frozen params with those whose condition fails removed (no momentum for adam)."""
    _, base, _ = candidate_grids({}, current, conditions)
    return base


def label(params: Mapping[str, Any], sep: str = ", ") -> str:
    """``optimizer=sgd, momentum=0.9``: a parameter set in words, in its order (the routed prefix dropped)."""
    return sep.join(f"{k.split('__')[-1]}={v}" for k, v in params.items())
