"""The GridSearchCV engine: one scikeras fit per candidate × fold, through scikit-learn's search loop.

The candidates come from the stage strategy; ``CandidateSearchCV`` is scikit-learn's
``BaseSearchCV`` with a ``_run_search`` that evaluates exactly them, so scores, failed fits
(NaN, never hidden) and the ``cv_results_`` columns are scikit-learn's own. Keras is imported
only when a stage is evaluated, never by building the engine.
"""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.model_selection._search import BaseSearchCV

from pipeline.config.schema import RunSpec
from pipeline.engines import execution
from pipeline.errors import ResourceExhausted, StageFailed
from pipeline.records import Dataset, Evaluation, Problem

NET = "net"  # the Keras step of the estimator Pipeline (see pipeline.engines.estimators)


def folds(task: str, cv: int, seed: int):
    """Shuffled, seeded folds; stratified for classification (both engines use these)."""
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=cv, shuffle=True, random_state=seed)


class CandidateSearchCV(BaseSearchCV):
    """Evaluate a given list of candidates, in order, as GridSearchCV evaluates its grid."""

    _parameter_constraints = {**BaseSearchCV._parameter_constraints, "candidates": [list]}

    def __init__(self, estimator, candidates, *, scoring=None, n_jobs=None, refit=False, cv=None, error_score=np.nan):
        super().__init__(estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv, error_score=error_score,
                         return_train_score=False)
        self.candidates = candidates

    def _run_search(self, evaluate_candidates):
        evaluate_candidates(self.candidates)


class FitScore:
    """The chosen metric, or NaN when training diverged (non-finite loss or weights).

    In this process (``n_jobs=1``) it also reports each finished fit; a copy sent to a worker
    drops ``progress``, and the worker pool's backend reports instead.
    """

    def __init__(self, metric: str, progress: execution.Progress | None = None):
        self.metric, self.progress = metric, progress

    def __getstate__(self):
        return {"metric": self.metric, "progress": None}

    def __call__(self, estimator, X, y) -> float:
        if self.progress is not None:
            self.progress(1)
        if not trained(estimator[-1]):
            return float("nan")
        return float(get_scorer(self.metric)(estimator, X, y))


def trained(net) -> bool:
    """False when the fit diverged: a non-finite loss (TerminateOnNaN stopped it) or weights."""
    loss = np.asarray(net.history_.get("loss", []), dtype=float)
    if loss.size == 0 or not np.all(np.isfinite(loss)):
        return False
    return all(np.all(np.isfinite(w)) for w in net.model_.get_weights())


class EpochsRun:
    """Epochs the fit actually ran: the evidence that early stopping works."""

    def __call__(self, estimator, X, y) -> float:
        return float(len(estimator[-1].history_.get("loss", [])))


class GridSearchEngine:
    """Stages through scikit-learn's search loop on loky workers or a Dask cluster."""

    name = "gridsearchcv"

    def __init__(self, spec: RunSpec):
        self.model, self.execution, self.n_jobs = spec.model, spec.execution, spec.search.n_jobs
        self._exit = contextlib.ExitStack()
        self._dask = None

    def identity(self) -> dict[str, Any]:
        return {"engine": self.name, **execution.library_versions(self.execution.keras_backend)}

    def __enter__(self) -> GridSearchEngine:
        execution.select_backend(self.execution.keras_backend, self.execution.compile_cache)
        if self.execution.kind == "dask":
            self._dask = self._exit.enter_context(execution.dask_cluster(self.execution.address, self.execution.workers))
        return self

    def __exit__(self, *exc) -> None:
        self._exit.close()

    def load(self) -> None:
        """Import Keras and scikeras now, so that a stage's seconds leave the imports out."""
        import pipeline.engines.estimators  # noqa: F401

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict], base: dict, progress=lambda n: None) -> Evaluation:
        """scikit-learn's ``cv_results_`` for ``candidates`` (routed names) with ``base`` frozen."""
        from pipeline.engines.estimators import make_estimator

        train = problem.train
        estimator = make_estimator(train, base, self.model, seed=problem.seed)
        search = CandidateSearchCV(
            estimator, [{f"{NET}__{k}": v for k, v in c.items()} for c in candidates],
            scoring={"score": FitScore(problem.metric, progress), "epochs_run": EpochsRun()},
            cv=folds(train.task, problem.cv, problem.seed), n_jobs=self.n_jobs,
        )  # fmt: skip
        with warnings.catch_warnings(record=True) as caught, execution.fits_running(self.n_jobs, progress, self._dask):
            warnings.simplefilter("always")
            try:
                search.fit(train.X, train.y)
            except ValueError as exc:  # scikit-learn raises when every fit raised
                if "fits failed" not in str(exc):
                    raise
                raise StageFailed(stage, len(candidates) * problem.cv, last_line(str(exc))) from None
            except Exception as exc:  # a lost worker: loky's TerminatedWorkerError, Dask's KilledWorker, MemoryError
                if type(exc).__name__ not in ("TerminatedWorkerError", "KilledWorker", "MemoryError"):
                    raise
                raise ResourceExhausted(
                    f"stage {stage}: a worker ran out of memory or was killed ({last_line(str(exc)) or type(exc).__name__}); "
                    "try search.n_jobs=1, a smaller model.batch_size or fewer model__neurons"
                ) from None
        return Evaluation(_unrouted(search.cv_results_), _first_fit_error(caught))

    def refit(self, problem: Problem, params: dict, test: Dataset, path: Path) -> float:
        from pipeline.engines.estimators import refit

        return refit(problem, params, self.model, test, path)


def _unrouted(cv_results: dict[str, Any]) -> dict[str, Any]:
    """``cv_results_`` with the Pipeline step's prefix taken off the parameter names."""
    prefix = f"param_{NET}__"
    columns = {("param_" + k[len(prefix):] if k.startswith(prefix) else k): v for k, v in cv_results.items()}
    columns["params"] = [{k.removeprefix(f"{NET}__"): v for k, v in p.items()} for p in cv_results["params"]]
    return columns


def _first_fit_error(caught: list[warnings.WarningMessage]) -> str | None:
    for w in caught:
        text = str(w.message)
        if "fits failed" in text.lower():
            return last_line(text)
    return None


def last_line(text: str) -> str:
    """The exception line at the bottom of a traceback text."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""
