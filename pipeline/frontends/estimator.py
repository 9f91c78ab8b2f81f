"""``StagedSearchCV``: the staged search as a scikit-learn meta-estimator, for notebooks and any estimator.

The second front end over the runner (the command line is the first): its arguments become the same ``RunSpec``,
checked by the same validation (the parameter names against the estimator's own), and ``runner.search`` runs the
stages, the store and the duel exactly as for ``python -m pipeline``. What stays with the command line: datasets
by name and the held-out split (here the caller passes the data), MLflow tracking and Dask execution.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from pipeline import data, engines
from pipeline.common import errors
from pipeline.common.errors import Interrupted, PipelineError, UserError
from pipeline.common.records import Problem, RunResult, numbered
from pipeline.common.values import Tokens
from pipeline.config.scoring import scoring_for
from pipeline.engines.network_estimator import Network
from pipeline.frontends import arguments
from pipeline.reports import terminal
from pipeline.reports.files import RunFolder
from pipeline.reports.observers import Observer, Observers
from pipeline.search import runner

_FITTED = ("best_params_", "best_score_", "best_estimator_", "classes_", "cv_results_", "duel_", "feature_names_in_",
           "importance_", "metric_", "n_features_in_", "spec_", "stage_results_", "_found", "_notes")


class StagedSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Tune ``estimator`` stage by stage: each stage a small grid search, every earlier stage's winner frozen.

    Parameters
    ----------
    estimator : estimator
        The project's ``Network``, a scikeras ``KerasClassifier``/``KerasRegressor``, or any scikit-learn estimator
        or ``Pipeline``. Its own parameter values are where the first stage starts.
    stages : list of dict, or dict of dict
        Grids run in order (``[{"optimizer": ["sgd", "adam"]}, {"model__neurons": [8, 16]}]``), or named stages
        (``{"width": {"grid": {...}}}``). Values: lists, tuples, numpy arrays and scalars, estimators.
    conditions : dict, optional
        ``{"optimizer__momentum": {"optimizer": ["sgd"]}}``: a parameter tuned only where another holds one of the
        values.
    simpler : dict, optional
        What the one-SE rule prefers: ``{"model__neurons": "ascending"}``, ``"descending"``, or a list simplest first.
    cv : int, default=3
        Folds, stratified for classifiers (scikeras' included), seeded by ``random_state``.
    scoring : str, optional
        A scorer's name; accuracy for classifiers and r2 for regressors by default.
    select : {"one_se", "best"}, default="one_se"
        The simplest candidate within one standard error of the best, or the best mean score.
    n_jobs : int, optional
        Parallel fits (``-1``: one per core), each worker's threads capped to its share.
    racing : {None, "halving"}
        Successive halving inside every stage, over ``resource``.
    resource : str, default="epochs"
        What a rung gets more of: ``epochs``, ``max_iter``, ``n_estimators``.
    repeats, passes : int, default=1
        Folds redrawn ``repeats`` times; the whole order run again until no winner changes, at most ``passes`` times.
    final_repeats : int, default=0
        The final duel: the tuned against the starting configuration on ``cv`` folds of its own, ``final_repeats``
        times; a loss beyond the noise keeps the start (``duel_``).
    order : {None, "auto"}
        ``"auto"`` screens the joint space first and runs the stages most important first (``importance_``).
    strategy : {"staged", "random", "tpe", "exhaustive"}, default="staged"
        The staged search, or a baseline over the joint space with ``budget`` candidates.
    budget : int, optional
        The baselines' number of candidates (None: the most the staged search can evaluate).
    nuisance : dict, optional
        ``{"optimizer__learning_rate": {"factors": [0.3, 1, 3]}}``: re-tuned inside every stage that does not tune it.
    memory : str, Path or joblib.Memory, optional
        A stage store folder: stages computed once and read back by any later search or command.
    engine : {"auto", "fused", "gridsearchcv"}, default="auto"
        ``auto`` trains ``Network`` fused (JAX) and any other estimator through scikit-learn's search loop.
    refit : bool, default=True
        Refit the winner on all of ``X`` (``best_estimator_``).
    error_score : float, default=nan
        The score of a fit that raised, as in ``GridSearchCV``.
    random_state : int, RandomState or None, default=0
        The folds' seed (None: fresh folds at each fit).
    verbose : int, default=1
        0 silent, 1 a line per stage, 2 a live progress display.

    Attributes
    ----------
    best_params_ : dict
        Every tuned parameter's final value (the start's where the duel measured a loss).
    best_score_ : float
        The last stage's winning mean CV score (the start's duel score where it was kept).
    best_estimator_ : estimator
        ``estimator`` with ``best_params_``, refit on all of ``X`` (with ``refit=True``).
    cv_results_ : dict
        Every stage's ``cv_results_`` stacked, with a ``stage`` column and the epochs each fit ran.
    stage_results_ : list of dict
        One record per stage: its winner, score, std, ties, fits, failed fits, seconds, and ``decision`` (why its
        winner won).
    duel_ : Duel or None
        The final duel: ``verdict`` (gain, loss, tie), ``gain``, ``half_width``, ``p_value``, ``kept_start``.
    importance_ : Importance or None
        With ``order="auto"``: each stage's importance with its interval, the order chosen and why.
    classes_ : ndarray
        The classes, for classifiers.
    n_features_in_ : int
        Columns seen in ``fit``; ``feature_names_in_`` too where ``X`` had string column names.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from pipeline import Network, StagedSearchCV
    >>> X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    >>> search = StagedSearchCV(Network(epochs=20, early_stopping=False),
    ...                         stages=[{"optimizer": ["sgd", "adam"]}, {"model__neurons": [4, 16]}], cv=3)
    >>> search.fit(X, y).best_params_["optimizer"] in ("sgd", "adam")
    True
    """

    def __init__(self, estimator: Any, stages: Sequence[Mapping[str, Sequence[Any]]] | Mapping[str, Mapping[str, Any]],
                 *, conditions: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
                 simpler: Mapping[str, Any] | None = None, cv: int = 3, scoring: str | None = None,
                 select: str = "one_se", n_jobs: int | None = None, racing: str | None = None, resource: str = "epochs",
                 repeats: int = 1, passes: int = 1, final_repeats: int = 0, order: str | None = None,
                 strategy: str = "staged", budget: int | None = None, nuisance: Mapping[str, Any] | None = None,
                 memory: str | Path | None = None,
                 engine: str = "auto", refit: bool = True, error_score: Any = np.nan, random_state: Any = 0,
                 verbose: int = 1) -> None:  # fmt: skip
        self.estimator, self.stages, self.conditions, self.simpler = estimator, stages, conditions, simpler
        self.cv, self.scoring, self.select, self.n_jobs, self.racing = cv, scoring, select, n_jobs, racing
        self.resource, self.repeats, self.passes, self.final_repeats = resource, repeats, passes, final_repeats
        self.order, self.strategy, self.budget, self.nuisance, self.memory = order, strategy, budget, nuisance, memory
        self.engine, self.refit, self.error_score = engine, refit, error_score
        self.random_state, self.verbose = random_state, verbose

    def fit(self, X: Any, y: Any, **fit_params: Any) -> StagedSearchCV:
        """Run the stages on ``X``, ``y`` (every fold's model fitted on its own training part), then refit the winner
        on all of it. ``fit_params`` (``sample_weight``, say) go to every fit, split by fold as ``GridSearchCV`` does.
        Bad settings raise ``ValueError`` naming the stage and parameter before any fit."""
        for stale in _FITTED:  # a fit replaces every answer of the one before, or removes it
            self.__dict__.pop(stale, None)
        if len(getattr(y, "shape", ())) == 2 and y.shape[1] == 1:  # a column vector: scikit-learn's warning, then 1-D
            y = column_or_1d(y, warn=True)
        arguments.check_input(self.estimator, X, y)
        tokens = Tokens()
        try:
            spec = arguments.run_spec(self, tokens)
            if fit_params and isinstance(self.estimator, Network):
                raise UserError(f"fit({', '.join(fit_params)}=...): the project's Network takes no fit parameters; "
                                "weigh or resample the rows before fit")  # fmt: skip
            train = data.from_arrays(X, y, arguments.task(self.estimator, y), name=type(self.estimator).__name__)
            data.check_folds(train, spec.search.cv)
            problem = Problem(train, scoring_for(spec.search, train.task, train.y), spec.search.cv, spec.search.seed,
                              spec.search.repeats)  # fmt: skip
            listener = _Listener()
            displays = self._displays()
            observers = Observers(listener, *displays)
            with terminal.native_stderr_filtered(), engines.create(spec, observers.note, observers.stage_status, **self._own_estimator(tokens, fit_params)) as engine, \
                    contextlib.ExitStack() as shown:  # fmt: skip
                for display in displays:  # live for the length of the search
                    shown.enter_context(display)
                found = runner.search(spec, engine, problem, observers)
        except UserError as exc:  # bad input, every fit failed: scikit-learn's ValueError, with the command line's line
            raise ValueError(arguments.in_api_words(str(exc))) from None
        except Interrupted as exc:  # Ctrl+C in a notebook stays a KeyboardInterrupt, saying what the store kept
            raise KeyboardInterrupt(str(exc)) from None
        except PipelineError as exc:  # memory ran out, a worker died
            raise RuntimeError(str(exc)) from None
        for message in listener.notes:
            warnings.warn(arguments.in_api_words(message), UserWarning, stacklevel=2)
        self._found, self._notes, self.metric_, self.spec_ = found, listener.notes, problem.metric, spec
        self.best_params_ = tokens.decode(found.best_params)
        self.stage_results_ = [arguments.stage_record(r, tokens) for r in found.stages]
        self.cv_results_ = arguments.cv_results(found.stages, tokens)
        scored = [r for r in found.stages if r.fits]
        self.best_score_ = scored[-1].mean_score if scored else math.nan
        if found.duel is not None and found.duel.kept_start:  # its own duel measured a loss: what it keeps is the start
            self.best_score_ = found.duel.start_score
        self.duel_ = found.duel
        self.importance_ = found.importance
        self.n_features_in_ = train.X.shape[1]
        if hasattr(X, "columns") and all(isinstance(c, str) for c in X.columns):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        if self.refit:
            best = clone(self.estimator).set_params(**self.best_params_)
            with terminal.native_stderr_filtered():
                self.best_estimator_ = best.fit(X, y, **fit_params)
            if hasattr(self.best_estimator_, "classes_"):
                self.classes_ = self.best_estimator_.classes_
        return self

    def report(self, folder: str | Path) -> Path:
        """Write the command line's run folder for this search into ``folder``: ``summary.csv``,
        ``best_params.json``, one ``cv_results`` table per stage, ``report.md`` and its charts."""
        check_is_fitted(self, "stage_results_")
        path = Path(folder)
        writer = RunFolder(key=f"report({str(folder)!r})")
        try:
            with errors.writing(writer.key, path, "the report"):
                path.mkdir(parents=True, exist_ok=True)
            writer.run_started(self.spec_, path)
            for message in self._notes:
                writer.note(message)
            for index, result in numbered(self._found.stages):
                writer.stage_finished(index, result)
            writer.run_finished(RunResult(self._found.stages, self.best_params_, self.metric_, None, path, self.duel_,
                                          self.importance_))  # fmt: skip
        except PipelineError as exc:  # a folder it cannot write: the OSError a Python user expects, in one line
            raise OSError(str(exc).replace(f"{writer.key}={path}: ", f"{writer.key}: ")) from None
        return path

    def _own_estimator(self, tokens: Tokens, fit_params: Mapping[str, Any]) -> dict[str, Any]:
        """What the GridSearchCV engine needs to search a user's estimator instead of the project's network."""
        if isinstance(self.estimator, Network):
            return {}
        return {"estimator": self.estimator, "resource": self.resource, "error_score": self.error_score,
                "decode": tokens.decode, "fit_params": fit_params}  # fmt: skip

    def _displays(self) -> list[Any]:
        """What the search shows while it runs: nothing (verbose=0), a line per stage (1), the live display (2+)."""
        if not self.verbose:
            return []
        if self.verbose == 1:
            return [terminal.StageLines()]
        from rich.console import Console

        return [terminal.Terminal(Console())]

    # scikit-learn's delegation: what the refitted best estimator can do, the search can do.
    @available_if(lambda self: _refitted_has(self, "predict"))
    def predict(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(lambda self: _refitted_has(self, "predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(lambda self: _refitted_has(self, "decision_function"))
    def decision_function(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(lambda self: _refitted_has(self, "transform"))
    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    def score(self, X: Any, y: Any) -> float:
        """The search's scorer (``scoring``; accuracy or r2 by default) on ``X``, ``y``, with the refitted winner."""
        from sklearn.metrics import get_scorer

        check_is_fitted(self, "best_estimator_")
        return float(get_scorer(self.metric_)(self.best_estimator_, X, y))

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__() if hasattr(self.estimator, "__sklearn_tags__") else None
        if inner is not None:
            tags.estimator_type = inner.estimator_type
            tags.classifier_tags, tags.regressor_tags = inner.classifier_tags, inner.regressor_tags
            tags.input_tags.pairwise = inner.input_tags.pairwise
        return tags


class _Listener(Observer):
    """Keeps what the runner wants the user to read; ``fit`` warns with it once the search is done."""

    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, message: str) -> None:
        self.notes.append(message)


def _refitted_has(search: StagedSearchCV, method: str) -> bool:
    if hasattr(search, "best_estimator_"):
        return hasattr(search.best_estimator_, method)
    return hasattr(search.estimator, method)
