"""The project's own network as a scikit-learn estimator: what the command line tunes, for ``StagedSearchCV``.

``Network`` carries what ``conf/model`` holds (epochs, batch size, early stopping and the starting value of every
searchable parameter, in scikeras' routed names); ``StagedSearchCV`` trains it on the fused engine, and ``fit``
builds the same Pipeline the GridSearchCV engine fits. Keras is imported by ``fit``, not by building one.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import yaml
from sklearn.base import BaseEstimator

from pipeline.common.errors import UserError
from pipeline.common.install import conf_dir
from pipeline.config.catalogue import check_values
from pipeline.config.schema import EarlyStoppingSpec, ModelSpec

TRAINING = ("epochs", "batch_size", "early_stopping", "patience", "validation_split", "seed", "task")
TASKS = ("auto", "binary", "multiclass", "regression")


def default_params() -> dict[str, Any]:
    """The starting values the command line uses (``conf/model/default.yaml``)."""
    return dict(yaml.safe_load((conf_dir() / "model" / "default.yaml").read_text())["params"])


class Network(BaseEstimator):
    """A dense Keras network behind the per-fold preprocessing: the network the command line tunes.

    Parameters
    ----------
    epochs : int, default=50
        The most epochs a fit trains.
    batch_size : int, default=32
    early_stopping : bool, default=True
        Stop on the validation loss (``patience`` epochs without improvement), keeping the best weights.
    patience : int, default=5
    validation_split : float, default=0.2
        The share of each fold's training part held out for early stopping.
    seed : int, default=0
        Weights, dropout and shuffles.
    task : {"auto", "binary", "multiclass", "regression"}, default="auto"
        ``auto`` reads it from the target (whole numbers with few values are classes); ``regression`` for counts.
    **params
        Any searchable parameter in scikeras' routed names (``model__neurons=16``, ``optimizer="adam"``,
        ``optimizer__learning_rate=0.01``; ``python -m pipeline --help`` lists them); the rest start at the
        command line's defaults (``conf/model/default.yaml``).

    Examples
    --------
    >>> from pipeline import Network
    >>> Network(epochs=20, model__neurons=16).get_params()["model__neurons"]
    16
    """

    def __init__(self, epochs: int = 50, batch_size: int = 32, early_stopping: bool = True, patience: int = 5,
                 validation_split: float = 0.2, seed: int = 0, task: str = "auto", **params: Any) -> None:  # fmt: skip
        self.epochs, self.batch_size, self.early_stopping = epochs, batch_size, early_stopping
        self.patience, self.validation_split, self.seed, self.task = patience, validation_split, seed, task
        self.params = {**default_params(), **params}

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in TRAINING}, **self.params}

    def set_params(self, **params: Any) -> Network:
        for name, value in params.items():
            if name in TRAINING:
                setattr(self, name, value)
                continue
            try:
                self.params[name] = check_values(f"Network({name}=...)", name, [value])[0]
            except UserError as exc:
                raise ValueError(str(exc)) from None
        return self

    def model_spec(self) -> ModelSpec:
        """The training settings as the command line's ``model`` config."""
        stopping = EarlyStoppingSpec(enabled=bool(self.early_stopping), patience=int(self.patience),
                                     validation_split=float(self.validation_split))  # fmt: skip
        return ModelSpec(params=dict(self.params), epochs=int(self.epochs), batch_size=int(self.batch_size),
                         early_stopping=stopping)  # fmt: skip

    def task_of(self, y: Any) -> str:
        """``task``, or (``auto``) what the target says; an unknown task is refused in one line."""
        from pipeline.data import infer_task

        if self.task not in TASKS:
            raise ValueError(f"Network(task={self.task!r}): choose one of {', '.join(TASKS)}")
        return self.task if self.task != "auto" else infer_task(y)[0]

    def fit(self, X: Any, y: Any) -> Network:
        from pipeline.data import from_arrays
        from pipeline.engines import execution

        execution.select_backend(execution.imported_backend() or "jax")
        from pipeline.engines.estimators import make_estimator

        data = from_arrays(X, y)
        data = dataclasses.replace(data, task=self.task_of(data.y))
        self.task_ = data.task
        self.pipeline_ = make_estimator(data, dict(self.params), self.model_spec(), seed=int(self.seed))
        self.pipeline_.fit(data.X, data.y)
        self.n_features_in_ = data.X.shape[1]
        if data.task != "regression":
            self.classes_ = self.pipeline_[-1].classes_
        return self

    def predict(self, X: Any) -> Any:
        from pipeline.data import frame

        return self.pipeline_.predict(frame(X))

    def predict_proba(self, X: Any) -> Any:
        from pipeline.data import frame

        return self.pipeline_.predict_proba(frame(X))

    def score(self, X: Any, y: Any) -> float:
        """Accuracy for a classification, r2 for a regression (as scikit-learn's classifiers and regressors)."""
        from sklearn.metrics import accuracy_score, r2_score

        metric = r2_score if self.task_ == "regression" else accuracy_score
        return float(metric(np.asarray(y), self.predict(X)))

