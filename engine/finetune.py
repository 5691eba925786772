"""Fine-tuning without forgetting: pre-train on task A, fine-tune on task B at several rates.

Set-up (split digits, a new head per task): task A is telling some digits
apart (default 0-4), task B telling others apart (default 5-9). A network
``64 -> 32 -> 32 -> |A|`` is pre-trained on A once (seeded, cached per
process). Fine-tuning keeps its lower layers (the *body*), adds a fresh,
seeded head for B, and trains body + new head on B by SGD (or any optax
optimizer, see :func:`engine.mlp.train`)::

    v_{k+1} = g_k + beta * v_k,   theta_{k+1} = theta_k - lr_k * s_layer * v_{k+1}

(for an optimizer: theta_{k+1} = theta_k + s_layer * u_k, u_k its optax update) with
per-layer multipliers ``s_layer`` (0 freezes the lower layers; 0.1 gives
discriminative rates) and rate tables ``lr_k`` (constant, or a linear warmup).
Task A is measured every step with the *current body* and the *unchanged A
head*, so any loss of task-A accuracy is forgetting caused by the body's drift.

All rates run in one vmapped, jitted scan (one compile per architecture, data
shape and optimizer; rates, layer multipliers, momentum, step count and seed
are traced). A run (weights and optimizer state) is frozen at the first step
whose task-B training loss is non-finite or above ``mlp.DIVERGENCE_FACTOR``
times its start; nothing returned is NaN.

>>> pre = pretrain()                       # 64 -> 32 -> 32 -> 5 on digits 0-4
>>> run = finetune(pre, DEFAULT_RATES, steps=200)
>>> bool(run.a_drop()[0] < run.a_drop()[-1])   # the small rate forgets less
True
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine import data, mlp
from engine.descent import Rate, rate_bucket, rate_table, step_bucket

DEFAULT_A = (0, 1, 2, 3, 4)
DEFAULT_B = (5, 6, 7, 8, 9)
DEFAULT_HIDDEN = (32, 32)
DEFAULT_RATES = (0.01, 0.1, 0.5, 1.0)
PRETRAIN_STEPS = 300
PRETRAIN_LR = 0.5
MAX_RATES = 4
HEADS = ("new", "shared")
LEARNED_AT = 0.8  # "learned task B" = task-B validation accuracy reaches this

_traces = {"count": 0}


def trace_count() -> int:
    """How many times the fine-tuning kernel has been traced (one per compile)."""
    return _traces["count"]


@dataclass(frozen=True, eq=False)
class Tasks:
    """Task A and task B as train/validation arrays; labels are positions in ``classes_*``."""

    classes_a: tuple[int, ...]
    classes_b: tuple[int, ...]
    xa: np.ndarray
    ya: np.ndarray
    xa_val: np.ndarray
    ya_val: np.ndarray
    xb: np.ndarray
    yb: np.ndarray
    xb_val: np.ndarray
    yb_val: np.ndarray


def check_split(classes_a: Sequence[int],
                classes_b: Sequence[int]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate a class split of the ten digits; returns sorted tuples or raises ValueError."""
    a = tuple(sorted({int(c) for c in classes_a}))
    b = tuple(sorted({int(c) for c in classes_b}))
    if any(not 0 <= c <= 9 for c in a + b):
        raise ValueError("Digit classes must be between 0 and 9.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Each task needs at least two digit classes to tell apart.")
    if set(a) & set(b):
        raise ValueError(f"Task A and task B share digits {sorted(set(a) & set(b))}; "
                         "give each task its own digits.")
    return a, b


def check_hidden(hidden) -> tuple[int, ...]:
    """Hidden layer sizes as a tuple of positive ints (one to three layers), or ValueError."""
    sizes = (hidden,) if isinstance(hidden, int | np.integer) else tuple(hidden)
    if not 1 <= len(sizes) <= 3 or any(
            isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1 for h in sizes):
        raise ValueError(f"The network needs one to three hidden layers of at least one unit, "
                         f"got {hidden!r}.")
    return tuple(int(h) for h in sizes)


def _relabel(x, y, classes):
    xs, ys = data.subset(x, y, classes)
    lookup = np.full(10, -1, np.int32)
    lookup[list(classes)] = np.arange(len(classes), dtype=np.int32)
    return xs, lookup[ys]


