"""Leslie Smith's learning-rate range test ("LR finder"), as fastai's lr_find does it.

The rate grows exponentially from ``min_lr`` to ``max_lr`` over ``steps`` steps,

    lr_k = min_lr * (max_lr / min_lr) ** (k / (steps - 1)),   k = 0 .. steps-1

(``optax.exponential_decay`` with a decay rate above 1), while the network
trains. Point k of the curve is (lr_k, the training-set loss after step k).
The loss is smoothed with a bias-corrected exponential moving average,

    a_k = beta a_{k-1} + (1 - beta) f_k,   s_k = a_k / (1 - beta ** (k + 1)),

and the test stops at the first k > 0 with s_k > ``stop_factor`` * min(s_0..s_{k-1})
(default 4x), or where the loss is no longer finite (the engine freezes such a
run; the curve simply ends before it). Two suggestions:

- steepest: the rate where s falls fastest against log10(lr), looking only
  between the end of a warm-up (the first ``skip_fraction`` of the curve, where
  a noisy start would fool a slope rule) and the minimum of s;
- min / 10: the rate at the minimum of s, divided by 10.

The weights are restored afterwards automatically: training is a pure
function of the starting weights (``mlp.train`` returns new arrays and never
changes ``params0``), so the range test leaves the network as it was.

The whole test is one call of ``mlp.train`` with the growing rate as a
schedule: the same compiled kernel as any other run of that shape and
optimizer (``optimizer=None`` is plain SGD; e.g. ``optax.adam`` runs the test
for Adam, whose rate means something else: each step is about ``lr`` long).

>>> lrs = np.geomspace(1e-3, 10, 60)
>>> loss = 1 / (1 + 100 * lrs) + (lrs > 3) * 10 * lrs        # falls, then blows up
>>> r = analyze(lrs, loss, beta=0.5)
>>> 0.005 < r.steepest < 0.1, r.stop_reason.startswith("the smoothed loss")
(True, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import optax

from engine import data as datasets
from engine import mlp

DEFAULT_MIN_LR = 1e-6
DEFAULT_MAX_LR = 10.0
DEFAULT_STEPS = 100
DEFAULT_BETA = 0.98
DEFAULT_STOP = 4.0
DEFAULT_SKIP = 0.1
DEFAULT_SIZES = (64, 32, 10)
CHECK_STEPS = 300


@dataclass(frozen=True, eq=False)
class RangeTest:
    """One range test's curve, where it stopped, and its two suggestions.

    lrs, raw, smoothed: (m,) the kept points (m <= steps); stop_reason: a
    sentence; skip: points dropped at the start before the slope rule;
    steepest (None if the curve is too short to have a slope), min_lr_10:
    the suggestions; steepest_index, min_index: where they sit on the curve.
    """

    lrs: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray
    stop_reason: str
    skip: int
    steepest: float | None
    steepest_index: int | None
    min_index: int
    min_lr_10: float
    steps_run: int
    notes: tuple[str, ...] = ()

    @property
    def suggestion(self) -> float:
        """The steepest-slope rate, or min / 10 where there is no clear slope."""
        return self.steepest if self.steepest is not None else self.min_lr_10


def check_range(min_lr: float, max_lr: float, steps: int) -> None:
    """ValueError with a sentence if the range or length is unusable."""
    for name, v in (("The smallest rate", min_lr), ("The largest rate", max_lr)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}.")
    if min_lr >= max_lr:
        raise ValueError(f"The smallest rate ({min_lr:g}) must be below the largest ({max_lr:g}).")
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or not 2 <= steps <= mlp.MAX_STEPS:
        raise ValueError(f"The range test needs from 2 to {mlp.MAX_STEPS} steps, got {steps!r}.")


def rate_schedule(min_lr: float, max_lr: float, steps: int) -> optax.Schedule:
    """min_lr -> max_lr exponentially over ``steps`` steps (optax.exponential_decay growing).

    >>> s = rate_schedule(1e-4, 1.0, 5)
    >>> [round(float(s(k)), 6) for k in range(5)]
    [0.0001, 0.001, 0.01, 0.1, 1.0]
    """
    check_range(min_lr, max_lr, steps)
    return optax.exponential_decay(min_lr, transition_steps=steps - 1, decay_rate=max_lr / min_lr,
                                   end_value=max_lr)


def smooth(losses, beta: float = DEFAULT_BETA) -> np.ndarray:
    """Bias-corrected exponential moving average: s_k = a_k / (1 - beta^(k+1)).

    >>> smooth([1.0, 1.0, 1.0], 0.9).round(6).tolist()
    [1.0, 1.0, 1.0]
    """
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"The smoothing factor must be in [0, 1), got {beta!r}.")
    f = np.asarray(losses, np.float64)
    out = np.empty_like(f)
    a = 0.0
    for k, v in enumerate(f):
        a = beta * a + (1 - beta) * v
        out[k] = a / (1 - beta ** (k + 1))
    return out


def analyze(lrs, losses, *, beta: float = DEFAULT_BETA, stop_factor: float = DEFAULT_STOP,
            skip_fraction: float = DEFAULT_SKIP, steps_run: int | None = None) -> RangeTest:
    """Cut, smooth and read a range-test curve: (rate, loss) pairs in the order they were run.

    The curve ends before its first non-finite loss, and right after the
    smoothed loss first exceeds ``stop_factor`` times its best so far.
    """
    if not stop_factor > 1:
        raise ValueError(f"The stop factor must be above 1, got {stop_factor!r}.")
    if not 0 <= skip_fraction < 1:
        raise ValueError(f"The warm-up fraction to skip must be in [0, 1), got {skip_fraction!r}.")
    lrs = np.asarray(lrs, np.float64)
    raw = np.asarray(losses, np.float64)
    n = len(raw)
    notes = []
    bad = np.nonzero(~np.isfinite(raw))[0]
    end = int(bad[0]) if len(bad) else n
    reason = f"it reached the largest rate, {lrs[-1]:.3g}."
    if end < n:
        reason = (f"the loss stopped being finite (or the network blew up) at rate {lrs[end]:.3g}; "
                  "the curve ends just before.")
    if end < 2:
        raise ValueError("The loss blew up in the first steps: lower the smallest rate.")
    s = smooth(raw[:end], beta)
    best_before = np.minimum.accumulate(s)[:-1]
    over = np.nonzero(s[1:] > stop_factor * best_before)[0]
    if len(over):
        stop = int(over[0]) + 1
        reason = (f"the smoothed loss passed {stop_factor:g}x its best at rate {lrs[stop]:.3g}, "
                  "so the test stopped there.")
        end = stop + 1
        s = s[:end]
    lrs, raw = lrs[:end], raw[:end]
    i_min = int(np.argmin(s))
    skip = int(skip_fraction * end)
    steepest = i_steep = None
    if i_min - skip >= 2:
        slope = np.gradient(s, np.log10(lrs))
        i_steep = skip + int(np.argmin(slope[skip: i_min + 1]))
        steepest = float(lrs[i_steep])
    else:
        notes.append("The smoothed loss reaches its minimum too early for a slope: "
                     "the steepest-descent rule has nothing to read, so min / 10 is used.")
    if i_min == 0:
        notes.append("The loss never fell below its start: the range may begin too high.")
    if skip:
        notes.append(f"The first {skip} points ({skip_fraction:.0%} of the curve) were left out of "
                     "the slope rule, where a noisy start can look steep.")
    return RangeTest(lrs=lrs, raw=raw, smoothed=s, stop_reason=reason, skip=skip, steepest=steepest,
                     steepest_index=i_steep, min_index=i_min, min_lr_10=float(lrs[i_min] / 10),
                     steps_run=n if steps_run is None else steps_run, notes=tuple(notes))


def curve(run: mlp.TrainRun, i: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rate of step k, training loss after step k) for run ``i``; NaN from where it blew up."""
    lrs = run.lrs[i].astype(np.float64)
    loss = run.train_loss[i, 1:].astype(np.float64).copy()
    d = int(run.diverged_at[i])
    if d >= 1:
        loss[d - 1:] = np.nan  # step d-1 produced the bad weights; later values are frozen copies
    return lrs, loss


