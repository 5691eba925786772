"""diagnose against theory: no stable heavy ball is ever called diverged, and a badge never
flips with the step budget."""

import numpy as np
import pytest

from engine import descent, surfaces, theory
from engine.diagnose import Regime, diagnose

BOWL = surfaces.quadratic(1.0, 10.0)
L = 10.0


def limit(beta: float) -> float:
    """Heavy ball on a quadratic is stable exactly for lr < 2(1 + beta)/L."""
    return 2 * (1 + beta) / L


def test_the_limit_is_theorys():
    for beta in (0.0, 0.5, 0.9):
        assert theory.quadratic(1.0, 10.0).stable_below_momentum(beta) == pytest.approx(limit(beta))


def test_no_stable_heavy_ball_is_ever_diverged_on_a_grid():
    """128 x 128 (lr, beta) below 2(1+beta)/L, 500 steps: the engine never freezes one."""
    betas = np.linspace(0.0, 0.99, 128)
    fractions = np.linspace(0.01, 0.995, 128)
    b, f = np.meshgrid(betas, fractions, indexing="ij")
    lrs = (f * 2 * (1 + b) / L).ravel()
    final = descent.sweep_final(BOWL, list(lrs), 500, momentum=b.ravel())
    assert np.all(final.diverged_at == -1), (
        f"{np.sum(final.diverged_at >= 0)} stable runs frozen, e.g. lr "
        f"{lrs[final.diverged_at >= 0][:3]}, beta {b.ravel()[final.diverged_at >= 0][:3]}")


@pytest.mark.parametrize("steps", [20, 50, 200])
@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9, 0.95, 0.97, 0.99])
def test_no_stable_heavy_ball_is_badged_diverged(beta, steps):
    lrs = list(np.linspace(0.02, 0.995, 16) * limit(beta))
    sweep = descent.sweep(BOWL, lrs, steps, momentum=beta)
    regimes = [diagnose(BOWL, t).regime for t in sweep]
    assert Regime.DIVERGED not in regimes, [(lr, r) for lr, r in zip(lrs, regimes, strict=True)]


@pytest.mark.parametrize("lr,beta,steps", [(0.3934, 0.97, 200), (0.3457, 0.97, 50)])
def test_the_runs_the_issue_found_are_not_diverged(lr, beta, steps):
    d = diagnose(BOWL, descent.run(BOWL, lr, steps, momentum=beta))
    assert d.regime is not Regime.DIVERGED


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_past_the_heavy_ball_limit_it_diverges(beta):
    lrs = list(np.linspace(1.1, 3.0, 8) * limit(beta))
    sweep = descent.sweep(BOWL, lrs, 500, momentum=beta)
    assert all(diagnose(BOWL, t).regime is Regime.DIVERGED for t in sweep)


def test_overshooting_every_step_on_one_axis_is_oscillating_at_any_budget():
    """lr 0.15 on curvatures (1, 10): the steep coordinate flips sign every step (factor -0.5)."""
    for steps in (10, 40, 50, 100, 400, 1000):
        t = descent.run(BOWL, 0.15, steps)
        assert np.all(np.diff(np.sign(t.points[:8, 1])) != 0)
        assert diagnose(BOWL, t).regime is Regime.OSCILLATING, steps
    d = diagnose(BOWL, descent.run(BOWL, 0.15, 100))
    assert d.converged and d.steps_to_converge is not None


@pytest.mark.parametrize("seed", range(3))
def test_a_longer_budget_never_turns_oscillating_into_converged(seed):
    rng = np.random.default_rng(seed)
    surface = surfaces.quadratic(*rng.uniform(0.5, 20.0, 2))
    lrs = list(rng.uniform(0.01, 1.99, 12) / max(surface.params))
    short = descent.sweep(surface, lrs, 60)
    long = descent.sweep(surface, lrs, 600)
    for a, b in zip(short, long, strict=True):
        if diagnose(surface, a).regime is Regime.OSCILLATING:
            assert diagnose(surface, b).regime is Regime.OSCILLATING
