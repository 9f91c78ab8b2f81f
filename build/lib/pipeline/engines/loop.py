"""The compiled training loop of the fused engine: epochs of shuffled batches for every model at once, early stopping
per model, and the state to pause and resume it (racing's rungs); traced by ``jax.jit`` inside ``Program``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.engines.padding import where


def training_loop(train_step: Callable[..., Any], loss: Callable[..., Any], early_stopping: dict[str, Any] | None,
                  arrays: Any, key: Any, limit: Any, *, batch: int, every_batch_has_rows: bool) -> Any:
    """While any model runs (and has run fewer than ``limit`` epochs): an epoch (a scan over its shuffled
    batches, ``train_step`` per model and batch), then early stopping per model (``loss`` on the validation rows,
    as Keras' ``EarlyStopping`` watches it). Returns the models and the state to go on from."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    es = early_stopping
    patience = es["patience"] if es else 0
    restore = bool(es and es["restore_best_weights"])
    monitor_val = bool(es and es["monitor"] == "val_loss")
    x, y, n, knob = arrays["x"], arrays["y"], arrays["n"], arrays["knobs"]
    n_models, n_rows = x.shape[:2]
    n_batches = -(-n_rows // batch)
    slots = jnp.arange(n_batches * batch).reshape(n_batches, batch)
    val_mask = (jnp.arange(arrays["x_val"].shape[1])[None, :] < arrays["n_val"][:, None]).astype("float32")
    steps = jax.vmap(train_step, in_axes=(0, 0, 0, 0, 0, 0, None))
    val_losses = jax.vmap(loss)

    def own_rows(a: Any, rows: Any) -> Any:
        return a[rows]

    rows_of = jax.vmap(own_rows)  # each model's rows of its own fold

    def step(carry: Any, batch_rows: Any) -> Any:
        trainable, states, total, key = carry
        rows, slot = batch_rows
        key, noise_key = jax.random.split(key)
        mask = (slot[None, :] < n[:, None]).astype("float32")  # the last batch is smaller; padding weighs nothing
        new_trainable, new_states, loss = steps(trainable, states, knob, rows_of(x, rows), rows_of(y, rows), mask,
                                                noise_key)  # fmt: skip
        if not every_batch_has_rows:  # a batch of padding only (a fold with fewer rows): no step
            live = jnp.sum(mask, 1) > 0
            new_trainable, new_states = where(live, (new_trainable, new_states), (trainable, states))
        return (new_trainable, new_states, total + loss * jnp.sum(mask, 1), key), None

    def epoch(state: Any) -> Any:
        trainable, states, best, best_loss, wait, running, finite, ran, key = state
        going = running & (ran < limit)  # a model paused at the rung waits, with its state, for the next call
        key, shuffle_key, dropout_key = jax.random.split(key, 3)
        # This epoch's order per model: its valid rows shuffled, padding rows (>= n) after them.
        noise = jnp.where(jnp.arange(n_rows)[None, :] < n[:, None], jax.random.uniform(shuffle_key, (n_rows,)), 2.0)
        order = jnp.argsort(noise, axis=1).astype("int32")
        order = jnp.concatenate([order, jnp.full((n_models, n_batches * batch - n_rows), n_rows - 1, "int32")], 1)
        (new_trainable, new_states, total, _), _ = lax.scan(
            step, (trainable, states, jnp.zeros(n_models), dropout_key), (jnp.swapaxes(order[:, slots], 0, 1), slots))
        trainable, states = where(going, (new_trainable, new_states), (trainable, states))
        train_loss = total / n
        current = val_losses(trainable, knob, arrays["x_val"], arrays["y_val"], val_mask) if monitor_val else train_loss
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
