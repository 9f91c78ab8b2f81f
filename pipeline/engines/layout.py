"""Where each model sits in a fused program: the run's deepest network at the model's width bucket, padded and masked.

Every knob of the catalogue varies per model inside one program: width (hidden units beyond a
model's width are masked to zero, so they get zero gradients and the math is the narrow
network's; a large stage's models are grouped by width bucket, the next power of two, so that
an 8-unit model does not pay for a 128-unit one), depth (layers beyond a model's depth pass their input through), activation (a
per-model choice among the program's), dropout rate (a per-model rate on one shared draw of
noise), optimizer (every model carries the state of each of the program's optimizers and takes
its own one's update), learning rate, momentum, initializer and epochs. Only the batch size, the
width bucket (in a large stage), and whether a network has hidden layers at all, give a program of its own.
"""
from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.engines.network import NOT_SEARCHABLE, build_network

NETWORK_DEFAULTS = {name: p.default for name, p in inspect.signature(build_network).parameters.items()
                    if name not in NOT_SEARCHABLE}  # fmt: skip  # depth 2, neurons 16, relu, glorot_uniform, dropout 0
DEFAULT_OPTIMIZER = "rmsprop"  # scikeras' default when no optimizer is given
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")  # where momentum 0 in the momentum branch is the plain update
PER_MODEL_OPTIMIZER_ARGS = ("learning_rate", "momentum")  # numbers each model holds; other arguments make a variant

Variant = tuple[str, tuple[tuple[str, Any], ...]]  # an optimizer and its fixed arguments
BUCKETING_WORK = 10**6  # model-epoch-rows from which a stage's models are grouped by width bucket


@dataclass(frozen=True)
class Knobs:
    """One model's values, read from its parameters (defaults: ``build_network``'s and Keras')."""

    width: int
    depth: int
    activation: str
    dropout: float
    init: str
    optimizer: Variant
    learning_rate: float | None  # None: the optimizer's own default
    momentum: float
    epochs: int
    batch_size: int


def knobs(params: Mapping[str, Any], training: Mapping[str, Any]) -> Knobs:
    net = {k: params.get(f"model__{k}", v) for k, v in NETWORK_DEFAULTS.items()}
    fixed = tuple(sorted((k.removeprefix("optimizer__"), v) for k, v in params.items()
                         if k.startswith("optimizer__") and k.removeprefix("optimizer__") not in PER_MODEL_OPTIMIZER_ARGS))  # fmt: skip
    return Knobs(width=int(net["neurons"]), depth=int(net["depth"]), activation=net["activation"],
                 dropout=float(net["dropout"]), init=net["init"], optimizer=(params.get("optimizer", DEFAULT_OPTIMIZER), fixed),
                 learning_rate=params.get("optimizer__learning_rate"), momentum=float(params.get("optimizer__momentum", 0.0)),
                 epochs=int(params.get("epochs", training["epochs"])),
                 batch_size=int(params.get("batch_size", training["batch_size"])))  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """The static part of a program: what its models are padded to and the choices they pick from."""

    width: int
    depth: int  # 0: no hidden layers (a program of its own)
    activations: tuple[str, ...]
    optimizers: tuple[Variant, ...]
    dropout: bool
    batch_size: int


@dataclass(frozen=True)
class RunValues:
    """The choices a run's stages may ask for, so that stages share a program.

    One layout (the run's deepest network with every activation and optimizer it may ask for, at
    the run's widest width, or at a width bucket for a stage whose training outweighs compiling)
    makes one compiled program serve many stages: compiling is what a cold run pays for.
    """

    widths: frozenset[int] = frozenset()
    depths: frozenset[int] = frozenset()
    activations: frozenset[str] = frozenset()
    optimizers: frozenset[str] = frozenset()
    dropout: bool = False

    @classmethod
    def of(cls, grids: Iterable[Mapping[str, Any]]) -> RunValues:
        """From the base values and every stage grid of a run (values as lists)."""
        values: dict[str, set[Any]] = {}
        for grid in grids:
            for key, options in grid.items():
                values.setdefault(key, set()).update(options if isinstance(options, list) else [options])
        return cls(frozenset(values.get("model__neurons", ())), frozenset(values.get("model__depth", ())),
                   frozenset(values.get("model__activation", ())), frozenset(values.get("optimizer", ())),
                   any(v > 0 for v in values.get("model__dropout", ())))  # fmt: skip


