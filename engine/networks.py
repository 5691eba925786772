"""Small networks at several rates: regimes from loss curves, snapshots, and sharpness.

- :func:`diagnose_curve` names what a run did from its training-loss curve alone.
- :func:`train_snapshots` repeats :func:`engine.mlp.train`'s training (the same
  optax update for any optimizer, the same seeded mini-batches, the same
  divergence freeze) and keeps the weights at up to ``n_frames`` chosen steps,
  for animated decision boundaries and sharpness.
- :func:`sharpness` is the largest eigenvalue of the training loss's Hessian,
  by power iteration on Hessian-vector products::

      v <- H v / ||H v||,   lambda = v . H v,   H v = d/de grad f(theta + e v) at e = 0

  Full-batch gradient descent at a fixed rate is stable on a quadratic only
  while lambda < 2 / lr; in networks, sharpness tends to rise until it hovers
  near 2 / lr (the "edge of stability", Cohen et al. 2021).

>>> import numpy as np
>>> diagnose_curve(np.array([1.0, 0.5, 0.3, 0.25, 0.24, 0.24])).regime.value
'converged'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from engine import mlp
from engine.descent import rate_bucket, rate_table, step_bucket
from engine.diagnose import Regime, is_blowing_up
from engine.textlimits import MAX_LIST_CHARS, list_parts  # noqa: F401 (pages read it)

RISE_FRACTION = 0.01     # a rise counts if it exceeds this fraction of the curve's range
OSCILLATING_RISES = 0.1  # ... and oscillating needs rises on this fraction of steps (and >= 2)
SLOW_TAIL = 0.2          # slow: the last 20% of steps still cut the loss by ...
SLOW_TAIL_SHARE = 0.1    # ... more than 10% of the total drop, or
SLOW_TOTAL = 0.5         # the loss fell by less than half of its start
POWER_ITERS = 20

_traces = {"count": 0}


def trace_count() -> int:
    """How many times the snapshot or sharpness kernels have been traced."""
    return _traces["count"]


@dataclass(frozen=True)
class CurveDiagnosis:
    regime: Regime
    rises: int          # steps whose loss rose by more than RISE_FRACTION of the range
    drop: float         # start loss minus final loss
    tail_share: float   # share of the drop made in the last SLOW_TAIL of the run


def diagnose_curve(losses: np.ndarray, diverged_at: int | None = None) -> CurveDiagnosis:
    """Diverged / oscillating / slow / converged, from a training-loss curve (steps+1,).

    Priority: diverged (``diverged_at`` set, a non-finite loss, or the loss ends
    above its start and still growing) > oscillating (the loss rises on at
    least 10% of steps, and at least twice, by more than 1% of its range) >
    slow (fell by less than half of its start, or the last 20% of steps still
    made more than 10% of the drop: not settled within the budget) > converged.
    """
    f = np.asarray(losses, dtype=np.float64)
    if diverged_at is not None and diverged_at >= 0:
        f = f[: max(1, int(diverged_at))]
        return CurveDiagnosis(Regime.DIVERGED, 0, float(f[0] - f[-1]), 0.0)
    if not np.all(np.isfinite(f)) or is_blowing_up(f):
        return CurveDiagnosis(Regime.DIVERGED, 0, float(np.nan_to_num(f[0] - f[-1])), 0.0)
    span = max(float(f.max() - f.min()), 1e-12)
    rises = int(np.sum(np.diff(f) > RISE_FRACTION * span))
    drop = float(f[0] - f[-1])
    tail_start = int(round((1 - SLOW_TAIL) * (len(f) - 1)))
    tail_share = float((f[tail_start] - f[-1]) / drop) if drop > 0 else 1.0
    steps = len(f) - 1
    if rises >= 2 and rises >= OSCILLATING_RISES * steps:
        regime = Regime.OSCILLATING
    elif drop < SLOW_TOTAL * abs(f[0]) or tail_share > SLOW_TAIL_SHARE:
        regime = Regime.SLOW
    else:
        regime = Regime.CONVERGED
    return CurveDiagnosis(regime, rises, drop, tail_share)


def frame_steps(steps: int, n_frames: int) -> np.ndarray:
    """At most ``n_frames`` step indices from 0 to ``steps``, evenly spread, both ends included."""
    return np.unique(np.linspace(0, steps, min(steps + 1, n_frames)).round().astype(int))


@dataclass(frozen=True, eq=False)
class Snapshots:
    """Weights at chosen steps: ``steps`` (F,), ``params`` leaves with leading axes (n, F)."""

    steps: np.ndarray
    params: mlp.Params
    diverged_at: np.ndarray

    def at(self, i: int, f: int) -> mlp.Params:
        return jax.tree.map(lambda a: a[i, f], self.params)


@partial(jax.jit, static_argnames=("activation", "batch_size", "n_slots", "optimizer"))
def _snapshots(params0, x, y, lr_table, frame_of_step, momentum, n_steps, seed, activation,
               batch_size, n_slots, optimizer):
    """mlp._train's steps; the weights after step k go to slot ``frame_of_step[k]`` (last: none)."""
    _traces["count"] += 1
    n_train = x.shape[0]
    f0 = mlp.loss(params0, x, y, activation)
    bound = mlp.DIVERGENCE_FACTOR * f0
    key = jax.random.PRNGKey(seed)
    buf0 = jax.tree.map(lambda a: jnp.broadcast_to(a, (n_slots + 1,) + a.shape), params0)
    ones = (jnp.float32(1.0),) * len(params0)

    def one_rate(rates):
        opt = mlp.make_optimizer(optimizer, momentum, rates)

        def step(carry, inputs):
            p, state, dead_at, buf = carry
            k, slot = inputs
            if batch_size is None:
                g = jax.grad(mlp.loss)(p, x, y, activation)
            else:
                idx = jax.random.randint(jax.random.fold_in(key, k), (batch_size,), 0, n_train)
                g = jax.grad(mlp.loss)(p, x[idx], y[idx], activation)
            p_new, new_state = mlp.optimizer_step(opt, p, g, state, ones)
            f_new = mlp.loss(p_new, x, y, activation)
            (p, state), dead_at = mlp.freeze_on_divergence(
                k, n_steps, dead_at, p_new, f_new, bound, (p_new, new_state), (p, state))
            buf = jax.tree.map(lambda b, a: b.at[slot].set(a), buf, p)
            return (p, state, dead_at, buf), None

        ks = jnp.arange(rates.shape[0], dtype=jnp.int32)
        carry0 = (params0, opt.init(params0), jnp.int32(-1), buf0)
        (_, _, dead_at, buf), _ = jax.lax.scan(step, carry0, (ks, frame_of_step))
        return jax.tree.map(lambda b: b[:n_slots], buf), dead_at

    return jax.vmap(one_rate)(lr_table)


