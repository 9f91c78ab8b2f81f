"""What the user sees: a progress display, the summary table, and nothing else.

Framework chatter (TensorFlow/XLA C++ logs, Python warnings) is written to file
descriptor 2 by native code, so the run redirects that descriptor to its log file.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline.search import StageResult


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


class StageProgress:
    """Rich progress: 'stage i/N name' with a bar of fits done."""

    def __init__(self, console: Console):
        self.console = console
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("fits"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self.task = None

    def __enter__(self) -> "StageProgress":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None:
        self.task = self.progress.add_task(f"stage {index}/{total} {name}", total=max(fits, 1))

    def fits_done(self, count: int) -> None:
        self.progress.advance(self.task, count)

    def stage_finished(self, result: StageResult) -> None:
        self.progress.update(self.task, completed=self.progress.tasks[-1].total)
        winner = ", ".join(f"{k}={v}" for k, v in result.winner.items()) or "(nothing to tune)"
        line = f"  → {winner}  score {result.mean_score:.4f} ± {result.std_score:.4f}"
        if result.reused:
            line += f"  [green]reused from the stage store (saved {result.seconds:.1f} s)[/green]"
        if result.skipped:
            line += f"  [dim]skipped: {'; '.join(result.skipped)}[/dim]"
        self.console.print(line)

    def note(self, message: str) -> None:
        self.console.print(f"[yellow]{message}[/yellow]")


def print_summary(console: Console, summary: pd.DataFrame, metric: str, test_score: float, run_dir: Path) -> None:
    """The summary table; skipped parameters go below it so the table stays narrow."""
    table = Table(title="Staged search summary", title_justify="left")
    for column in ("stage", "winner", f"cv {metric}", "fits", "failed", "seconds", "reused"):
        table.add_column(column, overflow="fold", no_wrap=column != "winner")
    for row in summary.itertuples(index=False):
        winner = ", ".join(f"{k.split('__')[-1]}={v}" for k, v in json.loads(row.winner).items()) or "-"
        table.add_row(
            row.stage, winner, f"{row.mean_score:.4f} ± {row.std_score:.4f}", str(row.fits),
            str(row.failed_fits), f"{row.seconds:.1f}", "yes" if row.reused else "",
        )  # fmt: skip
    console.print(table)
    for row in summary.itertuples(index=False):
        if isinstance(row.skipped, str) and row.skipped:
            console.print(f"[dim]{row.stage}: skipped {row.skipped}[/dim]")
    saved = summary.loc[summary["reused"], "seconds_saved"].sum()
    if saved > 0:
        console.print(f"{int(summary['reused'].sum())} of {len(summary)} stages reused from the stage store, {saved:.1f} s saved")
    console.print(f"held-out test {metric}: [bold]{test_score:.4f}[/bold]")
    console.print(f"run folder: {run_dir}")
