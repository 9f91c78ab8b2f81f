"""The engine seam: what the runner asks of an engine. Implementations: ``gridsearch``, ``fused``."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pipeline.records import Dataset, Evaluation, Problem


class Engine(Protocol):
    name: str  # gridsearchcv | fused

    def identity(self) -> dict[str, Any]:
        """The engine, its backend and library versions: part of every stage store key."""

    def load(self) -> None:
        """Import the framework now, so that a stage's seconds leave the imports out."""

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict], base: dict, progress) -> Evaluation:
        """Train and score ``candidates`` (routed names, ``base`` frozen) on the problem's folds."""

    def refit(self, problem: Problem, params: dict, test: Dataset, path: Path) -> float:
        """Fit ``params`` on the whole training part, save the network at ``path``, score it on ``test``."""

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc) -> None: ...
