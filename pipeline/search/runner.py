"""The staged search: stage after stage, each earlier winner frozen, then the final refit.

The runner knows no Keras and no estimator (as KerasTuner's base tuner): the engine
evaluates and refits, a strategy decides which candidates a stage evaluates, the store
keeps every result, and observers show and write what happened.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline import data
from pipeline.common import exits, space
from pipeline.common.errors import PipelineError, UserError, exception_line, interruption, writing
from pipeline.common.records import (
    Budget,
    Duel,
    Evaluation,
    FinalModel,
    Importance,
    Problem,
    RunResult,
    StageResult,
    first_number,
)
from pipeline.config.schema import RunSpec
from pipeline.config.scoring import scoring_for
from pipeline.engines.base import Engine
from pipeline.reports.observers import Observer
from pipeline.search.duel import duel, duel_seed
from pipeline.search.reuse import reusing
from pipeline.search.stage import planned_fits, run_stage
from pipeline.search.strategies.plan import plan, screening
from pipeline.stats.importance import order_by_importance
from pipeline.store import Store, describe_final, describe_run, describe_stage

log = logging.getLogger(__name__)


@dataclasses.dataclass
class Progress:
    """Where the run is, in the words an interruption outside the runner's own blocks says (Ctrl+C while a stage's
    results are written, between stages, while the engine or the tracker closes after the run)."""

    where: str = "before the first stage started; nothing was lost"


def run(spec: RunSpec, engine: Engine, observers: Observer, run_dir: Path, progress: Progress | None = None) -> RunResult:
    """Run every stage of ``spec`` in order with ``engine`` on the configured dataset, then the final refit on its
    training part, scored on the held-out part; observers write the run folder."""
    progress = progress or Progress()
    observers.run_started(spec, run_dir)
    full = data.load_dataset(spec.dataset)
    for note in full.notes:
        observers.note(note)
    train, test = data.split(full, spec.dataset.test_size, spec.search.seed)
    del full  # its two parts are copies: a large table is not held three times over the search
    data.check_folds(train, spec.search.cv, spec.dataset.test_size)
    problem = Problem(train, scoring_for(spec.search, train.task, train.y), spec.search.cv, spec.search.seed,
                      spec.search.repeats)  # fmt: skip
    found = search(spec, engine, problem, observers, progress)
    results, best_params, stored = found.stages, found.best_params, found.stored

    def refit() -> FinalModel:
        path = run_dir / "model.keras"
        with writing("hydra.run.dir", run_dir, "the final model"), _refit_failure(best_params, results):
            return FinalModel(problem.metric, engine.refit(problem, best_params, test, path), path)

    with _interrupted_as(f"during the final refit; {stored}; run the same command to finish"):
        exits.raise_if_swallowed()
        final = found.store.stages.fetch_or_compute_final(describe_final(found.shared, best_params, test), refit)
        if final.reused:
            with writing("hydra.run.dir", run_dir, "the final model"):
                shutil.copyfile(final.model_path, run_dir / "model.keras")
    result = RunResult(results, best_params, problem.metric, final.test_score, run_dir, found.duel, found.importance)
    kept = stored.replace(" stored", " and the final model stored") if spec.store.mode == "readwrite" else stored
    with _interrupted_as(f"while writing the report; {kept}; run the same command to write it again"):
        exits.raise_if_swallowed()
        observers.run_finished(result)
        exits.raise_if_swallowed()
    progress.where = f"after the run finished, while closing; its run folder {run_dir} is complete; nothing was lost"
    return result


@dataclasses.dataclass(frozen=True)
class Searched:
    """What the stages (and the final duel) found: both front ends' answer before their own final fit."""

    stages: tuple[StageResult, ...]
    best_params: dict[str, Any]
    duel: Duel | None
    importance: Importance | None
    store: Store
    shared: dict[str, Any]  # what every store entry of the run shares (``describe_run``)
    stored: str  # "N completed stages stored", for the messages of what comes after


