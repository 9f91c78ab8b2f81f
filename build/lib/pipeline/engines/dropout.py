"""Dropout inside the fused programs, drawn per unit index: a candidate's noise does not depend on how wide the
run's widest network is (the same unit of the same layer gets the same draw in any layout)."""
from __future__ import annotations

from typing import Any


def unit_noise(key: Any, layer_index: int, rows: int, width: int) -> Any:
    """Dropout's uniform noise for one batch and layer, drawn per unit index (``fold_in``), so unit ``u`` of layer
    ``l`` sees the same noise whatever the layout's width and depth: a model's result depends on the model only,
    not on the widest or deepest network it shares a program with (the store keys never name the layout)."""
    import jax
    import jax.numpy as jnp

    layer_key = jax.random.fold_in(key, layer_index)
    def noise(unit: Any) -> Any:
        return jax.random.uniform(jax.random.fold_in(layer_key, unit), (rows,))

    return jax.vmap(noise, out_axes=1)(jnp.arange(width))


def dropout(a: Any, rate: Any, noise: Any) -> Any:
    """Keras' dropout formula (keep where the noise is below ``1 - rate``, scale by its inverse) at a model's own rate."""
    import jax.numpy as jnp

    keep = 1.0 - rate
    return jnp.where(noise < keep, a / keep, 0.0)
