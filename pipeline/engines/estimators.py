"""Estimators: scikeras wrappers with the project's fixes, behind a preprocessing Pipeline.

Importing this module imports Keras; the engines import it only after the Keras backend
has been chosen (see ``pipeline.engines.execution``).
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keras
import numpy as np
from sklearn.pipeline import Pipeline

from pipeline.common.records import Dataset, Problem
from pipeline.config.schema import ModelSpec
from pipeline.data import make_preprocessor, standardization
from pipeline.engines.network import build_network, loss_for
from pipeline.engines.searchcv import NET


@contextlib.contextmanager
def _tensorflow_hidden_under_jax() -> Iterator[None]:
    """While scikeras is first imported under JAX, TensorFlow reads as not installed, then as it was.

    scikeras imports TensorFlow only to seed it, which the JAX backend never uses: 1.9 s in
    every process (this one, every loky worker). Without it scikeras still seeds Python and
    NumPy. The process's own ``import tensorflow`` afterwards works as before.
    """
    hide = os.environ.get("KERAS_BACKEND") == "jax" and "tensorflow" not in sys.modules
    if hide:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]  # None: "not importable"
    try:
        yield
    finally:
        if hide:
            del sys.modules["tensorflow"]


with _tensorflow_hidden_under_jax():
    from scikeras.utils.transformers import RegressorTargetEncoder
    from scikeras.wrappers import KerasClassifier, KerasRegressor


class _SeededBuild:
    """Reset every Keras/NumPy/Python seed before each model is built (and keep Keras' prints in the log).

    scikeras seeds NumPy and TensorFlow but not Keras' global SeedGenerator, which
    then carries state from one fit to the next inside a worker process.
    """

    _random_state: int | None  # scikeras' wrapper, which this is mixed into, sets it

    def _build_keras_model(self) -> Any:
        keras.config.disable_interactive_logging()  # Keras' print()s ("Invalid loss") go to the log, in every worker
        if self._random_state is not None:
            with _keras_without_tensorflow():
                keras.utils.set_random_seed(int(self._random_state))
        return super()._build_keras_model()  # type: ignore[misc]  # a mixin: the wrapper's method


@contextlib.contextmanager
def _keras_without_tensorflow() -> Iterator[None]:
    """Keras under JAX, kept from importing TensorFlow only to ask whether it is installed (seeding it,
    serializing a model to save it): 1.9 s in every process, and TensorFlow's C++ start-up lines on stderr (in a
    notebook, in the cell's output). Keras' answer is forgotten afterwards, so a later ``import tensorflow`` works."""
    from keras.src.utils.module_utils import tensorflow as lazy_tensorflow

    with _tensorflow_hidden_under_jax():
        yield
    if lazy_tensorflow.module is None:
        lazy_tensorflow._available = None


class Classifier(_SeededBuild, KerasClassifier):
    """KerasClassifier that scikit-learn recognises as a classifier.

    scikeras 0.13 only sets the pre-1.6 ``_estimator_type``; scikit-learn >= 1.6 reads
    ``__sklearn_tags__`` and so treats it as a plain estimator, which makes an integer
    ``cv`` silently unstratified.
    """

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags()
        return tags


class _StandardizedTarget(RegressorTargetEncoder):
    """Train regressors on a standardised target, so a few epochs already fit it."""

    def fit(self, y: Any) -> _StandardizedTarget:
        super().fit(y)
        y = np.asarray(y, dtype="float64")
        self.mean_, self.scale_ = standardization(y)
        return self

    def transform(self, y: Any) -> Any:
        return (super().transform(y) - self.mean_) / self.scale_

    def inverse_transform(self, y: Any) -> Any:
        return super().inverse_transform(np.asarray(y) * self.scale_ + self.mean_)


class Regressor(_SeededBuild, KerasRegressor):
    """KerasRegressor fitted on a standardised target; predictions come back in units."""

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        tags.regressor_tags = RegressorTags()
        return tags

    @property
    def target_encoder(self) -> _StandardizedTarget:
        return _StandardizedTarget()


def make_estimator(data: Dataset, params: dict[str, Any], model: ModelSpec, seed: int) -> Pipeline:
    """Preprocessing + Keras wrapper with ``params`` (routed names) as its starting values."""
    wrapper = Regressor if data.task == "regression" else Classifier
    callbacks: list[type] = [keras.callbacks.TerminateOnNaN]
    extra: dict[str, Any] = {}
    training = model.training()
    if training["early_stopping"]:
        es = dict(training["early_stopping"])
        extra["validation_split"] = es.pop("validation_split")
        callbacks.insert(0, keras.callbacks.EarlyStopping)
        extra.update({f"callbacks__0__{k}": v for k, v in es.items()})
    net = wrapper(
        model=build_network,
        loss=loss_for(data.task),
        epochs=training["epochs"],
        batch_size=training["batch_size"],
        callbacks=callbacks,
        verbose=0,
        random_state=seed,
        model__seed=seed,
        **extra,
    )
    net.set_params(**params)
    return Pipeline([("prep", make_preprocessor(data.X)), (NET, net)])


def refit(problem: Problem, params: dict[str, Any], model: ModelSpec, test: Dataset, path: Path) -> float:
    """The final model: fitted with ``params`` on the whole training part, saved, scored on ``test``."""
    from sklearn.metrics import get_scorer

    final = make_estimator(problem.train, params, model, seed=problem.seed)
    final.fit(problem.train.X, problem.train.y)
    with _keras_without_tensorflow():
        final[-1].model_.save(str(path))
    return float(get_scorer(problem.metric)(final, test.X, test.y))
