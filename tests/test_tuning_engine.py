"""Finding a good rate: schedules match optax, the grid finds theory's best, the range test works."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

from engine import (
    data,
    descent,
    diagnose,
    grid_search,
    lr_finder,
    mlp,
    schedule_runs,
    schedules,
    surfaces,
    theory,
)

STEPS = 200


def table(schedule, steps=STEPS):
    return descent.rate_table(schedule, steps).astype(np.float64)


def optax_table(schedule, steps=STEPS):
    """optax's own schedule at every step (vmapped: one evaluation, not 200 eager calls)."""
    return np.asarray(jax.vmap(schedule)(jnp.arange(steps)), np.float64)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name, options, reference", [
    ("constant", {}, optax.constant_schedule(0.3)),
    ("step", {"factor": 0.1, "every_fraction": 0.3},
     optax.piecewise_constant_schedule(0.3, {60: 0.1, 120: 0.1, 180: 0.1})),
    ("exponential", {"final_fraction": 0.05}, optax.exponential_decay(0.3, STEPS, 0.05)),
    ("cosine", {"final_fraction": 0.1}, optax.cosine_decay_schedule(0.3, STEPS, alpha=0.1)),
    ("warmup_cosine", {"warmup_steps": 30, "final_fraction": 0.0},
     optax.warmup_cosine_decay_schedule(0.0, 0.3, 30, STEPS, end_value=0.0)),
    ("one_cycle", {"pct_start": 0.4, "div_factor": 10.0, "final_div_factor": 100.0},
     optax.cosine_onecycle_schedule(STEPS, 0.3, pct_start=0.4, div_factor=10.0, final_div_factor=100.0)),
])
def test_schedules_equal_optax(name, options, reference):
    np.testing.assert_allclose(table(schedules.build(name, 0.3, STEPS, **options)),
                               optax_table(reference), rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", schedules.NAMES)
def test_build_defaults_equal_make(name):
    np.testing.assert_allclose(table(schedules.build(name, 0.5, STEPS)),
                               table(schedules.make(name, 0.5, STEPS)), rtol=1e-6)


@pytest.mark.parametrize("name, lr, steps, options, message", [
    ("warmup_cosine", 0.1, 100, {"warmup_steps": 100}, "must be shorter than the run"),
    ("cosine", -0.1, 100, {}, "finite and non-negative"),
    ("step", 0.1, 100, {"factor": 1.5}, "step-decay factor"),
    ("cosine", 0.1, 0, {}, "at least one step"),
    ("one_cycle", 0.1, 100, {"pct_start": 1.0}, "pct_start"),
    ("cosine", 0.1, 100, {"warmup_steps": 5}, "has no parameter"),
    ("nope", 0.1, 100, {}, "Unknown schedule"),
])
def test_bad_schedule_settings_say_what_is_wrong(name, lr, steps, options, message):
    with pytest.raises(ValueError, match=message):
        schedules.build(name, lr, steps, **options)


def test_plateau_scales_follow_optax_contrib():
    rng = np.random.default_rng(0)
    losses = np.concatenate([np.linspace(5, 1, 30), np.ones(40) + rng.normal(0, 1e-5, 40),
                             np.linspace(1, 0.5, 10), np.full(50, 0.5)])
    opts = dict(factor=0.5, patience=7, rtol=1e-3, cooldown=3, min_scale=0.01)
    tx = optax.contrib.reduce_on_plateau(factor=0.5, patience=7, rtol=1e-3, cooldown=3, min_scale=0.01)

    def step(state, f):
        upd, state = tx.update(jnp.ones(1), state, value=f)
        return state, upd[0]

    _, ref = jax.lax.scan(step, tx.init(jnp.zeros(1)), jnp.asarray(losses, jnp.float32))
    np.testing.assert_allclose(schedules.plateau_scales(losses, **opts), ref, rtol=1e-6)
    assert min(ref) < 1.0  # the sequence did trigger cuts


def test_reduce_on_plateau_run_equals_optax_loop():
    """Replaying the run gives exactly optax.sgd + reduce_on_plateau, step by step."""
    s = surfaces.quadratic(1.0, 10.0)
    lr, steps, opts = 0.2, 100, dict(factor=0.5, patience=5, rtol=1e-4, cooldown=0, min_scale=1e-3)
    sw, rounds = schedule_runs.on_surface(s, schedules.PLATEAU, lr, steps, **opts)
    tx = optax.chain(optax.sgd(lr), optax.contrib.reduce_on_plateau(
        factor=0.5, patience=5, rtol=1e-4, min_scale=1e-3))
    x0 = jnp.asarray(s.start, jnp.float32)

    def step(carry, _):
        x, state = carry
        f, g = jax.value_and_grad(s.loss)(x)
        upd, state = tx.update(g, state, x, value=f)
        x = optax.apply_updates(x, upd)
        return (x, state), x

    _, xs = jax.lax.scan(step, (x0, tx.init(x0)), None, length=steps)
    points = np.concatenate([np.asarray(x0)[None], np.asarray(xs)])
    np.testing.assert_allclose(sw.points[1], points, rtol=1e-4, atol=1e-6)
    assert sw.lrs[1, -1] < lr and rounds >= 2  # it did cut, after replaying


def test_one_cycle_ends_at_lr_over_div_times_final_div():
    """Issue 9 item 12: optax's one-cycle ends at lr / (25 * 1e4) = lr / 2.5e5, not lr / 1e4."""
    for build in (lambda: schedules.make("one_cycle", 0.5, 200),
                  lambda: schedules.build("one_cycle", 0.5, 200)):
        end = float(build()(200))
        assert end == pytest.approx(0.5 / 2.5e5, rel=1e-4)
        assert end != pytest.approx(0.5 / 1e4, rel=0.5)
    assert "lr / 2.5e5" in schedules.__doc__ and "down to lr / 1e4" not in schedules.__doc__


def _himmelblau_runs(name="cosine", lr=0.025, steps=300):
    """The Schedules page's default runs: [constant, schedule] on Himmelblau."""
    s = surfaces.get("himmelblau")
    sw, _ = schedule_runs.on_surface(s, name, lr, steps)
    return s, sw


def test_what_it_did_oscillating_and_converged_from_one_rule():
    """Issue 9 item 15: the cosine run reverses direction repeatedly *and* converges; the
    phrase says both, and the step it names is where the path really stays within tol."""
    s, sw = _himmelblau_runs()
    tol = diagnose.default_tol(s)
    texts = []
    for t in sw:
        d = diagnose.diagnose(s, t)
        text = schedule_runs.what_it_did(d, t.diverged_at, 300)
        texts.append(text)
        assert ("oscillating" in text) == (d.regime == diagnose.Regime.OSCILLATING)
        minima = np.array([m.point for m in s.minima])
        dist = np.min(np.linalg.norm(t.points[:, None] - minima[None], axis=-1), axis=1)
        if "converged at step" in text:
            k = int(text.rsplit(" ", 1)[1])
            assert np.all(dist[k:] < tol) and (k == 0 or dist[k - 1] >= tol)
        else:
            assert "not converged in 300 steps" in text and dist[-1] >= tol
    assert texts[1].startswith("oscillating, converged at step")
    assert not any(w in " ".join(texts) for w in ("None", "inf", "nan"))


def test_what_it_did_names_divergence_with_its_step():
    s = surfaces.quadratic(1.0, 10.0)
    sw = descent.sweep(s, [0.001, 0.25], 60)
    did = [schedule_runs.what_it_did(diagnose.diagnose(s, t), t.diverged_at, 60) for t in sw]
    assert did[0] == "slow: not converged in 60 steps"
    assert did[1] == f"diverged at step {int(sw.diverged_at[1])}"


# ---------------------------------------------------------------------------
# Grid search
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("a, b", [(1.0, 10.0), (2.0, 5.0), (0.5, 20.0)])
def test_grid_best_rate_is_theory_best_on_quadratics(a, b):
    th = theory.quadratic(a, b)
    g = grid_search.on_surface(surfaces.quadratic(a, b), 1e-3, 1.0, 256, steps=100)
    assert g.best_rate == pytest.approx(th.best_rate, rel=0.10)
    assert g.theory_best == pytest.approx(th.best_rate) and g.stable_below == pytest.approx(2 / th.L)
    # Above 2/L nothing converges; a rate just above it grows too slowly to leave the divergence
    # box within 100 steps (diagnose calls it oscillating, not yet diverged), but 5% above it does.
    above = g.rates > 1.01 * th.stable_below
    assert all(g.regimes[i] in ("diverged", "oscillating") and np.isnan(g.steps_to_converge[i])
               for i in np.nonzero(above)[0])
    assert all(g.regimes[i] == "diverged" for i in np.nonzero(g.rates > 1.05 * th.stable_below)[0])
    assert g.regimes[0] == "slow"


def test_grid_is_one_sweep_and_validates():
    s = surfaces.quadratic()
    grid_search.on_surface(s, 1e-3, 1.0, 200, steps=100)  # compiled (same buckets as above)
    before = descent.trace_count()
    g = grid_search.on_surface(s, 1e-2, 0.5, 129, steps=90, criterion="steps to converge")
    assert descent.trace_count() == before
    assert g.best_rate == pytest.approx(theory.quadratic(1, 10).best_rate, rel=0.1)
    with pytest.raises(ValueError, match="must be below the largest"):
        grid_search.log_grid(1.0, 0.1, 10)
    with pytest.raises(ValueError, match="from 2 to 256"):
        grid_search.log_grid(0.1, 1.0, 1000)
    with pytest.raises(ValueError, match="positive"):
        grid_search.log_grid(0.0, 1.0, 10)


def test_pick_best_breaks_ties_in_the_middle():
    score = np.array([3.0, 0.0, 0.0, 0.0, 2.0])
    assert grid_search.pick_best(score, np.ones(5, bool)) == 2
    assert grid_search.pick_best(score, np.ones(5, bool), tie_break=np.array([0, 9, 9, 1, 0.0])) == 3
    assert grid_search.pick_best(score, np.zeros(5, bool)) is None


def test_network_grid_on_moons_has_seeds_and_regimes():
    g = grid_search.on_network("moons", 0.01, 100.0, 6, 60, seeds=(0, 1), batch_size=None)
    assert g.train_loss.shape == (2, 6, 61) and g.final_acc.shape == (2, 6)
    assert g.regimes[-1] == "diverged" and g.best_index is not None
    assert g.regimes[g.best_index] != "diverged"
    with pytest.raises(ValueError, match="seeds"):
        grid_search.on_network("moons", 0.01, 1.0, 4, 10, seeds=())


# ---------------------------------------------------------------------------
# The range test
# ---------------------------------------------------------------------------


def test_range_rates_grow_exponentially():
    np.testing.assert_allclose(table(lr_finder.rate_schedule(1e-6, 10.0, 100), 100),
                               np.geomspace(1e-6, 10.0, 100), rtol=1e-5)
    with pytest.raises(ValueError, match="must be below"):
        lr_finder.rate_schedule(1.0, 0.1, 100)
    with pytest.raises(ValueError, match="from 2 to"):
        lr_finder.rate_schedule(1e-6, 1.0, 0)


def synthetic(n=120, noise=0.0, seed=0):
    """Flat, then falling fastest at lr = 1e-2, then blowing up past lr = 1."""
    lrs = np.geomspace(1e-5, 10, n)
    x = np.log10(lrs)
    loss = 2.0 - 1.5 / (1 + np.exp(-3 * (x + 2))) + np.where(x > 0, 20 * x**2, 0.0)
    loss = loss + np.random.default_rng(seed).normal(0, noise, n) * (np.arange(n) < 20)
    return lrs, loss


def test_analysis_finds_the_steepest_slope_and_stops_at_4x():
    lrs, loss = synthetic()
    r = lr_finder.analyze(lrs, loss, beta=0.3)
    assert r.steepest == pytest.approx(1e-2, rel=0.35)
    assert "4x its best" in r.stop_reason
    assert r.smoothed[-1] > 4 * np.min(r.smoothed[:-1]) and np.all(np.isfinite(r.raw))
    assert r.min_lr_10 == pytest.approx(r.lrs[r.min_index] / 10)


def test_nan_ends_the_curve_cleanly():
    lrs, loss = synthetic()
    loss[90:] = np.nan
    loss[95] = np.inf
    r = lr_finder.analyze(lrs, loss, beta=0.3, stop_factor=1e6)
    assert len(r.lrs) == 90 and np.all(np.isfinite(r.smoothed))
    assert "stopped being finite" in r.stop_reason
    with pytest.raises(ValueError, match="blew up in the first steps"):
        lr_finder.analyze(lrs, np.full(len(lrs), np.nan))


def test_noisy_start_does_not_fool_the_slope_rule():
    lrs, loss = synthetic(noise=0.15, seed=3)
    naive = lr_finder.analyze(lrs, loss, beta=0.0, skip_fraction=0.0)
    robust = lr_finder.analyze(lrs, loss, beta=0.7, skip_fraction=0.2)
    assert naive.steepest < 1e-3  # a random dip in the noisy start looks steepest
    assert robust.steepest == pytest.approx(1e-2, rel=0.5)
    assert any("left out of the slope rule" in n for n in robust.notes)


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


@pytest.fixture(scope="module")
def digits_tests():
    return lr_finder.range_tests("digits", seeds=(0, 1, 2))


def test_range_test_leaves_the_weights_as_they_were(digits):
    p0 = mlp.init((64, 32, 10), seed=0)
    copy = jax.tree.map(np.array, p0)
    lr_finder.range_test(p0, digits.x_train, digits.y_train)
    for a, b in zip(jax.tree.leaves(p0), jax.tree.leaves(copy), strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)


def test_range_test_suggestion_beats_10x_and_tenth(digits, digits_tests):
    t = digits_tests.tests[0]
    assert t.steepest is not None and 1e-3 < t.suggestion < 10
    run = lr_finder.check(mlp.init((64, 32, 10), seed=0), digits.x_train, digits.y_train, t.suggestion)
    final = np.where(run.diverged_at >= 0, np.inf, run.train_loss[:, -1])
    assert final[0] < final[1] and final[0] < final[2], final


def test_range_test_suggestion_is_stable_over_seeds(digits_tests):
    mean, lo, hi = digits_tests.spread()
    assert hi / lo < 3, (lo, hi)


def test_schedule_runs_docstring_examples():
    """engine.schedule_runs' >>> examples (what_it_did's phrases) are true."""
    import doctest

    result = doctest.testmod(schedule_runs)
    assert result.attempted >= 4 and result.failed == 0
