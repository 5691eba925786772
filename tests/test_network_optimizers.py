"""Every named optimizer trains the networks exactly as optax's own loop does, compiles once,
freezes layers and diverged runs, and never returns NaN."""

from functools import partial

import jax
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from engine import data, finetune, lr_finder, mlp, networks, optimizers

STEPS = 25
RATE = 0.05


@pytest.fixture(scope="module")
def moons():
    return data.load("moons", seed=0)


def optax_loop(opt, p0, x, y, steps):
    """The reference: optax's documented init / update / apply_updates on the full-batch loss."""
    grad = jax.jit(jax.grad(mlp.loss))
    p, state = p0, opt.init(p0)
    losses = [float(mlp.loss(p, x, y))]
    for _ in range(steps):
        updates, state = opt.update(grad(p, x, y), state, p)
        p = optax.apply_updates(p, updates)
        losses.append(float(mlp.loss(p, x, y)))
    return p, np.array(losses)


def flat(p):
    return np.asarray(ravel_pytree(p)[0])


@pytest.mark.parametrize("key", optimizers.names())
def test_each_optimizer_matches_a_plain_optax_loop(moons, key):
    p0 = mlp.init((2, 8, 2), seed=1)
    p_ref, loss_ref = optax_loop(optimizers.get(key).make(RATE), p0, moons.x_train, moons.y_train,
                                 STEPS)
    run = mlp.train(p0, moons.x_train, moons.y_train, [RATE], STEPS,
                    optimizer=optimizers.maker(key))
    assert run.diverged_at[0] == -1
    np.testing.assert_allclose(run.train_loss[0], loss_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flat(run.params_at(0)), flat(p_ref), rtol=1e-5, atol=1e-6)
    assert loss_ref[-1] < loss_ref[0]  # the reference itself learned something


