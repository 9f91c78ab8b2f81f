"""``StagedSearchCV``: the staged search as a scikit-learn meta-estimator, for notebooks and any estimator.

The second front end over the runner (the command line is the first): its arguments become the same ``RunSpec``,
checked by the same validation (the parameter names against the estimator's own), and ``runner.search`` runs the
stages, the store and the duel exactly as for ``python -m pipeline``. What stays with the command line: datasets
by name and the held-out split (here the caller passes the data), MLflow tracking and Dask execution.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier, is_regressor
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_X_y, column_or_1d

from pipeline import data, errors, runner
from pipeline.config.schema import (
    EarlyStoppingSpec,
    ExecutionSpec,
    ModelSpec,
    OrderSpec,
    RunSpec,
    SearchSpec,
    StoreSpec,
)
from pipeline.config.scoring import scoring_for
from pipeline.config.validation import validate
from pipeline.engines import execution
from pipeline.engines.base import Engine
from pipeline.engines.network_estimator import Network
from pipeline.engines.searchcv import final_step
from pipeline.errors import Interrupted, PipelineError, UserError
from pipeline.importance import numbered
from pipeline.observers import Observer, Observers
from pipeline.records import Problem, RunResult, StageResult
from pipeline.reports import terminal
from pipeline.reports.files import RunFolder
from pipeline.values import Tokens, plain

ENGINES = ("auto", "fused", "gridsearchcv")
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
        The baselines' number of candidates (None: as many as the staged search evaluates).
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
        self._check_input(X, y)
        tokens = Tokens()
        try:
            spec = self._spec(tokens)
            if fit_params and isinstance(self.estimator, Network):
                raise UserError(f"fit({', '.join(fit_params)}=...): the project's Network takes no fit parameters; "
                                "weigh or resample the rows before fit")  # fmt: skip
            train = data.from_arrays(X, y, self._task(y), name=type(self.estimator).__name__)
            data.check_folds(train, spec.search.cv)
            problem = Problem(train, scoring_for(spec.search, train.task, train.y), spec.search.cv, spec.search.seed,
                              spec.search.repeats)  # fmt: skip
            listener = _Listener()
            displays = self._displays()
            observers = Observers(listener, *displays)
            with terminal.native_stderr_filtered(), _engine(self, spec, observers, tokens, fit_params) as engine, \
                    contextlib.ExitStack() as shown:  # fmt: skip
                for display in displays:  # live for the length of the search
                    shown.enter_context(display)
                found = runner.search(spec, engine, problem, observers)
        except UserError as exc:  # bad input, every fit failed: scikit-learn's ValueError, with the command line's line
            raise ValueError(_in_api_words(str(exc))) from None
        except Interrupted as exc:  # Ctrl+C in a notebook stays a KeyboardInterrupt, saying what the store kept
            raise KeyboardInterrupt(str(exc)) from None
        except PipelineError as exc:  # memory ran out, a worker died
            raise RuntimeError(str(exc)) from None
        for message in listener.notes:
            warnings.warn(message, UserWarning, stacklevel=2)
        self._found, self._notes, self.metric_, self.spec_ = found, listener.notes, problem.metric, spec
        self.best_params_ = tokens.decode(found.best_params)
        self.stage_results_ = [_record(r, tokens) for r in found.stages]
        self.cv_results_ = _cv_results(found.stages, tokens)
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

    def _check_input(self, X: Any, y: Any) -> None:
        """scikit-learn's input checks, with its messages: dense 2-D ``X`` (NaN left to the estimator's own
        imputation), a 1-D ``y`` of as many rows, a classification target for a classifier."""
        check_X_y(X, y, accept_sparse=False, dtype=None, ensure_all_finite=False, ensure_min_samples=2)
        if self._task(y) != "regression":
            check_classification_targets(y)
            classes = pd.unique(np.asarray(y))
            if len(classes) < 2:
                raise ValueError(f"y holds one class ({plain(classes[0])!r}) only: a classifier needs at least two; check "
                                 "how the rows were selected, or tune a regressor")  # fmt: skip

    def _task(self, y: Any) -> str:
        """binary / multiclass / regression from the estimator's kind (scikeras' wrappers included: scikit-learn
        no longer recognises them), and from the target for the project's ``Network``."""
        if isinstance(self.estimator, Network):
            return self.estimator.task_of(pd.Series(np.asarray(y)))
        kind = getattr(final_step(self.estimator), "_estimator_type", None)
        if is_regressor(self.estimator) or kind == "regressor":
            return "regression"
        if is_classifier(self.estimator) or kind == "classifier":
            return "binary" if pd.Series(np.asarray(y)).nunique() <= 2 else "multiclass"
        return data.infer_task(pd.Series(np.asarray(y)))[0]

    def _spec(self, tokens: Tokens) -> RunSpec:
        """The arguments as the command line's run spec, validated by the same checks; grid values the core's JSON
        cannot carry (estimators, arrays, tuples) stand in ``tokens``."""
        if self.engine not in ENGINES:
            raise UserError(f"engine={self.engine!r}: choose one of {', '.join(ENGINES)}")
        if isinstance(self.cv, bool) or not isinstance(self.cv, int | np.integer):
            raise UserError(f"cv={self.cv!r}: give the number of folds (an integer >= 2); the stages share seeded, "
                            "stratified folds, so a splitter object is not taken")  # fmt: skip
        if self.scoring is not None and not isinstance(self.scoring, str):
            raise UserError(f"scoring={self.scoring!r}: give a scorer's name (sklearn.metrics.get_scorer_names()); "
                            "a callable cannot key the stage store")  # fmt: skip
        if self.order not in (None, "auto"):
            raise UserError(f"order={self.order!r}: None (the stages as given) or 'auto' (ordered by the data)")
        if self.n_jobs is not None and (isinstance(self.n_jobs, bool) or not isinstance(self.n_jobs, int | np.integer)):
            raise UserError(f"n_jobs={self.n_jobs!r}: give a number of workers, -1 for every core, or None for one")
        network = isinstance(self.estimator, Network)
        grids = _named(self.stages, tokens)
        stages: dict[str, dict[str, Any]] = {name: {"grid": grid, "conditions": {}, "simpler": {}}
                                              for name, grid in grids.items()}  # fmt: skip
        for param, requires in (self.conditions or {}).items():
            owner = next((n for n, g in grids.items() if param in g), next(iter(stages), None))
            if owner is not None:
                stages[owner]["conditions"][param] = {k: [tokens.encode(v) for v in _listed(f"conditions.{param}.{k}", v)]
                                                      for k, v in requires.items()}  # fmt: skip
        for param, rule in (self.simpler or {}).items():
            owner = next((n for n, g in grids.items() if param in g), None)
            if owner is None:
                raise UserError(f"simpler.{param}: no stage tunes {param}; name a parameter of a stage")
            stages[owner]["simpler"][param] = [tokens.encode(v) for v in rule] if isinstance(rule, list | tuple) else rule
        racing = self.racing or "none"
        if racing == "halving" and not network:
            _check_resource(self.estimator, self.resource, grids)
        model = self.estimator.model_spec() if network else self._model_spec(stages, racing)
        spec = RunSpec(
            stages=stages,
            order=OrderSpec(stages=list(stages), **({"auto": dataclasses.replace(OrderSpec().auto, enabled=True)}
                                                    if self.order == "auto" else {})),  # fmt: skip
            search=SearchSpec(cv=int(self.cv), scoring=self.scoring or "auto", n_jobs=1 if self.n_jobs is None else int(self.n_jobs),
                              seed=_seed(self.random_state), repeats=self.repeats, select=self.select,
                              passes=self.passes, strategy=self.strategy, budget=self.budget,
                              engine="fused" if network and self.engine != "gridsearchcv" else "gridsearchcv",
                              racing=racing, final_repeats=self.final_repeats,
                              nuisance={k: dict(v) for k, v in (self.nuisance or {}).items()}),  # fmt: skip
            model=model,
            execution=ExecutionSpec(keras_backend=execution.imported_backend() or "jax", compile_cache=None),
            store=_store(self.memory),
        )
        return validate(spec) if network else validate(spec, _parameters_of(self.estimator))

    def _model_spec(self, stages: Mapping[str, Mapping[str, Any]], racing: str) -> ModelSpec:
        """A user's estimator's training as the report reads it: its own epochs (or the race's budget) and whether
        an ``EarlyStopping`` callback stops its fits."""
        own = self.estimator.get_params(deep=True)
        epochs = self._resource_value(racing) if racing == "halving" else own.get("epochs", own.get("fit__epochs"))
        callbacks = [c for key, value in own.items() if key.split("__")[-1] == "callbacks" and isinstance(value, list | tuple)
                     for c in value]  # fmt: skip
        stops = any("EarlyStopping" in getattr(c, "__name__", type(c).__name__) for c in callbacks)
        epochs = epochs if isinstance(epochs, int) and not isinstance(epochs, bool) and epochs >= 1 else ModelSpec().epochs
        return ModelSpec(params=self._start(stages), epochs=epochs,
                         early_stopping=EarlyStoppingSpec(enabled=stops))  # fmt: skip

    def _start(self, stages: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        """The estimator's own values of the parameters the stages tune, a condition reads or a nuisance factor
        multiplies: what the first stage starts from, and what the final duel compares the tuned values with."""
        own = self.estimator.get_params(deep=True)
        read = {other for s in stages.values() for requires in s["conditions"].values() for other in requires}
        read |= set(self.nuisance or {}) | {param for s in stages.values() for param in s["grid"]}
        return {p: own[p] for p in sorted(read) if p in own and isinstance(own[p], str | int | float | bool)}

    def _resource_value(self, racing: str) -> int:
        """The full budget a race works up to: the estimator's own value of ``resource`` (its epochs, say)."""
        if racing != "halving":
            return ModelSpec().epochs
        value = self.estimator.get_params(deep=True)[self.resource]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"resource={self.resource!r}: racing needs a positive integer there (the most epochs, "
                            f"iterations or trees a candidate gets), but the estimator has {value!r}")  # fmt: skip
        return value

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


