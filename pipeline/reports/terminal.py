"""What the user sees: a progress bar per stage, the summary table, and nothing else.

Framework chatter (TensorFlow/XLA C++ logs, Python warnings) is written to file
descriptor 2 by native code, so the run redirects that descriptor to its log file.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.common.records import SCREEN, Duel, Importance, RunResult, StageResult
from pipeline.common.space import label
from pipeline.reports.files import summary_frame
from pipeline.reports.observers import Observer
from pipeline.reports.words import describe, duel_sentence, importance_sentence


@contextlib.contextmanager
def stderr_to(log_path: Path) -> Iterator[None]:
    """Send everything written to stderr (by Python or by C++) to ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log_path, "a") as log:
        os.dup2(log.fileno(), 2)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        logging.captureWarnings(False)


# What TensorFlow, absl, XLA and JAX write at start-up from native code: absl's "I0000 00:00:…" lines and their
# companions. A user's terminal or notebook cell never needs them; the command line's run log keeps them.
FRAMEWORK_NOISE = re.compile(r"^([IWEF]\d{4} \d\d:\d\d:[\d.]+ |WARNING: All log messages before absl|To enable the "
                             r"|WARNING:tensorflow:"
                             r"following instructions|oneDNN custom operations|.*rebuild TensorFlow with|.*TF-TRT|"
                             r".*(cuda|CUDA)[- ]?(drivers|-enabled jaxlib))")  # fmt: skip


