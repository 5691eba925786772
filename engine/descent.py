"""Gradient descent on a surface: one rate (`run`) or many at once (`sweep`).

The update is optax's ``sgd(lr, momentum=beta)`` written out (heavy ball)::

    v_{k+1} = g_k + beta * v_k,        g_k = grad f(x_k),  v_0 = 0
    x_{k+1} = x_k - lr_k * v_{k+1}

With beta = 0 this is plain gradient descent, x_{k+1} = x_k - lr_k * g_k.

One jitted ``lax.scan`` does all the steps for all the rates at once (the
points are held as a (2, n) array, so each step is one batched
value-and-gradient evaluation). Rates, schedules' values, the start point,
momentum and the step count are traced arguments; only array shapes are
static, and those come from a few fixed buckets (rates padded to 4, 16, 64,
...; up to 16 rates always compile for 1,000 steps, larger sweeps for 100, 250,
500 or 1,000), so a slider change never recompiles.

A run is frozen at the first step whose loss is non-finite or whose point
leaves the divergence box (``DIVERGENCE_FACTOR`` times the surface's extent
around its centre); ``diverged_at`` records that step. What is returned never
holds a NaN or an inf.

>>> from engine import surfaces
>>> t = run(surfaces.quadratic(1.0, 1.0), 0.5, steps=3, start=(1.0, 0.0))
>>> t.points[:, 0].tolist()
[1.0, 0.5, 0.25, 0.125]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from engine.surfaces import Surface

MAX_STEPS = 1000
STEP_BUCKETS = (100, 250, 500, 1000)
DIVERGENCE_FACTOR = 5.0

Rate = float | Callable[[int], float]

_traces = {"count": 0}


def trace_count() -> int:
    """How many times the descent kernel has been traced (one per compile)."""
    return _traces["count"]


@dataclass(frozen=True)
class Trajectory:
    """One run of gradient descent, as NumPy arrays.

    points: (steps+1, 2); losses: (steps+1,) with losses[k] = f(points[k]);
    lrs: (steps,), lrs[k] moved points[k] to points[k+1]; diverged_at: the
    first step whose point was non-finite or out of bounds (the run is frozen
    from there on), or None.
    """

    points: np.ndarray
    losses: np.ndarray
    lrs: np.ndarray
    diverged_at: int | None

    @property
    def steps(self) -> int:
        return len(self.lrs)

    @property
    def step_sizes(self) -> np.ndarray:
        """|x_{k+1} - x_k| for k = 0 .. steps-1, shape (steps,)."""
        return np.linalg.norm(np.diff(self.points, axis=0), axis=1)


class Sweep(Sequence[Trajectory]):
    """Many runs that differ only in their rate, held as batched arrays.

    points (n, steps+1, 2), losses (n, steps+1), lrs (n, steps),
    diverged_at (n,) with -1 where a run did not diverge. Indexing builds a
    :class:`Trajectory` on demand.
    """

    def __init__(self, points, losses, lrs, diverged_at):
        self.points = points
        self.losses = losses
        self.lrs = lrs
        self.diverged_at = diverged_at

    def __len__(self) -> int:
        return len(self.diverged_at)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        d = int(self.diverged_at[i])
        return Trajectory(
            points=np.asarray(self.points[i]),
            losses=np.asarray(self.losses[i]),
            lrs=np.asarray(self.lrs[i]),
            diverged_at=None if d < 0 else d,
        )


def step_bucket(steps: int) -> int:
    """The compiled length that holds ``steps`` steps: the smallest bucket >= steps."""
    for b in STEP_BUCKETS:
        if steps <= b:
            return b
    return steps


def rate_bucket(n: int) -> int:
    """Rates are padded to 4, 16, 64, 256 or 1,024 (then powers of 4) so shapes repeat."""
    b = 4
    while b < n:
        b *= 4
    return b


def rate_table(lr: Rate, steps: int) -> np.ndarray:
    """The rate used at each step 0 .. steps-1, shape (steps,), float32.

    ``lr`` is a number or a schedule ``step -> rate`` (e.g. from optax).

    >>> rate_table(0.1, 3).tolist()
    [0.10000000149011612, 0.10000000149011612, 0.10000000149011612]
    """
    if callable(lr):
        ks = np.arange(steps)
        try:
            table = np.asarray(jax.vmap(lr)(jnp.asarray(ks)), dtype=np.float32)
        except Exception:  # a schedule written with Python control flow
            table = np.asarray([float(lr(int(k))) for k in ks], dtype=np.float32)
        table = np.broadcast_to(table, (steps,)).copy()
    else:
        _check_rate(lr)
        table = np.full(steps, lr, dtype=np.float32)
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError("A learning-rate schedule must give finite, non-negative rates.")
    return table


def _check_rate(lr) -> None:
    if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating | np.integer):
        raise ValueError(f"A learning rate must be a number or a schedule, got {lr!r}.")
    if not math.isfinite(lr) or lr < 0:
        raise ValueError(f"A learning rate must be finite and non-negative, got {lr!r}.")


def _check(steps: int, momentum: float) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if not (math.isfinite(momentum) and 0.0 <= momentum < 1.0):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")


@partial(jax.jit, static_argnames=("family",))
def _descend(family, params, lrs, start, momentum, n_steps, center, half_box):
    """Heavy-ball GD for every rate at once, points held as (2, n) so the loss is evaluated batched.

    lrs: (S, n) rate per step and run. Returns time-major arrays:
    points (S+1, 2, n), losses (S+1, n), diverged_at (n,) (-1 where none).
    One value-and-gradient evaluation per step: the new point's loss (for
    the divergence check) and its gradient (for the next step) come together.
    """
    _traces["count"] += 1
    n = lrs.shape[1]

    def losses_and_sum(xy):
        f = family(xy, params)
        return f.sum(), f

    value_and_grad = jax.value_and_grad(losses_and_sum, has_aux=True)
    x0 = jnp.broadcast_to(start[:, None], (2, n))
    (_, f0), g0 = value_and_grad(x0)

    def step(carry, inputs):
        x, v, f, g, dead_at = carry
        k, lr = inputs
        v_new = g + momentum * v
        x_new = x - lr[None, :] * v_new
        (_, f_new), g_new = value_and_grad(x_new)
        bad = (
            ~jnp.isfinite(f_new)
            | ~jnp.all(jnp.isfinite(x_new), axis=0)
            | jnp.any(jnp.abs(x_new - center[:, None]) > half_box, axis=0)
        )
        live = (dead_at < 0) & (k < n_steps)
        dead_at = jnp.where(live & bad, k + 1, dead_at)
        move = (live & ~bad)[None, :]
        x = jnp.where(move, x_new, x)
        v = jnp.where(move, v_new, v)
        g = jnp.where(move, g_new, g)
        f = jnp.where(move[0], f_new, f)
        return (x, v, f, g, dead_at), (x, f)

    carry0 = (x0, jnp.zeros_like(x0), f0, g0, jnp.full((n,), -1, jnp.int32))
    ks = jnp.arange(lrs.shape[0], dtype=jnp.int32)
    (_, _, _, _, dead_at), (xs, fs) = jax.lax.scan(step, carry0, (ks, lrs))
    return jnp.concatenate([x0[None], xs]), jnp.concatenate([f0[None], fs]), dead_at


def _sweep_length(steps: int, n_bucket: int) -> int:
    """Compiled length: small sweeps (the pages' 1 to 16 rates) always use MAX_STEPS, so any
    step count up to 1,000 shares one compile; large sweeps use the smallest step bucket."""
    if n_bucket <= 16 and steps <= MAX_STEPS:
        return MAX_STEPS
    return step_bucket(steps)


def sweep(
    surface: Surface,
    lrs: Sequence[Rate],
    steps: int,
    start=None,
    momentum: float = 0.0,
) -> Sweep:
    """Run gradient descent once per rate in ``lrs``, in one jitted call batched over the rates.

    Each rate is a number or a schedule ``step -> rate``. Returns a
    :class:`Sweep` of ``len(lrs)`` trajectories of ``steps`` steps each.

    >>> from engine import surfaces
    >>> s = sweep(surfaces.quadratic(1.0, 1.0), [0.5, 2.5], steps=50)
    >>> s.diverged_at.tolist()[0], s[1].diverged_at is not None
    (-1, True)
    """
    _check(steps, momentum)
    lrs = list(lrs)
    if not lrs:
        raise ValueError("sweep needs at least one learning rate.")
    n = len(lrs)
    n_b = rate_bucket(n)
    s_b = _sweep_length(steps, n_b)
    table = np.zeros((s_b, n_b), dtype=np.float32)
    if any(callable(lr) for lr in lrs):
        for i, lr in enumerate(lrs):
            table[:steps, i] = rate_table(lr, steps)
    else:
        for lr in lrs:
            _check_rate(lr)
        table[:steps, :n] = np.asarray(lrs, dtype=np.float32)[None, :]
    x0 = np.asarray(surface.start if start is None else start, dtype=np.float32)
    if x0.shape != (2,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"start must be two finite numbers, got {start!r}.")
    points, losses, dead = _descend(
        surface.family,
        np.asarray(surface.params, dtype=np.float32),
        table,
        x0,
        np.float32(momentum),
        np.int32(steps),
        np.asarray(surface.center, dtype=np.float32),
        np.float32(DIVERGENCE_FACTOR * surface.extent),
    )
    points = np.asarray(points)[: steps + 1, :, :n].transpose(2, 0, 1)
    losses = np.asarray(losses)[: steps + 1, :n].T
    return Sweep(points, losses, table[:steps, :n].T, np.asarray(dead)[:n])


def run(surface: Surface, lr: Rate, steps: int, start=None, momentum: float = 0.0) -> Trajectory:
    """Run gradient descent at one rate (a number or a schedule) for ``steps`` steps.

    >>> from engine import surfaces
    >>> run(surfaces.quadratic(1.0, 1.0), 3.0, steps=40).diverged_at is not None
    True
    """
    return sweep(surface, [lr], steps, start=start, momentum=momentum)[0]
