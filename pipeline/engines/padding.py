"""Arrays of a fused program: models padded to a power of two and spread over the devices, fold rows on every device,
rows padded, per-model selects."""
from __future__ import annotations

import functools
from typing import Any

import numpy as np


def bucket(n_models: int) -> int:
    """Models padded to a power of two (and to the devices), so stages of similar size share a compiled program."""
    import jax

    devices = len(jax.devices())
    size = max(devices, 8)
    while size < n_models:
        size *= 2
    return -(-size // devices) * devices


def spread(arrays: Any, size: int) -> Any:
    """Pad to ``size`` models (copies of the last) and place them across the devices JAX sees, split evenly.

    Models are independent, so each device trains its share with no communication but the
    per-epoch "is any model still running" of the vmapped loop.
    """
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    def pad(a: Any) -> Any:
        a = np.asarray(a)
        return np.concatenate([a, np.repeat(a[-1:], size - len(a), axis=0)]) if size > len(a) else a

    arrays = jax.tree.map(pad, arrays)
    devices = jax.devices()
    if len(devices) == 1:
        return arrays
    sharding = NamedSharding(Mesh(np.asarray(devices), ("models",)), PartitionSpec("models"))
    return jax.tree.map(lambda a: jax.device_put(a, sharding), arrays)


def replicate(arrays: Any) -> Any:
    """Arrays every model reads (each fold's rows) on every device JAX sees, once; the host copies can then go."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    devices = jax.devices()
    if len(devices) == 1:
        return jax.device_put(arrays)
    return jax.device_put(arrays, NamedSharding(Mesh(np.asarray(devices), ("models",)), PartitionSpec()))


def pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    pad = rows - len(a)
    return np.concatenate([a, np.zeros((pad, *a.shape[1:]), a.dtype)]) if pad > 0 else a


def pick(condition: Any, new: Any, old: Any) -> Any:
    """One model's ``new`` where ``condition`` (a scalar) holds, else ``old``."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(functools.partial(jnp.where, condition), new, old)


def where(condition: Any, new: Any, old: Any) -> Any:
    """Per model (axis 0): ``new`` where ``condition`` holds, else ``old`` (a stopped model keeps its state)."""
    import jax
    import jax.numpy as jnp

    return jax.tree.map(lambda a, b: jnp.where(condition.reshape(-1, *[1] * (a.ndim - 1)), a, b), new, old)