FRAMEWORK_LOGGERS = ("tensorflow", "absl", "jax", "h5py")  # Python loggers that warn about their own machinery


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Keep framework lines off the terminal while the block runs: the frameworks' Python loggers say errors only,
    file descriptor 2 (where native code writes) goes to a temporary file, and afterwards every line of it but
    ``FRAMEWORK_NOISE`` is written to stderr."""
    with _loggers_at_error(), _native_stderr_filtered():
        yield


@contextlib.contextmanager
def _loggers_at_error() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in FRAMEWORK_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(max(logger.level, logging.ERROR))
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no file descriptor 2 to redirect (an embedding host): nothing to filter
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [ln for ln in caught.read().decode(errors="replace").splitlines(keepends=True)
                    if not FRAMEWORK_NOISE.match(ln)]  # fmt: skip
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


class StageLines(Observer):
    """One line per finished stage on stdout (``StagedSearchCV``'s default): what it chose, its score, its cost."""

    def __enter__(self) -> StageLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None:
        self.where = "screening (order=auto)" if name == SCREEN else f"stage {index}/{total} {name}"

    def stage_finished(self, index: int, result: StageResult) -> None:
        self.metric = result.metric
        cost = "reused from the stage store" if result.reused else f"{result.fits} fits, {result.seconds:.1f} s"
        line = f"{self.where}: {label(result.winner) or '(nothing to tune)'}  score {result.mean_score:.4f} ± " \
               f"{result.std_score:.4f}  ({cost})"  # fmt: skip
        if decided := describe(result.decision):
            line += f"; {decided}"
        print(line, flush=True)

    def note(self, message: str) -> None:
        pass  # said once, as a warning, when the search is done

    def duel_finished(self, duel: Duel) -> None:
        if duel.splits:
            print(f"final duel: {duel_sentence(duel, getattr(self, 'metric', ''))}", flush=True)


class Terminal(Observer):
    """Rich progress ('stage i/N name' with a bar of fits done), a line per stage, the summary at the end."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("fits"), TimeElapsedColumn(), TextColumn("[dim]{task.fields[status]}"),
                                 console=console, transient=False)  # fmt: skip
        self.task = TaskID(0)  # the current stage's bar (stage_started adds it)

    def __enter__(self) -> Terminal:
        self.progress.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        self.progress.__exit__(kind, value, traceback)

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None:
        what = "screening (order=auto)" if name == SCREEN else f"stage {index}/{total} {name}"
        self.task = self.progress.add_task(what, total=max(fits, 1), status="")

    def fits_done(self, count: int) -> None:
        self.progress.advance(self.task, count)

    def stage_status(self, message: str) -> None:
        self.progress.update(self.task, status=message)

    def stage_finished(self, index: int, result: StageResult) -> None:
        self.progress.update(self.task, completed=self.progress.tasks[-1].total, status="")
        line = f"  → {label(result.winner) or '(nothing to tune)'}  score {result.mean_score:.4f} ± {result.std_score:.4f}"
        if result.reused:
            line += f"  [green]reused from the stage store (saved {result.seconds:.1f} s)[/green]"
        elif result.fits_reused:
            line += f"  [green]{result.fits_reused} of {result.fits} fits reused[/green]"
        if decided := describe(result.decision):
            line += f"  [dim]{decided}[/dim]"
        if result.skipped:
            line += f"  [dim]skipped: {'; '.join(result.skipped)}[/dim]"
        self.console.print(line)

    def order_chosen(self, importance: Importance) -> None:
        for m in importance.stages:
            verdict = "skipped" if m.stage in importance.skipped else f"runs {importance.order.index(m.stage) + 1}."
            self.console.print(f"  {m.stage:<12} {m.share:6.1%}  [{m.low:.1%}, {m.high:.1%}]  {verdict}")
        self.console.print(f"order=auto: {importance_sentence(importance)}")
        self.console.print(f"order: {' → '.join(importance.order)}")

    def duel_started(self, fits: int) -> None:
        if fits:
            self.task = self.progress.add_task("final duel: tuned vs starting configuration", total=fits, status="")

    def duel_finished(self, duel: Duel) -> None:
        if duel.splits:
            self.progress.update(self.task, completed=self.progress.tasks[-1].total)

    def note(self, message: str) -> None:
        self.console.print(f"[yellow]{message}[/yellow]")

    def run_finished(self, result: RunResult) -> None:
        self.progress.stop()
        print_summary(self.console, result)


def print_summary(console: Console, result: RunResult) -> None:
    """The summary table, readable at 80 columns; skipped parameters go below it."""
    summary = summary_frame(result.stages)
    table = Table(title=f"Staged search summary (cv score: mean {result.metric} ± std over folds)", title_justify="left",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)  # fmt: skip
    table.add_column("stage", no_wrap=True)
    table.add_column("winner", min_width=20)
    table.add_column("cv score", no_wrap=True)
    for column in ("fits", "failed", "s", "reused"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in result.stages:
        reused = "yes" if r.reused else f"{r.fits_reused} fits" if r.fits_reused else ""
        table.add_row(r.stage, label(r.winner) or "-", f"{r.mean_score:.4f} ± {r.std_score:.4f}", str(r.fits),
                      str(r.failed_fits), f"{r.seconds:.1f}", reused)  # fmt: skip
    console.print(table)
    for r in result.stages:
        if r.skipped:
            console.print(f"[dim]{r.stage}: skipped {'; '.join(r.skipped)}[/dim]")
    saved = summary.loc[summary["reused"], "seconds_saved"].sum()
    if saved > 0:
        console.print(f"{int(summary['reused'].sum())} of {len(summary)} stages reused from the stage store, {saved:.1f} s saved")
    raced = [r for r in result.stages if r.decision.rungs]
    if raced:
        console.print(f"racing: {sum(r.model_epochs for r in raced)} model-epochs trained in {len(raced)} raced "
                      f"stage{'s' if len(raced) > 1 else ''}")  # fmt: skip
    flipped = [r.stage for r in result.stages if r.decision.flipped_from is not None]
    if flipped:
        console.print(f"nuisance re-tuning flipped the winner of {', '.join(flipped)}")
    fits_saved = int(summary["fits_reused"].sum())
    if fits_saved:
        console.print(f"{fits_saved} of {int(summary['fits'].sum())} fits not trained: evaluated before, read back")
    if result.importance is not None:
        console.print(f"order=auto: {importance_sentence(result.importance)}; ran {' → '.join(result.importance.order)}")
    if result.duel is not None:
        console.print(f"final duel: {duel_sentence(result.duel, result.metric)}")
    console.print(f"held-out test {result.metric}: [bold]{result.test_score:.4f}[/bold]")
    console.print(f"run folder: {result.run_dir}")
