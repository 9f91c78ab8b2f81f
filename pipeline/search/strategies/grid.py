"""The whole grid, or a random budget of it (what ``GridSearchCV`` and ``RandomizedSearchCV`` do)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sklearn.model_selection import ParameterGrid, ParameterSampler

from pipeline.common.records import Budget, Evaluation
from pipeline.search.strategies.base import Evaluate


@dataclass(frozen=True)
class FullGrid:
    """Every candidate, in ``ParameterGrid``'s order (GridSearchCV's)."""

    def identity(self) -> dict[str, Any]:
        return {"kind": "grid"}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        return total

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        return evaluate(list(ParameterGrid(grids)))


@dataclass(frozen=True)
class RandomBudget:
    """``budget`` candidates drawn without replacement, as RandomizedSearchCV draws them (uniformly over the joint
    grid, conditions honoured); trained ``epochs`` each where given (order=auto's cheaper screening), else the
    model's own, so they are ordinary candidates that later stages can read back from the candidate store."""

    budget: int
    seed: int
    epochs: int | None = None

    def identity(self) -> dict[str, Any]:
        return {"kind": "random", "budget": self.budget} | ({"epochs": self.epochs} if self.epochs is not None else {})

    def planned(self, total: int, base: dict[str, Any]) -> int:
        return min(self.budget, total)

    def run_search(self, grids: list[dict[str, list[Any]]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        total = len(ParameterGrid(grids))
        drawn = list(ParameterSampler(grids, self.planned(total, base), random_state=self.seed))
        return evaluate(drawn, Budget(self.epochs) if self.epochs is not None else None)
