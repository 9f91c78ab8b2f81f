"""The fused engine's models: each fold prepared once, the stage's (candidate, fold) models grouped
into programs, trained, and scored by scikit-learn's scorer on each fold's held-out rows."""
from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer
from sklearn.preprocessing import LabelEncoder

from pipeline.common import cvresults
from pipeline.data import make_preprocessor, standardization
from pipeline.engines.layout import Knobs, RunValues, group, knobs, layout_for, width_bucket, worth_bucketing
from pipeline.engines.programs import Compilations, FoldRows, Paused, Program


@dataclass(frozen=True)
class Fold:
    """One CV fold, preprocessed and encoded exactly as the Keras step of the estimator sees it."""

    x_train: np.ndarray  # float32, rows in the fold's order (validation rows last)
    y_train: np.ndarray
    x_test: np.ndarray  # the fold's held-out part, preprocessed by this fold's preprocessor
    X_test: np.ndarray  # what the scorer is handed for them: one empty row per held-out row (no copy of the data)
    y_test: np.ndarray
    meta: dict[str, Any]  # what build_network needs: n_features_in_, target_type_, n_classes_
    classes: np.ndarray | None
    target_mean: float = 0.0
    target_scale: float = 1.0


def prepare_folds(X: pd.DataFrame, y: pd.Series, task: str, splitter: Any) -> list[Fold]:
    """Each fold's own preprocessing and target encoding, fitted on its training part only."""
    out = []
    for train, test in splitter.split(X, y):
        prep = make_preprocessor(X).fit(X.iloc[train])
        x_train = prep.transform(X.iloc[train]).astype("float32")
        x_test = prep.transform(X.iloc[test]).astype("float32")
        y_fit = y.iloc[train]
        common = dict(x_train=x_train, x_test=x_test, X_test=np.empty((len(test), 0)), y_test=y.iloc[test].to_numpy())
        if task == "regression":
            values = y_fit.to_numpy(dtype="float64")
            mean, scale = map(float, standardization(values))
            meta = {"n_features_in_": x_train.shape[1], "target_type_": "continuous", "n_outputs_expected_": 1}
            out.append(Fold(y_train=((values - mean) / scale).astype("float32")[:, None], meta=meta, classes=None,
                            target_mean=mean, target_scale=scale, **common))  # fmt: skip
        else:
            encoder = LabelEncoder().fit(y_fit)
            labels = encoder.transform(y_fit)
            meta = {"n_features_in_": x_train.shape[1], "target_type_": task, "n_classes_": len(encoder.classes_)}
            y_train = labels.astype("float32")[:, None] if task == "binary" else labels.astype("int32")
            out.append(Fold(y_train=y_train, meta=meta, classes=encoder.classes_, **common))
    return out


def cv_results(candidates: Sequence[Mapping[str, Any]], scores: np.ndarray, epochs: np.ndarray, seconds: np.ndarray) -> dict[str, Any]:
    """GridSearchCV's ``cv_results_`` for the fused models' scores, epochs run and seconds (candidates × folds)."""
    n = len(candidates)
    times = {"mean_fit_time": seconds.mean(1), "std_fit_time": seconds.std(1), "mean_score_time": np.zeros(n),
             "std_score_time": np.zeros(n)}  # fmt: skip
    return cvresults.columns(candidates, times, {"score": scores, "epochs_run": epochs})


class Programs:
    """A run's programs, one per layout (and fold shape), kept across stages: each is built and compiled once."""

    def __init__(self, task: str, training: dict[str, Any], seed: int, run: RunValues | None = None):
        self.task, self.training, self.seed, self.run = task, training, seed, run or RunValues()
        self.compilations = Compilations()
        self.rows = FoldRows()
        self._programs: dict[tuple[Any, ...], Program] = {}

    def __call__(self, models: Sequence[Knobs], meta: dict[str, Any], bucketed: bool = False) -> Program:
        layout = layout_for(models, self.run, bucketed)
        key = (layout, tuple(sorted(meta.items())))
        if key not in self._programs:
            self._programs[key] = Program(layout, meta, self.task, self.training, self.seed, self.compilations, self.rows)
        return self._programs[key]


@dataclass(frozen=True)
class Scored:
    """Every (candidate, fold) model's score and epochs run (candidates × folds), its seconds, and where the models
    stopped (``paused``: per program group, its members as (candidate, fold) and their loop state)."""

    scores: np.ndarray
    epochs_run: np.ndarray
    seconds: np.ndarray
    paused: dict[tuple[Any, ...], tuple[list[tuple[str, int]], Paused | None]]


