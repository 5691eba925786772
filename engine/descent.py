"""Gradient descent on a surface with any optax optimizer: one rate (`run`), many at once
(`sweep`), or many thousands keeping only the end (`sweep_final`).

The update is optax's own, inside the loop::

    g_k      = grad f(x_k) + noise * xi_k          xi_k ~ N(0, I), the same for every run
    u, state = opt.update(g_k, state, x_k)
    x_{k+1}  = optax.apply_updates(x_k, u)

``optimizer=None`` is heavy-ball SGD, exactly ``optax.sgd(lr, momentum=beta)``::

    v_{k+1} = g_k + beta * v_k,    x_{k+1} = x_k - lr_k * v_{k+1}

(with beta = 0, plain gradient descent). Otherwise ``optimizer`` is a callable
``learning_rate -> optax.GradientTransformation`` such as ``optax.adam``; it is
called with a schedule that reads the traced rate table, so rates never
recompile; the optimizer itself is static (one compile per optimizer; use the
identical objects of :mod:`engine.optimizers` so a repeat call hits the cache).

One jitted loop does all the steps for all the runs at once. Each run's x and
y (and every optimizer state component) are separate (n,) arrays, so a step is
one batched value-and-gradient evaluation; the path is written one row per step
into a preallocated buffer. Rates, schedules' values, the start point,
momentum, noise, seed and the step count are traced; only shapes are static,
from a few buckets (rates padded to 4, 16, 64, ...; up to 16 rates always
compile for 1,000 steps, larger sweeps for 100, 250, 500 or 1,000), so a
slider change never recompiles.

A run is frozen at the first step whose loss is non-finite or whose point
leaves the divergence box (``DIVERGENCE_FACTOR`` times the surface's extent
around its centre, widened by 1 / (1 - beta) for momentum beta, since a stable
heavy ball can swing far before it settles); ``diverged_at`` records that
step. What is returned never holds a NaN or an inf.

>>> from engine import surfaces
>>> t = run(surfaces.quadratic(1.0, 1.0), 0.5, steps=3, start=(1.0, 0.0))
>>> t.points[:, 0].tolist()
[1.0, 0.5, 0.25, 0.125]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine.surfaces import Surface

MAX_STEPS = 1000
STEP_BUCKETS = (100, 250, 500, 1000)
DIVERGENCE_FACTOR = 5.0

Rate = float | Callable[[int], float]
Optimizer = Callable[..., optax.GradientTransformation] | None

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


@dataclass(frozen=True)
class Final:
    """The ends of many runs: points (n, 2), losses (n,), diverged_at (n,) (-1 where none).

    A diverged run's point and loss are where it was frozen (never NaN).
    """

    points: np.ndarray
    losses: np.ndarray
    diverged_at: np.ndarray

    def __len__(self) -> int:
        return len(self.diverged_at)


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


@lru_cache(maxsize=512)
def _schedule_table(lr: Callable, steps: int) -> np.ndarray:
    """A schedule's rates at steps 0 .. steps-1, evaluated once on the whole array of steps
    (most optax schedules are elementwise ``jnp``: one call, no per-step or vmap dispatch),
    cached per schedule object (``schedules.make`` returns the same object for the same
    arguments, so a rerun costs nothing)."""
    ks = np.arange(steps, dtype=np.int32)
    try:
        table = np.asarray(lr(ks), dtype=np.float32)
        if table.shape != (steps,):
            table = np.broadcast_to(table, (steps,))
    except Exception:  # not elementwise (e.g. optax's piecewise interpolation): one batched
        try:           # vmap call, ~5 ms, instead of 1,000 eager calls, ~1.5 s
            table = np.asarray(jax.vmap(lr)(ks), dtype=np.float32)
        except Exception:  # a schedule written with Python control flow
            table = np.asarray([float(lr(int(k))) for k in ks], dtype=np.float32)
    table = np.array(table, dtype=np.float32)
    table.flags.writeable = False
    return table


def rate_table(lr: Rate, steps: int) -> np.ndarray:
    """The rate used at each step 0 .. steps-1, shape (steps,), float32.

    ``lr`` is a number or a schedule ``step -> rate`` (e.g. from optax).

    >>> rate_table(0.1, 3).tolist()
    [0.10000000149011612, 0.10000000149011612, 0.10000000149011612]
    """
    if callable(lr):
        try:
            table = _schedule_table(lr, steps).copy()
        except TypeError:  # an unhashable schedule: no cache
            table = _schedule_table.__wrapped__(lr, steps).copy()
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


_PLAIN = {float, int, np.float64, np.float32, np.int64, np.int32}  # not bool: refused by name


def _check_rates(lrs: list, plain: bool) -> np.ndarray:
    """Rates as float32, checked all at once when ``plain`` (all Python floats and ints);
    numpy scalars, bools and junk are checked one by one."""
    if not plain:
        for lr in lrs:
            _check_rate(lr)
    rates = np.asarray(lrs, dtype=np.float64)
    if not (np.all(np.isfinite(rates)) and np.all(rates >= 0)):
        bad = next(lr for lr in lrs if not (math.isfinite(lr) and lr >= 0))
        raise ValueError(f"A learning rate must be finite and non-negative, got {bad!r}.")
    return rates.astype(np.float32)


def _check_steps(steps: int) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")


def _check_momentum(momentum, n: int, optimizer: Optimizer) -> np.ndarray:
    """Momentum as one value per run, each in [0, 1); 0 when an optimizer is given."""
    m = np.asarray(momentum, dtype=np.float64)
    if m.ndim == 0:
        m = np.full(n, float(m))
    if m.shape != (n,):
        raise ValueError(f"momentum must be a number or one value per rate ({n}), "
                         f"got shape {m.shape}.")
    if not (np.all(np.isfinite(m)) and np.all(m >= 0.0) and np.all(m < 1.0)):
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    if optimizer is not None and np.any(m != 0.0):
        raise ValueError("momentum is the heavy ball's (optimizer=None); with an optax "
                         "optimizer set its own momentum, e.g. partial(optax.sgd, momentum=0.9).")
    return m


def _check_noise(noise, seed) -> None:
    if isinstance(noise, bool) or not isinstance(noise, int | float | np.floating | np.integer) \
            or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite, non-negative number, got {noise!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**31:
        raise ValueError(f"seed must be an integer from 0 to 2**31 - 1, got {seed!r}.")


def _optimizer_momentum(optimizer: Optimizer) -> float:
    """The momentum an optax factory was given (e.g. partial(optax.sgd, momentum=0.9)), else 0."""
    m = getattr(optimizer, "keywords", {}).get("momentum") if optimizer is not None else None
    return float(m) if isinstance(m, int | float) and 0 <= m < 1 else 0.0


def half_box(surface: Surface, momentum) -> np.ndarray:
    """Half-width of each run's divergence box: DIVERGENCE_FACTOR * extent / (1 - beta).

    A heavy ball with momentum beta that theory calls stable can swing out far
    before it settles (its transient grows like 1 / (1 - beta)); the box must let
    it, so that no stable run is ever called diverged.

    >>> from engine import surfaces
    >>> half_box(surfaces.quadratic(), [0.0, 0.9]).round(1).tolist()
    [20.0, 200.0]
    """
    return np.float32(DIVERGENCE_FACTOR * surface.extent) / (1.0 - np.asarray(momentum, np.float32))


def _unit_noise(seed, n_rows: int):
    """Row k is N(0, I_2) drawn from (seed, k) alone, so a run's noise does not depend on
    how many steps or rates were compiled with it."""
    key = jax.random.key(seed)
    return jax.vmap(lambda k: jax.random.normal(jax.random.fold_in(key, k), (2,), jnp.float32))(
        jnp.arange(n_rows))


def gradient_noise(seed: int, steps: int) -> np.ndarray:
    """The unit noise xi_k (steps, 2) that step k adds, times ``noise``, to the gradient.

    >>> gradient_noise(0, 3).shape
    (3, 2)
    """
    _check_noise(0.0, seed)
    return np.asarray(_unit_noise(seed, steps))


FINAL_BLOCK = 512  # sweep_final runs its runs in blocks of this many (they stay in cache)


@partial(jax.jit, static_argnames=("family", "optimizer", "keep_path", "length"))
def _descend(family, optimizer, keep_path, length, params, table, x0, momentum, box, n_steps,
             center, noise, seed):
    """Run the optimizer for every column of ``table`` (S, n) at once.

    x0 (2,) start; momentum (n,) (only for optimizer None); box (n,) half-widths
    of the divergence boxes around ``center`` (2,); noise () std of the
    gradient noise, drawn from ``seed``, one (S, 2) sequence shared by all runs.
    Returns, time-major, xs, ys, fs (S+1, n) if ``keep_path`` (else the final
    (n,) rows) and diverged_at (n,) (-1 where none).
    """
    _traces["count"] += 1
    n = table.shape[1]
    kicks = noise * _unit_noise(seed, length)
    if not keep_path and n > FINAL_BLOCK and n % FINAL_BLOCK == 0:
        nb = n // FINAL_BLOCK
        split = (table.reshape(table.shape[0], nb, FINAL_BLOCK).transpose(1, 0, 2),
                 momentum.reshape(nb, FINAL_BLOCK), box.reshape(nb, FINAL_BLOCK))
        out = jax.lax.map(lambda a: _loop(family, optimizer, False, length, params, a[0], x0,
                                          a[1], a[2], n_steps, center, kicks), split)
        return tuple(o.reshape(n) for o in out)
    return _loop(family, optimizer, keep_path, length, params, table, x0, momentum, box,
                 n_steps, center, kicks)


def _loop(family, optimizer, keep_path, length, params, table, x0, momentum, box, n_steps,
          center, kicks):
    n_rows, n = length, table.shape[1]

    def total(p):
        f = family(p, params)
        return f.sum(), f

    value_and_grad = jax.value_and_grad(total, has_aux=True)

    def schedule(count):  # a (1, n) table holds constant rates
        return table[jnp.minimum(count, table.shape[0] - 1)]

    opt = optax.sgd(schedule, momentum=momentum) if optimizer is None else optimizer(schedule)
    p0 = (jnp.full((n,), x0[0]), jnp.full((n,), x0[1]))
    (_, f0), g0 = value_and_grad(p0)

    def candidate(k, p, state, g):
        """Step k proposed from (p, state, g): the new (point, state, loss, gradient) and
        whether it is ok (isfinite(f_new) & inside the box; NaN fails the comparisons)."""
        g_noisy = (g[0] + kicks[k, 0], g[1] + kicks[k, 1])
        updates, state_new = opt.update(g_noisy, state, p)
        p_new = optax.apply_updates(p, updates)
        (_, f_new), g_new = value_and_grad(p_new)
        ok = (jnp.isfinite(f_new)
              & (jnp.abs(p_new[0] - center[0]) <= box) & (jnp.abs(p_new[1] - center[1]) <= box))
        return (p_new, state_new, f_new, g_new), ok

    # The loop carries the next step's candidate and its ok flag, computed at the end of the
    # previous iteration: being loop outputs, they are materialised once, so accepting or
    # freezing a run is a plain select per array. (Computed inside the iteration, XLA fused
    # the whole step into each of the ~8 selects, recomputing it 8 times.)
    def body(k, carry):
        cur, cand, ok, dead_at, path = carry
        live = (dead_at < 0) & (k < n_steps)
        dead_at = jnp.where(live & ~ok, k + 1, dead_at)
        move = live & ok

        def keep(new, old):  # per-run arrays follow `move`; shared scalars (step counts) go on
            return jnp.where(move, new, old) if jnp.shape(new) == move.shape else new

        cur = jax.tree.map(keep, cand, cur)
        p, state, f, g = cur
        cand, ok = candidate(jnp.minimum(k + 1, n_rows - 1), p, state, g)
        if keep_path:
            points, fs = path
            path = (points.at[k + 1].set(jnp.stack(p)), fs.at[k + 1].set(f))
        return cur, cand, ok, dead_at, path

    state0 = opt.init(p0)
    path0 = ()
    if keep_path:  # time-major (S+1, 2, n) and (S+1, n): the host returns transposed views
        path0 = (jnp.zeros((n_rows + 1, 2, n), jnp.float32).at[0].set(jnp.stack(p0)),
                 jnp.zeros((n_rows + 1, n), jnp.float32).at[0].set(f0))
    cand0, ok0 = candidate(0, p0, state0, g0)
    carry0 = ((p0, state0, f0, g0), cand0, ok0, jnp.full((n,), -1, jnp.int32), path0)
    (p, _, f, _), _, _, dead_at, path = jax.lax.fori_loop(0, n_rows, body, carry0)
    if keep_path:
        return (*path, dead_at)
    return p[0], p[1], f, dead_at


def _sweep_length(steps: int, n_bucket: int) -> int:
    """Compiled length: small sweeps (the pages' 1 to 16 rates) always use MAX_STEPS, so any
    step count up to 1,000 shares one compile; large sweeps use the smallest step bucket."""
    if n_bucket <= 16 and steps <= MAX_STEPS:
        return MAX_STEPS
    return step_bucket(steps)


def _prepare(surface, lrs, steps, start, momentum, optimizer, noise, seed, length,
             one_row=False):
    """Checked, padded kernel arguments (everything but the static ones), and the compiled
    length. ``one_row``: constant rates go in a (1, n) table (sweep_final: 16,384 runs would
    otherwise send a 32 MB table); a schedule always gets the full (length, n) table."""
    _check_steps(steps)
    _check_noise(noise, seed)
    lrs = list(lrs)
    if not lrs:
        raise ValueError("a sweep needs at least one learning rate.")
    n = len(lrs)
    beta = _check_momentum(momentum, n, optimizer)
    n_b = rate_bucket(n)
    s_b = length(steps, n_b)
    plain = set(map(type, lrs)) <= _PLAIN  # one vectorised check of the rates
    if not plain and any(callable(lr) for lr in lrs):
        table = np.zeros((s_b, n_b), dtype=np.float32)
        for i, lr in enumerate(lrs):
            table[:steps, i] = rate_table(lr, steps)
    elif one_row:
        table = np.zeros((1, n_b), dtype=np.float32)
        table[0, :n] = _check_rates(lrs, plain)
    else:  # the same shape as a schedule's table: switching to a schedule never recompiles
        table = np.zeros((s_b, n_b), dtype=np.float32)
        table[:steps, :n] = _check_rates(lrs, plain)[None, :]
    x0 = np.asarray(surface.start if start is None else start, dtype=np.float32)
    if x0.shape != (2,) or not np.all(np.isfinite(x0)):
        raise ValueError(f"start must be two finite numbers, got {start!r}.")
    beta_b = np.zeros(n_b, dtype=np.float32)
    beta_b[:n] = beta
    box = half_box(surface, np.maximum(beta_b, _optimizer_momentum(optimizer)))
    args = (
        np.asarray(surface.params, dtype=np.float32),
        table,
        x0,
        beta_b,
        box.astype(np.float32),
        np.int32(steps),
        np.asarray(surface.center, dtype=np.float32),
        np.float32(noise),
        np.int32(seed),
    )
    return n, s_b, table, args


def sweep(
    surface: Surface,
    lrs: Sequence[Rate],
    steps: int,
    start=None,
    momentum: float = 0.0,
    *,
    optimizer: Optimizer = None,
    noise: float = 0.0,
    seed: int = 0,
) -> Sweep:
    """Run the optimizer once per rate in ``lrs``, in one jitted call batched over the rates.

    Each rate is a number or a schedule ``step -> rate``. ``optimizer``: None for
    heavy-ball SGD with ``momentum`` (``optax.sgd(lr, momentum=momentum)``), or
    a callable ``learning_rate -> optax.GradientTransformation``. ``noise``:
    the standard deviation of Gaussian noise added to every gradient, the same
    sequence for every rate, reproducible from ``seed``. Returns a
    :class:`Sweep` of ``len(lrs)`` trajectories of ``steps`` steps each.

    >>> from engine import surfaces
    >>> s = sweep(surfaces.quadratic(1.0, 1.0), [0.5, 2.5], steps=50)
    >>> s.diverged_at.tolist()[0], s[1].diverged_at is not None
    (-1, True)
    """
    lrs = list(lrs)
    # Large sweeps (grids) of constant rates send one row of rates, not a (steps, n) table;
    # the pages' small sweeps keep the full table, so switching to a schedule never recompiles.
    n, s_b, table, args = _prepare(surface, lrs, steps, start, momentum, optimizer, noise,
                                   seed, _sweep_length, one_row=len(lrs) > 16)
    points, fs, dead = _descend(surface.family, optimizer, True, s_b, *args)
    # Views, no copy: (S+1, 2, n) -> (n, steps+1, 2) and (S+1, n) -> (n, steps+1).
    points = np.asarray(points)[: steps + 1, :, :n].transpose(2, 0, 1)
    losses = np.asarray(fs)[: steps + 1, :n].T
    rates = table[:steps, :n].T if len(table) > 1 else np.broadcast_to(table[0, :n, None],
                                                                        (n, steps))
    return Sweep(points, losses, rates, np.asarray(dead)[:n])


def sweep_final(
    surface: Surface,
    lrs: Sequence[Rate],
    steps: int,
    start=None,
    momentum: float | Sequence[float] = 0.0,
    *,
    optimizer: Optimizer = None,
    noise: float = 0.0,
    seed: int = 0,
) -> Final:
    """The same runs as :func:`sweep`, keeping only where each one ended: for maps of many
    thousands of runs. ``momentum`` may be one number or one value per rate.

    >>> from engine import surfaces
    >>> f = sweep_final(surfaces.quadratic(1.0, 1.0), [0.5, 0.5, 2.5], 60, momentum=[0.0, 0.5, 0.0])
    >>> f.diverged_at.tolist(), bool(f.losses[0] < 1e-12)
    ([-1, -1, 7], True)
    """
    n, s_b, _, args = _prepare(surface, lrs, steps, start, momentum, optimizer, noise, seed,
                               lambda s, _n: step_bucket(s), one_row=True)
    x, y, f, dead = _descend(surface.family, optimizer, False, s_b, *args)
    points = np.stack([np.asarray(x)[:n], np.asarray(y)[:n]], axis=-1)
    return Final(points, np.asarray(f)[:n], np.asarray(dead)[:n])


def run(
    surface: Surface,
    lr: Rate,
    steps: int,
    start=None,
    momentum: float = 0.0,
    *,
    optimizer: Optimizer = None,
    noise: float = 0.0,
    seed: int = 0,
) -> Trajectory:
    """Run the optimizer at one rate (a number or a schedule) for ``steps`` steps.

    >>> from engine import surfaces
    >>> run(surfaces.quadratic(1.0, 1.0), 3.0, steps=40).diverged_at is not None
    True
    """
    return sweep(surface, [lr], steps, start=start, momentum=momentum, optimizer=optimizer,
                 noise=noise, seed=seed)[0]