def search(spec: RunSpec, engine: Engine, problem: Problem, observers: Observer, progress: Progress | None = None) -> Searched:
    """The staged search itself, shared by the command line and ``StagedSearchCV``: every stage of ``spec`` on
    ``problem`` through ``engine`` and the stage store, each winner frozen, then the final duel if asked."""
    progress = progress or Progress()
    store = Store(spec.store.dir, spec.store.mode, report=observers.note)
    shared = describe_run(spec, problem.train, data.PREPROCESSING_VERSION, problem.metric, engine.identity())
    log.info("search: %d rows x %d columns (%s), %s, cv=%d, engine %s", len(problem.train.y), problem.train.X.shape[1],
             problem.train.task, problem.metric, problem.cv, shared["engine"])  # what a bug report needs first
    results, current, importance = _run_stages(spec, engine, problem, store, shared, observers, progress)
    stored = _stored(len(results) if spec.store.mode == "readwrite" else 0)
    best_params = space.effective_params(current, spec.conditions())
    paid = None
    if spec.search.final_repeats:
        with _interrupted_as(f"during the final duel; {stored}; run the same command to finish"):
            exits.raise_if_swallowed()
            paid = _final_duel(spec, engine, problem, store, observers, best_params)
        best_params = paid.start if paid.kept_start else best_params
    return Searched(tuple(results), best_params, paid, importance, store, shared, stored)


def _run_stages(spec: RunSpec, engine: Engine, problem: Problem, store: Store, shared: dict[str, Any], observers: Observer,
                progress: Progress) -> tuple[list[StageResult], dict[str, Any], Importance | None]:  # fmt: skip
    """Every pass over the stages; each stage from the store or computed, its winner frozen (with order=auto, the
    screening first: it chooses the order, the stages skipped, and where the stages start)."""
    conditions = spec.conditions()
    stages = plan(spec)
    current = dict(spec.model.params)
    results: list[StageResult] = []
    total = len(stages) * spec.search.passes

    def train(stage: str, candidates: list[dict[str, Any]], base: dict[str, Any], budget: Budget | None = None) -> Evaluation:
        return engine.evaluate(problem, stage, candidates, base, observers.fits_done, budget)

    evaluate = reusing(train, store.candidates, shared,
                       spec.search.cv * spec.search.repeats, observers.fits_done)  # fmt: skip

    importance = None
    if spec.order.auto.enabled:
        auto = spec.order.auto
        screen, strategy = screening(spec)
        observers.stage_started(0, total, screen.name, planned_fits(screen, strategy, current, conditions,
                                                                    spec.search.cv * spec.search.repeats))  # fmt: skip
        compute = functools.partial(_compute, engine, screen, strategy, dict(current), conditions, evaluate,
                                    cv=spec.search.cv, repeats=spec.search.repeats, select="best", metric=problem.metric)  # fmt: skip
        with _interrupted_as(f"while screening ({screen.name}); nothing stored yet; run the same command to resume"):
            screened = store.stages.fetch_or_compute(describe_stage(shared, screen, strategy.identity(), conditions, current),
                                                     compute)  # fmt: skip
        results.append(screened)
        observers.stage_finished(0, screened)
        families = {stage.name: list(stage.grid) for stage, _ in stages}
        importance = order_by_importance(screened.cv_results, families, spec.search.seed, auto.direction, auto.skip_below)
        stages = sorted((s for s in stages if s[0].name in importance.order), key=lambda s: importance.order.index(s[0].name))
        total = len(stages) * spec.search.passes
        if auto.start == "best_screened":
            current.update(screened.winner)
        observers.order_chosen(importance)

    for pass_number in range(1, spec.search.passes + 1):
        before = dict(current)
        for stage, strategy in stages:
            index = first_number(results) + len(results)  # the run folder's numbering: the screening is 0
            fits = planned_fits(stage, strategy, current, conditions, spec.search.cv * spec.search.repeats)
            observers.stage_started(index, total, stage.name, fits)

            compute = functools.partial(_compute, engine, stage, strategy, dict(current), conditions, evaluate,
                                        cv=spec.search.cv, repeats=spec.search.repeats, select=spec.search.select,
                                        metric=problem.metric)  # fmt: skip
            kept = _stored(index - 1 if spec.store.mode == "readwrite" else 0)
            with _interrupted_as(f"in stage {index}/{total} ({stage.name}); {kept}; run the same command to resume"):
                exits.raise_if_swallowed()
                if fits == 0:  # conditions skipped every tuned parameter: nothing to compute or store
                    result = compute()
                else:
                    result = store.stages.fetch_or_compute(describe_stage(shared, stage, strategy.identity(), conditions, current),
                                                    compute)  # fmt: skip
            result = dataclasses.replace(result, pass_number=pass_number)
            current.update(result.winner)
            results.append(result)
            log.info("stage %s: %s, score %.4f ± %.4f, %d fits (%d failed), %.1f s%s", stage.name, result.winner,
                     result.mean_score, result.std_score, result.fits, result.failed_fits, result.seconds,
                     ", reused from the stage store" if result.reused else "")  # fmt: skip
            done = _stored(index if spec.store.mode == "readwrite" else 0)
            progress.where = (f"while writing the results of stage {index}/{total} ({stage.name}); {done}; run the same "
                              "command to resume")  # fmt: skip
            observers.stage_finished(index, result)
            progress.where = f"after stage {index}/{total} ({stage.name}); {done}; run the same command to resume"
        if current == before:  # a whole pass changed no winner: converged
            break
    return results, current, importance


