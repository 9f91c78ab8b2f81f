"""The staged search: stage after stage, each earlier winner frozen, then the final refit.

The runner knows no Keras (like KerasTuner's base tuner): ``model`` and ``search`` own
everything Keras; this module moves plain data between data, search, model and report.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sklearn.metrics import get_scorer, get_scorer_names

from pipeline import data, execution, report, search
from pipeline.config import RunSpec
from pipeline.store import StageStore, library_versions, stage_key
from pipeline.errors import Interrupted, UserError
from pipeline.search import StageResult


class Display(Protocol):
    """What the runner tells the user while it works (see ``pipeline.terminal``)."""

    def stage_started(self, index: int, total: int, name: str, fits: int) -> None: ...
    def fits_done(self, count: int) -> None: ...
    def stage_finished(self, result: StageResult) -> None: ...
    def note(self, message: str) -> None: ...


@dataclass(frozen=True)
class RunResult:
    stages: tuple[StageResult, ...]
    best_params: dict[str, Any]
    metric: str
    test_score: float
    run_dir: Path


def run(spec: RunSpec, run_dir: Path, display: Display) -> RunResult:
    """Run every stage of ``spec`` in order and write the run's files into ``run_dir``."""
    execution.select_backend(spec.keras_backend, spec.compile_cache)
    full = data.load_dataset(spec.dataset)
    data.check_folds(full, spec.search.cv)
    train, test = data.split(full, spec.dataset.test_size, spec.search.seed)
    metric = _metric(spec.search.scoring, train.task)

    from pipeline import model  # imports Keras, now that the backend is chosen

    make_estimator: Callable[[dict[str, Any]], Any] = functools.partial(
        model.make_estimator, train, training=spec.training, seed=spec.search.seed
    )
    store = StageStore(spec.store_dir, spec.store_mode, report=display.note)
    common = {
        "format": "stage/1",
        "dataset": {"name": train.name, "task": train.task, "fingerprint": train.fingerprint,
                    "preprocessing": data.PREPROCESSING_VERSION},
        "training": dataclasses.asdict(spec.training),
        "search": {"cv": spec.search.cv, "metric": metric, "seed": spec.search.seed, "select": spec.search.select},
        "versions": library_versions(spec.keras_backend),
    }  # fmt: skip
    current = dict(spec.base_params)
    results: list[StageResult] = []
    total = len(spec.stages) * spec.search.passes
    for pass_number in range(1, spec.search.passes + 1):
        before = dict(current)
        for stage in spec.stages:
            index = len(results) + 1
            description = {
                **common,
                "stage": {"name": stage.name, "grid": stage.grid, "conditions": spec.conditions, "simpler": stage.simpler},
                "frozen": search.frozen_inputs(stage.grid, current, spec.conditions),
            }
            fits = search.count_candidates(stage.grid, current, spec.conditions) * spec.search.cv
            display.stage_started(index, total, stage.name, fits)
            compute = functools.partial(
                search.run_stage, stage.name, stage.grid, current, spec.conditions, make_estimator, train.X, train.y,
                task=train.task, cv=spec.search.cv, seed=spec.search.seed, metric=metric, n_jobs=spec.search.n_jobs,
                select=spec.search.select, simpler=stage.simpler, on_fit_done=display.fits_done,
            )  # fmt: skip
            try:
                result = store.fetch_or_compute(key_of(description), description, compute)
            except KeyboardInterrupt:
                stored = index - 1 if spec.store_mode == "readwrite" else 0
                kept = f"{stored} completed stage{'s' if stored != 1 else ''} stored"
                raise Interrupted(
                    f"interrupted in stage {index}/{total} ({stage.name}); {kept}; run the same command to resume"
                ) from None
            result = dataclasses.replace(result, pass_number=pass_number)
            current.update(result.winner)
            results.append(result)
            report.write_stage(run_dir, index, result)
            display.stage_finished(result)
        if current == before:  # a whole pass changed no winner: converged
            break

    best_params = search.effective_params(current, spec.conditions)
    final = make_estimator(best_params)
    final.fit(train.X, train.y)
    test_score = float(get_scorer(metric)(final, test.X, test.y))
    model.save_network(final, run_dir / "model.keras")
    report.write_run(run_dir, results, best_params, metric, test_score)
    report.write_report(run_dir, results, metric, test_score, spec.training.epochs)
    return RunResult(tuple(results), best_params, metric, test_score, run_dir)


def key_of(description: dict[str, Any]) -> str:
    """The store key: everything in the description except the stage's display name."""
    keyed = {**description, "stage": {k: v for k, v in description["stage"].items() if k != "name"}}
    return stage_key(keyed)


def _metric(scoring: str, task: str) -> str:
    if scoring == "auto":
        return search.default_metric(task)
    if scoring not in get_scorer_names():
        raise UserError(f"search.scoring={scoring}: unknown scorer; e.g. accuracy, f1, roc_auc, r2, neg_mean_squared_error")
    return scoring
