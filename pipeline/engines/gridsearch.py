"""The GridSearchCV engine: one fit per candidate × fold, through scikit-learn's search loop.

It fits the project's network (scikeras, behind the preprocessing Pipeline), or any scikit-learn estimator
``StagedSearchCV`` was given (cloned, the candidates set on it as they are). The candidates come from the stage
strategy; ``searchcv.CandidateSearchCV`` is scikit-learn's
``BaseSearchCV`` with a ``_run_search`` that evaluates exactly them, so scores, failed fits
(NaN, never hidden) and the ``cv_results_`` columns are scikit-learn's own. Keras and
scikit-learn's model selection are imported when a stage is evaluated, not by building the engine.
"""
from __future__ import annotations

import contextlib
import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pipeline.common.cvresults import parameters
from pipeline.common.errors import StageFailed, exception_line, out_of_memory
from pipeline.common.records import Budget, Dataset, Evaluation, Problem
from pipeline.common.values import describe
from pipeline.config.schema import RunSpec
from pipeline.engines import cluster, execution, workers
from pipeline.engines.base import Progress

log = logging.getLogger(__name__)


class GridSearchEngine:
    """Stages through scikit-learn's search loop on loky workers or a Dask cluster."""

    name = "gridsearchcv"
    continues = False  # each fit starts afresh: a budget's resume is ignored, the models train from scratch

    def __init__(self, spec: RunSpec, note: Callable[[str], None] = print, estimator: Any = None,
                 resource: str = "epochs", error_score: Any = float("nan"),
                 decode: Callable[[dict[str, Any]], dict[str, Any]] = dict,
                 fit_params: Mapping[str, Any] | None = None) -> None:  # fmt: skip
        """``estimator``: a user's scikit-learn estimator instead of the project's network; ``resource``: its
        parameter a racing budget sets (epochs, max_iter, n_estimators); ``error_score``: as ``GridSearchCV``'s;
        ``decode``: the user's own values for the tokens that stood in for them (``values.Tokens``); ``fit_params``:
        passed to every fit, split by fold."""
        self.model, self.execution, self.n_jobs, self.note = spec.model, spec.execution, spec.search.n_jobs, note
        self.estimator, self.resource, self.error_score = estimator, resource, error_score
        self.decode, self.fit_params = decode, dict(fit_params or {})
        self._exit = contextlib.ExitStack()
        self._dask: Any = None  # a distributed.Client when execution=dask

    @staticmethod
    def unsupported(spec: RunSpec) -> str | None:
        return None  # the engine every configuration can run on

    def identity(self) -> dict[str, Any]:
        versions = execution.library_versions(self.execution.keras_backend)
        if self.estimator is None:
            return {"engine": self.name, **versions}
        return {"engine": self.name, "estimator": describe(self.estimator), "resource": self.resource, **versions,
                "libraries": execution.versions_of(self.estimator)}

    def __enter__(self) -> GridSearchEngine:
        warning = execution.select_backend(self.execution.keras_backend, self.execution.compile_cache)
        if warning:
            self.note(warning)
        if self.execution.kind == "dask":
            self._dask = self._exit.enter_context(cluster.dask_cluster(self.execution.address, self.execution.workers))
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def load(self) -> None:
        """Import Keras and scikeras now, so that a stage's seconds leave the imports out."""
        if self.estimator is None:
            import pipeline.engines.estimators  # noqa: F401

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict[str, Any]], base: dict[str, Any],
                 progress: Progress = lambda n: None, budget: Budget | None = None) -> Evaluation:  # fmt: skip
        """scikit-learn's ``cv_results_`` for ``candidates`` (routed names) with ``base`` frozen; with a budget,
        each fit trains its epochs (from scratch, as ``HalvingGridSearchCV``'s rungs do)."""
        from joblib import effective_n_jobs

        from pipeline.engines.searchcv import CandidateSearchCV, EpochsRun, FitScore, folds

        train = problem.train
        estimator, prefix = self._estimator(problem, self.decode(base))
        if budget is not None:
            estimator.set_params(**{prefix + self.resource: budget.epochs})
        routed = [{prefix + k: v for k, v in self.decode(c).items()} for c in candidates]
        cv = folds(train.task, problem.cv, problem.seed, problem.repeats)
        n_jobs = min(effective_n_jobs(self.n_jobs), problem.fits(len(candidates)))  # never more workers than fits
        search = CandidateSearchCV(estimator, routed, scoring={"score": FitScore(problem.metric, progress),
                                   "epochs_run": EpochsRun()}, cv=cv, n_jobs=n_jobs,
                                   error_score=self.error_score)  # fmt: skip
        with warnings.catch_warnings(record=True) as caught, workers.fits_running(n_jobs, progress, self._dask):
            warnings.simplefilter("always")  # every failed fit's warning is recorded (scikit-learn's FitFailedWarning)
            # ... but not the libraries' deprecation notes: the filters travel to the workers, and each fit would log
            # Keras' own (12,000 lines in one run's pipeline.log).
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            try:
                search.fit(train.X, train.y, **self.fit_params)
            except ValueError as exc:  # scikit-learn raises when every fit raised
                if "fits failed" not in str(exc):
                    raise
                log.error("stage %s: every fit raised\n%s", stage, exc)
                raise StageFailed(stage, problem.fits(len(candidates)), exception_line(str(exc))) from None
            except Exception as exc:  # a lost worker: loky's TerminatedWorkerError, Dask's KilledWorker, MemoryError
                if type(exc).__name__ not in ("TerminatedWorkerError", "KilledWorker", "MemoryError"):
                    raise
                raise out_of_memory(stage, "a worker ran out of memory or was killed", exc,
                                    "try search.n_jobs=1, a smaller model.batch_size or fewer model__neurons") from None
        columns = _unrouted(search.cv_results_, prefix)
        columns = _with_parameters(columns, candidates)
        return Evaluation(columns, _first_fit_error(caught))

    def _estimator(self, problem: Problem, base: dict[str, Any]) -> tuple[Any, str]:
        """The estimator a stage fits, ``base`` set, and the prefix that routes a candidate's names to it."""
        if self.estimator is not None:
            from sklearn.base import clone

            return clone(self.estimator).set_params(**base), ""
        from pipeline.engines.estimators import make_estimator
        from pipeline.engines.searchcv import NET

        return make_estimator(problem.train, base, self.model, seed=problem.seed), f"{NET}__"

    def refit(self, problem: Problem, params: dict[str, Any], test: Dataset, path: Path) -> float:
        from pipeline.engines.estimators import refit

        return refit(problem, params, self.model, test, path)


def _unrouted(cv_results: dict[str, Any], prefix: str) -> dict[str, Any]:
    """``cv_results_`` with the Pipeline step's prefix taken off the parameter names."""
    if not prefix:
        return dict(cv_results)
    param = f"param_{prefix}"
    columns = {("param_" + k[len(param):] if k.startswith(param) else k): v for k, v in cv_results.items()}
    columns["params"] = [{k.removeprefix(prefix): v for k, v in p.items()} for p in cv_results["params"]]
    return columns


def _with_parameters(columns: dict[str, Any], candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """scikit-learn's columns with the candidates as the core gave them (tokens for the user's own objects, which
    the fits were given), where scikit-learn puts its parameter columns."""
    out: dict[str, Any] = {}
    for name, value in columns.items():
        if name == "params":
            out |= parameters(candidates)
        elif not name.startswith("param_"):
            out[name] = value
    return out


def _first_fit_error(caught: list[warnings.WarningMessage]) -> str | None:
    """The exception line of the first fit that raised; its whole traceback goes to the run log."""
    for w in caught:
        text = str(w.message)
        if "fits failed" in text.lower():
            log.error("%s", text)
            return exception_line(text)
    return None
