"""What may be searched: scikeras' routed parameter names and the values each accepts.

A leaf: no Keras, no Hydra. ``MODEL_PARAMS`` are the arguments of
``pipeline.engines.network.build_network`` (a test keeps the two in step), so the build
signature stays the searchable space without the config importing the network.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from pipeline.common.errors import UserError

MODEL_PARAMS = ("model__depth", "model__neurons", "model__activation", "model__init", "model__dropout")
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax", "nadam", "ftrl", "lion")
OPTIMIZER_KWARGS = (
    "learning_rate", "momentum", "nesterov", "beta_1", "beta_2", "epsilon", "rho", "amsgrad",
    "weight_decay", "clipnorm", "clipvalue", "initial_accumulator_value",
)  # fmt: skip
ACTIVATIONS = (
    "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "swish", "softplus", "softsign",
    "linear", "leaky_relu", "relu6", "hard_sigmoid", "exponential", "mish",
)  # fmt: skip
INITS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "random_uniform", "random_normal", "truncated_normal", "orthogonal", "uniform", "normal", "zeros", "ones",
)  # fmt: skip
SEARCHABLE = ("optimizer", "batch_size", "epochs", *MODEL_PARAMS, *(f"optimizer__{k}" for k in OPTIMIZER_KWARGS))


def number(v: Any) -> bool:
    """A finite int or float (not a bool): ``inf`` and ``nan`` are no learning rate, factor or share."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def integer(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _one_of(allowed: tuple[str, ...]) -> tuple[Callable[[Any], bool], str]:
    return (lambda v: v in allowed), f"one of {', '.join(allowed)}"


VALUE_RULES = {
    "optimizer": _one_of(OPTIMIZERS),
    "model__activation": _one_of(ACTIVATIONS),
    "model__init": _one_of(INITS),
    "model__dropout": (lambda v: number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "model__depth": (lambda v: integer(v) and v >= 0, "an integer >= 0"),
    "model__neurons": (lambda v: integer(v) and v >= 1, "an integer >= 1"),
    "optimizer__learning_rate": (lambda v: number(v) and v > 0, "a number > 0"),
    "optimizer__momentum": (lambda v: number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "batch_size": (lambda v: integer(v) and v >= 1, "an integer >= 1"),
    "epochs": (lambda v: integer(v) and v >= 1, "an integer >= 1"),
}
OPTIONAL_KWARGS = ("optimizer__weight_decay", "optimizer__clipnorm", "optimizer__clipvalue")  # null = off
for _name in SEARCHABLE:
    if _name in ("optimizer__nesterov", "optimizer__amsgrad"):
        VALUE_RULES.setdefault(_name, (lambda v: isinstance(v, bool), "true or false"))
    elif _name in OPTIONAL_KWARGS:
        VALUE_RULES.setdefault(_name, (lambda v: v is None or number(v), "a number or null"))
    elif _name.startswith("optimizer__"):
        VALUE_RULES.setdefault(_name, (number, "a number"))


INTEGER_PARAMS = ("model__depth", "model__neurons", "batch_size", "epochs")
TEXT_OR_BOOL = ("optimizer", "model__activation", "model__init", "optimizer__nesterov", "optimizer__amsgrad")


def normalised(param: str, value: Any) -> Any:
    """A number as the type the parameter takes: ``0`` is ``0.0`` for momentum (Keras' SGD refuses the integer),
    ``8.0`` is ``8`` for neurons. One spelling per value, so one store key and one label per value."""
    if not number(value) or param in TEXT_OR_BOOL:
        return value
    if param in INTEGER_PARAMS:
        return int(value) if float(value).is_integer() else value
    return float(value)


def check_values(key: str, param: str, values: list[Any]) -> list[Any]:
    """The values, normalised (``normalised``); ``UserError`` naming ``key`` when ``param`` is unknown or a value is
    out of range (shown as the user wrote it)."""
    if param not in SEARCHABLE:
        raise UserError(f"{key}: unknown parameter {param!r}; searchable: {', '.join(SEARCHABLE)}")
    ok, expected = VALUE_RULES[param]
    bad = [v for v in values if not ok(normalised(param, v))]
    if bad:
        raise UserError(f"{key}: bad value {bad[0]!r}; {param.split('__')[-1]} must be {expected}")
    return [normalised(param, v) for v in values]
