"""The Keras network whose build signature *is* the searchable space.

Keras is imported inside the function so that reading the signature (config
validation, ``--help``) never pays for importing a deep-learning framework.
"""
from __future__ import annotations

import random
from typing import Any

NOT_SEARCHABLE = ("meta", "seed")  # build arguments that are set by the pipeline, not searched


def loss_for(task: str) -> str:
    """The loss that fits the output ``build_network`` gives the task."""
    return {"binary": "binary_crossentropy", "multiclass": "sparse_categorical_crossentropy"}.get(task, "mean_squared_error")


def build_network(
    meta: dict[str, Any],
    depth: int = 2,
    neurons: int = 16,
    activation: str = "relu",
    init: str = "glorot_uniform",
    dropout: float = 0.0,
    seed: int | None = None,
) -> Any:
    """A dense network: ``depth`` hidden layers of ``neurons`` units, output fit to the task.

    ``meta`` comes from scikeras (``n_features_in_``, ``target_type_``, ``n_classes_``),
    so input and output shapes are never hard-coded. ``seed`` gives every initializer and
    dropout layer its own explicit seed: Keras would otherwise draw them from Python's global
    ``random``, which other threads (a Dask worker's, for one) also consume.
    """
    import keras

    seeds = random.Random(seed)

    def initializer(name: str) -> Any:
        base = keras.initializers.get(name)
        config = base.get_config()
        if "seed" in config:
            config["seed"] = seeds.randrange(2**31)
        return type(base).from_config(config)

    inputs = keras.Input(shape=(meta["n_features_in_"],))
    x = inputs
    for _ in range(depth):
        x = keras.layers.Dense(neurons, activation=activation, kernel_initializer=initializer(init))(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, seed=seeds.randrange(2**31))(x)
    if "n_classes_" not in meta:  # a regressor (scikit-learn may still call its target "multiclass")
        units, output_activation = meta.get("n_outputs_expected_", 1), None
    elif meta["target_type_"] == "binary":
        units, output_activation = 1, "sigmoid"
    else:
        units, output_activation = meta["n_classes_"], "softmax"
    outputs = keras.layers.Dense(units, activation=output_activation, kernel_initializer=initializer("glorot_uniform"))(x)
    return keras.Model(inputs, outputs)
