"""Part 4 engine: fine-tuning forgets more at large rates, freezing protects, regimes, sharpness.

Margins come from measurements with the default set-up (digits 0-4 then 5-9,
64 -> 32 -> 32 -> 5, new head, 200 full-batch steps at 0.01, 0.1, 0.5, 1.0).
Task-A drop (validation, 172 images, so one image = 0.006) for pre-training
seeds 0 / 1 / 2: at 0.01: 0.006 / 0.000 / 0.010; at 0.5: 0.058 / 0.040 / 0.098;
at 1.0: 0.657 / 0.641 / 0.364. The asserted margins (0.25 for 1.0 vs 0.01,
0.02 = 3-4 images for 0.5 vs 0.01) are below the smallest gap over these
seeds, and well above one image's worth of float rounding across CPUs.
"""

import jax
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from engine import data, finetune, mlp, networks
from engine.diagnose import Regime

RATES = finetune.DEFAULT_RATES


@pytest.fixture(scope="module")
def pre():
    return finetune.pretrain()


@pytest.fixture(scope="module")
def default_run(pre):
    return finetune.finetune(pre, RATES, 200)


@pytest.fixture(scope="module")
def frozen_run(pre):
    return finetune.finetune(pre, RATES, 200, freeze_lower=True)


def test_pretraining_learns_task_a_and_is_cached(pre):
    assert pre.val_acc[-1] > 0.95
    assert finetune.pretrain() is pre
    assert pre.tasks.classes_a == (0, 1, 2, 3, 4) and pre.tasks.classes_b == (5, 6, 7, 8, 9)
    assert set(np.unique(pre.tasks.yb)) == set(range(5))


def test_large_rate_forgets_clearly_more_than_small(default_run):
    drop = default_run.a_drop()
    assert drop[-1] - drop[0] > 0.25, drop
    assert drop[2] - drop[0] > 0.02, drop
    assert default_run.a_acc[0, -1] > 0.95
    # and the small rate did not just sit still: it learned some of task B
    assert default_run.b_acc[0, -1] > default_run.b_acc[0, 0] + 0.3


def test_freezing_lower_layers_reduces_forgetting(default_run, frozen_run):
    np.testing.assert_allclose(frozen_run.a_acc, frozen_run.a_acc[:, :1] * np.ones_like(frozen_run.a_acc))
    assert np.all(frozen_run.a_drop() <= default_run.a_drop())
    assert frozen_run.a_drop()[-1] < default_run.a_drop()[-1] - 0.25
    assert np.all(frozen_run.b_acc[:, -1] > frozen_run.b_acc[:, 0])  # the new head still learns


def test_discriminative_rates_reduce_forgetting_at_the_large_rate(pre, default_run):
    run = finetune.finetune(pre, RATES, 200, lower_scale=0.1)
    assert run.a_drop()[-1] < default_run.a_drop()[-1] - 0.25


def test_verdict_is_computed_from_the_runs(default_run, frozen_run):
    v = finetune.verdict(default_run)
    assert v.kept_most == int(np.argmax(default_run.a_acc[:, -1]))
    reach = default_run.steps_to_learn()
    assert v.fastest_steps == min(r for r in reach if r is not None)
    assert reach[v.learned_fastest] == v.fastest_steps
    # frozen: every rate keeps A exactly; the tie goes to the best task-B accuracy
    vf = finetune.verdict(frozen_run)
    assert vf.kept_most == int(np.argmax(frozen_run.b_acc[:, -1]))


def test_rate_past_divergence_is_reported_and_finite(pre):
    run = finetune.finetune(pre, [0.1, 1e3], 200)
    assert run.diverged_at[0] == -1 and run.diverged_at[1] >= 1
    for arr in (run.a_acc, run.a_loss, run.b_acc, run.b_loss, run.b_train_loss):
        assert np.all(np.isfinite(arr))
    v = finetune.verdict(run)
    assert v.kept_most == 0 and v.learned_fastest == 0  # a frozen, diverged run never "wins"
    d = networks.diagnose_curve(run.b_train_loss[1], int(run.diverged_at[1]))
    assert d.regime is Regime.DIVERGED


def test_options_do_not_recompile(pre, default_run):
    before = finetune.trace_count()
    finetune.finetune(pre, [0.3, 0.03], 150, lower_scale=0.3, warmup=20, momentum=0.5, seed=3)
    finetune.finetune(pre, [0.2], 200, freeze_lower=True, batch_size=None)
    assert finetune.trace_count() == before


