"""Listeners the runner tells what happens, at named moments (as Lightning's callbacks and loggers).

The terminal display, the run folder's report and an experiment tracker are each one
``Observer``; the runner holds one ``Observers`` that passes every moment to all of them.
"""
from __future__ import annotations

from pathlib import Path

from pipeline.common.records import Duel, Importance, RunResult, StageResult
from pipeline.config.schema import RunSpec


class Observer:
    """Every moment of a run; override the ones you need (the rest do nothing)."""

    def run_started(self, spec: RunSpec, run_dir: Path) -> None: ...

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None: ...

    def fits_done(self, count: int) -> None: ...

    def stage_status(self, message: str) -> None:
        """How far the stage is inside its fits (a compiled program compiling, its epochs done, the time left)."""

    def stage_finished(self, index: int, result: StageResult) -> None: ...

    def order_chosen(self, importance: Importance) -> None:
        """order=auto measured each stage's importance on the screening and chose the order (and the stages skipped)."""

    def duel_started(self, fits: int) -> None:
        """The final duel (tuned vs starting configuration) begins: ``fits`` to train (0: nothing to compare)."""

    def duel_finished(self, duel: Duel) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...

    def note(self, message: str) -> None:
        """Something the user should read: a fallback, a corrupt entry recomputed, a decision on the data."""


class Observers(Observer):
    """Many observers as one, called in order."""

    def __init__(self, *observers: Observer):
        self.observers = list(observers)

    def run_started(self, spec: RunSpec, run_dir: Path) -> None:
        for o in self.observers:
            o.run_started(spec, run_dir)

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None:
        for o in self.observers:
            o.stage_started(index, total, name, fits)

    def fits_done(self, count: int) -> None:
        for o in self.observers:
            o.fits_done(count)

    def stage_status(self, message: str) -> None:
        for o in self.observers:
            o.stage_status(message)

    def stage_finished(self, index: int, result: StageResult) -> None:
        for o in self.observers:
            o.stage_finished(index, result)

    def order_chosen(self, importance: Importance) -> None:
        for o in self.observers:
            o.order_chosen(importance)

    def duel_started(self, fits: int) -> None:
        for o in self.observers:
            o.duel_started(fits)

    def duel_finished(self, duel: Duel) -> None:
        for o in self.observers:
            o.duel_finished(duel)

    def run_finished(self, result: RunResult) -> None:
        for o in self.observers:
            o.run_finished(result)

    def note(self, message: str) -> None:
        for o in self.observers:
            o.note(message)
