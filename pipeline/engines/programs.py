"""The fused engine's compiled training program: every model of a layout trained at once.

The run's widest, deepest network from the same ``build_network``, its Dense layers called
through Keras 3's stateless API, and Keras optimizers through ``stateless_apply``, inside one
``jax.jit`` program: ``lax.while_loop`` over epochs, ``lax.scan`` over batches, ``vmap`` over
the models. Each model brings its own knobs (width, depth, activation, dropout rate, optimizer,
learning rate, momentum, epochs) as per-model arrays, so a program serves every stage of a run
that has its layout; it is compiled once per number of models (padded to a power of two). Each fold's rows
enter the program once; the models gather their batches from their own fold by index.
"""
from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.engines.dropout import dropout, unit_noise
from pipeline.engines.layout import InitialWeights, Knobs, Layout, embed
from pipeline.engines.loop import training_loop
from pipeline.engines.network import build_network, loss_for
from pipeline.engines.optimizers import per_model_optimizer
from pipeline.engines.padding import bucket, pad_rows, pick, replicate, spread

log = logging.getLogger(__name__)
CHUNK_SECONDS = 2.0  # training between two reports of how far a program is (the epochs of a chunk adapt to it)
VALIDATION_CHUNK = 8192  # validation rows scored per step of the epoch's early-stopping check (bounds its memory)


