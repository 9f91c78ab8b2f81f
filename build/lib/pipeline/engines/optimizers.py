"""Keras optimizers whose learning rate and momentum are per-model values (each model of a fused program its own)."""
from __future__ import annotations

import functools
from typing import Any

from pipeline.engines.layout import MOMENTUM_OPTIMIZERS


def per_model_optimizer(variant: Any, variables: Any) -> Any:
    """A Keras optimizer with its learning rate (and momentum where exact) as per-model values."""
    import keras

    name, fixed = variant
    config = dict(fixed)
    if name in MOMENTUM_OPTIMIZERS:
        config["momentum"] = 0.5  # placeholder: builds the momentum slots; each model's value replaces it
    optimizer = keras.optimizers.get({"class_name": name, "config": config})
    optimizer.build(variables)
    if name in MOMENTUM_OPTIMIZERS:
        with keras.name_scope(optimizer.name, caller=optimizer):
            momentum = _per_model_variable()(initializer=0.0, shape=(), dtype="float32", trainable=False, name="momentum")
        optimizer._track_variable(momentum)
        optimizer.momentum = momentum
    return optimizer



@functools.cache
def _per_model_variable() -> type:
    import keras

    class PerModelValue(keras.Variable):
        """An optimizer hyperparameter held as a variable, so that each model has its own.

        Keras checks ``momentum != 0`` (sgd) and ``momentum > 0`` (rmsprop) to decide whether
        to keep momentum slots. Answering yes for every model is exact: with a momentum of 0
        the momentum branch gives the plain update.
        """

        __hash__ = keras.Variable.__hash__

        def __ne__(self, other: object) -> Any:
            return True

        def __gt__(self, other: object) -> Any:
            return True

    return PerModelValue