def _engine(search: StagedSearchCV, spec: RunSpec, observers: Observer, tokens: Tokens,
            fit_params: Mapping[str, Any]) -> Engine:  # fmt: skip
    """``auto``: the project's ``Network`` fused (where Keras runs on JAX), any other estimator through scikit-learn's
    search loop."""
    network = isinstance(search.estimator, Network)
    if search.engine == "fused" and not network:
        raise UserError(f"engine='fused': trains the project's own network only (pipeline.Network), not "
                        f"{type(search.estimator).__name__}; use engine='auto' or 'gridsearchcv'")  # fmt: skip
    if network and search.engine != "gridsearchcv":
        from pipeline.engines.fused import FusedEngine

        reason = FusedEngine.unsupported(spec)
        if reason is None:
            return FusedEngine(spec, observers.note, observers.stage_status)
        observers.note(f"{reason}: the fits run through scikit-learn's search loop instead (engine='gridsearchcv')")
    from pipeline.engines.gridsearch import GridSearchEngine

    if network:
        return GridSearchEngine(spec, observers.note)
    return GridSearchEngine(spec, observers.note, estimator=search.estimator, resource=search.resource,
                            error_score=search.error_score, decode=tokens.decode, fit_params=fit_params)  # fmt: skip


def _named(stages: Any, tokens: Tokens) -> dict[str, dict[str, list[Any]]]:
    """Stages as given (a dict of named grids), or a list of grids named by what they tune; each grid's values as
    a list the core can carry (numpy scalars as Python's, other objects as ``tokens``)."""
    if isinstance(stages, Mapping):
        given = [(str(name), grid, f"stages[{name!r}]") for name, grid in stages.items()]
    elif isinstance(stages, str) or not isinstance(stages, Sequence) or len(stages) == 0:
        raise UserError(f"stages={stages!r}: give a list of grids, e.g. [{{'C': [0.1, 1, 10]}}], or a dict of named grids")
    else:
        given = [("+".join(grid) if isinstance(grid, Mapping) else "", grid, f"stages[{i}]") for i, grid in enumerate(stages)]
    named: dict[str, dict[str, list[Any]]] = {}
    for position, (name, grid, where) in enumerate(given, start=1):
        if not isinstance(grid, Mapping):
            raise UserError(f"{where}={grid!r}: a stage is a grid, a dict of parameter -> values")
        name = name or f"stage{position}"
        values = {str(param): [tokens.encode(v) for v in _listed(f"{where}[{param!r}]", grid[param])] for param in grid}
        named[name if name not in named else f"{name}#{position}"] = values
    return named


