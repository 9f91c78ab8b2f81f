"""The engine seam: what the runner and the strategies ask of an engine. Implementations: ``gridsearch``, ``fused``.

An engine trains and scores candidates on the problem's folds; it knows nothing of stages' order, racing or
re-tuning (the strategies decide which candidates run at which budget). ``tests/test_engines.py`` runs every
engine through the same small suite, and the type checker holds both to this protocol.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from pipeline.common.records import Budget, Dataset, Evaluation, Problem
from pipeline.config.schema import RunSpec

Progress = Callable[[int], None]  # called with the number of fits (models) just finished


class Engine(Protocol):
    name: str  # gridsearchcv | fused
    continues: bool  # True: a ``Budget.resume`` goes on training the paused models; False: it trains from scratch

    @staticmethod
    def unsupported(spec: RunSpec) -> str | None:
        """Why this engine cannot run ``spec`` (``engines.create`` falls back to GridSearchCV), or None."""
        ...

    def identity(self) -> dict[str, Any]:
        """The engine, its backend and library versions: part of every stage store key."""
        ...

    def load(self) -> None:
        """Import the framework now, so that a stage's seconds leave the imports out."""
        ...

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict[str, Any]], base: dict[str, Any],
                 progress: Progress, budget: Budget | None = None) -> Evaluation:  # fmt: skip
        """Train and score ``candidates`` (routed names, ``base`` frozen) on the problem's folds; ``budget``: to that
        many epochs (the rest of the training settings as configured), from its ``resume`` where ``continues``."""
        ...

    def refit(self, problem: Problem, params: dict[str, Any], test: Dataset, path: Path) -> float:
        """Fit ``params`` on the whole training part, save the network at ``path``, score it on ``test``."""
        ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc: object) -> None: ...

