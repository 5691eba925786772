"""diagnose and theory agree with each other and with runs on random quadratics."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import surfaces, theory
from engine.descent import run, sweep
from engine.diagnose import Regime, diagnose


@settings(max_examples=30, deadline=None)
@given(L=st.floats(0.2, 40.0), r=st.floats(0.05, 0.95))
def test_below_one_over_L_converges_without_overshoot(L, r):
    s = surfaces.quadratic(L, L)
    d = diagnose(s, run(s, r / L, 1000))
    assert d.overshoots == 0
    assert d.regime in (Regime.CONVERGED, Regime.SLOW)
    if (1 - r) ** 1000 * 2 < 1e-3 * s.extent:  # theory says it gets there in budget
        assert d.regime is Regime.CONVERGED


@settings(max_examples=30, deadline=None)
@given(L=st.floats(0.2, 40.0), r=st.floats(1.05, 1.95))
def test_between_one_and_two_over_L_oscillates(L, r):
    s = surfaces.quadratic(L, L)
    assert diagnose(s, run(s, r / L, 300)).regime is Regime.OSCILLATING


@settings(max_examples=30, deadline=None)
@given(L=st.floats(0.2, 40.0), r=st.floats(2.05, 50.0))
def test_past_two_over_L_diverges(L, r):
    s = surfaces.quadratic(L, L)
    assert diagnose(s, run(s, r / L, 300)).regime is Regime.DIVERGED


def test_tiny_rate_short_budget_is_slow():
    s = surfaces.quadratic(1.0, 10.0)
    d = diagnose(s, run(s, 1e-4, 50))
    assert d.regime is Regime.SLOW and d.steps_to_converge is None


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.1, 20.0), b=st.floats(0.1, 20.0))
def test_divergence_threshold_is_exactly_two_over_L(a, b):
    s = surfaces.quadratic(a, b)
    th = theory.quadratic(a, b)
    below, above = sweep(s, [0.97 * th.stable_below, 1.03 * th.stable_below], 1000)
    assert diagnose(s, below).regime is not Regime.DIVERGED
    assert diagnose(s, above).regime is Regime.DIVERGED


@settings(max_examples=25, deadline=None)
@given(a=st.floats(0.2, 10.0), b=st.floats(0.2, 10.0), r=st.floats(0.05, 0.98))
def test_predicted_steps_bound_measured_steps(a, b, r):
    th = theory.quadratic(a, b)
    lr = r * th.stable_below
    s = surfaces.quadratic(a, b)
    tol = 1e-3 * s.extent
    d0 = math.dist(s.start, (0.0, 0.0))
    predicted = th.steps_to(lr, tol, d0)
    d = diagnose(s, run(s, lr, 1000), tol=tol)
    if predicted is not None and predicted <= 900:
        assert d.steps_to_converge is not None
        assert d.steps_to_converge <= predicted
    if d.steps_to_converge is not None and predicted is not None and th.contraction(lr) > 0:
        # the slowest direction decays exactly at rho, so the bound is tight within its share
        assert predicted - d.steps_to_converge <= math.log(d0 / tol) / -math.log(th.contraction(lr)) + 1


def test_isotropic_prediction_is_exact():
    th = theory.quadratic(2.0, 2.0)
    s = surfaces.quadratic(2.0, 2.0)
    for lr in (0.05, 0.2, 0.4, 0.7, 0.9):
        tol = 1e-3 * s.extent
        d = diagnose(s, run(s, lr, 1000), tol=tol)
        assert abs(d.steps_to_converge - th.steps_to(lr, tol, math.dist(s.start, (0, 0)))) <= 1


def test_best_rate_beats_its_neighbours():
    th = theory.quadratic(1.0, 10.0)
    assert th.stable_below == pytest.approx(0.2)
    assert th.best_rate == pytest.approx(2 / 11)
    rates = np.linspace(0.01, 0.199, 500)
    best = rates[np.argmin([th.contraction(r) for r in rates])]
    assert best == pytest.approx(th.best_rate, rel=0.01)
    s = surfaces.quadratic(1.0, 10.0)
    steps = [diagnose(s, t).steps_to_converge for t in sweep(s, [0.5 * th.best_rate,
                                                                 th.best_rate, 0.195], 1000)]
    assert steps[1] < steps[0] and steps[1] < steps[2]


def test_momentum_theory_matches_runs():
    th = theory.quadratic(1.0, 25.0)
    lr, beta = th.best_momentum()
    assert th.contraction(lr, beta) == pytest.approx((5 - 1) / (5 + 1), rel=1e-3)
    s = surfaces.quadratic(1.0, 25.0)
    limit = th.stable_below_momentum(0.5)
    ok, bad = sweep(s, [0.97 * limit, 1.03 * limit], 1000, momentum=0.5)
    assert diagnose(s, ok).regime is not Regime.DIVERGED
    assert diagnose(s, bad).regime is Regime.DIVERGED
    # heavy ball at its best settings beats plain GD at its best rate
    hb = diagnose(s, run(s, lr, 1000, momentum=beta)).steps_to_converge
    gd = diagnose(s, run(s, th.best_rate, 1000)).steps_to_converge
    assert hb < gd


def test_sharp_minimum_holds_small_rates_and_releases_large_ones():
    s = surfaces.get("sharp_wide")
    local = next(m for m in s.minima if not m.is_global)
    import jax
    l_sharp = float(np.max(np.linalg.eigvalsh(np.asarray(jax.hessian(s.loss)(
        np.asarray(local.point, dtype=np.float32))))))
    l_wide = 1.0
    small = sweep(s, [0.1 * 2 / l_sharp, 0.5 * 2 / l_sharp], 1000)
    for t in small:
        d = diagnose(s, t)
        assert d.regime is Regime.LOCAL_MINIMUM and d.minimum == local
    between = list(np.geomspace(1.02 * 2 / l_sharp, 0.9 * 2 / l_wide, 40))
    for t in sweep(s, between, 1000):
        d = diagnose(s, t)
        assert d.minimum is not None and d.minimum.is_global, d
        assert d.regime in (Regime.CONVERGED, Regime.OSCILLATING)


# --- measured limits (engine.limits): what the Playground shows where no closed form applies ---

def _largest_stable_rate(matrix, hi: float = 10.0) -> float:
    """Bisection on the spectral radius of ``matrix(lr)``: the largest lr with radius < 1."""
    lo = 1e-6
    assert max(abs(np.linalg.eigvals(matrix(lo)))) < 1
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if max(abs(np.linalg.eigvals(matrix(mid)))) < 1 else (lo, mid)
    return lo


def test_measured_limit_of_sgd_and_heavy_ball_is_theory():
    from engine.limits import measured_limit

    for a, b in ((1.0, 10.0), (2.0, 3.0)):
        th = theory.quadratic(a, b)
        s = surfaces.quadratic(a, b)
        assert measured_limit(s, "sgd", 1000) == pytest.approx(th.stable_below, rel=0.02)
        assert measured_limit(s, "sgd", 1000, momentum=0.5) == pytest.approx(
            th.stable_below_momentum(0.5), rel=0.02)
        assert measured_limit(s, "momentum", 1000) == pytest.approx(
            th.stable_below_momentum(0.9), rel=0.02)


def test_measured_limit_of_nesterov_matches_its_iteration_matrix():
    from engine.limits import measured_limit
    from engine.optimizers import MOMENTUM as beta

    # optax's Nesterov per curvature c: v' = c x + beta v, x' = x - lr (c x + beta v').
    def matrix(lr, c=10.0):
        return np.array([[1 - lr * c * (1 + beta), -lr * beta**2], [c, beta]])

    expected = _largest_stable_rate(matrix)
    measured = measured_limit(surfaces.quadratic(1.0, 10.0), "nesterov", 1000)
    assert measured == pytest.approx(expected, rel=0.02)
    assert measured < theory.quadratic(1.0, 10.0).stable_below_momentum(beta)  # not heavy ball's


def test_measured_limit_edges_and_step_budget():
    from engine.limits import LIMIT_HI, measured_limit

    s = surfaces.quadratic(1.0, 10.0)
    # Adam's steps are about lr long whatever the curvature: nothing up to 10 leaves the box.
    assert measured_limit(s, "adam", 200) == LIMIT_HI
    # A shorter budget lets rates just past 2/L survive longer: the measured edge moves up.
    assert measured_limit(s, "sgd", 20) > measured_limit(s, "sgd", 1000) > 0.19
    with pytest.raises(ValueError, match="Unknown optimizer"):
        measured_limit(s, "evil", 100)


def test_heavy_ball_distance_grows_though_its_rate_per_step_is_below_one():
    from engine.limits import distance_growth

    th = theory.quadratic(1.0, 10.0)
    s = surfaces.quadratic(1.0, 10.0)
    hb = distance_growth(run(s, 0.2, 100, momentum=0.5).points, (0.0, 0.0))
    assert th.contraction(0.2, 0.5) < 0.75
    assert hb.of == 60 and hb.grew >= 10 and hb.largest > 2.0
    # plain GD below 2/L: every step shrinks the distance by at most max|1 - lr c|
    for lr in (0.05, 0.1, 0.19):
        gd = distance_growth(run(s, lr, 100).points, (0.0, 0.0))
        assert gd.grew == 0 and gd.largest <= th.contraction(lr) + 1e-5


def test_limits_docstring_examples():
    import doctest

    import engine.limits

    result = doctest.testmod(engine.limits)
    assert result.failed == 0 and result.attempted >= 3