def _listed(where: str, values: Any) -> list[Any]:
    """A grid's values as a list: a list, tuple, range, set or numpy array is one; a single value is refused."""
    if isinstance(values, str | bytes | Mapping) or not hasattr(values, "__iter__"):
        raise UserError(f"{where}={values!r}: a grid is a list of values, e.g. [{values!r}]")
    return list(values)


def _seed(random_state: Any) -> int:
    """The folds' seed: an int as it is; a ``RandomState`` or None (scikit-learn's default: fresh folds) drawn from."""
    from sklearn.utils import check_random_state

    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    try:
        return int(check_random_state(random_state).randint(2**31 - 1))
    except ValueError:
        raise UserError(f"random_state={random_state!r}: give an int, a numpy RandomState or None") from None


def _store(memory: Any) -> StoreSpec:
    """``memory``: a folder, a ``joblib.Memory`` (its location), or None (nothing stored)."""
    location = getattr(memory, "location", memory)
    if location is not None and not isinstance(location, str | Path):
        raise UserError(f"memory={memory!r}: give a folder for the stage store, a joblib.Memory, or None")
    return StoreSpec(dir=str(location or "stages"), mode="readwrite" if location else "off")


def _in_api_words(message: str) -> str:
    """The command line's keys as this estimator's arguments: ``search.n_jobs`` is ``n_jobs`` here."""
    return re.sub(r"\bsearch\.(\w+)", r"\1", message)


