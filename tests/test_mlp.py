"""The small-network engine: matches optax, trains, freezes on divergence, compiles once."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from engine import data, mlp


@pytest.fixture(scope="module")
def moons():
    return data.load("moons", seed=0)


def test_data_sets_load_and_split():
    for name in data.NAMES:
        d = data.load(name, seed=1)
        assert len(d.x_train) > len(d.x_val) > 0
        assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int32
        assert set(np.unique(d.y_train)) == set(range(d.n_classes))
    assert data.load("digits").n_features == 64
    with pytest.raises(ValueError, match="Unknown data set"):
        data.load("imagenet")


@pytest.mark.parametrize("beta", [0.0, 0.9])
def test_full_batch_training_matches_optax_sgd(moons, beta):
    p0 = mlp.init((2, 8, 2), seed=3)
    opt = optax.sgd(0.3, momentum=beta or None)
    p, state = p0, opt.init(p0)
    grad = jax.jit(jax.grad(mlp.loss))
    losses = [float(mlp.loss(p, moons.x_train, moons.y_train))]
    for _ in range(40):
        updates, state = opt.update(grad(p, moons.x_train, moons.y_train), state)
        p = optax.apply_updates(p, updates)
        losses.append(float(mlp.loss(p, moons.x_train, moons.y_train)))
    run = mlp.train(p0, moons.x_train, moons.y_train, [0.3], 40, momentum=beta)
    np.testing.assert_allclose(run.train_loss[0], losses, rtol=1e-4, atol=1e-5)
    for (w, b), (w2, b2) in zip(run.params_at(0), p, strict=True):
        np.testing.assert_allclose(w, w2, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(b, b2, rtol=1e-4, atol=1e-5)


def test_frozen_layer_does_not_move(moons):
    p0 = mlp.init((2, 8, 2), seed=0)
    run = mlp.train(p0, moons.x_train, moons.y_train, [0.5], 30, layer_scales=[0.0, 1.0])
    np.testing.assert_array_equal(run.params_at(0)[0][0], p0[0][0])
    assert not np.allclose(run.params_at(0)[1][0], p0[1][0])


def test_divergence_is_frozen_and_finite():
    d = data.load("digits")
    p0 = mlp.init((64, 16, 10), seed=0)
    run = mlp.train(p0, d.x_train, d.y_train, [0.1, 1e4], 60, evals=[(d.x_val, d.y_val)])
    assert run.diverged_at[0] == -1 and 1 <= run.diverged_at[1] <= 10
    for arr in (run.train_loss, run.train_acc, run.eval_loss, run.eval_acc):
        assert np.all(np.isfinite(arr))
    assert run.train_loss[0, -1] < run.train_loss[0, 0]


def test_rates_momentum_scales_and_seed_do_not_recompile(moons):
    p0 = mlp.init((2, 8, 2), seed=0)
    mlp.train(p0, moons.x_train, moons.y_train, [0.1], 50, batch_size=32)  # the 1-rate shape
    mlp.train(p0, moons.x_train, moons.y_train, [0.1, 0.2], 50, batch_size=32)  # 2 to 4 rates
    before = mlp.trace_count()
    mlp.train(mlp.init((2, 8, 2), seed=5), moons.x_train, moons.y_train, [0.2, 0.5, 1.0], 80,
              momentum=0.9, layer_scales=[0.0, 1.0], batch_size=32, seed=7)
    mlp.train(p0, moons.x_train, moons.y_train, [optax.linear_schedule(0.0, 1.0, 20)], 99,
              batch_size=32, seed=1)
    assert mlp.trace_count() == before


def test_minibatch_is_seeded(moons):
    p0 = mlp.init((2, 8, 2), seed=0)
    a = mlp.train(p0, moons.x_train, moons.y_train, [0.5], 30, batch_size=16, seed=1)
    b = mlp.train(p0, moons.x_train, moons.y_train, [0.5], 30, batch_size=16, seed=1)
    c = mlp.train(p0, moons.x_train, moons.y_train, [0.5], 30, batch_size=16, seed=2)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    assert not np.array_equal(a.train_loss, c.train_loss)


def test_bad_arguments_get_clear_errors(moons):
    p0 = mlp.init((2, 4, 2))
    with pytest.raises(ValueError, match="steps"):
        mlp.train(p0, moons.x_train, moons.y_train, [0.1], 0)
    with pytest.raises(ValueError, match="finite"):
        mlp.train(p0, moons.x_train, moons.y_train, [float("inf")], 10)
    with pytest.raises(ValueError, match="non-empty"):
        mlp.train(p0, moons.x_train[:0], moons.y_train[:0], [0.1], 10)
    with pytest.raises(ValueError, match="at least"):
        mlp.init((2, 0, 2))
    assert jnp.isfinite(mlp.loss(p0, moons.x_train, moons.y_train))
