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

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer
from sklearn.preprocessing import LabelEncoder

from pipeline.config import TrainingSpec
from pipeline.data import make_preprocessor, standardization
from pipeline.network import build_network, loss_for

DEFAULT_OPTIMIZER = "rmsprop"  # scikeras' default when no optimizer is given
PER_MODEL = ("optimizer__learning_rate", "model__init")  # numbers, not program structure
MOMENTUM_OPTIMIZERS = ("sgd", "rmsprop")  # where momentum 0 in the momentum branch is the plain update


def unsupported(keras_backend: str) -> str | None:
    """Why this configuration cannot run fused (the caller falls back to GridSearchCV), or None."""
    if keras_backend != "jax":
        return f"the fused engine compiles JAX programs; execution.keras_backend={keras_backend}"
    return None


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


def load() -> None:
    """Import Keras and JAX now, so that a stage's timing (like GridSearchCV's) leaves imports out."""
    import jax  # noqa: F401
    import keras  # noqa: F401


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
    training: TrainingSpec,
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
        program = _Program(params, folds[members[0][1]].meta, task, training, seed)
        trained = program.train([candidates[c] for c, _ in members], [folds[f] for _, f in members])
        with sklearn.config_context(skip_parameter_validation=True):  # its inputs are ours: 125 calls, 1 ms each
            for i, (c, f) in enumerate(members):
                fold = folds[f]
                epochs[c, f] = trained.epochs_run[i]
                if trained.finite[i]:
                    scores[c, f] = float(scorer(program.predictor(trained, i, fold), fold.X_test, fold.y_test))
        seconds[[c for c, _ in members], [f for _, f in members]] = (time.perf_counter() - started) / len(members)
        on_models_done(len(members))
    return {"scores": scores, "epochs": epochs, "seconds": seconds}


@dataclass(frozen=True)
class Trained:
    """What a program returns for its models."""

    trainable: list[np.ndarray]  # each stacked over the group's models
    epochs_run: np.ndarray
    finite: np.ndarray  # False where the loss or the weights became NaN/inf (scored NaN, as TerminateOnNaN)


class _Program:
    """One compiled training program for a group of models that share every shape."""

    def __init__(self, params: Mapping[str, Any], meta: dict[str, Any], task: str, training: TrainingSpec, seed: int):
        import keras

        self.task, self.seed, self.meta = task, seed, meta
        self.epochs = int(params.get("epochs", training.epochs))
        self.batch_size = int(params.get("batch_size", training.batch_size))
        self.early_stopping = training.early_stopping
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

    def train(self, candidates: Sequence[Mapping[str, Any]], folds: Sequence[Fold]) -> Trained:
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
        full_batches = -(-min(train_rows) // self.batch_size) == -(-n_train // self.batch_size)
        program = _compiled(self, every_batch_has_rows=full_batches)
        per_model = _spread((trainable, optimizer_vars, x_train, y_train, np.asarray(train_rows, "int32"),
                             x_val, y_val, np.asarray(val_rows, "int32")), n_models)  # fmt: skip
        out = program(*per_model, self.non_trainable, jax.random.key_data(jax.random.key(self.seed)))
        trainable, epochs_run, finite = jax.tree.map(lambda a: a[:n_models], jax.device_get(out))
        return Trained(trainable, np.asarray(epochs_run), np.asarray(finite))

    def predictor(self, trained: Trained, i: int, fold: Fold):
        """The i-th trained model as a scikit-learn estimator, for the stage's scorer."""
        weights = ([w[i] for w in trained.trainable], self.non_trainable)
        outputs = np.asarray(self._forward(weights, fold.x_test), dtype="float64")
        if self.task == "regression":
            return _Predictions(outputs[:, 0] * fold.target_scale + fold.target_mean, fold.X_test)
        proba = np.column_stack([1 - outputs[:, 0], outputs[:, 0]]) if self.task == "binary" else outputs
        return _ClassPredictions(proba, fold.classes, fold.X_test)

    @functools.cached_property
    def _forward(self):
        import jax

        return jax.jit(lambda weights, x: self.model.stateless_call(*weights, x, training=False)[0])


def _compiled(p: _Program, every_batch_has_rows: bool):
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