def _parameters_of(estimator: Any) -> Any:
    """The values check for a user's estimator: its parameter names (nested ones as ``step__param``, scikeras' routed
    ones as ``model__neurons``, which its build function must take); the values themselves are the estimator's
    business (a bad one fails its fits, as in ``GridSearchCV``)."""
    known = estimator.get_params(deep=True)

    def check(key: str, param: str, values: list[Any]) -> list[Any]:
        if not _routed(estimator, known, param, key) and param not in known:
            near = [k for k in known if k.split("__")[-1] == param.split("__")[-1]]
            hint = f"; did you mean {near[0]!r}?" if near else f"; it has {', '.join(sorted(known)[:12])}"
            raise UserError(f"{key}: {type(estimator).__name__} has no parameter {param!r}{hint}")
        return list(values)

    return check


def _routed(estimator: Any, known: Mapping[str, Any], param: str, key: str) -> bool:
    """A scikeras routed parameter (``[step__]model__neurons``, ``optimizer__momentum``): true where the wrapper
    routes that prefix; a ``model__`` one must also be an argument of the build function."""
    parts = param.split("__")
    for i in range(len(parts) - 1):
        owner = estimator if i == 0 else known.get("__".join(parts[:i]))
        if parts[i] == "callbacks" and hasattr(owner, "_routing_prefixes"):
            raise UserError(f"{key}: scikeras sets callbacks__* arguments only when the estimator is made (its "
                            "set_params does not route them, in GridSearchCV either); give them to the constructor, "
                            "e.g. callbacks__0__patience=5, and tune other parameters")  # fmt: skip
        if parts[i] not in getattr(owner, "_routing_prefixes", ()):
            continue
        build = getattr(owner, "model", None)
        if parts[i] == "model" and i + 2 == len(parts) and callable(build) and not isinstance(build, type):
            import inspect

            arguments = inspect.signature(build).parameters.values()
            if not any(a.name == parts[-1] or a.kind == a.VAR_KEYWORD for a in arguments):
                raise UserError(f"{key}: the build function {getattr(build, '__name__', build)!r} takes no argument "
                                f"{parts[-1]!r}; add it to its signature or tune another parameter")  # fmt: skip
        return True
    return False


def _check_resource(estimator: Any, resource: str, grids: Mapping[str, Mapping[str, Any]]) -> None:
    if resource not in estimator.get_params(deep=True):
        raise UserError(f"resource={resource!r}: {type(estimator).__name__} has no such parameter; racing gives each "
                        "rung more of it: name its epochs, max_iter or n_estimators")  # fmt: skip
    for name, grid in grids.items():
        if resource in grid:
            raise UserError(f"stages.{name}.grid.{resource}: racing spends {resource}, so a raced search cannot tune "
                            "it; set racing=None or drop it from the stage")  # fmt: skip


def _refitted_has(search: StagedSearchCV, method: str) -> bool:
    if hasattr(search, "best_estimator_"):
        return hasattr(search.best_estimator_, method)
    return hasattr(search.estimator, method)


def _record(result: StageResult, tokens: Tokens) -> dict[str, Any]:
    """A stage's record as ``stage_results_`` shows it: one row of the command line's ``summary.csv``."""
    return {"pass": result.pass_number, "stage": result.stage, "tuned": list(result.tuned), "winner": tokens.decode(result.winner),
            "score": result.mean_score, "std": result.std_score, "candidates": result.candidates, "fits": result.fits,
            "failed_fits": result.failed_fits, "ties": [tokens.decode(t) for t in result.ties],
            "decision": dataclasses.asdict(result.decision), "skipped": list(result.skipped), "reused": result.reused,
            "seconds": result.seconds}  # fmt: skip


def _cv_results(results: Sequence[StageResult], tokens: Tokens) -> dict[str, Any]:
    """Every stage's ``cv_results_`` table stacked, with a ``stage`` column; ``params`` as dicts (scikit-learn's)."""
    tables = [r.cv_results.assign(stage=r.stage) for r in results if len(r.cv_results)]
    if not tables:
        return {"stage": np.array([], dtype=object), "params": []}
    joined = pd.concat(tables, ignore_index=True)
    columns: dict[str, Any] = {c: joined[c].to_numpy() for c in joined.columns if c != "params"}
    columns["params"] = [tokens.decode(json.loads(p)) for p in joined["params"]]
    return columns
