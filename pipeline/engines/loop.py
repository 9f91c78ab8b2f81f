"""The compiled training loop of the fused engine: epochs of shuffled batches for every model at once, early stopping
per model, and the state to pause and resume it (racing's rungs); traced by ``jax.jit`` inside ``Program``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.engines.padding import where


def training_loop(train_step: Callable[..., Any], loss: Callable[..., Any], early_stopping: dict[str, Any] | None,
                  arrays: Any, data: Any, key: Any, limit: Any, *, batch: int, every_batch_has_rows: bool,
                  chunk: int) -> Any:
    """While any model runs (and has run fewer than ``limit`` epochs): an epoch (a scan over its shuffled
    batches, ``train_step`` per model and batch), then early stopping per model (``loss`` on the validation rows,
    as Keras' ``EarlyStopping`` watches it). Returns the models and the state to go on from.

    ``data`` holds each fold's rows once (folds on axis 0), ``arrays`` the models (``fold``: each one's fold):
    every step gathers each fold's batch by index, then hands it to that fold's models; the validation rows are
    scored ``chunk`` rows at a time."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    es = early_stopping
    patience = es["patience"] if es else 0
    restore = bool(es and es["restore_best_weights"])
    monitor_val = bool(es and es["monitor"] == "val_loss")
    x, y, fold, knob = data["x"], data["y"], arrays["fold"], arrays["knobs"]
    n_folds, n_rows = x.shape[:2]
    n = data["n"][fold]  # each model's training rows
    n_models = n.shape[0]
    n_batches = -(-n_rows // batch)
    slots = jnp.arange(n_batches * batch).reshape(n_batches, batch)
    steps = jax.vmap(train_step, in_axes=(0, 0, 0, 0, 0, 0, None))

    def own_rows(a: Any, rows: Any) -> Any:
        return a[rows]

    rows_of = jax.vmap(own_rows)  # each fold's batch of its own rows

    def step(carry: Any, batch_rows: Any) -> Any:
        trainable, states, total, key = carry
        rows, slot = batch_rows
        key, noise_key = jax.random.split(key)
        mask = (slot[None, :] < n[:, None]).astype("float32")  # the last batch is smaller; padding weighs nothing
        x_batch, y_batch = rows_of(x, rows), rows_of(y, rows)  # each fold's batch once, then to its models
        new_trainable, new_states, loss = steps(trainable, states, knob, x_batch[fold], y_batch[fold], mask,
                                                noise_key)  # fmt: skip
        if not every_batch_has_rows:  # a batch of padding only (a fold with fewer rows): no step
            live = jnp.sum(mask, 1) > 0
            new_trainable, new_states = where(live, (new_trainable, new_states), (trainable, states))
        return (new_trainable, new_states, total + loss * jnp.sum(mask, 1), key), None

    def validation_loss(trainable: Any) -> Any:
        """Each model's mean loss on its fold's validation rows, ``chunk`` rows at a time (each fold's chunk once)."""
        x_val, y_val, n_val = data["x_val"], data["y_val"], data["n_val"][fold]
        val_rows = x_val.shape[1]
        mask = (jnp.arange(val_rows)[None, :] < n_val[:, None]).astype("float32")
        if val_rows <= chunk:
            return jax.vmap(loss)(trainable, knob, x_val[fold], y_val[fold], mask)
        pieces = val_rows // chunk

        def add(total: Any, c: Any) -> Any:
            rows = lax.dynamic_slice_in_dim(mask, c * chunk, chunk, axis=1)
            xs = lax.dynamic_slice_in_dim(x_val, c * chunk, chunk, axis=1)[fold]
            ys = lax.dynamic_slice_in_dim(y_val, c * chunk, chunk, axis=1)[fold]
            return total + jax.vmap(loss)(trainable, knob, xs, ys, rows) * jnp.sum(rows, 1), None

        total, _ = lax.scan(add, jnp.zeros(n_models), jnp.arange(pieces))
        return total / jnp.maximum(n_val, 1)

    def epoch(state: Any) -> Any:
        trainable, states, best, best_loss, wait, running, finite, ran, key = state
        going = running & (ran < limit)  # a model paused at the rung waits, with its state, for the next call
        key, shuffle_key, dropout_key = jax.random.split(key, 3)
        # This epoch's order per fold: its valid rows shuffled, padding rows (>= n) after them.
        noise = jnp.where(jnp.arange(n_rows)[None, :] < data["n"][:, None], jax.random.uniform(shuffle_key, (n_rows,)), 2.0)
        order = jnp.argsort(noise, axis=1).astype("int32")
        order = jnp.concatenate([order, jnp.full((n_folds, n_batches * batch - n_rows), n_rows - 1, "int32")], 1)
        (new_trainable, new_states, total, _), _ = lax.scan(
            step, (trainable, states, jnp.zeros(n_models), dropout_key), (jnp.swapaxes(order[:, slots], 0, 1), slots))
        trainable, states = where(going, (new_trainable, new_states), (trainable, states))
        train_loss = total / n
        current = validation_loss(trainable) if monitor_val else train_loss
        finite = finite & (jnp.isfinite(train_loss) | ~going)  # TerminateOnNaN
        improved = going & (current < best_loss)  # Keras EarlyStopping: min_delta 0, mode min
        best = where(improved, trainable, best)
        best_loss = jnp.where(improved, current, best_loss)
        wait = jnp.where(improved, 0, wait + going)
        ran = ran + going
        stop = ~finite | (ran >= knob["epochs"])
        if es:
            stop = stop | (~improved & (wait >= patience))
        return trainable, states, best, best_loss, wait, running & ~(going & stop), finite, ran, key

    state = (*arrays["loop"], jax.random.wrap_key_data(key))
    state = lax.while_loop(lambda s: jnp.any(s[5] & (s[7] < limit)), epoch, state)
    trainable, finite, ran = state[2] if restore else state[0], state[6], state[7]
    for w in jax.tree.leaves(trainable):
        finite = finite & jnp.all(jnp.isfinite(w.reshape(n_models, -1)), axis=1)
    return (trainable, ran, finite, state[:8]), jax.random.key_data(state[8])