def width_bucket(width: int) -> int:
    """The width a model is padded to: the next power of two. Hidden layers cost the square of their width, so
    padding 8 … 128 to 128 did 3.75× the arithmetic the widths need; bucketed, each costs its own (24 pays for 32)."""
    return 1 << max(width - 1, 0).bit_length()


def layout_for(models: Sequence[Knobs], run: RunValues = RunValues(), bucketed: bool = False) -> Layout:  # noqa: B008
    """The layout of ``models`` (one group of ``group``: one batch size, depth 0 or not, one width bucket where
    ``bucketed``), with the run's choices: padded to their width bucket, or to the run's widest width."""
    hidden = models[0].depth > 0
    widest = width_bucket(max(m.width for m in models)) if bucketed else max([m.width for m in models] + list(run.widths))
    return Layout(
        width=widest if hidden else 0,
        depth=max([m.depth for m in models] + list(run.depths)) if hidden else 0,
        activations=tuple(sorted({m.activation for m in models} | (run.activations if hidden else set()))),
        optimizers=tuple(sorted({m.optimizer for m in models} | {(name, ()) for name in run.optimizers}, key=repr)),
        dropout=hidden and (run.dropout or any(m.dropout > 0 for m in models)),
        batch_size=models[0].batch_size,
    )


def group(models: Sequence[Knobs], bucketed: bool = False) -> dict[tuple[int, bool, int], list[int]]:
    """Models that can share a program: the same batch size, hidden layers or none (and where ``bucketed``, the same
    width bucket)."""
    groups: dict[tuple[int, bool, int], list[int]] = {}
    for i, m in enumerate(models):
        bucket = width_bucket(m.width) if bucketed and m.depth > 0 else 0
        groups.setdefault((m.batch_size, m.depth > 0, bucket), []).append(i)
    return groups


def worth_bucketing(models: Sequence[Knobs], rows: int) -> bool:
    """Width buckets (a program each) pay where training outweighs compiling: a stage of at least
    ``BUCKETING_WORK`` model-epoch-rows (the column's real grid: 6·10⁶; the default order's largest stage: 2·10⁵,
    where a program more to compile costs more than the padding it saves)."""
    return sum(m.epochs for m in models) * rows >= BUCKETING_WORK


def embed(weights: Sequence[np.ndarray], depth: int, layout: Layout, n_features: int) -> list[np.ndarray]:
    """A model's own weights (kernel, bias per Dense layer) in the layout's padded arrays, zeros elsewhere."""
    out = []
    for layer in range(layout.depth):
        kernel = np.zeros((n_features if layer == 0 else layout.width, layout.width), "float32")
        bias = np.zeros(layout.width, "float32")
        if layer < depth:
            own_kernel, own_bias = weights[2 * layer], weights[2 * layer + 1]
            kernel[: own_kernel.shape[0], : own_kernel.shape[1]] = own_kernel
            bias[: own_bias.shape[0]] = own_bias
        out += [kernel, bias]
    own_kernel, own_bias = weights[-2], weights[-1]
    kernel = np.zeros((layout.width if layout.depth else n_features, own_kernel.shape[1]), "float32")
    kernel[: own_kernel.shape[0]] = own_kernel
    return [*out, kernel, np.asarray(own_bias, "float32")]


class InitialWeights:
    """Each model's starting weights: its own seeded Keras build (as every GridSearchCV fit starts), built once."""

    def __init__(self, meta: dict[str, Any], seed: int):
        self.meta, self.seed = meta, seed
        self._built: dict[tuple[Any, ...], list[np.ndarray]] = {}

    def __call__(self, m: Knobs) -> list[np.ndarray]:
        # The dropout layers take seeds from the same sequence as the initializers, so dropout > 0 matters too.
        key = (m.width, m.depth, m.init, m.dropout > 0)
        if key not in self._built:
            model = build_network(self.meta, depth=m.depth, neurons=m.width, init=m.init, dropout=m.dropout, seed=self.seed)
            self._built[key] = [np.asarray(v.value) for v in model.trainable_variables]
        return self._built[key]