def _final_duel(spec: RunSpec, engine: Engine, problem: Problem, store: Store, observers: Observer,
                tuned: dict[str, Any]) -> Duel:  # fmt: skip
    """The tuned configuration against the starting one on cv folds reshuffled ``search.final_repeats`` times with
    the duel's own seed, its fits through the candidate store like any stage's (a rerun reads them back)."""
    start = space.effective_params(spec.model.params, spec.conditions())
    repeated = dataclasses.replace(problem, repeats=spec.search.final_repeats, seed=duel_seed(problem.seed))
    search = dataclasses.replace(spec.search, repeats=repeated.repeats, seed=repeated.seed)
    shared = describe_run(dataclasses.replace(spec, search=search), problem.train, data.PREPROCESSING_VERSION,
                          problem.metric, engine.identity())  # fmt: skip

    def train(stage: str, candidates: list[dict[str, Any]], base: dict[str, Any], budget: Budget | None = None) -> Evaluation:
        return engine.evaluate(repeated, stage, candidates, base, observers.fits_done, budget)

    observers.duel_started(0 if tuned == start else repeated.fits(2))
    if tuned != start:
        engine.load()  # (a run whose stages all came from the store has not loaded the engine's libraries yet)
    paid = duel(reusing(train, store.candidates, shared, repeated.cv * repeated.repeats, observers.fits_done),
                start, tuned, problem.cv)  # fmt: skip
    observers.duel_finished(paid)
    return paid


@contextlib.contextmanager
def _refit_failure(params: dict[str, Any], results: Sequence[StageResult]) -> Iterator[None]:
    """A final refit that raises is never a dead end: one line naming the winners' stages and their store keys
    (a stored winner that cannot be refit would fail every rerun the same way) and how to remove them."""
    try:
        yield
    except (PipelineError, KeyboardInterrupt, MemoryError, OSError):  # OSError: writing the model (``writing`` says)
        raise
    except Exception as exc:
        log.error("the final refit raised", exc_info=exc)
        stored = [r for r in results if r.reused and r.key]
        where = ""
        if stored:
            keys = ", ".join(f"{r.stage} (store key {r.key[:12]})" for r in stored)
            where = (f"; the winners of {keys} were read from the stage store: `python -m pipeline.store prune --key "
                     f"{stored[-1].key[:12]}` removes one, or run with store.mode=off to recompute them")  # fmt: skip
        raise UserError(f"the final refit with {space.label(dict(sorted(params.items())))} failed ({exception_line(str(exc)) or type(exc).__name__})"
                        f"{where}") from None


def _stored(stages: int) -> str:
    return f"{stages} completed stage{'s' if stages != 1 else ''} stored"


def _compute(engine: Engine, *args: Any, **kwargs: Any) -> StageResult:
    engine.load()  # before the stage's clock starts
    return run_stage(*args, **kwargs)


class _interrupted_as:
    """Turn Ctrl+C or SIGTERM inside the block into ``Interrupted`` saying where it came and what was kept."""

    def __init__(self, where: str):
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None) -> None:
        if isinstance(value, KeyboardInterrupt):
            raise interruption(value, self.where) from None
