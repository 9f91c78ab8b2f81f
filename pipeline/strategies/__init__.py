"""Stage strategies: which candidates a stage evaluates, and at which budget.

A strategy is handed the stage's candidate grids and an ``evaluate(candidates)`` that runs
them through the engine, and may call it once or several times, the way scikit-learn's
``_run_search(evaluate_candidates)`` does. ``plan`` turns the config into the stages of a
run, each with its strategy: the staged search, or one joint stage (the baselines).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from pipeline import space
from pipeline.config.schema import RunSpec
from pipeline.racing import Halving
from pipeline.records import Evaluation, Stage

Evaluate = Callable[..., Evaluation]  # (candidates, racing: Halving | None = None) -> their cv_results_


class StageStrategy(Protocol):
    def identity(self) -> dict[str, Any]:
        """What of the strategy decides the stage's result (part of the stage store key)."""

    def planned(self, total: int, base: dict[str, Any]) -> int:
        """How many of the grid's ``total`` candidates it will evaluate with ``base`` frozen (the progress bar)."""

    def run_search(self, grids: list[dict[str, list]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        """Evaluate candidates drawn from ``grids`` (sub-grids after conditions; ``base`` the values frozen)."""


def staged(spec: RunSpec) -> list[Stage]:
    """The stages of the order, as configured."""
    return [Stage(name, dict(s.grid), dict(s.simpler)) for name, s in spec.ordered_stages()]


def plan(spec: RunSpec, staged_candidates: int | None = None) -> list[tuple[Stage, StageStrategy]]:
    """The stages to run: staged as configured, or one joint stage for the baselines.

    ``exhaustive`` and ``random`` search the joint grid of the chosen stages in one stage (the
    baselines the staged search is measured against); ``random`` samples ``search.budget``
    candidates, by default as many as the staged search evaluated (``staged_candidates``, when
    the staged run is known), else as many as it would from the base values.
    """
    from pipeline.strategies.grid import FullGrid, RandomBudget

    stages = staged(spec)
    strategy = spec.search.strategy
    if strategy == "staged":
        return [(stage, staged_strategy(spec, stage.name)) for stage in stages]
    joint = Stage(strategy, {k: v for s in stages for k, v in s.grid.items()},
                  {k: v for s in stages for k, v in s.simpler.items()})  # fmt: skip
    if strategy == "exhaustive":
        return [(joint, retuned(spec, raced(spec, FullGrid(), None), joint))]
    conditions = spec.conditions()
    budget = staged_candidates or sum(space.count_candidates(s.grid, spec.model.params, conditions) for s in stages)
    return [(joint, retuned(spec, raced(spec, RandomBudget(spec.search.budget or budget, spec.search.seed), None), joint))]


def staged_strategy(spec: RunSpec, stage: str) -> StageStrategy:
    """The strategy of a stage of the staged search: its full grid, raced if the stage is."""
    from pipeline.strategies.grid import FullGrid

    return retuned(spec, raced(spec, FullGrid(), stage), spec.stages[stage])


def retuned(spec: RunSpec, strategy: StageStrategy, stage) -> StageStrategy:
    """``strategy`` itself, or with search.nuisance re-tuned inside it: every nuisance parameter the stage does
    not tune itself (its owner stage tunes it as any parameter)."""
    nuisance = {k: dict(v) for k, v in spec.search.nuisance.items() if k not in stage.grid}
    if not nuisance:
        return strategy
    from pipeline.strategies.nuisance import Retuned

    return Retuned(strategy, nuisance)


def raced(spec: RunSpec, strategy: StageStrategy, stage: str | None) -> StageStrategy:
    """``strategy`` itself, or raced by successive halving where the stage (or search.racing) asks for it."""
    if spec.racing(stage) != "halving":
        return strategy
    from pipeline.strategies.racing import Raced

    halving = spec.search.halving
    return Raced(strategy, Halving(float(halving.factor), halving.min_epochs, spec.model.epochs))
