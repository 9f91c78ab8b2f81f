"""The fused engine: every candidate × fold of a stage trained together, in compiled JAX programs.

The GridSearchCV engine spends almost all of its time in Keras' per-step and per-epoch
Python machinery, not in arithmetic. Here the same Keras model (``build_network``) and the
same Keras optimizer are driven through Keras 3's stateless API inside one ``jax.jit``
program per group of models that share shapes: ``lax.while_loop`` over epochs,
``lax.scan`` over batches, ``vmap`` over the group's (candidate, fold) models. Values that
only change numbers (learning rate, momentum of sgd/rmsprop, initializer) vary inside a
program; values that change the program (optimizer, activation, dropout, depth, neurons,
batch size, epochs) start another group.

What it keeps from the GridSearchCV engine: the same folds, each fold's own preprocessing
and target encoding, the same initial weights (same build function, same seed), batch
size with a smaller last batch, reshuffling every epoch, Keras' ``validation_split`` (the
last rows of a fold's training part) and ``EarlyStopping`` per model (a stopped model
keeps its best weights and stops updating; its epochs-run is recorded), divergence
(a non-finite loss) scored NaN, and the same scorer on the same held-out rows.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer
from sklearn.preprocessing import LabelEncoder

from pipeline.config.schema import RunSpec
from pipeline.data import make_preprocessor, standardization
from pipeline.engines import execution
from pipeline.engines.gridsearch import folds as cv_folds
from pipeline.engines.gridsearch import last_line
from pipeline.engines.programs import DEFAULT_OPTIMIZER, MOMENTUM_OPTIMIZERS, Program
from pipeline.errors import ResourceExhausted
from pipeline.records import Dataset, Evaluation, Problem

PER_MODEL = ("optimizer__learning_rate", "model__init")  # numbers, not program structure


class FusedEngine:
    """Every candidate × fold of a stage in a few compiled JAX programs, in this process."""

    name = "fused"

    def __init__(self, spec: RunSpec):
        self.model, self.execution = spec.model, spec.execution
        self._folds: tuple[Problem, list[Fold]] | None = None

    @staticmethod
    def unsupported(spec: RunSpec) -> str | None:
        """Why this configuration cannot run fused (the caller falls back to GridSearchCV), or None."""
        if spec.execution.keras_backend != "jax":
            return f"the fused engine compiles JAX programs; execution.keras_backend={spec.execution.keras_backend}"
        return None

    def identity(self) -> dict[str, Any]:
        return {"engine": self.name, **execution.library_versions("jax")}  # its own shuffles: its own results

    def __enter__(self) -> FusedEngine:
        execution.select_backend("jax", self.execution.compile_cache, host_devices=True)
        return self

    def __exit__(self, *exc) -> None:
        self._folds = None

    def load(self) -> None:
        """Import JAX and Keras now, so that a stage's seconds leave the imports out."""
        import jax  # noqa: F401
        import keras  # noqa: F401

    def evaluate(self, problem: Problem, stage: str, candidates: list[dict], base: dict, progress=lambda n: None) -> Evaluation:
        """The candidates GridSearchCV would fit, on the same folds, as ``cv_results_`` columns."""
        if self._folds is None or self._folds[0] is not problem:  # the same folds serve every stage of a run
            train = problem.train
            self._folds = (problem, prepare_folds(train.X, train.y, train.task, cv_folds(train.task, problem.cv, problem.seed)))
        try:
            out = run_models([{**base, **c} for c in candidates], self._folds[1], task=problem.train.task,
                             metric=problem.metric, training=self.model.training(), seed=problem.seed,
                             on_models_done=progress)  # fmt: skip
        except Exception as exc:  # XLA reports running out of memory as RESOURCE_EXHAUSTED
            if not isinstance(exc, MemoryError) and "RESOURCE_EXHAUSTED" not in str(exc):
                raise
            raise ResourceExhausted(
                f"stage {stage}: the fused program ran out of memory ({last_line(str(exc))[:200]}); "
                "try fewer candidates per stage or search.engine=gridsearchcv"
            ) from None
        return Evaluation(cv_results(candidates, out["scores"], out["epochs"], out["seconds"]))

    def refit(self, problem: Problem, params: dict, test: Dataset, path: Path) -> float:
        """The final model is a plain Keras fit, as with GridSearchCV: one model, nothing to fuse."""
        from pipeline.engines.estimators import refit

        return refit(problem, params, self.model, test, path)


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
        out[f"rank_test_{name}"] = pd.Series(means).rank(method="min", ascending=False, na_option="bottom").to_numpy("int32")
    return out


def group_key(params: Mapping[str, Any], fold: Fold) -> tuple:
    """Models with equal keys compile to one program: everything but per-model numbers."""
    optimizer = params.get("optimizer", DEFAULT_OPTIMIZER)
    per_model = set(PER_MODEL) | ({"optimizer__momentum"} if optimizer in MOMENTUM_OPTIMIZERS else set())
    static = tuple(sorted((k, repr(v)) for k, v in params.items() if k not in per_model))
    return static, fold.meta["n_features_in_"], fold.meta.get("n_classes_", 0)


def run_models(
    candidates: Sequence[Mapping[str, Any]],
    folds: Sequence[Fold],
    *,
    task: str,
    metric: str,
    training: dict[str, Any],
    seed: int,
    on_models_done: Callable[[int], None] = lambda n: None,
) -> dict[str, np.ndarray]:
    """Train and score every (candidate, fold): scores, epochs run and seconds, shape (candidates, folds)."""
    shape = (len(candidates), len(folds))
    scores, epochs, seconds = np.full(shape, np.nan), np.zeros(shape), np.zeros(shape)
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for c, params in enumerate(candidates):
        for f, fold in enumerate(folds):
            groups.setdefault(group_key(params, fold), []).append((c, f))
    scorer = get_scorer(metric)
    for members in groups.values():
        started = time.perf_counter()
        params = candidates[members[0][0]]
        program = Program(params, folds[members[0][1]].meta, task, training, seed)
        trained = program.train([candidates[c] for c, _ in members], [folds[f] for _, f in members])
        with sklearn.config_context(skip_parameter_validation=True):  # its inputs are ours: 125 calls, 1 ms each
            for i, (c, f) in enumerate(members):
                fold = folds[f]
                epochs[c, f] = trained.epochs_run[i]
                if trained.finite[i]:
                    scores[c, f] = float(scorer(_predictions(program.outputs(trained, i, fold.x_test), task, fold), fold.X_test, fold.y_test))
        seconds[[c for c, _ in members], [f for _, f in members]] = (time.perf_counter() - started) / len(members)
        on_models_done(len(members))
    return {"scores": scores, "epochs": epochs, "seconds": seconds}


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
