"""The Keras network whose build signature *is* the searchable space.

Keras is imported inside the function so that reading the signature (config
validation, ``--help``) never pays for importing a deep-learning framework.
"""
from __future__ import annotations

from typing import Any


def build_network(
    meta: dict[str, Any],
    depth: int = 2,
    neurons: int = 16,
    activation: str = "relu",
    init: str = "glorot_uniform",
    dropout: float = 0.0,
):
    """A dense network: ``depth`` hidden layers of ``neurons`` units, output fit to the task.

    ``meta`` comes from scikeras (``n_features_in_``, ``target_type_``, ``n_classes_``),
    so input and output shapes are never hard-coded.
    """
    import keras

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    x = inputs
    for _ in range(depth):
        x = keras.layers.Dense(neurons, activation=activation, kernel_initializer=init)(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout)(x)
    if "n_classes_" not in meta:  # a regressor (scikit-learn may still call its target "multiclass")
        outputs = keras.layers.Dense(meta.get("n_outputs_expected_", 1))(x)
    elif meta["target_type_"] == "binary":
        outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    else:
        outputs = keras.layers.Dense(meta["n_classes_"], activation="softmax")(x)
    return keras.Model(inputs, outputs)
