"""The loss evaluated on a regular grid over a surface's bounds (for drawing it).

>>> from engine import surfaces
>>> xs, ys, z = loss_grid(surfaces.quadratic(), n=5)
>>> z.shape, float(z[2, 2])
((5, 5), 0.0)
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from engine.surfaces import Surface


@partial(jax.jit, static_argnames=("family",))
def _grid_values(family, params, xs, ys):
    gx, gy = jnp.meshgrid(xs, ys)
    pts = jnp.stack([gx.ravel(), gy.ravel()], axis=1)
    return jax.vmap(lambda p: family(p, params))(pts).reshape(gx.shape)


def loss_grid(surface: Surface, n: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs (n,), ys (n,), z (n, n)) with z[i, j] = f(xs[j], ys[i])."""
    (x0, x1), (y0, y1) = surface.bounds
    xs = np.linspace(x0, x1, n, dtype=np.float32)
    ys = np.linspace(y0, y1, n, dtype=np.float32)
    z = _grid_values(surface.family, jnp.asarray(surface.params, dtype=jnp.float32), xs, ys)
    return xs, ys, np.asarray(z, dtype=np.float64)
