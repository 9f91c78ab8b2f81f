"""The run folder: summary, winners, test score, one cv_results table per stage, and ``report.md``.

``RunFolder`` is the observer that writes them; reads and writes only tables and JSON.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.common.errors import writing
from pipeline.common.records import Duel, Importance, RunResult, StageResult, numbered
from pipeline.config.schema import RunSpec
from pipeline.reports.observers import Observer
from pipeline.reports.words import describe, duel_sentence, importance_sentence

SUMMARY_COLUMNS = (
    "pass", "stage", "tuned", "winner", "mean_score", "std_score", "candidates", "fits", "failed_fits", "seconds", "skipped",
    "reused", "seconds_saved", "fits_reused", "model_epochs", "ties", "decision",
)  # fmt: skip


class RunFolder(Observer):
    """Writes each stage's table as soon as it ends (a stopped run keeps what it learned), the rest at the end."""

    def __init__(self, key: str = "hydra.run.dir") -> None:
        self.notes: list[str] = []  # notes can come before the run starts (an engine's fallback, say)
        self.key = key  # what a failed write names: the command line's setting, or report()'s folder

    def run_started(self, spec: RunSpec, run_dir: Path) -> None:
        self.run_dir, self.max_epochs, self.stopping = run_dir, spec.model.epochs, spec.model.early_stopping.enabled

    def note(self, message: str) -> None:
        self.notes.append(message)

    def stage_finished(self, index: int, result: StageResult) -> None:
        with writing(self.key, self.run_dir, f"the table of stage {result.stage}"):
            write_stage(self.run_dir, index, result)

    def run_finished(self, result: RunResult) -> None:
        with writing(self.key, self.run_dir, "the summary and report"):
            write_run(self.run_dir, result.stages, result.best_params, result.metric, result.test_score, result.duel,
                      result.importance)  # fmt: skip
            write_report(self.run_dir, result.stages, result.metric, result.test_score, self.max_epochs, self.notes,
                         result.duel, result.importance, self.stopping)  # fmt: skip


def cv_results_path(run_dir: Path, index: int, stage: str) -> Path:
    return run_dir / "cv_results" / f"{index:02d}_{stage}.csv"


