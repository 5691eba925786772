"""Every named optimizer in the engine is optax's own: its path equals a plain optax loop;
noise is reproducible and shared; nothing recompiles per rate; nothing returned is NaN."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from engine import descent, optimizers, surfaces

ROSENBROCK = surfaces.rosenbrock()
STEPS = 200
# a rate at which each optimizer makes real progress on Rosenbrock without diverging
RATES = {"sgd": 1e-3, "momentum": 2e-4, "nesterov": 2e-4, "adagrad": 0.1, "rmsprop": 3e-3,
         "adam": 0.02, "adamw": 0.02}


def optax_loop(make, lr, surface, steps, kicks=None):
    """The reference: optax's documented init / update / apply_updates, one step per Python loop."""
    opt = make(lr)
    params = jnp.asarray(surface.start, dtype=jnp.float32)
    state = opt.init(params)
    grad = jax.jit(jax.grad(surface.loss))
    path = [np.asarray(params)]
    for k in range(steps):
        g = grad(params)
        if kicks is not None:
            g = g + kicks[k]
        updates, state = opt.update(g, state, params)
        params = optax.apply_updates(params, updates)
        path.append(np.asarray(params))
    return np.array(path)


def test_the_named_set_is_complete():
    labels = [optimizers.get(k).label for k in optimizers.names()]
    assert labels == ["SGD", "SGD + momentum", "Nesterov", "AdaGrad", "RMSProp", "Adam", "AdamW"]
    assert all(optimizers.get(k).description for k in optimizers.names())
    with pytest.raises(ValueError, match="adam"):
        optimizers.get("adma")


@pytest.mark.parametrize("key", optimizers.names())
def test_each_optimizer_equals_a_plain_optax_loop_on_rosenbrock(key):
    make = optimizers.get(key).make
    t = descent.run(ROSENBROCK, RATES[key], STEPS, optimizer=optimizers.maker(key))
    ref = optax_loop(make, RATES[key], ROSENBROCK, STEPS)
    assert t.diverged_at is None
    np.testing.assert_allclose(t.points, ref, rtol=1e-5, atol=1e-5)
    # and it went somewhere: every optimizer lowers the loss
    assert t.losses[-1] < 0.5 * t.losses[0]


