"""Every surface builds with defaults, and every listed minimum is a real minimum."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from engine import surfaces

ALL = surfaces.names()


def test_names_cover_the_required_surfaces():
    assert set(ALL) >= {"quadratic", "ravine", "rosenbrock", "himmelblau", "saddle",
                        "sharp_wide", "camel"}


@pytest.mark.parametrize("name", ALL)
def test_defaults_build_and_start_inside_bounds(name):
    s = surfaces.get(name)
    (x0, x1), (y0, y1) = s.bounds
    assert x0 < s.start[0] < x1 and y0 < s.start[1] < y1
    assert any(m.is_global for m in s.minima)
    assert np.isfinite(float(jax.jit(s.loss)(jnp.asarray(s.start))))


@pytest.mark.parametrize("name", ALL)
def test_listed_minima_are_real_minima(name):
    s = surfaces.get(name)
    loss = jax.jit(s.loss)
    grad = jax.jit(jax.grad(s.loss))
    hess = jax.jit(jax.hessian(s.loss))
    for m in s.minima:
        p = jnp.asarray(m.point, dtype=jnp.float32)
        assert float(loss(p)) == pytest.approx(m.value, abs=1e-4)
        assert np.linalg.norm(np.asarray(grad(p))) < 1e-3 * max(1.0, s.extent)
        assert np.all(np.linalg.eigvalsh(np.asarray(hess(p), dtype=np.float64)) > 0)
        # No lower point in a small ring around it: a true (local) minimum.
        t = np.linspace(0, 2 * np.pi, 24)
        ring = jnp.asarray(np.asarray(m.point) + 0.02 * np.stack([np.cos(t), np.sin(t)], 1),
                           dtype=jnp.float32)
        assert np.all(np.asarray(jax.vmap(loss)(ring)) >= m.value - 1e-5)
    assert min(m.value for m in s.minima if m.is_global) == pytest.approx(s.global_value)
    assert all(m.value >= s.global_value - 1e-9 for m in s.minima)


def test_quadratic_formula_and_validation():
    s = surfaces.quadratic(a=2.0, b=6.0)
    np.testing.assert_allclose(float(s.loss(jnp.array([1.0, 2.0]))), 0.5 * (2 * 1 + 6 * 4))
    with pytest.raises(ValueError, match="positive"):
        surfaces.quadratic(a=-1.0)
    with pytest.raises(ValueError, match="Unknown surface"):
        surfaces.get("nope")


def test_sharp_wide_has_one_sharp_local_and_one_wide_global_minimum():
    s = surfaces.get("sharp_wide")
    glob = [m for m in s.minima if m.is_global]
    local = [m for m in s.minima if not m.is_global]
    assert len(glob) == 1 and len(local) == 1
    hess = jax.hessian(s.loss)
    l_wide = max(np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(glob[0].point)))))
    l_sharp = max(np.linalg.eigvalsh(np.asarray(hess(jnp.asarray(local[0].point)))))
    assert l_sharp > 8 * l_wide
    # The start is in the sharp minimum's basin.
    assert np.linalg.norm(np.subtract(s.start, local[0].point)) < 0.5
