"""scikit-learn's side of the GridSearchCV engine: the folds, the search over given candidates, the scorers.

Imported when a stage is evaluated, not when the engine is built, so that a run that stops
on bad data never waits for scikit-learn's model selection.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, RepeatedKFold, RepeatedStratifiedKFold, StratifiedKFold
from sklearn.model_selection._search import BaseSearchCV

NET = "net"  # the Keras step of the estimator Pipeline (see pipeline.engines.estimators)


def folds(task: str, cv: int, seed: int, repeats: int = 1) -> Any:
    """Shuffled, seeded folds; stratified for classification (both engines use these); with ``repeats``,
    scikit-learn's repeated splitter: the cv folds again with fresh shuffles, split by split."""
    if repeats > 1:
        splitter = RepeatedKFold if task == "regression" else RepeatedStratifiedKFold
        return splitter(n_splits=cv, n_repeats=repeats, random_state=seed)
    splitter = KFold if task == "regression" else StratifiedKFold
    return splitter(n_splits=cv, shuffle=True, random_state=seed)


class CandidateSearchCV(BaseSearchCV):
    """Evaluate a given list of candidates, in order, as GridSearchCV evaluates its grid."""

    _parameter_constraints = {**BaseSearchCV._parameter_constraints, "candidates": [list]}

    def __init__(self, estimator: Any, candidates: list[dict[str, Any]], *, scoring: Any = None, n_jobs: int | None = None,
                 refit: bool = False, cv: Any = None, error_score: float = np.nan) -> None:  # fmt: skip
        super().__init__(estimator, scoring=scoring, n_jobs=n_jobs, refit=refit, cv=cv, error_score=error_score,
                         return_train_score=False)
        self.candidates = candidates

    def _run_search(self, evaluate_candidates: Callable[[list[dict[str, Any]]], Any]) -> None:
        evaluate_candidates(self.candidates)


class FitScore:
    """The chosen metric, or NaN when training diverged (non-finite loss or weights).

    In this process (``n_jobs=1``) it also reports each finished fit; a copy sent to a worker
    drops ``progress``, and the worker pool's backend reports instead.
    """

    def __init__(self, metric: str, progress: Callable[[int], None] | None = None) -> None:
        self.metric, self.progress = metric, progress

    def __getstate__(self) -> dict[str, Any]:
        return {"metric": self.metric, "progress": None}

    def __call__(self, estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
        if self.progress is not None:
            self.progress(1)
        if not trained(final_step(estimator)):
            return float("nan")
        weighted = {} if sample_weight is None else {"sample_weight": sample_weight}  # as GridSearchCV scores
        return float(get_scorer(self.metric)(estimator, X, y, **weighted))

    def _accept_sample_weight(self) -> bool:  # scikit-learn asks before it routes fit(sample_weight=...) to scoring
        return True


def final_step(estimator: Any) -> Any:
    """The model at the end of a Pipeline (the project's network, or a user's), or the estimator itself."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def trained(net: Any) -> bool:
    """False when a Keras fit diverged: a non-finite loss (TerminateOnNaN stopped it) or weights. Another
    estimator has no history: its fit raising is scikit-learn's ``error_score``."""
    if not hasattr(net, "history_"):
        return True
    loss = np.asarray(net.history_.get("loss", []), dtype=float)
    if loss.size == 0 or not np.all(np.isfinite(loss)):
        return False
    return all(np.all(np.isfinite(w)) for w in net.model_.get_weights())


class EpochsRun:
    """Epochs the fit actually ran: the evidence that early stopping works (NaN for a model without epochs)."""

    def __call__(self, estimator: Any, X: Any, y: Any, sample_weight: Any = None) -> float:
        history = getattr(final_step(estimator), "history_", None)
        return float(len(history.get("loss", []))) if history is not None else float("nan")

    def _accept_sample_weight(self) -> bool:
        return True