def test_a_schedule_goes_through_optax_too():
    schedule = optax.warmup_cosine_decay_schedule(0.0, 0.05, 20, STEPS)
    t = descent.run(ROSENBROCK, schedule, STEPS, optimizer=optax.adam)
    ref = optax_loop(optax.adam, schedule, ROSENBROCK, STEPS)
    np.testing.assert_allclose(t.points, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(t.lrs, [schedule(k) for k in range(STEPS)], rtol=1e-5, atol=1e-8)


def test_noise_is_the_documented_sequence_and_shared_across_rates():
    bowl = surfaces.quadratic(1.0, 10.0)
    noise, seed, steps = 0.7, 11, 80
    kicks = noise * descent.gradient_noise(seed, steps)
    lrs = [0.01, 0.05, 0.1]
    sw = descent.sweep(bowl, lrs, steps, noise=noise, seed=seed, optimizer=optax.adam)
    for i, lr in enumerate(lrs):
        ref = optax_loop(optax.adam, lr, bowl, steps, kicks=jnp.asarray(kicks))
        np.testing.assert_allclose(sw[i].points, ref, rtol=1e-5, atol=1e-5)


def test_noise_is_reproducible_per_seed_and_independent_of_the_batch():
    bowl = surfaces.quadratic(1.0, 10.0)
    a = descent.sweep(bowl, [0.05, 0.1], 100, noise=1.0, seed=3)
    b = descent.sweep(bowl, [0.05, 0.1], 100, noise=1.0, seed=3)
    c = descent.sweep(bowl, [0.05, 0.1], 100, noise=1.0, seed=4)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.allclose(a.points, c.points)
    # the same run inside a much larger sweep (another compiled shape) sees the same noise
    big = descent.sweep(bowl, list(np.linspace(0.01, 0.1, 100)) + [0.05], 100, noise=1.0, seed=3)
    np.testing.assert_allclose(big[100].points, a[0].points, rtol=1e-5, atol=1e-6)
    # sweep_final ends where sweep ends
    f = descent.sweep_final(bowl, [0.05, 0.1], 100, noise=1.0, seed=3)
    np.testing.assert_allclose(f.points, a.points[:, -1], rtol=1e-5, atol=1e-6)


def test_noise_with_plain_gd_is_gd_plus_the_kicks():
    """x_{k+1} = x_k - lr (grad f(x_k) + noise xi_k), checked in NumPy on the bowl."""
    bowl = surfaces.quadratic(1.0, 10.0)
    lr, noise, seed, steps = 0.05, 0.5, 7, 60
    xi = descent.gradient_noise(seed, steps).astype(np.float64)
    x = np.array(bowl.start, dtype=np.float64)
    path = [x.copy()]
    for k in range(steps):
        x = x - lr * (np.array([1.0, 10.0]) * x + noise * xi[k])
        path.append(x.copy())
    t = descent.run(bowl, lr, steps, noise=noise, seed=seed)
    np.testing.assert_allclose(t.points, np.array(path), rtol=1e-4, atol=1e-5)


def test_nothing_recompiles_when_rate_noise_start_momentum_or_steps_change():
    bowl = surfaces.quadratic(1.0, 10.0)
    for key in ("sgd", "adam"):
        descent.sweep(bowl, [0.1], 50, optimizer=optimizers.maker(key))
    before = descent.trace_count()
    descent.sweep(bowl, [0.2, 0.05, 0.3], 70, start=(0.5, -1.0), momentum=0.9, noise=0.3, seed=5)
    descent.sweep(surfaces.quadratic(2.0, 3.0), [1e-3], 999, noise=2.0, seed=9)
    descent.sweep(bowl, [0.5, 0.01], 10, start=(1.0, 1.0), optimizer=optimizers.maker("adam"),
                  noise=0.1)
    descent.sweep(bowl, [optax.cosine_decay_schedule(0.1, 80)], 80,
                  optimizer=optimizers.maker("adam"))
    assert descent.trace_count() == before


@pytest.mark.parametrize("key", optimizers.names())
def test_no_nan_or_inf_for_any_optimizer_at_any_rate(key):
    lrs = [1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6]
    for surface in (ROSENBROCK, surfaces.himmelblau(), surfaces.sharp_wide()):
        sw = descent.sweep(surface, lrs, 300, optimizer=optimizers.maker(key), noise=1.0)
        assert np.all(np.isfinite(sw.points)) and np.all(np.isfinite(sw.losses))
        f = descent.sweep_final(surface, lrs, 300, optimizer=optimizers.maker(key))
        assert np.all(np.isfinite(f.points)) and np.all(np.isfinite(f.losses))
        box = descent.half_box(surface, optimizers.MOMENTUM if key in ("momentum", "nesterov")
                               else 0.0)
        assert np.all(np.abs(sw.points - np.array(surface.center)) <= box * (1 + 1e-6))


def test_an_optax_optimizer_and_heavy_ball_momentum_together_are_refused():
    with pytest.raises(ValueError, match="momentum"):
        descent.run(ROSENBROCK, 0.01, 10, momentum=0.9, optimizer=optax.adam)


def test_noise_and_a_large_rate_escape_the_sharp_minimum_a_small_rate_stays():
    """sharp_wide: both rates are below 2/L_sharp = 0.125, so without noise both stay in the
    sharp pit; with gradient noise 1.0 the large one leaves it (for every seed), the small one
    does not (its noise floor, proportional to the rate, is too small to climb out)."""
    from engine.diagnose import diagnose

    s = surfaces.sharp_wide()
    local = next(m for m in s.minima if not m.is_global)

    def ends_in_pit(lr, noise, seed):
        d = diagnose(s, descent.run(s, lr, 500, noise=noise, seed=seed))
        return d.minimum == local

    assert ends_in_pit(0.1, 0.0, 0) and ends_in_pit(0.01, 0.0, 0)
    for seed in range(8):
        assert not ends_in_pit(0.1, 1.0, seed), seed
        assert ends_in_pit(0.01, 1.0, seed), seed


@pytest.mark.parametrize("name", ["step", "cosine", "warmup_cosine", "one_cycle"])
def test_rate_tables_equal_the_schedule_and_are_computed_once(name):
    """The engine's table is optax's schedule at every step; a rerun reuses it (same object)."""
    from engine import schedules

    schedule = schedules.make(name, 0.3, 200)
    assert schedules.make(name, 0.3, 200) is schedule
    table = descent.rate_table(schedule, 200)
    np.testing.assert_allclose(table, [float(schedule(k)) for k in range(200)], rtol=1e-5,
                               atol=1e-9)
    assert descent._schedule_table.cache_info().currsize >= 1
    hits = descent._schedule_table.cache_info().hits
    descent.rate_table(schedules.make(name, 0.3, 200), 200)
    assert descent._schedule_table.cache_info().hits == hits + 1
