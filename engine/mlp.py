"""A small multilayer perceptron in pure JAX, trained at many learning rates in one call.

Model: h_0 = x, h_{i+1} = act(h_i W_i + b_i), logits = h_{n-1} W_{n-1} + b_{n-1};
loss = mean softmax cross-entropy (optax). Training is any optax optimizer,
applied with optax's own ``init`` / ``update`` / ``apply_updates``, its
learning rate a schedule reading the run's rate table (so rates stay traced)::

    u_k = opt.update(g_k, state_k, theta_k)      (optimizer(lambda k: lr_k))
    theta_{k+1} = theta_k + s_layer * u_k

``optimizer=None`` is heavy-ball SGD, ``optax.sgd(lr, momentum=beta)``::

    v_{k+1} = g_k + beta * v_k,   theta_{k+1} = theta_k - lr_k * s_layer * v_{k+1}

where ``s_layer`` is a per-layer rate multiplier (0 freezes a layer; 0.1 on
lower layers gives discriminative rates). Rates (as a table, so schedules
work), layer multipliers, momentum, the step count and the seed are traced
arguments; only shapes (architecture, data size, batch size, the step bucket,
the rate bucket) and the optimizer are static: one compile per architecture,
data shape and optimizer.

A run is frozen (weights and optimizer state) at the first step whose training
loss is non-finite or above ``DIVERGENCE_FACTOR`` times the starting loss;
``diverged_at`` records it and no NaN or inf is returned.

>>> from engine import data
>>> d = data.load("moons")
>>> params = init(sizes=(2, 16, 2), seed=0)
>>> run = train(params, d.x_train, d.y_train, [0.5], steps=50)
>>> bool(run.train_loss[0, -1] < run.train_loss[0, 0])
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.descent import Rate, rate_bucket, rate_table, step_bucket
from engine.optimizers import Maker

ACTIVATIONS = {"tanh": jnp.tanh, "relu": jax.nn.relu}
DIVERGENCE_FACTOR = 10.0
MAX_STEPS = 2000

Params = tuple[tuple[jax.Array, jax.Array], ...]

_traces = {"count": 0}


def trace_count() -> int:
    """How many times the training kernel has been traced (one per compile)."""
    return _traces["count"]


def init(sizes: Sequence[int], seed: int = 0) -> Params:
    """Weights W_i ~ N(0, 1 / fan_in) and zero biases for layer sizes e.g. (64, 32, 10)."""
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"An MLP needs at least an input and an output size >= 1, got {sizes}.")
    keys = jax.random.split(jax.random.PRNGKey(seed), len(sizes) - 1)
    return tuple(
        (jax.random.normal(k, (m, n), jnp.float32) / jnp.sqrt(jnp.float32(m)),
         jnp.zeros((n,), jnp.float32))
        for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
    )


def sizes_of(params: Params) -> tuple[int, ...]:
    return (params[0][0].shape[0],) + tuple(w.shape[1] for w, _ in params)


def predict(params: Params, x, activation: str = "tanh"):
    """Logits, shape (batch, classes)."""
    act = ACTIVATIONS[activation]
    h = x
    for w, b in params[:-1]:
        h = act(h @ w + b[None, :])
    w, b = params[-1]
    return h @ w + b[None, :]


def loss(params: Params, x, y, activation: str = "tanh"):
    """Mean softmax cross-entropy of integer labels y."""
    logits = predict(params, x, activation)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def accuracy(params: Params, x, y, activation: str = "tanh"):
    return jnp.mean(jnp.argmax(predict(params, x, activation), axis=-1) == y)


def loss_and_accuracy(params: Params, x, y, activation: str = "tanh"):
    """(mean cross-entropy, accuracy) from one forward pass."""
    logits = predict(params, x, activation)
    f = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return f, jnp.mean(jnp.argmax(logits, axis=-1) == y)


@dataclass(frozen=True, eq=False)
class TrainRun:
    """Training curves for n rates, as NumPy arrays.

    train_loss, train_acc: (n, steps+1), measured on the whole training set
    after k steps; eval_loss, eval_acc: (n, n_evals, steps+1) on each
    evaluation set; lrs: (n, steps); diverged_at: (n,), -1 where none;
    params: the final weights, each leaf with a leading axis of n.
    """

    lrs: np.ndarray
    train_loss: np.ndarray
    train_acc: np.ndarray
    eval_loss: np.ndarray
    eval_acc: np.ndarray
    diverged_at: np.ndarray
    params: Params

    def params_at(self, i: int) -> Params:
        return jax.tree.map(lambda a: a[i], self.params)


def check_optimizer(optimizer: Maker | None, momentum: float) -> None:
    """ValueError unless ``optimizer`` is None or a hashable callable, and ``momentum`` fits it.

    Momentum belongs to the default heavy-ball SGD; a given optimizer brings its
    own (e.g. ``functools.partial(optax.sgd, momentum=0.9)``), so momentum must be 0.
    """
    if not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    if optimizer is None:
        return
    if not callable(optimizer):
        raise ValueError(f"optimizer must be None or a callable learning_rate -> "
                         f"optax.GradientTransformation, got {optimizer!r}.")
    try:
        hash(optimizer)
    except TypeError:
        raise ValueError("optimizer must be hashable (it is a static argument of the compiled "
                         "kernel), e.g. optax.adam or functools.partial(optax.sgd, momentum=0.9)."
                         ) from None
    if momentum != 0.0:
        raise ValueError(f"momentum is for the default SGD; with an optimizer given it must be 0, "
                         f"got {momentum!r} (put momentum into the optimizer instead).")


def make_optimizer(optimizer: Maker | None, momentum, rates) -> optax.GradientTransformation:
    """``optimizer`` (default ``partial(optax.sgd, momentum=momentum)``) with the rate table
    ``rates`` (S,) as its schedule: step k uses ``rates[k]``, traced, so no rate recompiles."""
    make = partial(optax.sgd, momentum=momentum) if optimizer is None else optimizer
    return make(lambda count: rates[count])


def optimizer_step(opt: optax.GradientTransformation, params: Params, grads: Params, state,
                   layer_scales):
    """One optax step with per-layer multipliers: theta + s_layer * opt.update(g, state, theta).

    Returns (new params, new optimizer state).
    """
    updates, state = opt.update(grads, state, params)
    updates = tuple((uw * s, ub * s) for (uw, ub), s in zip(updates, layer_scales, strict=True))
    return optax.apply_updates(params, updates), state


def freeze_on_divergence(k, n_steps, dead_at, params_new, loss_new, bound, new, old):
    """The divergence rule shared by every trainer: keep ``new`` unless step k is past
    ``n_steps`` or diverged (non-finite weights or loss, or loss above ``bound``), in which
    case keep ``old``; the first diverging step k + 1 goes into ``dead_at`` (-1 until then).

    Returns (kept pytree, dead_at).
    """
    finite = jnp.all(jnp.array([jnp.all(jnp.isfinite(a)) for a in jax.tree.leaves(params_new)]))
    bad = ~finite | ~jnp.isfinite(loss_new) | (loss_new > bound)
    live = (dead_at < 0) & (k < n_steps)
    dead_at = jnp.where(live & bad, k + 1, dead_at)
    return jax.tree.map(partial(jnp.where, live & ~bad), new, old), dead_at


@partial(jax.jit, static_argnames=("activation", "batch_size", "optimizer"))
def _train(params0, x, y, evals, lr_table, layer_scales, momentum, n_steps, seed,
           activation, batch_size, optimizer):
    """Scan the optimizer for each row of ``lr_table`` (n, S); metrics are time-major (S+1, n, ...).

    Full batch: one forward-backward pass per step gives the new weights'
    training loss, accuracy and the next step's gradient together.
    """
    _traces["count"] += 1
    n_train = x.shape[0]
    value_grad = jax.value_and_grad(loss_and_accuracy, has_aux=True)

    def measure(p):
        """((train loss, train acc), gradient for the next step, eval losses, eval accs)."""
        if batch_size is None:
            (f, a), g = value_grad(p, x, y, activation)
        else:
            f, a = loss_and_accuracy(p, x, y, activation)
            g = jax.tree.map(jnp.zeros_like, p)
        ev = [loss_and_accuracy(p, ex, ey, activation) for ex, ey in evals]
        el = jnp.stack([e[0] for e in ev]) if ev else jnp.zeros(0)
        ea = jnp.stack([e[1] for e in ev]) if ev else jnp.zeros(0)
        return (f, a, el, ea), g

    m0, g0 = measure(params0)
    bound = DIVERGENCE_FACTOR * m0[0]
    key = jax.random.PRNGKey(seed)

    def one_rate(rates):
        opt = make_optimizer(optimizer, momentum, rates)

        def step(carry, k):
            p, state, m, g, dead_at = carry
            if batch_size is not None:
                idx = jax.random.randint(jax.random.fold_in(key, k), (batch_size,), 0, n_train)
                g = jax.grad(loss)(p, x[idx], y[idx], activation)
            p_new, new_state = optimizer_step(opt, p, g, state, layer_scales)
            m_new, g_new = measure(p_new)
            (p, state, m, g), dead_at = freeze_on_divergence(
                k, n_steps, dead_at, p_new, m_new[0], bound,
                (p_new, new_state, m_new, g_new), (p, state, m, g))
            return (p, state, m, g, dead_at), m

        carry0 = (params0, opt.init(params0), m0, g0, jnp.int32(-1))
        ks = jnp.arange(rates.shape[0], dtype=jnp.int32)
        (p, _, _, _, dead_at), ms = jax.lax.scan(step, carry0, ks)
        ms = jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]), m0, ms)
        return ms, dead_at, p

    return jax.vmap(one_rate, out_axes=(1, 0, 0))(lr_table)


def train(
    params0: Params,
    x: np.ndarray,
    y: np.ndarray,
    lrs: Sequence[Rate],
    steps: int,
    *,
    evals: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    momentum: float = 0.0,
    layer_scales: Sequence[float] | None = None,
    batch_size: int | None = None,
    seed: int = 0,
    activation: str = "tanh",
    optimizer: Maker | None = None,
) -> TrainRun:
    """Train ``params0`` on (x, y) once per rate in ``lrs`` (numbers or schedules), in one call.

    ``evals`` are extra (x, y) sets measured every step (e.g. validation, or
    the old task while fine-tuning). ``layer_scales`` multiplies each layer's
    rate (default all 1; 0 freezes a layer). ``batch_size`` None is full batch;
    otherwise each step draws a seeded random mini-batch. ``optimizer`` None is
    heavy-ball SGD with ``momentum`` (exactly ``optax.sgd(lr, momentum=momentum)``);
    otherwise a hashable ``learning_rate -> optax.GradientTransformation`` such as
    ``optax.adam`` (see :mod:`engine.optimizers`), compiled once per optimizer, with
    ``momentum`` 0.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be an integer from 1 to {MAX_STEPS}, got {steps!r}.")
    check_optimizer(optimizer, momentum)
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}, got {activation!r}.")
    if len(x) == 0 or len(x) != len(y):
        raise ValueError("Training data must be non-empty, with one label per row.")
    lrs = list(lrs)
    if not lrs:
        raise ValueError("train needs at least one learning rate.")
    n_layers = len(params0)
    scales = np.ones(n_layers, np.float32) if layer_scales is None else np.asarray(
        layer_scales, np.float32)
    if scales.shape != (n_layers,) or not np.all(np.isfinite(scales)) or np.any(scales < 0):
        raise ValueError(f"layer_scales needs {n_layers} finite, non-negative numbers.")
    if batch_size is not None and not batch_size >= 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}.")
    if batch_size is not None and batch_size >= len(x):
        batch_size = None
    # One rate (the range test, a single check run) is its own bucket: padding it to 4 rows
    # would train 3 unused networks.
    n, s_b = len(lrs), step_bucket(steps)
    n_b = 1 if n == 1 else rate_bucket(n)
    if s_b not in (100, 250, 500, 1000):
        s_b = MAX_STEPS
    table = np.zeros((n_b, s_b), np.float32)
    for i, lr in enumerate(lrs):
        table[i, :steps] = rate_table(lr, steps)
    evals = tuple((jnp.asarray(ex, jnp.float32), jnp.asarray(ey, jnp.int32)) for ex, ey in evals)
    ms, dead, p = _train(params0, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32), evals,
                         table, scales, jnp.float32(momentum), jnp.int32(steps), jnp.int32(seed),
                         activation, batch_size, optimizer)
    f, a, el, ea = (np.asarray(m)[: steps + 1, :n] for m in ms)
    return TrainRun(
        lrs=table[:n, :steps],
        train_loss=f.T,
        train_acc=a.T,
        eval_loss=np.moveaxis(el, 0, -1),
        eval_acc=np.moveaxis(ea, 0, -1),
        diverged_at=np.asarray(dead)[:n],
        params=jax.tree.map(lambda leaf: np.asarray(leaf)[:n], p),
    )
