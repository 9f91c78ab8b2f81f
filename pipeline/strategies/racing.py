"""Racing a stage's candidates: another strategy's candidates, evaluated by successive halving over epochs.

The engine runs the rungs (scikit-learn's ``HalvingGridSearchCV``, or the fused engine's
continued programs); this strategy only says so, and counts the fits the rungs will make.
"""
from __future__ import annotations

import dataclasses
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
        evaluation = self.inner.run_search(grids, lambda candidates: evaluate(candidates, self.halving), base)
        last = int(max(evaluation.columns["n_resources"]))
        if last >= self.halving.max_epochs:
            return evaluation
        short = (f"its last rung trained {last} of model.epochs={self.halving.max_epochs} epochs (too few epochs for "
                 "this many rungs: raise model.epochs, or race no stage this small)")  # fmt: skip
        return dataclasses.replace(evaluation, notes=(*evaluation.notes, short))
