"""Re-tuning nuisance parameters inside a stage: another strategy's candidates, each crossed with the nuisance
grid and scored at its best nuisance values (``pipeline.nuisance``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.nuisance import aggregate, crossing, nuisance_grid
from pipeline.records import Evaluation
from pipeline.strategies import Evaluate, StageStrategy


@dataclass(frozen=True)
class Retuned:
    inner: StageStrategy
    nuisance: dict[str, dict[str, list]]  # param -> {"values": [...]} or {"factors": [...]}; the stage's own left out

    def identity(self) -> dict[str, Any]:
        return {**self.inner.identity(), "nuisance": self.nuisance}

    def planned(self, total: int, base: dict[str, Any]) -> int:
        return self.inner.planned(total * len(crossing(nuisance_grid(self.nuisance, base))), base)

    def run_search(self, grids: list[dict[str, list]], evaluate: Evaluate, base: dict[str, Any]) -> Evaluation:
        extra = nuisance_grid(self.nuisance, base)
        crossed = [{**g, **extra} for g in grids]
        evaluation = self.inner.run_search(crossed, evaluate, base)
        return Evaluation(aggregate(evaluation.columns, list(extra), base), evaluation.first_error,
                          evaluation.model_epochs, fitted=evaluation.columns, continued=evaluation.continued,
                          notes=evaluation.notes)  # fmt: skip