def train_snapshots(params0: mlp.Params, x, y, lrs: Sequence[float], steps: int, *,
                    n_frames: int = 40, momentum: float = 0.0, batch_size: int | None = None,
                    seed: int = 0, activation: str = "tanh",
                    optimizer: mlp.Maker | None = None) -> Snapshots:
    """The weights of ``mlp.train(params0, x, y, lrs, steps, ...)`` at up to ``n_frames`` steps.

    Compiled once per architecture, data shape, ``n_frames`` and optimizer; rates,
    steps (within a bucket), momentum and seed are traced. ``optimizer`` and
    ``momentum`` as in :func:`engine.mlp.train`.
    """
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 1 <= steps <= mlp.MAX_STEPS:
        raise ValueError(f"steps must be an integer from 1 to {mlp.MAX_STEPS}, got {steps!r}.")
    mlp.check_optimizer(optimizer, momentum)
    if batch_size is not None and batch_size >= len(x):
        batch_size = None
    lrs = list(lrs)
    n, s_b, n_b = len(lrs), step_bucket(steps), rate_bucket(len(lrs))
    if s_b not in (100, 250, 500, 1000):
        s_b = mlp.MAX_STEPS
    table = np.zeros((n_b, s_b), np.float32)
    for i, lr in enumerate(lrs):
        table[i, :steps] = rate_table(lr, steps)
    shown = frame_steps(steps, n_frames)
    slot_of_step = np.full(s_b, n_frames, np.int32)  # weights after step k are step k+1's
    for f, s in enumerate(shown):
        if s >= 1:
            slot_of_step[s - 1] = f
    buf, dead = _snapshots(params0, jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.int32), table,
                           slot_of_step, jnp.float32(momentum), jnp.int32(steps), jnp.int32(seed),
                           activation, batch_size, n_frames, optimizer)
    # slot 0 (step 0) is never written by a step: it holds params0 from the broadcast buffer
    params = jax.tree.map(lambda a: np.asarray(a)[:n, : len(shown)], buf)
    return Snapshots(shown, params, np.asarray(dead)[:n])


@partial(jax.jit, static_argnames=("activation", "iters"))
def _sharpness(params, x, y, v0, activation, iters):
    _traces["count"] += 1

    def grad(p):
        return jax.grad(mlp.loss)(p, x, y, activation)

    def hvp(p, v):
        return jax.jvp(grad, (p,), (v,))[1]

    def norm(v):
        return jnp.sqrt(sum(jnp.sum(a * a) for a in jax.tree.leaves(v)))

    def one(p):
        def body(_, v):
            hv = hvp(p, v)
            return jax.tree.map(lambda a: a / (norm(hv) + 1e-12), hv)

        v = jax.lax.fori_loop(0, iters, body, jax.tree.map(lambda a: a / norm(v0), v0))
        hv = hvp(p, v)
        return sum(jnp.sum(a * b) for a, b in zip(jax.tree.leaves(v), jax.tree.leaves(hv),
                                                   strict=True))

    return jax.vmap(one)(params)


