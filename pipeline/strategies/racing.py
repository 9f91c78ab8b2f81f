"""Racing a stage's candidates: another strategy's candidates, evaluated by successive halving over epochs.

The engine runs the rungs (scikit-learn's ``HalvingGridSearchCV``, or the fused engine's
continued programs); this strategy only says so, and counts the fits the rungs will make.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.racing import Halving, rungs
from pipeline.records import Evaluation
from pipeline.strategies import Evaluate, StageStrategy


@dataclass(frozen=True)
class Raced:
    inner: StageStrategy
    halving: Halving

    def identity(self) -> dict[str, Any]:
        return {**self.inner.identity(), "racing": self.halving.identity()}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        candidates = self.inner.planned(total, base)
        return sum(n for _, n in rungs(candidates, self.halving)) if candidates else 0

    def run_search(self, grids: list[dict[str, list]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        return self.inner.run_search(grids, lambda candidates: evaluate(candidates, self.halving), base)
