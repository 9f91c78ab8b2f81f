"""The fused engine's compiled training program: a group of models that share shapes, trained at once.

The same Keras model (``build_network``) and the same Keras optimizer, driven through Keras 3's
stateless API inside one ``jax.jit`` program: ``lax.while_loop`` over epochs, ``lax.scan`` over
batches, ``vmap`` over the group's (candidate, fold) models. Learning rate, momentum
(sgd/rmsprop) and the initializer are per-model numbers; everything else is the program's shape.
"""
from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.engines.network import build_network, loss_for

DEFAULT_OPTIMIZER = "rmsprop"  # scikeras' default when no optimizer is given
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")  # where momentum 0 in the momentum branch is the plain update


@dataclass(frozen=True)
class Trained:
    """What a program returns for its models."""

    trainable: list[np.ndarray]  # each stacked over the group's models
    epochs_run: np.ndarray
    finite: np.ndarray  # False where the loss or the weights became NaN/inf (scored NaN, as TerminateOnNaN)


class Program:
    """One compiled training program for a group of models that share every shape."""

    def __init__(self, params: Mapping[str, Any], meta: dict[str, Any], task: str, training: dict[str, Any], seed: int):
        import keras

        self.task, self.seed, self.meta = task, seed, meta
        self.epochs = int(params.get("epochs", training["epochs"]))
        self.batch_size = int(params.get("batch_size", training["batch_size"]))
        self.early_stopping = training["early_stopping"]
        self.model_kwargs = {k.removeprefix("model__"): v for k, v in params.items() if k.startswith("model__")}
        self.model = self._build(params.get("model__init", "glorot_uniform"))
        self.optimizer_name = params.get("optimizer", DEFAULT_OPTIMIZER)
        self.optimizer = self._optimizer(params)
        self.loss = keras.losses.get(loss_for(task))
        self._weights_by_init: dict[str, list[np.ndarray]] = {}
        self.non_trainable = [np.asarray(v.value) for v in self.model.non_trainable_variables]  # the dropout seeds

    def _build(self, init: str):
        kwargs = {**self.model_kwargs, "init": init}
        return build_network(self.meta, seed=self.seed, **kwargs)

    def _optimizer(self, params: Mapping[str, Any]):
        """The Keras optimizer, with learning rate (and momentum where exact) as per-model variables."""
        import keras

        config = {k.removeprefix("optimizer__"): v for k, v in params.items() if k.startswith("optimizer__")}
        config.pop("learning_rate", None)  # per model (see train); Keras' default where a candidate sets none
        self.momentum_per_model = self.optimizer_name in MOMENTUM_OPTIMIZERS
        if self.momentum_per_model:
            config["momentum"] = 0.5  # placeholder: builds the momentum slots; each model's value replaces it
        optimizer = keras.optimizers.get({"class_name": self.optimizer_name, "config": config})
        optimizer.build(self.model.trainable_variables)
        if self.momentum_per_model:
            with keras.name_scope(optimizer.name, caller=optimizer):
                momentum = _per_model_variable()(initializer=0.0, shape=(), dtype="float32", trainable=False, name="momentum")
            optimizer._track_variable(momentum)
            optimizer.momentum = momentum
        return optimizer

    def initial_weights(self, init: str) -> list[np.ndarray]:
        """The weights every fit with this initializer starts from (as the seeded build gives them)."""
        if init not in self._weights_by_init:
            model = self.model if init == self.model_kwargs.get("init", "glorot_uniform") else self._build(init)
            self._weights_by_init[init] = [np.asarray(v.value) for v in model.trainable_variables]
        return self._weights_by_init[init]

    def train(self, candidates: Sequence[Mapping[str, Any]], folds: Sequence[Any]) -> Trained:
        import jax

        n_models = len(candidates)
        es = self.early_stopping
        val_rows = [int(len(f.x_train) - np.floor(len(f.x_train) * (1 - es["validation_split"]))) if es else 0
                    for f in folds]  # fmt: skip  # Keras' validation_split: the last rows
        train_rows = [len(f.x_train) - v for f, v in zip(folds, val_rows)]
        n_train, n_val = max(train_rows), max(max(val_rows), 1)
        x_train = np.stack([_pad(f.x_train[:n], n_train) for f, n in zip(folds, train_rows)])
        y_train = np.stack([_pad(f.y_train[:n], n_train) for f, n in zip(folds, train_rows)])
        x_val = np.stack([_pad(f.x_train[n:], n_val) for f, n in zip(folds, train_rows)])
        y_val = np.stack([_pad(f.y_train[n:], n_val) for f, n in zip(folds, train_rows)])
        trainable = [np.stack(ws) for ws in zip(*(self.initial_weights(c.get("model__init", "glorot_uniform"))
                                                   for c in candidates))]  # fmt: skip
        optimizer_vars = []
        for v in self.optimizer.variables:
            value = np.asarray(v.value)
            if v is self.optimizer._learning_rate:
                column = [c.get("optimizer__learning_rate", float(value)) for c in candidates]
            elif self.momentum_per_model and v is self.optimizer.momentum:
                column = [c.get("optimizer__momentum", 0.0) for c in candidates]
            else:
                column = [value] * n_models
            optimizer_vars.append(np.asarray(column, dtype=value.dtype))
        self.batch_size = min(self.batch_size, n_train)  # as Keras: a batch larger than the data is all of it
        full_batches = -(-min(train_rows) // self.batch_size) == -(-n_train // self.batch_size)
        program = _compiled(self, every_batch_has_rows=full_batches)
        per_model = _spread((trainable, optimizer_vars, x_train, y_train, np.asarray(train_rows, "int32"),
                             x_val, y_val, np.asarray(val_rows, "int32")), n_models)  # fmt: skip
        out = program(*per_model, self.non_trainable, jax.random.key_data(jax.random.key(self.seed)))
        trainable, epochs_run, finite = jax.tree.map(lambda a: a[:n_models], jax.device_get(out))
        return Trained(trainable, np.asarray(epochs_run), np.asarray(finite))

    def outputs(self, trained: Trained, i: int, x: np.ndarray) -> np.ndarray:
        """The i-th trained model's outputs (probabilities or scaled values) for the rows ``x``."""
        weights = ([w[i] for w in trained.trainable], self.non_trainable)
        return np.asarray(self._forward(weights, x), dtype="float64")

    @functools.cached_property
    def _forward(self):
        import jax

        return jax.jit(lambda weights, x: self.model.stateless_call(*weights, x, training=False)[0])


def _compiled(p: Program, every_batch_has_rows: bool):
    """The group's training program: a while loop over epochs, a scan over batches, models along axis 0.

    The non-trainable state (the dropout layers' seed generators) is shared, not per model:
    every GridSearchCV fit starts from the same seeds, so all its fits draw the same dropout
    masks; here one draw serves every model, instead of each model drawing the same masks.
    """
    import jax
    import jax.numpy as jnp
    from jax import lax

    model, optimizer, loss_fn, batch, epochs = p.model, p.optimizer, p.loss, p.batch_size, p.epochs
    es = p.early_stopping
    patience = es["patience"] if es else 0
    restore = bool(es and es["restore_best_weights"])
    monitor_val = bool(es and es["monitor"] == "val_loss")

    def masked_loss(trainable, non_trainable, x, y, mask, training):  # one model
        y_pred, non_trainable = model.stateless_call(trainable, non_trainable, x, training=training)
        return jnp.sum(loss_fn(y, y_pred) * mask) / jnp.maximum(jnp.sum(mask), 1.0), non_trainable

    def train_step(trainable, non_trainable, optimizer_vars, x, y, mask):  # one model, one batch
        (loss, non_trainable), grads = jax.value_and_grad(masked_loss, has_aux=True)(
            trainable, non_trainable, x, y, mask, True)
        trainable, optimizer_vars = optimizer.stateless_apply(optimizer_vars, grads, trainable)
        return trainable, non_trainable, optimizer_vars, loss

    train_steps = jax.vmap(train_step, in_axes=(0, None, 0, 0, 0, 0), out_axes=(0, None, 0, 0))
    val_losses = jax.vmap(lambda t, nt, x, y, m: masked_loss(t, nt, x, y, m, False)[0], in_axes=(0, None, 0, 0, 0))
    rows_of = jax.vmap(lambda a, rows: a[rows])  # each model's rows of its own fold

    def program(trainable, optimizer_vars, x, y, n, x_val, y_val, n_val, non_trainable, key):
        n_models, n_rows = x.shape[:2]
        n_batches = -(-n_rows // batch)
        slots = jnp.arange(n_batches * batch).reshape(n_batches, batch)
        val_mask = (jnp.arange(x_val.shape[1])[None, :] < n_val[:, None]).astype("float32")

        def step(carry, batch_rows):
            trainable, non_trainable, optimizer_vars, total = carry
            rows, slot = batch_rows
            mask = (slot[None, :] < n[:, None]).astype("float32")  # the last batch is smaller; padding weighs nothing
            new_trainable, non_trainable, new_optimizer_vars, loss = train_steps(
                trainable, non_trainable, optimizer_vars, rows_of(x, rows), rows_of(y, rows), mask)
            if not every_batch_has_rows:  # a batch of padding only (a fold with fewer rows): no step
                live = jnp.sum(mask, 1) > 0
                new_trainable, new_optimizer_vars = _where(live, (new_trainable, new_optimizer_vars), (trainable, optimizer_vars))
            return (new_trainable, non_trainable, new_optimizer_vars, total + loss * jnp.sum(mask, 1)), None

        def epoch(state):
            trainable, non_trainable, optimizer_vars, best, best_loss, wait, running, finite, ran, key = state
            key, shuffle_key = jax.random.split(key)
            # This epoch's order per model: its valid rows shuffled, padding rows (>= n) after them.
            noise = jnp.where(jnp.arange(n_rows)[None, :] < n[:, None], jax.random.uniform(shuffle_key, (n_rows,)), 2.0)
            order = jnp.argsort(noise, axis=1).astype("int32")
            order = jnp.concatenate([order, jnp.full((n_models, n_batches * batch - n_rows), n_rows - 1, "int32")], 1)
            (new_trainable, non_trainable, new_optimizer_vars, total), _ = lax.scan(
                step, (trainable, non_trainable, optimizer_vars, jnp.zeros(n_models)), (jnp.swapaxes(order[:, slots], 0, 1), slots))
            trainable, optimizer_vars = _where(running, (new_trainable, new_optimizer_vars), (trainable, optimizer_vars))
            train_loss = total / n
            current = val_losses(trainable, non_trainable, x_val, y_val, val_mask) if monitor_val else train_loss
            finite = finite & (jnp.isfinite(train_loss) | ~running)  # TerminateOnNaN
            improved = running & (current < best_loss)  # Keras EarlyStopping: min_delta 0, mode min
            best = _where(improved, trainable, best)
            best_loss = jnp.where(improved, current, best_loss)
            wait = jnp.where(improved, 0, wait + 1)
            stop = ~finite
            if es:
                stop = stop | (~improved & (wait >= patience) & (ran > 0))
            return trainable, non_trainable, optimizer_vars, best, best_loss, wait, running & ~stop, finite, ran + running, key

        def any_running(state):
            return jnp.any(state[6]) & (jnp.max(state[8]) < epochs)

        state = (trainable, non_trainable, optimizer_vars, trainable, jnp.full(n_models, jnp.inf, "float32"),
                 jnp.zeros(n_models, "int32"), jnp.ones(n_models, bool), jnp.ones(n_models, bool),
                 jnp.zeros(n_models, "int32"), jax.random.wrap_key_data(key))  # fmt: skip
        state = lax.while_loop(any_running, epoch, state)
        trainable, finite, ran = state[3] if restore else state[0], state[7], state[8]
        for w in jax.tree.leaves(trainable):
            finite = finite & jnp.all(jnp.isfinite(w.reshape(n_models, -1)), axis=1)
        return trainable, ran, finite

    return jax.jit(program)


def _spread(arrays, n_models: int):
    """Place the models' arrays across the devices JAX sees (CPU cores or GPUs), models split evenly.

    Models are independent, so each device trains its share with no communication but the
    per-epoch "is any model still running" of the vmapped loop.
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    if len(devices) == 1:
        return arrays
    spare = -n_models % len(devices)  # pad with copies of the last model; dropped afterwards
    sharding = NamedSharding(Mesh(np.asarray(devices), ("models",)), PartitionSpec("models"))
    pad = lambda a: np.concatenate([a, np.repeat(a[-1:], spare, axis=0)]) if spare else a  # noqa: E731
    return jax.tree.map(lambda a: jax.device_put(pad(np.asarray(a)), sharding), arrays)


def _pad(a: np.ndarray, rows: int) -> np.ndarray:
    pad = rows - len(a)
    return np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)]) if pad > 0 else a


def _where(condition, new, old):
    """Per model (axis 0): ``new`` where ``condition`` holds, else ``old`` (a stopped model keeps its state)."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda a, b: jnp.where(condition.reshape(-1, *[1] * (a.ndim - 1)), a, b), new, old)


@functools.cache
def _per_model_variable():
    import keras

    class PerModelValue(keras.Variable):
        """An optimizer hyperparameter held as a variable, so that each model has its own.

        Keras checks ``momentum != 0`` (sgd) and ``momentum > 0`` (rmsprop) to decide whether
        to keep momentum slots. Answering yes for every model is exact: with a momentum of 0
        the momentum branch gives the plain update.
        """

        __hash__ = keras.Variable.__hash__

        def __ne__(self, other):
            return True

        def __gt__(self, other):
            return True

    return PerModelValue