def write_stage(run_dir: Path, index: int, result: StageResult) -> None:
    """Written as soon as the stage ends, so a stopped run keeps what it learned."""
    path = cv_results_path(run_dir, index, result.stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    result.cv_results.to_csv(path, index=False)


def summary_row(r: StageResult) -> dict[str, Any]:
    """A stage's row of ``summary.csv`` with Python values (``StagedSearchCV.stage_results_`` holds them as they are;
    ``summary_frame`` writes them as text)."""
    return {"pass": r.pass_number, "stage": r.stage, "tuned": list(r.tuned), "winner": r.winner, "mean_score": r.mean_score,
            "std_score": r.std_score, "candidates": r.candidates, "fits": r.fits, "failed_fits": r.failed_fits,
            "seconds": round(r.seconds, 2), "skipped": list(r.skipped), "reused": r.reused,
            "seconds_saved": round(r.seconds, 2) if r.reused else 0.0, "fits_reused": r.fits if r.reused else r.fits_reused,
            "model_epochs": r.model_epochs, "ties": list(r.ties), "decision": r.decision}  # fmt: skip


def summary_frame(results: Sequence[StageResult]) -> pd.DataFrame:
    rows = [row | {"tuned": " ".join(row["tuned"]), "winner": json.dumps(row["winner"], sort_keys=True),
                   "skipped": "; ".join(row["skipped"]), "ties": json.dumps(row["ties"], sort_keys=True),
                   "decision": describe(row["decision"])}  # fmt: skip
            for row in map(summary_row, results)]
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def write_run(run_dir: Path, results: Sequence[StageResult], best_params: dict[str, Any], metric: str,
              test_score: float | None,
              duel: Duel | None = None, importance: Importance | None = None) -> None:  # fmt: skip
    summary_frame(results).to_csv(run_dir / "summary.csv", index=False)
    if importance is not None:  # order=auto: what the screening measured and the order it chose
        _write_json(run_dir / "importance.json", dataclasses.asdict(importance) | {"says": importance_sentence(importance)})
    _write_json(run_dir / "best_params.json", best_params)
    if test_score is not None:
        _write_json(run_dir / "test_score.json", {"metric": metric, "value": test_score})
    if duel is not None:  # did tuning pay: the gain over the starting configuration, and which one was kept
        _write_json(run_dir / "duel.json", dataclasses.asdict(duel) | {"metric": metric,
                                                                          "says": duel_sentence(duel, metric)})


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def write_report(run_dir: Path, results: Sequence[StageResult], metric: str, test_score: float | None, max_epochs: int,
                 notes: Sequence[str] = (), duel: Duel | None = None, importance: Importance | None = None,
                 stopping: bool = True) -> Path:  # fmt: skip
    """``report.md`` with its charts: summary, what was decided on the way, one chart per stage, early stopping."""
    from pipeline.reports import plots

    charts = run_dir / "charts"
    charts.mkdir(exist_ok=True)
    held_out = (f"Held-out test {metric}: **{test_score:.4f}**" if test_score is not None else
                "No held-out test: StagedSearchCV searched all the data it was given (`search.score(X_test, y_test)` "
                "scores the refitted winner on data it never saw).")  # fmt: skip
    lines = ["# Staged search report", "", held_out, ""]
    if duel is not None:
        lines += ["## Did tuning pay?", "", f"Final duel: {duel_sentence(duel, metric)}.", ""]
    if importance is not None:
        plots.importance_chart(importance, charts / "importance.png")
        rows = pd.DataFrame([{"stage": m.stage, "share": f"{m.share:.1%}", "95 % interval": f"{m.low:.1%} – {m.high:.1%}",
                              "ran": "skipped" if m.stage in importance.skipped else importance.order.index(m.stage) + 1}
                             for m in importance.stages])  # fmt: skip
        lines += ["## Order chosen by the data (order=auto)", "", f"{importance_sentence(importance)}.", "",
                  f"Order ({importance.direction}): {' → '.join(importance.order)}.", "", markdown_table(rows), "",
                  "![stage importance](charts/importance.png)", ""]  # fmt: skip
    lines += ["## Summary", ""]
    summary = summary_frame(results).drop(columns=["tuned", "decision"])
    lines += [markdown_table(summary), ""]
    if notes:
        lines += ["## Notes", "", *(f"- {note}" for note in notes), ""]
    plots.path_chart(results, charts / "path.png", metric)
    lines += ["## Score across stages", "", "![score across stages](charts/path.png)", ""]
    lines += ["## Stages", ""]
    for index, result in numbered(results):
        name = f"{index:02d}_{result.stage}.png"
        if len(result.cv_results):
            plots.stage_chart(result, charts / name, metric)
        ties = ", ".join(json.dumps(t) for t in result.ties) or "none"
        lines += [f"### {index}. {result.stage}" + (f" (pass {result.pass_number})" if result.pass_number > 1 else ""), "",
                  f"Winner {json.dumps(result.winner)}: {result.mean_score:.4f} ± {result.std_score:.4f}; "
                  f"tied within one standard error: {ties}.", ""]  # fmt: skip
        if decided := describe(result.decision):
            lines += [f"Decision: {decided}.", ""]
        if result.skipped:
            lines += [f"Skipped: {'; '.join(result.skipped)}.", ""]
        if len(result.cv_results):
            lines += [f"![{result.stage}](charts/{name})", ""]
    lines += _early_stopping(results, charts, max_epochs, stopping)
    path = run_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def _early_stopping(results: Sequence[StageResult], charts: Path, max_epochs: int, stopping: bool) -> list[str]:
    """The epochs each fit ran against the limit it had: the evidence that early stopping works (or that it was
    off). Nothing for an estimator that trains no epochs."""
    from pipeline.reports import plots

    ran = [plots.epochs_run(r.cv_results, max_epochs) for r in results]
    epochs = np.concatenate(ran) if ran else np.array([])
    epochs = epochs[np.isfinite(epochs)]
    if not epochs.size:
        return []
    plots.epochs_chart(results, charts / "epochs.png", max_epochs)
    early = int((epochs < max_epochs).sum())
    off = "" if stopping else "early stopping was off (no EarlyStopping callback), so every fit ran its epochs; "
    raced = "; of raced stages, only the fits given the whole budget count" if any("iter" in r.cv_results for r in results) else ""
    return ["## Early stopping", "",
            f"{off}{early} of {epochs.size} fits stopped before the {max_epochs}-epoch limit "
            f"(median {np.median(epochs):.0f} epochs run){raced}.", "", "![epochs run](charts/epochs.png)", ""]


def markdown_table(frame: pd.DataFrame) -> str:
    """A table in Markdown: floats to 4 digits, ``|`` inside a cell escaped (report.md, comparison.md)."""
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(_cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value).replace("|", "\\|")