def test_default_is_optax_sgd_with_momentum(moons):
    p0 = mlp.init((2, 8, 2), seed=2)
    p_ref, loss_ref = optax_loop(optax.sgd(0.3, momentum=0.9), p0, moons.x_train, moons.y_train,
                                 STEPS)
    default = mlp.train(p0, moons.x_train, moons.y_train, [0.3], STEPS, momentum=0.9)
    given = mlp.train(p0, moons.x_train, moons.y_train, [0.3], STEPS,
                      optimizer=optimizers.get("momentum").make)
    for run in (default, given):
        np.testing.assert_allclose(run.train_loss[0], loss_ref, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(flat(run.params_at(0)), flat(p_ref), rtol=1e-5, atol=1e-6)


def test_a_schedule_reaches_the_optimizer_step_by_step(moons):
    """Step k uses rate k of the table: the same as handing optax the schedule itself."""
    p0 = mlp.init((2, 8, 2), seed=3)
    sched = optax.linear_schedule(0.0, 0.1, 10)
    _, loss_ref = optax_loop(optax.adam(sched), p0, moons.x_train, moons.y_train, STEPS)
    run = mlp.train(p0, moons.x_train, moons.y_train, [sched], STEPS, optimizer=optax.adam)
    np.testing.assert_allclose(run.train_loss[0], loss_ref, rtol=1e-5, atol=1e-6)


def test_several_rates_in_one_call_are_independent_runs(moons):
    p0 = mlp.init((2, 8, 2), seed=4)
    rates = [0.002, 0.01, 0.05]  # stable rates: a chaotic run (rmsprop at 0.3) amplifies float rounding
    run = mlp.train(p0, moons.x_train, moons.y_train, rates, STEPS, optimizer=optax.rmsprop)
    for i, lr in enumerate(rates):
        _, loss_ref = optax_loop(optax.rmsprop(lr), p0, moons.x_train, moons.y_train, STEPS)
        np.testing.assert_allclose(run.train_loss[i], loss_ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("key", ["nesterov", "adam"])
def test_changing_rates_never_recompiles(moons, key):
    opt = optimizers.maker(key)
    p0 = mlp.init((2, 8, 2), seed=0)
    x, y = moons.x_train, moons.y_train
    mlp.train(p0, x, y, [0.1, 0.2], 50, optimizer=opt)  # 2 to 4 rates, 100-step bucket
    mlp.train(p0, x, y, [0.1], 50, optimizer=opt)  # one rate is its own (padding-free) shape
    networks.train_snapshots(p0, x, y, [0.1, 0.2], 50, n_frames=6, optimizer=opt)
    before_mlp, before_net = mlp.trace_count(), networks.trace_count()
    mlp.train(p0, x, y, [0.5, 0.01, 3.0], 80, optimizer=opt, seed=4, layer_scales=[0.1, 1.0])
    mlp.train(p0, x, y, [optax.cosine_decay_schedule(0.1, 60)], 60, optimizer=opt)
    mlp.train(p0, x, y, [7.0], 99, optimizer=opt)
    networks.train_snapshots(p0, x, y, [0.02, 2.0, 0.7], 90, n_frames=6, optimizer=opt)
    assert mlp.trace_count() == before_mlp
    assert networks.trace_count() == before_net


def test_a_frozen_layer_keeps_its_weights_under_adam(moons):
    p0 = mlp.init((2, 8, 8, 2), seed=0)
    run = mlp.train(p0, moons.x_train, moons.y_train, [0.05], 40, layer_scales=[0.0, 1.0, 0.1],
                    optimizer=optax.adam)
    after = run.params_at(0)
    np.testing.assert_array_equal(after[0][0], p0[0][0])
    np.testing.assert_array_equal(after[0][1], p0[0][1])
    moved = [float(np.abs(after[i][0] - p0[i][0]).max()) for i in (1, 2)]
    assert moved[1] > 0 and moved[0] > 0
    # Adam's steps are about lr long, scaled by the layer's factor: 0.1 x lr x 40 steps at most
    assert moved[1] <= 0.1 * 0.05 * 40 * 1.01


def test_finetune_with_adam_matches_optax_and_freezing_keeps_task_a(moons):
    pre = finetune.pretrain()
    head = finetune.new_head(pre.hidden[-1], len(pre.tasks.classes_b), pre.seed)
    p0 = tuple(pre.params[:-1]) + (tuple(jax.numpy.asarray(a) for a in head),)
    _, loss_ref = optax_loop(optax.adam(0.01), p0, pre.tasks.xb, pre.tasks.yb, 30)
    run = finetune.finetune(pre, [0.01], 30, optimizer=optax.adam)
    np.testing.assert_allclose(run.b_train_loss[0], loss_ref, rtol=1e-5, atol=1e-6)
    frozen = finetune.finetune(pre, [0.01, 0.1], 30, freeze_lower=True, optimizer=optax.adam)
    np.testing.assert_array_equal(frozen.a_acc, np.repeat(frozen.a_acc[:, :1], 31, axis=1))
    assert np.all(frozen.b_acc[:, -1] > frozen.b_acc[:, 0])


def test_adam_at_a_huge_rate_diverges_without_nan(moons):
    p0 = mlp.init((2, 16, 2), seed=0)
    d = data.load("digits")
    run = mlp.train(mlp.init((64, 16, 10), seed=0), d.x_train, d.y_train, [1e-3, 1e3], 60,
                    evals=[(d.x_val, d.y_val)], optimizer=optax.adam)
    assert run.diverged_at[0] == -1 and run.diverged_at[1] >= 1
    for arr in (run.train_loss, run.train_acc, run.eval_loss, run.eval_acc, *jax.tree.leaves(run.params)):
        assert np.all(np.isfinite(arr))
    # frozen at its last good step: the weights are those of a run stopped just before it
    d1 = int(run.diverged_at[1])
    if d1 > 1:
        short = mlp.train(mlp.init((64, 16, 10), seed=0), d.x_train, d.y_train, [1e3], d1 - 1,
                          optimizer=optax.adam)
        np.testing.assert_allclose(flat(run.params_at(1)), flat(short.params_at(0)), rtol=1e-5)
    snaps = networks.train_snapshots(p0, moons.x_train, moons.y_train, [1e4], 30, n_frames=5,
                                     optimizer=optax.adam)
    assert snaps.diverged_at[0] >= 1
    assert all(np.all(np.isfinite(a)) for a in jax.tree.leaves(snaps.params))


def test_snapshots_follow_mlp_train_with_an_optimizer(moons):
    p0 = mlp.init((2, 8, 2), seed=0)
    opt = optimizers.maker("adagrad")
    run = mlp.train(p0, moons.x_train, moons.y_train, [0.1, 0.5], 60, optimizer=opt, batch_size=32)
    snaps = networks.train_snapshots(p0, moons.x_train, moons.y_train, [0.1, 0.5], 60, n_frames=7,
                                     optimizer=opt, batch_size=32)
    for i in range(2):
        np.testing.assert_allclose(flat(snaps.at(i, -1)), flat(run.params_at(i)), rtol=1e-5,
                                   atol=1e-6)


def test_range_test_runs_with_adam(moons):
    p0 = mlp.init((2, 16, 2), seed=0)
    r = lr_finder.range_test(p0, moons.x_train, moons.y_train, min_lr=1e-5, max_lr=10.0, steps=100,
                             optimizer=optax.adam)
    assert np.all(np.isfinite(r.smoothed)) and 1e-5 <= r.suggestion <= 10.0
    # the same curve as mlp.train with the same growing schedule
    sched = lr_finder.rate_schedule(1e-5, 10.0, 100)
    run = mlp.train(p0, moons.x_train, moons.y_train, [sched], 100, batch_size=64,
                    optimizer=optax.adam)
    _, loss = lr_finder.curve(run)
    np.testing.assert_allclose(r.raw, loss[: len(r.raw)], rtol=1e-6)


def test_bad_optimizer_arguments_get_clear_errors(moons):
    p0 = mlp.init((2, 4, 2))
    x, y = moons.x_train, moons.y_train
    with pytest.raises(ValueError, match="momentum"):
        mlp.train(p0, x, y, [0.1], 10, momentum=0.9, optimizer=optax.adam)
    with pytest.raises(ValueError, match="momentum"):
        networks.train_snapshots(p0, x, y, [0.1], 10, momentum=0.5, optimizer=optax.adam)
    with pytest.raises(ValueError, match="momentum"):
        finetune.finetune(finetune.pretrain(), [0.1], 10, momentum=0.5, optimizer=optax.adam)
    with pytest.raises(ValueError, match="callable"):
        mlp.train(p0, x, y, [0.1], 10, optimizer="adam")
    with pytest.raises(ValueError, match="hashable"):
        mlp.train(p0, x, y, [0.1], 10, optimizer=UnhashableMaker())
    # a partial is hashable: it works
    run = mlp.train(p0, x, y, [0.1], 10, optimizer=partial(optax.sgd, momentum=0.5, nesterov=True))
    assert np.all(np.isfinite(run.train_loss))


class UnhashableMaker:
    __hash__ = None

    def __call__(self, learning_rate):
        return optax.sgd(learning_rate)
