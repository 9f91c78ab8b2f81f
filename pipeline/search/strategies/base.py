"""The strategy seam: which candidates a stage evaluates, and at which budget.

A strategy is handed the stage's candidate grids and an ``evaluate(candidates, budget=None)`` that runs them through
the engine, and may call it once or several times, the way scikit-learn's ``_run_search(evaluate_candidates)`` does.
"""
from __future__ import annotations

from typing import Any, Protocol

from pipeline.common.records import Budget, Evaluation


class Evaluate(Protocol):
    def __call__(self, candidates: list[dict[str, Any]], budget: Budget | None = None) -> Evaluation:
        """Train and score ``candidates`` on the run's folds (``budget``: to that many epochs, continued if it can)."""
        ...


class EvaluateStage(Protocol):
    def __call__(self, stage: str, candidates: list[dict[str, Any]], base: dict[str, Any],
                 budget: Budget | None = None) -> Evaluation:  # fmt: skip
        """``Evaluate`` for a named stage with ``base`` frozen: what the runner hands a stage (through the reuse layer)."""
        ...


class StageStrategy(Protocol):
    def identity(self) -> dict[str, Any]:
        """What of the strategy decides the stage's result (part of the stage store key)."""
        ...

    def planned(self, total: int, base: dict[str, Any]) -> int:
        """How many of the grid's ``total`` candidates it will evaluate with ``base`` frozen (the progress bar)."""
        ...

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        """Evaluate candidates drawn from ``grids`` (sub-grids after conditions; ``base`` the values frozen)."""
        ...