def range_test(params0: mlp.Params, x, y, *, min_lr: float = DEFAULT_MIN_LR,
               max_lr: float = DEFAULT_MAX_LR, steps: int = DEFAULT_STEPS, batch_size: int | None = 64,
               seed: int = 0, beta: float = DEFAULT_BETA, stop_factor: float = DEFAULT_STOP,
               skip_fraction: float = DEFAULT_SKIP, activation: str = "tanh",
               optimizer: mlp.Maker | None = None) -> RangeTest:
    """Run the range test on a network from ``params0`` (which it leaves unchanged), trained
    with ``optimizer`` (None: plain SGD; see :func:`engine.mlp.train`)."""
    schedule = rate_schedule(min_lr, max_lr, steps)
    run = mlp.train(params0, x, y, [schedule], steps, batch_size=batch_size, seed=seed,
                    activation=activation, optimizer=optimizer)
    lrs, loss = curve(run)
    return analyze(lrs, loss, beta=beta, stop_factor=stop_factor, skip_fraction=skip_fraction,
                   steps_run=steps)


@dataclass(frozen=True, eq=False)
class SeededTests:
    """Range tests from several seeds (initial weights and mini-batch order)."""

    seeds: tuple[int, ...]
    tests: tuple[RangeTest, ...]

    def spread(self, which: str = "suggestion") -> tuple[float, float, float]:
        """(geometric mean, smallest, largest) of a suggestion over the seeds."""
        v = np.array([getattr(t, which) for t in self.tests], np.float64)
        return float(np.exp(np.mean(np.log(v)))), float(v.min()), float(v.max())


def range_tests(dataset: str = "digits", *, sizes: tuple[int, ...] | None = None,
                seeds: tuple[int, ...] = (0,), **kwargs) -> SeededTests:
    """The range test on a data set, once per seed (the same compiled kernel each time)."""
    if len(seeds) < 1:
        raise ValueError("The range test needs at least one seed.")
    d = datasets.load(dataset)
    sizes = sizes or default_sizes(d)
    tests = tuple(range_test(mlp.init(sizes, seed=s), d.x_train, d.y_train, seed=s, **kwargs)
                  for s in seeds)
    return SeededTests(tuple(seeds), tests)


def default_sizes(d: datasets.Dataset) -> tuple[int, ...]:
    """64 -> 32 -> 10 on digits; n -> 32 -> classes elsewhere."""
    return (d.n_features, 32, d.n_classes)


def check(params0: mlp.Params, x, y, rate: float, *, steps: int = CHECK_STEPS,
          batch_size: int | None = 64, seed: int = 0, activation: str = "tanh",
          evals=(), optimizer: mlp.Maker | None = None) -> mlp.TrainRun:
    """Train at the suggestion, 10x it and 0.1x it (in that order), in one call, with
    ``optimizer`` (None: plain SGD)."""
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"The rate to check must be positive, got {rate!r}.")
    return mlp.train(params0, x, y, [rate, 10 * rate, 0.1 * rate], steps, batch_size=batch_size,
                     seed=seed, activation=activation, evals=evals, optimizer=optimizer)
