"""The fused engine's models: each fold prepared once, the stage's (candidate, fold) models grouped
into programs, trained, and scored by scikit-learn's scorer on each fold's held-out rows."""
from __future__ import annotations

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

from pipeline.data import make_preprocessor, standardization
from pipeline.engines.layout import Knobs, RunValues, group, knobs, layout_for
from pipeline.engines.programs import Compilations, Program
from pipeline.racing import Halving, rungs, survivors
from pipeline.space import ranks


@dataclass(frozen=True)
class Fold:
    """One CV fold, preprocessed and encoded exactly as the Keras step of the estimator sees it."""

    x_train: np.ndarray  # float32, rows in the fold's order (validation rows last)
    y_train: np.ndarray
    x_test: np.ndarray  # the fold's held-out part, preprocessed by this fold's preprocessor
    X_test: pd.DataFrame  # ... and as the scorer sees it
    y_test: np.ndarray
    meta: dict[str, Any]  # what build_network needs: n_features_in_, target_type_, n_classes_
    classes: np.ndarray | None
    target_mean: float = 0.0
    target_scale: float = 1.0


def prepare_folds(X: pd.DataFrame, y: pd.Series, task: str, splitter) -> list[Fold]:
    """Each fold's own preprocessing and target encoding, fitted on its training part only."""
    out = []
    for train, test in splitter.split(X, y):
        prep = make_preprocessor(X).fit(X.iloc[train])
        x_train = prep.transform(X.iloc[train]).astype("float32")
        x_test = prep.transform(X.iloc[test]).astype("float32")
        y_fit = y.iloc[train]
        common = dict(x_train=x_train, x_test=x_test, X_test=X.iloc[test], y_test=y.iloc[test].to_numpy())
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


def cv_results(candidates: Sequence[Mapping[str, Any]], scores: np.ndarray, epochs: np.ndarray, seconds: np.ndarray) -> dict:
    """The columns and order of GridSearchCV's ``cv_results_`` (metrics score and epochs_run, no refit)."""
    n = len(candidates)
    out: dict[str, Any] = {"mean_fit_time": seconds.mean(1), "std_fit_time": seconds.std(1),
                           "mean_score_time": np.zeros(n), "std_score_time": np.zeros(n)}  # fmt: skip
    for key in sorted({k for c in candidates for k in c}):
        out[f"param_{key}"] = np.ma.MaskedArray([c.get(key) for c in candidates], mask=[key not in c for c in candidates],
                                                dtype=object)  # fmt: skip
    out["params"] = list(candidates)
    for name, values in (("score", scores), ("epochs_run", epochs)):
        for i in range(values.shape[1]):
            out[f"split{i}_test_{name}"] = values[:, i]
        means = values.mean(1)
        out[f"mean_test_{name}"], out[f"std_test_{name}"] = means, values.std(1)
        out[f"rank_test_{name}"] = ranks(means)
    return out


class Programs:
    """A run's programs, one per layout (and fold shape), kept across stages: each is built and compiled once."""

    def __init__(self, task: str, training: dict[str, Any], seed: int, run: RunValues | None = None):
        self.task, self.training, self.seed, self.run = task, training, seed, run or RunValues()
        self.compilations = Compilations()
        self._programs: dict[tuple, Program] = {}

    def __call__(self, models: Sequence[Knobs], meta: dict[str, Any]) -> Program:
        layout = layout_for(models, self.run)
        key = (layout, tuple(sorted(meta.items())))
        if key not in self._programs:
            self._programs[key] = Program(layout, meta, self.task, self.training, self.seed, self.compilations)
        return self._programs[key]


@dataclass(frozen=True)
class Rung:
    """The candidates (indices) that ran a rung, their scores and epochs run (candidates × folds), seconds."""

    candidates: list[int]
    epochs: int | None  # the rung's epochs in all (None: each model's own, the stage not raced)
    scores: np.ndarray
    epochs_run: np.ndarray
    seconds: np.ndarray


