"""The stages of a run, each with its strategy: the staged search as configured, or one joint stage (the baselines);
raced and re-tuned where the config asks."""
from __future__ import annotations

from pipeline.common import space
from pipeline.common.records import SCREEN, Stage
from pipeline.config.schema import RunSpec
from pipeline.search.strategies.base import StageStrategy
from pipeline.search.strategies.grid import FullGrid, RandomBudget
from pipeline.search.strategies.nuisance import Retuned
from pipeline.search.strategies.racing import Halving, Raced
from pipeline.search.strategies.tpe import Tpe


def staged(spec: RunSpec) -> list[Stage]:
    """The stages of the order, as configured."""
    return [Stage(name, dict(s.grid), dict(s.simpler)) for name, s in spec.ordered_stages()]


def screening(spec: RunSpec) -> tuple[Stage, StageStrategy]:
    """order=auto's screening: one stage over the joint grid of the stages it orders, ``order.auto.budget``
    configurations drawn from it (at ``order.auto.epochs``)."""
    auto = spec.order.auto
    return joint_stage(SCREEN, staged(spec)), RandomBudget(auto.budget, spec.search.seed, auto.epochs)


def joint_stage(name: str, stages: list[Stage]) -> Stage:
    """One stage over the joint grid of ``stages`` (what each of them tunes, and what simpler means there)."""
    return Stage(name, {k: v for s in stages for k, v in s.grid.items()}, {k: v for s in stages for k, v in s.simpler.items()})


def plan(spec: RunSpec) -> list[tuple[Stage, StageStrategy]]:
    """The stages to run, each with its strategy and budget, resolved once before any stage runs: staged as
    configured, or one joint stage for the baselines.

    ``exhaustive``, ``random`` and ``tpe`` search the joint grid of the chosen stages in one stage
    (the baselines the staged search is measured against); ``random`` samples and ``tpe`` (Optuna's
    TPE, in batches) proposes ``search.budget`` candidates, by default the most the staged search of the
    same config can evaluate (``space.most_candidates``: the baseline is never given less).
    """
    stages = staged(spec)
    strategy = spec.search.strategy
    if strategy == "staged":
        return [(stage, staged_strategy(spec, stage.name)) for stage in stages]
    joint = joint_stage(strategy, stages)
    if strategy == "exhaustive":
        return [(joint, retuned(spec, raced(spec, FullGrid(), None), joint))]
    budget = spec.search.budget or space.most_candidates([s.grid for s in stages], spec.model.params, spec.conditions())
    sampled: StageStrategy = Tpe(budget, spec.search.seed) if strategy == "tpe" else RandomBudget(budget, spec.search.seed)
    return [(joint, retuned(spec, raced(spec, sampled, None), joint))]


def staged_strategy(spec: RunSpec, stage: str) -> StageStrategy:
    """The strategy of a stage of the staged search: its full grid, raced if the stage is."""
    return retuned(spec, raced(spec, FullGrid(), stage), spec.stages[stage])


def retuned(spec: RunSpec, strategy: StageStrategy, stage: Stage) -> StageStrategy:
    """``strategy`` itself, or with search.nuisance re-tuned inside it: every nuisance parameter the stage does
    not tune itself (its owner stage tunes it as any parameter)."""
    nuisance = {k: dict(v) for k, v in spec.search.nuisance.items() if k not in stage.grid}
    if not nuisance:
        return strategy
    return Retuned(strategy, nuisance)


def raced(spec: RunSpec, strategy: StageStrategy, stage: str | None) -> StageStrategy:
    """``strategy`` itself, or raced by successive halving where the stage (or search.racing) asks for it."""
    if spec.racing(stage) != "halving":
        return strategy
    halving = spec.search.halving
    return Raced(strategy, Halving(float(halving.factor), halving.min_epochs, spec.model.epochs))