def run_models(
    candidates: Sequence[Mapping[str, Any]],
    folds: Sequence[Fold],
    programs: Programs,
    metric: str,
    on_models_done: Callable[[int], None] = lambda n: None,
    until: int | None = None,
    resume: Scored | None = None,
    status: Callable[[str], None] = lambda message: None,
) -> Scored:
    """Train and score every (candidate, fold): to each model's own epochs, or ``until`` epochs in all; a model that
    ``resume`` holds (the same candidate and fold, paused by an earlier call) goes on from where it paused."""
    models = [knobs(c, programs.training) for c in candidates]
    names = [_name(c) for c in candidates]
    groups: dict[tuple[Any, ...], list[tuple[int, int]]] = {}
    bucketed = worth_bucketing(models, len(folds) * max(len(f.x_train) for f in folds))
    for kind, members in group(models, bucketed).items():
        for c in members:
            for f, fold in enumerate(folds):  # one-hot columns can differ between folds: so can the input width
                groups.setdefault((*kind, tuple(sorted(fold.meta.items()))), []).append((c, f))
    scorer = get_scorer(metric)
    shape = (len(candidates), len(folds))
    scores, epochs_run, seconds = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    paused: dict[tuple[Any, ...], tuple[list[tuple[str, int]], Paused | None]] = {}
    for number, (key, running) in enumerate(groups.items(), start=1):
        started = time.perf_counter()
        where = f"program {number}/{len(groups)} ({len(running)} models): " if len(groups) > 1 else f"{len(running)} models: "
        group_models, group_folds = [models[c] for c, _ in running], [folds[f] for _, f in running]
        program = programs(group_models, group_folds[0].meta, bucketed)
        here = [(names[c], f) for c, f in running]
        state = None
        if resume is not None and key in resume.paused:
            before, held = resume.paused[key]
            state = held.take([before.index(m) for m in here]) if held is not None else None
        trained = program.train(group_models, group_folds, until=until, resume=state,
                                status=functools.partial(_said_of, status, where))  # fmt: skip
        paused[key] = (here, trained.paused)
        outputs = program.outputs(trained, group_models, group_folds)
        with sklearn.config_context(skip_parameter_validation=True):  # its inputs are ours: 125 calls, 1 ms each
            for i, (c, f) in enumerate(running):
                fold = folds[f]
                epochs_run[c, f] = trained.epochs_run[i]
                if trained.finite[i]:
                    scores[c, f] = float(scorer(_predictions(outputs[i], programs.task, fold), fold.X_test, fold.y_test))
        seconds[[c for c, _ in running], [f for _, f in running]] = (time.perf_counter() - started) / len(running)
        on_models_done(len(running))
    return Scored(scores, epochs_run, seconds, paused)


def memory_needed(candidates: Sequence[Mapping[str, Any]], folds: Sequence[Fold], training: Mapping[str, Any],
                  devices: int) -> int:  # fmt: skip
    """Bytes a stage's programs hold at once, roughly: every fold's rows on every device (once, whatever the number
    of models), and per model its padded weights eight times over (current and best weights, gradients, optimizer
    slots)."""
    rows = sum(f.x_train.nbytes + f.y_train.nbytes for f in folds) * devices
    n_features = max(f.x_train.shape[1] for f in folds)
    per_model = 0
    for c in candidates:
        m = knobs(c, training)
        width = width_bucket(m.width) if m.depth else 0
        per_model += 4 * 8 * (n_features * width + width * width * max(m.depth - 1, 0) + (width or n_features) * 8)
    return rows + per_model * len(folds)


def _said_of(status: Callable[[str], None], where: str, message: str) -> None:
    status(where + message)


def _name(candidate: Mapping[str, Any]) -> str:
    """A candidate's identity across calls (its whole configuration), to find its paused models again."""
    return repr(sorted(candidate.items()))


def _predictions(outputs: np.ndarray, task: str, fold: Fold) -> _Predictions:
    """A trained model's outputs on its fold's held-out rows, as an estimator the scorer accepts."""
    if task == "regression":
        return _Predictions(outputs[:, 0] * fold.target_scale + fold.target_mean, fold.X_test)
    proba = np.column_stack([1 - outputs[:, 0], outputs[:, 0]]) if task == "binary" else outputs
    assert fold.classes is not None  # a classification fold has its classes
    return _ClassPredictions(proba, fold.classes, fold.X_test)


class _Predictions(RegressorMixin, BaseEstimator):
    """A trained fold model's predictions on its held-out rows, as an estimator the scorer accepts."""

    def __init__(self, values: np.ndarray, X: np.ndarray):
        self.values, self.X = values, X

    def predict(self, X: Any) -> Any:
        _check_rows(X, self.X)
        return self.values


class _ClassPredictions(ClassifierMixin, BaseEstimator):
    def __init__(self, proba: np.ndarray, classes: np.ndarray, X: np.ndarray):
        self.proba, self.classes_, self.X = proba, classes, X

    def predict_proba(self, X: Any) -> Any:
        _check_rows(X, self.X)
        return self.proba

    def predict(self, X: Any) -> Any:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _check_rows(X: Any, expected: np.ndarray) -> None:
    if X is not expected:
        raise ValueError("these predictions were computed for the fold's held-out rows only")