def test_warmup_table_matches_optax():
    sched = finetune.warmup_schedule(0.5, 20)
    expected = np.array([float(sched(k)) for k in range(50)], np.float32)
    np.testing.assert_allclose(finetune.warmup_table(0.5, 20, 50), expected, rtol=1e-6)


def test_bad_inputs_get_clear_errors(pre):
    with pytest.raises(ValueError, match="at least two"):
        finetune.check_split((), (5, 6))
    with pytest.raises(ValueError, match="share digits"):
        finetune.check_split((1, 2, 3), (3, 4))
    with pytest.raises(ValueError, match="between 0 and 9"):
        finetune.check_split((1, 12), (3, 4))
    with pytest.raises(ValueError, match="at least one unit"):
        finetune.check_hidden((0,))
    with pytest.raises(ValueError, match="finite"):
        finetune.finetune(pre, [float("inf")], 100)
    with pytest.raises(ValueError, match="one to 4"):
        finetune.finetune(pre, [0.1] * 5, 100)
    with pytest.raises(ValueError, match="head"):
        finetune.finetune(pre, [0.1], 100, head="other")


def test_curve_diagnosis_names_the_regimes():
    k = np.arange(201)
    assert networks.diagnose_curve(np.exp(-k / 10)).regime is Regime.CONVERGED
    assert networks.diagnose_curve(1 - 0.001 * k).regime is Regime.SLOW
    assert networks.diagnose_curve(np.exp(-k / 400)).regime is Regime.SLOW
    assert networks.diagnose_curve(1 - 0.3 * (1 - np.exp(-k / 10))).regime is Regime.SLOW  # stalled
    zigzag = np.exp(-k / 20) + 0.2 * (k % 2)
    assert networks.diagnose_curve(zigzag).regime is Regime.OSCILLATING
    assert networks.diagnose_curve(np.exp(k / 50)).regime is Regime.DIVERGED
    assert networks.diagnose_curve(np.exp(-k / 10), diverged_at=5).regime is Regime.DIVERGED


@pytest.fixture(scope="module")
def moons_runs():
    d = data.load("moons", seed=0)
    p0 = mlp.init((2, 8, 2), seed=0)
    rates = [0.01, 0.5, 50.0]
    run = mlp.train(p0, d.x_train, d.y_train, rates, 100)
    snaps = networks.train_snapshots(p0, d.x_train, d.y_train, rates, 100, n_frames=11)
    return d, p0, rates, run, snaps


def test_network_regimes_and_divergence_without_nan(moons_runs):
    _, _, _, run, _ = moons_runs
    regimes = [networks.diagnose_curve(run.train_loss[i], int(run.diverged_at[i])).regime
               for i in range(3)]
    assert regimes[2] is Regime.DIVERGED and regimes[1] is not Regime.DIVERGED
    assert np.all(np.isfinite(run.train_loss)) and np.all(np.isfinite(run.train_acc))


def test_snapshots_follow_mlp_train(moons_runs):
    d, p0, rates, run, snaps = moons_runs
    assert snaps.steps.tolist() == list(range(0, 101, 10))
    np.testing.assert_array_equal(snaps.diverged_at, run.diverged_at)
    for i in range(2):
        first, last = snaps.at(i, 0), snaps.at(i, -1)
        np.testing.assert_allclose(ravel_pytree(first)[0], ravel_pytree(p0)[0])
        np.testing.assert_allclose(ravel_pytree(last)[0], ravel_pytree(run.params_at(i))[0],
                                   rtol=1e-4, atol=1e-5)
        mid = float(mlp.loss(snaps.at(i, 5), d.x_train, d.y_train))
        assert mid == pytest.approx(run.train_loss[i, 50], rel=1e-4)


def test_sharpness_matches_the_exact_hessian(moons_runs):
    d, _, _, _, snaps = moons_runs
    track = networks.sharpness_track(snaps, d.x_train, d.y_train, iters=100)
    assert track.shape == (3, 11) and np.all(np.isfinite(track))
    for i, f in ((0, 0), (1, -1)):
        flat, unravel = ravel_pytree(snaps.at(i, f))
        h = jax.hessian(lambda v, u=unravel: mlp.loss(u(v), d.x_train, d.y_train))(flat)
        top = float(np.max(np.linalg.eigvalsh(np.asarray(h, np.float64))))
        assert track[i, f] == pytest.approx(top, rel=0.02)