def run_models(
    candidates: Sequence[Mapping[str, Any]],
    folds: Sequence[Fold],
    programs: Programs,
    metric: str,
    on_models_done: Callable[[int], None] = lambda n: None,
    racing: Halving | None = None,
) -> list[Rung]:
    """Train and score every (candidate, fold); raced, in rungs: after each, the best 1/factor candidates go on
    from where they paused (the same programs, repacked with the survivors only)."""
    models = [knobs(c, programs.training) for c in candidates]
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for (batch, hidden), members in group(models).items():
        for c in members:
            for f, fold in enumerate(folds):  # one-hot columns can differ between folds: so can the input width
                groups.setdefault((batch, hidden, tuple(sorted(fold.meta.items()))), []).append((c, f))
    scorer = get_scorer(metric)
    schedule = rungs(len(candidates), racing) if racing else [(None, len(candidates))]
    alive, paused, out = list(range(len(candidates))), {}, []
    for number, (epochs, _) in enumerate(schedule):
        shape = (len(alive), len(folds))
        scores, epochs_run, seconds = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
        row_of = {c: i for i, c in enumerate(alive)}
        for name, members in groups.items():
            running = [(c, f) for c, f in members if c in row_of]
            if not running:
                continue
            started = time.perf_counter()
            group_models, group_folds = [models[c] for c, _ in running], [folds[f] for _, f in running]
            program = programs(group_models, group_folds[0].meta)
            resume = None
            if name in paused:
                before, state = paused[name]
                resume = state.take([before.index(m) for m in running])
            trained = program.train(group_models, group_folds, until=epochs, resume=resume)
            paused[name] = (running, trained.paused)
            outputs = program.outputs(trained, group_models, [fold.x_test for fold in group_folds])
            with sklearn.config_context(skip_parameter_validation=True):  # its inputs are ours: 125 calls, 1 ms each
                for i, (c, f) in enumerate(running):
                    fold = folds[f]
                    epochs_run[row_of[c], f] = trained.epochs_run[i]
                    if trained.finite[i]:
                        scores[row_of[c], f] = float(scorer(_predictions(outputs[i], programs.task, fold), fold.X_test,
                                                            fold.y_test))  # fmt: skip
            seconds[[row_of[c] for c, _ in running], [f for _, f in running]] = (time.perf_counter() - started) / len(running)
            on_models_done(len(running))
        out.append(Rung(list(alive), epochs, scores, epochs_run, seconds))
        if number + 1 < len(schedule):
            alive = [alive[i] for i in survivors(scores.mean(1), schedule[number + 1][1])]
    return out


def raced_cv_results(candidates: Sequence[Mapping[str, Any]], out: Sequence[Rung]) -> dict:
    """A halving search's ``cv_results_``: a row per candidate per rung, with its ``iter`` and ``n_resources``."""
    columns = cv_results([candidates[c] for r in out for c in r.candidates], *(np.concatenate([getattr(r, name) for r in out])
                         for name in ("scores", "epochs_run", "seconds")))  # fmt: skip
    columns["iter"] = np.concatenate([np.full(len(r.candidates), i) for i, r in enumerate(out)])
    columns["n_resources"] = np.concatenate([np.full(len(r.candidates), r.epochs) for r in out])
    return columns


def model_epochs(out: Sequence[Rung]) -> int:
    """Epochs trained in all: each model's epochs at the last rung it ran (it went on from the rungs before)."""
    last: dict[int, np.ndarray] = {}
    for r in out:
        last.update({c: r.epochs_run[i] for i, c in enumerate(r.candidates)})
    return int(sum(v.sum() for v in last.values()))


def _predictions(outputs: np.ndarray, task: str, fold: Fold):
    """A trained model's outputs on its fold's held-out rows, as an estimator the scorer accepts."""
    if task == "regression":
        return _Predictions(outputs[:, 0] * fold.target_scale + fold.target_mean, fold.X_test)
    proba = np.column_stack([1 - outputs[:, 0], outputs[:, 0]]) if task == "binary" else outputs
    return _ClassPredictions(proba, fold.classes, fold.X_test)


class _Predictions(RegressorMixin, BaseEstimator):
    """A trained fold model's predictions on its held-out rows, as an estimator the scorer accepts."""

    def __init__(self, values: np.ndarray, X: pd.DataFrame):
        self.values, self.X = values, X

    def predict(self, X):
        _check_rows(X, self.X)
        return self.values


class _ClassPredictions(ClassifierMixin, BaseEstimator):
    def __init__(self, proba: np.ndarray, classes: np.ndarray, X: pd.DataFrame):
        self.proba, self.classes_, self.X = proba, classes, X

    def predict_proba(self, X):
        _check_rows(X, self.X)
        return self.proba

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _check_rows(X, expected: pd.DataFrame) -> None:
    if X is not expected:
        raise ValueError("these predictions were computed for the fold's held-out rows only")
