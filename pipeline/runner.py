"""The staged search: stage after stage, each earlier winner frozen, then the final refit.

The runner knows no Keras (like KerasTuner's base tuner): ``model`` and ``search`` own
everything Keras; this module moves plain data between data, search, model and report.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sklearn.metrics import get_scorer, get_scorer_names

from pipeline import data, execution, report, search
from pipeline.config import RunSpec, StageSpec
from pipeline.errors import Interrupted, UserError
from pipeline.search import StageResult
from pipeline.store import FORMAT, FinalModel, StageStore, library_versions, stage_key


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
    engine = _engine(spec, display)
    execution.select_backend(spec.keras_backend, spec.compile_cache, host_devices=engine == "fused")
    full = data.load_dataset(spec.dataset)
    data.check_folds(full, spec.search.cv)
    train, test = data.split(full, spec.dataset.test_size, spec.search.seed)
    metric = _metric(spec.search.scoring, train.task)

    def make_estimator(params: dict[str, Any]):
        from pipeline import model  # imports Keras (backend chosen above), only if something is fitted

        return model.make_estimator(train, params, training=spec.training, seed=spec.search.seed)

    store = StageStore(spec.store_dir, spec.store_mode, report=display.note)
    common = {
        "format": FORMAT,
        "dataset": {"name": train.name, "task": train.task, "fingerprint": train.fingerprint,
                    "preprocessing": data.PREPROCESSING_VERSION},
        "training": dataclasses.asdict(spec.training),
        "search": {"cv": spec.search.cv, "metric": metric, "seed": spec.search.seed, "select": spec.search.select,
                   **({"engine": engine} if engine != "gridsearchcv" else {})},  # its own shuffles: its own results
        "versions": library_versions(spec.keras_backend),
    }  # fmt: skip
    stages, budget = plan(spec)
    on_cluster = spec.execution == "dask" and engine != "fused"
    with execution.dask_cluster(spec.dask_address, spec.dask_workers) if on_cluster else contextlib.nullcontext():
        search_stage = functools.partial(
            search.run_stage, make_estimator=make_estimator, X=train.X, y=train.y, task=train.task,
            cv=spec.search.cv, seed=spec.search.seed, metric=metric, n_jobs=spec.search.n_jobs,
            select=spec.search.select, budget=budget, on_fit_done=display.fits_done, engine=engine, training=spec.training,
        )  # fmt: skip
        results, current = _run_stages(spec, stages, budget, common, store, search_stage, run_dir, display)

    best_params = search.effective_params(current, spec.conditions)
    final_description = {**common, "stage": {"name": "final refit"}, "frozen": best_params,
                         "test": {"fingerprint": test.fingerprint}}  # fmt: skip

    def refit() -> FinalModel:
        from pipeline import model

        final = make_estimator(best_params)
        final.fit(train.X, train.y)
        model.save_network(final, run_dir / "model.keras")
        return FinalModel(metric, float(get_scorer(metric)(final, test.X, test.y)), run_dir / "model.keras")

    final = store.fetch_or_compute_final(key_of(final_description), final_description, refit)
    if final.reused:
        shutil.copyfile(final.model_path, run_dir / "model.keras")
    test_score = final.test_score
    report.write_run(run_dir, results, best_params, metric, test_score)
    report.write_report(run_dir, results, metric, test_score, spec.training.epochs)
    return RunResult(tuple(results), best_params, metric, test_score, run_dir)


def _run_stages(spec, stages, budget, common, store, search_stage, run_dir, display):
    """Every pass over the stages; each stage from the store or computed, its winner frozen."""
    current = dict(spec.base_params)
    results: list[StageResult] = []
    total = len(stages) * spec.search.passes
    for pass_number in range(1, spec.search.passes + 1):
        before = dict(current)
        for stage in stages:
            index = len(results) + 1
            description = {
                **common,
                "stage": {"name": stage.name, "grid": stage.grid, "conditions": spec.conditions, "simpler": stage.simpler,
                          "budget": budget},  # fmt: skip
                "frozen": search.frozen_inputs(stage.grid, current, spec.conditions),
            }
            fits = search.count_candidates(stage.grid, current, spec.conditions, budget) * spec.search.cv
            display.stage_started(index, total, stage.name, fits)
            compute = functools.partial(search_stage, stage.name, stage.grid, current, spec.conditions, simpler=stage.simpler)
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

    return results, current


def plan(spec: RunSpec) -> tuple[list[StageSpec], int | None]:
    """The stages to run and the random budget: staged as configured, or one joint search.

    ``exhaustive`` and ``random`` search the joint grid of the chosen stages in one stage (the
    baselines the staged search is measured against); ``random`` samples ``search.budget``
    candidates, by default as many as the staged search would fit from the base values.
    """
    if spec.search.strategy == "staged":
        return list(spec.stages), None
    joint = StageSpec(spec.search.strategy, {k: v for s in spec.stages for k, v in s.grid.items()},
                      {k: v for s in spec.stages for k, v in s.simpler.items()})  # fmt: skip
    if spec.search.strategy == "exhaustive":
        return [joint], None
    staged = sum(search.count_candidates(s.grid, spec.base_params, spec.conditions) for s in spec.stages)
    return [joint], spec.search.budget or staged


def _engine(spec: RunSpec, display: Display) -> str:
    """The engine this run uses: fused where it can express the configuration, else GridSearchCV, said in one line."""
    if spec.search.engine != "fused":
        return spec.search.engine
    from pipeline import fused

    reason = fused.unsupported(spec.keras_backend)
    if reason:
        display.note(f"search.engine=fused: {reason}; using gridsearchcv")
        return "gridsearchcv"
    if spec.execution == "dask":
        display.note("search.engine=fused trains every stage in this process; execution=dask is not used")
    return "fused"


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
