"""run and sweep: correct against NumPy and optax, frozen on divergence, never recompiled."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import descent, surfaces
from engine.descent import run, sweep


def numpy_heavy_ball(a, b, lr, beta, start, steps):
    """Independent NumPy loop on Rosenbrock f = (a - x)^2 + b (y - x^2)^2."""
    x = np.array(start, dtype=np.float64)
    v = np.zeros(2)
    out = [x.copy()]
    for _ in range(steps):
        g = np.array([-2 * (a - x[0]) - 4 * b * x[0] * (x[1] - x[0] ** 2),
                      2 * b * (x[1] - x[0] ** 2)])
        v = g + beta * v
        x = x - lr * v
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_rosenbrock_matches_numpy_loop(beta):
    s = surfaces.rosenbrock()
    t = run(s, 1e-3, 300, momentum=beta)
    ref = numpy_heavy_ball(1.0, 100.0, 1e-3, beta, s.start, 300)
    np.testing.assert_allclose(t.points, ref, rtol=2e-3, atol=2e-4)
    assert t.diverged_at is None


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_rosenbrock_matches_optax_sgd(beta):
    s = surfaces.rosenbrock()
    schedule = optax.exponential_decay(2e-3, transition_steps=50, decay_rate=0.5)
    opt = optax.sgd(schedule, momentum=beta if beta else None)
    params = jnp.asarray(s.start, dtype=jnp.float32)
    state = opt.init(params)
    grad = __import__("jax").grad(s.loss)
    path = [np.asarray(params)]
    for _ in range(200):
        updates, state = opt.update(grad(params), state)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params))
    t = run(s, schedule, 200, momentum=beta)
    np.testing.assert_allclose(t.points, np.array(path), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(t.lrs, [schedule(k) for k in range(200)], rtol=1e-6)


def test_shapes_and_loss_alignment():
    s = surfaces.quadratic()
    sw = sweep(s, [0.01, 0.1, 0.3], 77)
    assert sw.points.shape == (3, 78, 2)
    assert sw.losses.shape == (3, 78)
    assert sw.lrs.shape == (3, 77)
    assert sw.diverged_at.shape == (3,)
    assert len(sw) == 3 and len(list(sw)) == 3
    t = sw[1]
    expect = np.array([float(s.loss(jnp.asarray(p))) for p in t.points])
    np.testing.assert_allclose(t.losses, expect, rtol=1e-5, atol=1e-7)
    # lrs[k] moved points[k] to points[k + 1]
    grad = np.array([[1.0, 10.0]]) * t.points[:-1]
    np.testing.assert_allclose(t.points[1:], t.points[:-1] - t.lrs[:, None] * grad, rtol=1e-5,
                               atol=1e-6)


def test_divergence_freezes_and_never_returns_nan():
    s = surfaces.quadratic(1.0, 1.0)
    t = run(s, 50.0, 200)
    assert t.diverged_at is not None and 1 <= t.diverged_at <= 10
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))
    frozen = t.points[t.diverged_at - 1:]
    assert np.all(frozen == frozen[0])
    box = descent.DIVERGENCE_FACTOR * s.extent
    assert np.all(np.abs(t.points - np.array(s.center)) <= box)


def test_huge_rate_and_nan_are_handled():
    s = surfaces.himmelblau()
    t = run(s, 1e30, 50)
    assert t.diverged_at == 1
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))
    with pytest.raises(ValueError, match="finite"):
        run(s, float("nan"), 10)
    with pytest.raises(ValueError, match="non-negative"):
        run(s, -0.1, 10)
    with pytest.raises(ValueError, match="steps"):
        run(s, 0.1, 0)
    with pytest.raises(ValueError, match="momentum"):
        run(s, 0.1, 10, momentum=1.0)


def test_slider_changes_never_recompile():
    s = surfaces.quadratic(1.0, 10.0)
    sweep(s, [0.1], 50)  # warm up this surface family's 4-rate, 100-step shape
    before = descent.trace_count()
    sweep(s, [0.2, 0.05], 60, start=(0.5, -1.0), momentum=0.9)
    sweep(surfaces.quadratic(3.0, 7.0), [0.01, 0.02, 0.03, 0.04], 100, momentum=0.3)
    sweep(s, [optax.cosine_decay_schedule(0.1, 80)], 80)
    assert descent.trace_count() == before
    for steps in (200, 400, 1000):
        sweep(s, [0.1], steps)
    warmed = descent.trace_count()
    for steps in (10, 99, 101, 250, 333, 777, 999, 1000):
        sweep(s, [0.1, 0.2, 0.3], steps, start=(1.0, 1.0))
    assert descent.trace_count() == warmed


def test_sweep_matches_individual_runs():
    s = surfaces.camel()
    lrs = list(np.geomspace(1e-3, 0.5, 9))
    sw = sweep(s, lrs, 120)
    for i, lr in enumerate(lrs):
        t = run(s, lr, 120)
        np.testing.assert_allclose(sw[i].points, t.points, rtol=1e-6, atol=1e-6)
        assert sw[i].diverged_at == t.diverged_at


@settings(max_examples=25, deadline=None)
@given(curv=st.floats(0.1, 50.0), ratio=st.floats(0.02, 1.98), steps=st.integers(1, 60))
def test_gd_on_1d_quadratic_is_geometric(curv, ratio, steps):
    """x_k = (1 - lr c)^k x_0 exactly, for any rate below 2/c."""
    s = surfaces.quadratic(curv, curv)
    lr = ratio / curv
    t = run(s, lr, steps, start=(1.0, 0.0))
    expect = (1 - lr * curv) ** np.arange(steps + 1)
    np.testing.assert_allclose(t.points[:, 0], expect, rtol=1e-3, atol=1e-5)