def sharpness(params, x, y, *, iters: int = POWER_ITERS, activation: str = "tanh",
              seed: int = 0) -> np.ndarray:
    """Largest Hessian eigenvalue of the training loss for a batch of weights (leading axis m).

    Power iteration converges to the eigenvalue of largest magnitude; early in
    training that is the top (positive) one. Returns a NumPy array (m,).
    """
    leaves = jax.tree.leaves(params)
    m = leaves[0].shape[0]
    keys = jax.random.split(jax.random.PRNGKey(seed), len(leaves))
    single = jax.tree.map(lambda a: a[0], params)
    v0 = jax.tree.unflatten(jax.tree.structure(single), [
        jax.random.normal(k, a.shape[1:], jnp.float32) for k, a in zip(keys, leaves, strict=True)])
    out = _sharpness(jax.tree.map(jnp.asarray, params), jnp.asarray(x, jnp.float32),
                     jnp.asarray(y, jnp.int32), v0, activation, int(iters))
    return np.asarray(out)[:m]


def sharpness_track(snaps: Snapshots, x, y, **kw) -> np.ndarray:
    """Sharpness at every snapshot: (n, F)."""
    n, f = snaps.diverged_at.shape[0], len(snaps.steps)
    flat = jax.tree.map(lambda a: a.reshape((n * f,) + a.shape[2:]), snaps.params)
    return sharpness(flat, x, y, **kw).reshape(n, f)


def grid_axes(x: np.ndarray, n: int = 40, pad: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Evenly spaced grid coordinates covering the 2-D points ``x`` with a margin."""
    lo, hi = x.min(axis=0) - pad, x.max(axis=0) + pad
    return np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)


@partial(jax.jit, static_argnames=("activation",))
def _grid_classes(params, pts, activation):
    _traces["count"] += 1
    return jax.vmap(jax.vmap(lambda p: jnp.argmax(mlp.predict(p, pts, activation), axis=-1)))(params)


def grid_classes(snaps: Snapshots, xs: np.ndarray, ys: np.ndarray,
                 activation: str = "tanh") -> np.ndarray:
    """Predicted class on the grid ``xs`` x ``ys`` at every snapshot: int8 (n, F, len(ys), len(xs))."""
    gx, gy = np.meshgrid(xs, ys)
    pts = jnp.asarray(np.stack([gx.ravel(), gy.ravel()], axis=1), jnp.float32)
    out = np.asarray(_grid_classes(jax.tree.map(jnp.asarray, snaps.params), pts, activation))
    return out.astype(np.int8).reshape(out.shape[:2] + (len(ys), len(xs)))


def parse_rates(text: str, default: Sequence[float], lo: float = 1e-4, hi: float = 10.0,
                max_n: int = 4) -> tuple[tuple[float, ...], list[str]]:
    """Rates from text like "0.01, 0.1, 1": (rates, warnings); junk is dropped with a warning.

    >>> parse_rates("0.1, abc, 1e9", (0.5,))
    ((0.1,), ['"abc" is not a number; ignored.', '1e+09 is outside 0.0001 to 10; ignored.'])
    """
    parts, refusal = list_parts(text, seps=",;")
    if parts is None:
        return tuple(default), [f"{refusal} Using " + ", ".join(f"{r:g}" for r in default) + "."]
    rates: list[float] = []
    warnings: list[str] = []
    for part in parts:
        try:
            v = float(part)
        except ValueError:
            warnings.append(f'"{part[:20]}" is not a number; ignored.')
            continue
        if not np.isfinite(v) or not lo <= v <= hi:
            warnings.append(f"{v:g} is outside {lo:g} to {hi:g}; ignored.")
            continue
        if v not in rates:
            rates.append(v)
    if len(rates) > max_n:
        warnings.append(f"At most {max_n} rates at once; using the first {max_n}.")
        rates = rates[:max_n]
    if not rates:
        warnings.append("No usable learning rate; using the defaults "
                        + ", ".join(f"{r:g}" for r in default) + ".")
        rates = list(default)
    return tuple(rates), warnings


def parse_hidden(text: str, default: tuple[int, ...], max_units: int = 256,
                 max_layers: int = 3) -> tuple[tuple[int, ...], list[str]]:
    """Hidden layer sizes from text like "16, 16": (sizes, warnings); bad input gives the default.

    >>> parse_hidden("0", (16,))
    ((16,), ['Every hidden layer needs 1 to 256 units; got "0". Using 16.'])
    """
    fallback = ", ".join(str(h) for h in default)
    parts, refusal = list_parts(text)
    if parts is None:
        return default, [f"{refusal} Using {fallback}."]
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        return default, [f'Hidden layers must be whole numbers like "16, 16"; got "{str(text)[:30]}". '
                         f"Using {fallback}."]
    if not 1 <= len(sizes) <= max_layers:
        return default, [f"Use 1 to {max_layers} hidden layers; got {len(sizes)}. Using {fallback}."]
    if any(not 1 <= s <= max_units for s in sizes):
        return default, [f'Every hidden layer needs 1 to {max_units} units; got "{str(text)[:30]}". '
                         f"Using {fallback}."]
    return sizes, []