@lru_cache(maxsize=8)
def make_tasks(classes_a: tuple[int, ...] = DEFAULT_A, classes_b: tuple[int, ...] = DEFAULT_B,
               seed: int = 0) -> Tasks:
    """Split the digits data set (seeded train/validation split) into task A and task B."""
    a, b = check_split(classes_a, classes_b)
    d = data.load("digits", seed=seed)
    return Tasks(a, b, *_relabel(d.x_train, d.y_train, a), *_relabel(d.x_val, d.y_val, a),
                 *_relabel(d.x_train, d.y_train, b), *_relabel(d.x_val, d.y_val, b))


@dataclass(frozen=True, eq=False)
class Pretrained:
    """A network trained on task A: ``params`` (body layers then the A head) and its record."""

    tasks: Tasks
    params: mlp.Params
    hidden: tuple[int, ...]
    seed: int
    train_loss: np.ndarray  # (steps+1,)
    val_acc: np.ndarray     # task-A validation accuracy, (steps+1,)


@lru_cache(maxsize=8)
def pretrain(classes_a: tuple[int, ...] = DEFAULT_A, classes_b: tuple[int, ...] = DEFAULT_B,
             hidden: tuple[int, ...] = DEFAULT_HIDDEN, seed: int = 0, steps: int = PRETRAIN_STEPS,
             lr: float = PRETRAIN_LR) -> Pretrained:
    """Pre-train ``64 -> *hidden -> |A|`` (tanh) on task A by full-batch SGD; cached per process."""
    hidden = check_hidden(hidden)
    tasks = make_tasks(classes_a, classes_b, seed)
    p0 = mlp.init((tasks.xa.shape[1], *hidden, len(tasks.classes_a)), seed=seed)
    run = mlp.train(p0, tasks.xa, tasks.ya, [lr], steps, evals=[(tasks.xa_val, tasks.ya_val)],
                    seed=seed)
    return Pretrained(tasks, run.params_at(0), hidden, seed, run.train_loss[0],
                      run.eval_acc[0, 0])


def new_head(hidden: int, n_classes: int, seed: int):
    """A fresh head for task B: W ~ N(0, 1/hidden), b = 0, seeded."""
    k = jax.random.fold_in(jax.random.PRNGKey(seed), 1_000_003)
    return (np.asarray(jax.random.normal(k, (hidden, n_classes), jnp.float32)) / np.sqrt(hidden),
            np.zeros((n_classes,), np.float32))


@dataclass(frozen=True, eq=False)
class FineTuneRun:
    """Curves for n fine-tuning rates, NumPy arrays of shape (n, steps+1) unless noted.

    a_acc, a_loss: task A (validation) with the current body and the A head;
    b_acc, b_loss: task B (validation) with the current body and the B head;
    b_train_loss: task B training loss; lrs: (n, steps) the rate used at each
    step (peak rate after warmup); diverged_at: (n,), -1 where none.
    """

    rates: tuple[float, ...]
    lrs: np.ndarray
    a_acc: np.ndarray
    a_loss: np.ndarray
    b_acc: np.ndarray
    b_loss: np.ndarray
    b_train_loss: np.ndarray
    diverged_at: np.ndarray
    layer_scales: tuple[float, ...]

    @property
    def steps(self) -> int:
        return self.lrs.shape[1]

    def a_drop(self) -> np.ndarray:
        """Task-A accuracy lost by fine-tuning: start minus end, per rate."""
        return self.a_acc[:, 0] - self.a_acc[:, -1]

    def steps_to_learn(self, level: float = LEARNED_AT) -> list[int | None]:
        """First step whose task-B validation accuracy reaches ``level`` (None if never)."""
        out = []
        for acc in self.b_acc:
            hit = np.nonzero(acc >= level)[0]
            out.append(int(hit[0]) if len(hit) else None)
        return out


