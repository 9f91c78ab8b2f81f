"""The run's files: summary, winners, test score and one cv_results table per stage.

Reads and writes only tables and JSON: no Keras, no Hydra.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.search import StageResult

SUMMARY_COLUMNS = (
    "stage", "tuned", "winner", "mean_score", "std_score", "candidates", "fits", "failed_fits", "seconds", "skipped",
    "reused", "seconds_saved",
)  # fmt: skip


def cv_results_path(run_dir: Path, index: int, stage: str) -> Path:
    return run_dir / "cv_results" / f"{index:02d}_{stage}.csv"


def write_stage(run_dir: Path, index: int, result: StageResult) -> None:
    """Written as soon as the stage ends, so a stopped run keeps what it learned."""
    path = cv_results_path(run_dir, index, result.stage)
    path.parent.mkdir(parents=True, exist_ok=True)
    result.cv_results.to_csv(path, index=False)


def summary_frame(results: Sequence[StageResult]) -> pd.DataFrame:
    rows = [
        {
            "stage": r.stage,
            "tuned": " ".join(r.tuned),
            "winner": json.dumps(r.winner, sort_keys=True),
            "mean_score": r.mean_score,
            "std_score": r.std_score,
            "candidates": r.candidates,
            "fits": r.fits,
            "failed_fits": r.failed_fits,
            "seconds": round(r.seconds, 2),
            "skipped": "; ".join(r.skipped),
            "reused": r.reused,
            "seconds_saved": round(r.seconds, 2) if r.reused else 0.0,
        }
        for r in results
    ]
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))


def write_run(
    run_dir: Path, results: Sequence[StageResult], best_params: dict[str, Any], metric: str, test_score: float
) -> None:
    summary_frame(results).to_csv(run_dir / "summary.csv", index=False)
    _write_json(run_dir / "best_params.json", best_params)
    _write_json(run_dir / "test_score.json", {"metric": metric, "value": test_score})


def _write_json(path: Path, payload: Any) -> None:
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