def fold_indices(folds: Sequence[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct folds (in order of first use) and, per model, the index of its own."""
    unique: dict[int, Any] = {}
    for fold in folds:
        unique.setdefault(id(fold), fold)
    position = {key: i for i, key in enumerate(unique)}
    return list(unique.values()), np.asarray([position[id(f)] for f in folds], "int32")


@dataclass(frozen=True)
class Trained:
    """What a program returns for its models."""

    trainable: list[np.ndarray]  # each stacked over the models (the best weights where early stopping restores them)
    epochs_run: np.ndarray
    finite: np.ndarray  # False where the loss or the weights became NaN/inf (scored NaN, as TerminateOnNaN)
    paused: Paused | None = None  # where the loop left the models: ``train(..., resume=)`` goes on from there


@dataclass(frozen=True)
class Paused:
    """The training loop's state per model (weights, optimizer state, early stopping's, epochs run) and the
    random key every model shares: continued from here, a model trains exactly as if it had never stopped."""

    models: Any  # a pytree, the models on axis 0
    key: np.ndarray

    def take(self, rows: Sequence[int]) -> Paused:
        import jax

        return Paused(jax.tree.map(lambda a: a[np.asarray(rows, dtype=int)], self.models), self.key)


@dataclass
class Compilations:
    """How many programs were compiled (or read from the compile cache) and how long it took."""

    count: int = 0
    seconds: float = 0.0


class FoldRows:
    """Each fold's training and validation rows on the devices, put there once for a run: every program (one per
    width bucket) and every stage reads the same arrays."""

    def __init__(self) -> None:
        self._held: dict[tuple[Any, ...], tuple[list[Any], Any, list[int]]] = {}

    def __call__(self, folds: Sequence[Any], early_stopping: dict[str, Any] | None) -> tuple[Any, list[int]]:
        """The folds' rows as the training loop reads them (folds on axis 0), and each fold's training rows."""
        es = early_stopping
        key = (tuple(id(f) for f in folds), es["validation_split"] if es else None)
        if key not in self._held:
            val_rows = [int(len(f.x_train) - np.floor(len(f.x_train) * (1 - es["validation_split"]))) if es else 0
                        for f in folds]  # fmt: skip  # Keras' validation_split: the last rows
            train_rows = [len(f.x_train) - v for f, v in zip(folds, val_rows)]
            n_train, n_val = max(train_rows), max(max(val_rows), 1)
            n_val = -(-n_val // VALIDATION_CHUNK) * VALIDATION_CHUNK if n_val > VALIDATION_CHUNK else n_val
            data = replicate({
                "x": np.stack([pad_rows(f.x_train[:n], n_train) for f, n in zip(folds, train_rows)]),
                "y": np.stack([pad_rows(f.y_train[:n], n_train) for f, n in zip(folds, train_rows)]),
                "n": np.asarray(train_rows, "int32"),
                "x_val": np.stack([pad_rows(f.x_train[n:], n_val) for f, n in zip(folds, train_rows)]),
                "y_val": np.stack([pad_rows(f.y_train[n:], n_val) for f, n in zip(folds, train_rows)]),
                "n_val": np.asarray(val_rows, "int32"),
            })  # fmt: skip
            self._held[key] = (list(folds), data, train_rows)  # the folds kept alive: their ids stay theirs
        _, data, train_rows = self._held[key]
        return data, train_rows


class Program:
    """One layout's training program; ``train`` pads the models to a power of two and compiles once per size."""

    def __init__(self, layout: Layout, meta: dict[str, Any], task: str, training: dict[str, Any], seed: int,
                 compilations: Compilations, rows: FoldRows | None = None):  # fmt: skip
        import keras

        self.rows = rows or FoldRows()  # shared by a run's programs: each fold's rows on the devices once
        self.layout, self.meta, self.task, self.seed = layout, meta, task, seed
        self.early_stopping = training["early_stopping"]
        self.template = build_network(meta, depth=layout.depth, neurons=max(layout.width, 1), activation="linear", seed=seed)
        dense = [layer for layer in self.template.layers if isinstance(layer, keras.layers.Dense)]
        self.hidden, self.output = dense[:-1], dense[-1]
        self.activations = [keras.activations.get(name) for name in layout.activations]
        self.optimizers = [per_model_optimizer(variant, self.template.trainable_variables) for variant in layout.optimizers]
        self.loss = keras.losses.get(loss_for(task))
        self.initial = InitialWeights(meta, seed)
        self.compilations = compilations
        self._compiled: dict[tuple[Any, ...], Any] = {}

    # --- one model: the forward pass and its loss ------------------------------------------------

    def forward(self, trainable: Any, knob: Any, x: Any, key: Any = None) -> Any:
        """One model's outputs; ``key`` (the batch's noise seed, shared by every model) turns dropout on, as
        training does."""
        import jax.numpy as jnp

        h, units = x, jnp.arange(max(self.layout.width, 1))
        for layer_index, layer in enumerate(self.hidden):
            z, _ = layer.stateless_call(trainable[2 * layer_index: 2 * layer_index + 2], [], h)
            a = self._activation(z, knob["activation"])
            if key is not None and self.layout.dropout:
                a = dropout(a, knob["dropout"], unit_noise(key, layer_index, *a.shape))
            a = a * (units < knob["width"])  # masked units: zero output, zero gradient
            h = a if layer_index == 0 else jnp.where(layer_index < knob["depth"], a, h)  # deeper than the model: pass
        out, _ = self.output.stateless_call(trainable[-2:], [], h)
        return out

    def _activation(self, z: Any, which: Any) -> Any:
        """The model's own activation: each of the program's computed, the model's picked."""
        import jax.numpy as jnp

        a = self.activations[0](z)
        for index, activation in enumerate(self.activations[1:], start=1):
            a = jnp.where(which == index, activation(z), a)
        return a

    def _loss(self, trainable: Any, knob: Any, x: Any, y: Any, mask: Any, key: Any = None) -> Any:
        import jax.numpy as jnp

        return jnp.sum(self.loss(y, self.forward(trainable, knob, x, key)) * mask) / jnp.maximum(jnp.sum(mask), 1.0)

    def _step(self, trainable: Any, states: Any, knob: Any, x: Any, y: Any, mask: Any, keys: Any) -> Any:
        """One model, one batch: the gradient, and the update of the model's own optimizer.

        With several optimizers in the program, every one computes its update and keeps its
        state only for the models it belongs to (a select per model, as ``vmap`` needs).
        """
        import jax

        loss, grads = jax.value_and_grad(self._loss)(trainable, knob, x, y, mask, keys)
        new_trainable, new_states = trainable, []
        for which, (optimizer, state) in enumerate(zip(self.optimizers, states)):
            weights, updated = optimizer.stateless_apply(state, grads, trainable)
            if len(self.optimizers) == 1:
                return weights, [updated], loss
            mine = knob["optimizer"] == which
            new_trainable = pick(mine, weights, new_trainable)
            new_states.append(pick(mine, updated, state))
        return new_trainable, new_states, loss

    # --- the models of a stage -------------------------------------------------------------------

    def train(self, models: Sequence[Knobs], folds: Sequence[Any], *, until: int | None = None,
              resume: Paused | None = None, status: Callable[[str], None] = lambda message: None) -> Trained:  # fmt: skip
        """Train ``models`` (one per (candidate, fold), ``folds[i]`` the i-th model's fold) from their own initial
        weights, or from where ``resume`` paused them; ``until`` pauses them after that many epochs in all (a rung).
        ``status`` hears how far it is: compiling, then the epochs done and an estimate of the time left.

        Each fold's rows go into the program once, whatever the number of models: every step gathers each fold's
        batch by index and hands it to that fold's models, so memory grows with the data, not with models × data.
        """
        import jax

        unique, which = fold_indices(folds)
        data, train_rows = self.rows(unique, self.early_stopping)
        n_train = max(train_rows)
        batch = min(self.layout.batch_size, n_train)  # as Keras: a batch larger than the data is all of it
        per_model = {"fold": which, "knobs": self._knob_arrays(models),
                     "loop": resume.models if resume is not None else self._start(models)}  # fmt: skip
        full_batches = -(-min(train_rows) // batch) == -(-n_train // batch)
        n_models = len(models)
        per_model = spread(per_model, bucket(n_models))
        key = resume.key if resume is not None else jax.random.key_data(jax.random.key(self.seed))
        limit = int(until if until is not None else max(m.epochs for m in models))
        program = self._program(per_model, data, key, np.int32(limit), batch, full_batches, status)
        # The epochs run in chunks, each going on from the last one's state exactly as a race's rungs do, so that
        # the run can say how far it is (a chunk of about CHUNK_SECONDS) at no cost to the numbers.
        reached, epochs, started = int(np.min(per_model["loop"][7])), 1, time.perf_counter()
        while True:
            reached = min(limit, reached + epochs)
            chunk_started = time.perf_counter()
            out, key = jax.device_get(program(per_model, data, key, np.int32(reached)))
            loop = out[3]
            if reached >= limit or not np.any(loop[5] & (loop[7] < limit)):
                break
            per_epoch = (time.perf_counter() - chunk_started) / epochs
            left = (limit - reached) * per_epoch
            status(f"epoch {reached}/{limit}" + (f", about {left:.0f} s left" if time.perf_counter() - started > 1 else ""))
            epochs = max(1, int(CHUNK_SECONDS / max(per_epoch, 1e-6)))
            per_model = {**per_model, "loop": spread(loop, bucket(n_models))}
        trainable, epochs_run, finite, loop = jax.tree.map(lambda a: a[:n_models], out)
        return Trained(trainable, np.asarray(epochs_run), np.asarray(finite), Paused(loop, np.asarray(key)))

    def _start(self, models: Sequence[Knobs]) -> tuple[Any, ...]:
        """The loop's state before the first epoch: each model's own initial weights, nothing run yet."""
        trainable = [np.stack(ws) for ws in zip(*(embed(self.initial(m), m.depth, self.layout, self.meta["n_features_in_"])
                                                  for m in models))]  # fmt: skip
        n = len(models)
        return (trainable, self._optimizer_states(models), trainable, np.full(n, np.inf, "float32"), np.zeros(n, "int32"),
                np.ones(n, bool), np.ones(n, bool), np.zeros(n, "int32"))  # fmt: skip

    def outputs(self, trained: Trained, models: Sequence[Knobs], folds: Sequence[Any]) -> list[np.ndarray]:
        """Each trained model's outputs for its own fold's held-out rows (probabilities or scaled values): one fold's
        rows at a time, shared by that fold's models."""
        import jax

        unique, which = fold_indices(folds)
        out: list[np.ndarray] = [np.empty(0)] * len(models)
        knob_arrays = self._knob_arrays(models)
        for f, fold in enumerate(unique):
            mine = np.flatnonzero(which == f)
            arrays = {"trainable": [w[mine] for w in trained.trainable], "knobs": {k: v[mine] for k, v in knob_arrays.items()}}
            values = np.asarray(jax.device_get(self._forward_all(arrays, fold.x_test)), dtype="float64")
            for i, o in zip(mine, values):
                out[i] = o
        return out

    @functools.cached_property
    def _forward_all(self) -> Any:
        import jax

        return jax.jit(jax.vmap(lambda a, x: self.forward(a["trainable"], a["knobs"], x), in_axes=(0, None)))

    def _knob_arrays(self, models: Sequence[Knobs]) -> dict[str, np.ndarray]:
        return {
            "width": np.asarray([m.width for m in models], "int32"),
            "depth": np.asarray([m.depth for m in models], "int32"),
            "activation": np.asarray([self.layout.activations.index(m.activation) if m.depth else 0 for m in models], "int32"),
            "dropout": np.asarray([m.dropout for m in models], "float32"),
            "optimizer": np.asarray([self.layout.optimizers.index(m.optimizer) for m in models], "int32"),
            "epochs": np.asarray([m.epochs for m in models], "int32"),
        }

    def _optimizer_states(self, models: Sequence[Knobs]) -> list[list[np.ndarray]]:
        """Every optimizer's state for every model; the learning rate and momentum of each model's own."""
        states = []
        for which, optimizer in enumerate(self.optimizers):
            columns = []
            for v in optimizer.variables:
                value = np.asarray(v.value)
                if v is optimizer._learning_rate:
                    column: list[Any] = [m.learning_rate if m.learning_rate is not None and self.layout.optimizers.index(m.optimizer) == which
                              else float(value) for m in models]  # fmt: skip
                elif getattr(optimizer, "momentum", None) is v:
                    column = [m.momentum for m in models]
                else:
                    column = [value] * len(models)
                columns.append(np.asarray(column, dtype=value.dtype))
            states.append(columns)
        return states

    def _program(self, arrays: Any, data: Any, key: Any, limit: Any, batch: int, full_batches: bool,
                 status: Callable[[str], None]) -> Any:  # fmt: skip
        """The compiled training loop for these array shapes: compiled (or read from the compile cache) once."""
        import jax

        signature = (batch, full_batches, *(a.shape for a in jax.tree.leaves((arrays, data))))
        if signature not in self._compiled:
            status(f"compiling the training program for {arrays['fold'].shape[0]} models (or reading it from the "
                   "compile cache)")  # fmt: skip
            started = time.perf_counter()
            loop = functools.partial(training_loop, self._step, self._loss, self.early_stopping, batch=batch,
                                     every_batch_has_rows=full_batches, chunk=VALIDATION_CHUNK)  # fmt: skip
            self._compiled[signature] = jax.jit(loop).lower(arrays, data, key, limit).compile()
            seconds = time.perf_counter() - started
            self.compilations.count += 1
            self.compilations.seconds += seconds
            models = arrays["fold"].shape[0]
            log.info("fused engine: compiled a program for %d models (layout %s) in %.2f s", models, self.layout, seconds)
        return self._compiled[signature]