@partial(jax.jit, static_argnames=("activation", "batch_size", "shared", "optimizer"))
def _finetune(params0, head_a, xb, yb, xa_val, ya_val, xb_val, yb_val, lr_table, layer_scales,
              momentum, n_steps, seed, activation, batch_size, shared, optimizer):
    """Scan the optimizer on task B for each row of ``lr_table``; metrics are time-major (S+1, n).

    Task A is measured with the current body and ``head_a`` (new head), or with
    the current network as a whole (``shared``: B re-uses A's outputs).
    """
    _traces["count"] += 1
    n_train = xb.shape[0]
    value_grad = jax.value_and_grad(mlp.loss_and_accuracy, has_aux=True)

    def measure(p):
        if batch_size is None:
            (f, _), g = value_grad(p, xb, yb, activation)
        else:
            f = mlp.loss(p, xb, yb, activation)
            g = jax.tree.map(jnp.zeros_like, p)
        net_a = p if shared else p[:-1] + (head_a,)
        fa, aa = mlp.loss_and_accuracy(net_a, xa_val, ya_val, activation)
        fb, ab = mlp.loss_and_accuracy(p, xb_val, yb_val, activation)
        return (f, fa, aa, fb, ab), g

    m0, g0 = measure(params0)
    bound = mlp.DIVERGENCE_FACTOR * m0[0]
    key = jax.random.PRNGKey(seed)

    def one_rate(rates):
        opt = mlp.make_optimizer(optimizer, momentum, rates)

        def step(carry, k):
            p, state, m, g, dead_at = carry
            if batch_size is not None:
                idx = jax.random.randint(jax.random.fold_in(key, k), (batch_size,), 0, n_train)
                g = jax.grad(mlp.loss)(p, xb[idx], yb[idx], activation)
            p_new, new_state = mlp.optimizer_step(opt, p, g, state, layer_scales)
            m_new, g_new = measure(p_new)
            (p, state, m, g), dead_at = mlp.freeze_on_divergence(
                k, n_steps, dead_at, p_new, m_new[0], bound,
                (p_new, new_state, m_new, g_new), (p, state, m, g))
            return (p, state, m, g, dead_at), m

        carry0 = (params0, opt.init(params0), m0, g0, jnp.int32(-1))
        ks = jnp.arange(rates.shape[0], dtype=jnp.int32)
        (_, _, _, _, dead_at), ms = jax.lax.scan(step, carry0, ks)
        ms = jax.tree.map(lambda first, rest: jnp.concatenate([first[None], rest]), m0, ms)
        return ms, dead_at

    return jax.vmap(one_rate, out_axes=(1, 0))(lr_table)


def warmup_schedule(lr: float, warmup: int) -> Rate:
    """``lr`` with a linear warmup from 0 over ``warmup`` steps (plain ``lr`` when warmup is 0).

    The same as ``optax.join_schedules([optax.linear_schedule(0, lr, warmup),
    optax.constant_schedule(lr)], [warmup])``: rate ``lr * k / warmup`` at step k < warmup.
    """
    if warmup <= 0:
        return float(lr)
    return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup),
                                 optax.constant_schedule(lr)], [warmup])


def warmup_table(lr: float, warmup: int, steps: int) -> np.ndarray:
    """The rates of :func:`warmup_schedule` for steps 0 .. steps-1, computed in NumPy."""
    rate_table(float(lr), 1)  # validates lr: finite, non-negative
    k = np.arange(steps, dtype=np.float64)
    ramp = np.minimum(k / warmup, 1.0) if warmup > 0 else np.ones(steps)
    return (float(lr) * ramp).astype(np.float32)


def finetune(
    pre: Pretrained,
    lrs: Sequence[float],
    steps: int = 200,
    *,
    head: str = "new",
    freeze_lower: bool = False,
    lower_scale: float = 1.0,
    warmup: int = 0,
    momentum: float = 0.0,
    batch_size: int | None = None,
    seed: int = 0,
    optimizer: mlp.Maker | None = None,
) -> FineTuneRun:
    """Fine-tune ``pre`` on task B at each rate in ``lrs`` (up to four), in one call.

    ``head`` "new" trains a fresh head for B and measures A with the kept A
    head; "shared" re-uses A's outputs for B's classes (B's k-th digit goes
    to output k), so A is measured with the network as it now is.
    ``freeze_lower`` keeps the body fixed (only the head learns);
    otherwise the body's rate is ``lower_scale`` times the head's
    (discriminative rates). ``warmup`` ramps each rate up linearly from 0 over
    that many steps. ``optimizer`` None is SGD with ``momentum``; otherwise a
    ``learning_rate -> optax.GradientTransformation`` (``momentum`` then 0), as in
    :func:`engine.mlp.train`; the layer multipliers scale its updates.
    """
    lrs = [float(r) for r in lrs]
    if not 1 <= len(lrs) <= MAX_RATES:
        raise ValueError(f"Give one to {MAX_RATES} learning rates, got {len(lrs)}.")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 1 <= steps <= mlp.MAX_STEPS:
        raise ValueError(f"steps must be an integer from 1 to {mlp.MAX_STEPS}, got {steps!r}.")
    mlp.check_optimizer(optimizer, momentum)
    if not (np.isfinite(lower_scale) and lower_scale >= 0):
        raise ValueError(f"lower_scale must be finite and non-negative, got {lower_scale!r}.")
    if not 0 <= warmup <= steps:
        raise ValueError(f"warmup must be between 0 and the number of steps, got {warmup!r}.")
    tasks = pre.tasks
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}.")
    if head == "shared" and len(tasks.classes_b) > len(tasks.classes_a):
        raise ValueError("A shared head needs task B to have no more digits than task A.")
    if batch_size is not None and batch_size >= len(tasks.xb):
        batch_size = None
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size!r}.")
    n_layers = len(pre.params)
    scales = [0.0 if freeze_lower else float(lower_scale)] * (n_layers - 1) + [1.0]
    s_b, n_b = step_bucket(steps), rate_bucket(len(lrs))
    if s_b not in (100, 250, 500, 1000):
        s_b = mlp.MAX_STEPS
    table = np.zeros((n_b, s_b), np.float32)
    for i, lr in enumerate(lrs):
        table[i, :steps] = warmup_table(lr, int(warmup), steps)
    if head == "shared":
        params0 = tuple(pre.params)
    else:
        head_b = new_head(pre.hidden[-1], len(tasks.classes_b), pre.seed + seed)
        params0 = tuple(pre.params[:-1]) + (tuple(jnp.asarray(a) for a in head_b),)
    f32 = partial(jnp.asarray, dtype=jnp.float32)
    i32 = partial(jnp.asarray, dtype=jnp.int32)
    ms, dead = _finetune(params0, pre.params[-1], f32(tasks.xb), i32(tasks.yb), f32(tasks.xa_val),
                         i32(tasks.ya_val), f32(tasks.xb_val), i32(tasks.yb_val), table,
                         np.asarray(scales, np.float32), jnp.float32(momentum), jnp.int32(steps),
                         jnp.int32(seed), "tanh", batch_size, head == "shared", optimizer)
    f, fa, aa, fb, ab = (np.asarray(m)[: steps + 1, : len(lrs)].T for m in ms)
    return FineTuneRun(tuple(lrs), table[: len(lrs), :steps], aa, fa, ab, fb, f,
                       np.asarray(dead)[: len(lrs)], tuple(scales))


@dataclass(frozen=True)
class Verdict:
    """Which rate kept the most of task A, and which learned task B fastest (indices or None)."""

    kept_most: int | None
    learned_fastest: int | None
    fastest_steps: int | None   # steps to reach LEARNED_AT, or None if judged by final accuracy
    level: float = LEARNED_AT


def verdict(run: FineTuneRun, level: float = LEARNED_AT) -> Verdict:
    """Compare the rates that did not diverge (a diverged run is frozen, so it 'keeps' A falsely).

    Kept most: the highest final task-A accuracy (ties go to the larger task-B
    accuracy). Learned fastest: the fewest steps to reach ``level`` task-B
    validation accuracy; if none reaches it, the highest final task-B accuracy.
    """
    ok = [i for i in range(len(run.rates)) if run.diverged_at[i] < 0]
    if not ok:
        return Verdict(None, None, None, level)
    kept = max(ok, key=lambda i: (round(float(run.a_acc[i, -1]), 6), float(run.b_acc[i, -1])))
    reach = run.steps_to_learn(level)
    hit = [i for i in ok if reach[i] is not None]
    if hit:
        fast = min(hit, key=lambda i: (reach[i], -float(run.b_acc[i, -1])))
        return Verdict(kept, fast, reach[fast], level)
    fast = max(ok, key=lambda i: float(run.b_acc[i, -1]))
    return Verdict(kept, fast, None, level)
