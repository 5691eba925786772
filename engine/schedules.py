"""Learning-rate schedules by name, built on optax's (not re-derived).

Each takes the peak (or constant) rate and the run's length and returns an
optax schedule ``step -> rate``:

- constant:       lr
- step:           lr * 0.5 ** floor(k / (steps / 4))           (optax.piecewise_constant_schedule)
- exponential:    lr * 0.01 ** (k / steps)                      (optax.exponential_decay)
- cosine:         lr * (0.01 + 0.99 * 0.5 (1 + cos(pi k / steps)))  (optax.cosine_decay_schedule)
- warmup_cosine:  0 -> lr linearly over 10% of the run, then cosine to lr / 100
                  (optax.warmup_cosine_decay_schedule)
- one_cycle:      lr / 25 -> lr over 30% of the run, then down to lr / (25 * 1e4) = lr / 2.5e5
                  (optax.cosine_onecycle_schedule, Smith's one-cycle policy: it ends at
                  its start value lr / div_factor divided by final_div_factor)

``build`` gives the same schedules with their parameters exposed (validated,
with ValueError sentences); reduce-on-plateau follows the loss rather than the
step, so it is replayed on a rate table (``plateau_scales``, ``run_with_plateau``).

>>> s = make("step", 0.4, 100)
>>> [round(float(s(k)), 3) for k in (0, 26, 51, 99)]
[0.4, 0.2, 0.1, 0.05]
>>> c = make("one_cycle", 1.0, 100)
>>> [f"1/{1 / float(c(k)):.3g}" for k in (0, 100)]   # starts at lr/25, ends at lr/2.5e5
['1/25', '1/2.5e+05']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
import optax

NAMES = ("constant", "step", "exponential", "cosine", "warmup_cosine", "one_cycle")
TITLES = {
    "constant": "constant",
    "step": "step decay (halve 3 times)",
    "exponential": "exponential decay (to 1%)",
    "cosine": "cosine decay (to 1%)",
    "warmup_cosine": "linear warmup + cosine decay",
    "one_cycle": "one-cycle",
}


@lru_cache(maxsize=256)
def make(name: str, lr: float, steps: int) -> optax.Schedule:
    """The named schedule peaking at ``lr`` over ``steps`` steps (the same object for the same
    arguments, so the engine's rate table for it is computed once)."""
    if not (isinstance(lr, int | float) and math.isfinite(lr) and lr >= 0):
        raise ValueError(f"A learning rate must be finite and non-negative, got {lr!r}.")
    if not (isinstance(steps, int) and steps >= 1):
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    if name == "constant":
        return optax.constant_schedule(lr)
    if name == "step":
        every = max(1, steps // 4)
        return optax.piecewise_constant_schedule(lr, {every * k: 0.5 for k in (1, 2, 3)})
    if name == "exponential":
        return optax.exponential_decay(lr, transition_steps=steps, decay_rate=0.01)
    if name == "cosine":
        return optax.cosine_decay_schedule(lr, decay_steps=steps, alpha=0.01)
    if name == "warmup_cosine":
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps=max(1, steps // 10),
                                                  decay_steps=steps, end_value=lr / 100)
    if name == "one_cycle":
        return optax.cosine_onecycle_schedule(steps, lr, pct_start=0.3, div_factor=25.0,
                                              final_div_factor=1e4)
    raise ValueError(f"Unknown schedule {name!r}; choose one of {', '.join(NAMES)}.")


# ----------------------------------------------------------------------------
# Schedules with their parameters exposed (the Schedules page), and
# reduce-on-plateau. ``make`` above keeps its fixed defaults for other pages.
# ----------------------------------------------------------------------------

PLATEAU = "reduce_on_plateau"
ALL_NAMES = NAMES + (PLATEAU,)
ALL_TITLES = {**TITLES, PLATEAU: "reduce on plateau"}

# Each schedule's own parameters and their defaults (the ones ``make`` uses).
OPTIONS: dict[str, dict[str, float]] = {
    "constant": {},
    "step": {"factor": 0.5, "every_fraction": 0.25},
    "exponential": {"final_fraction": 0.01},
    "cosine": {"final_fraction": 0.01},
    "warmup_cosine": {"warmup_steps": -1.0, "final_fraction": 0.01},  # -1: 10% of the run
    "one_cycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    PLATEAU: {"factor": 0.5, "patience": 10.0, "rtol": 1e-4, "cooldown": 0.0, "min_scale": 1e-3},
}


def _number(name: str, value, low: float | None = None, high: float | None = None,
            low_open: bool = False, high_open: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else ("(" if low_open else "[") + f"{low:g}"
        hi = "" if high is None else f"{high:g}" + (")" if high_open else "]")
        where = f" in {lo}, {hi}" if lo and hi else (f" at least {low:g}" if lo else "")
        raise ValueError(f"{name} must be a finite number{where}, got {value!r}.")
    return float(value)


def build(name: str, lr: float, steps: int, **options: float) -> optax.Schedule:
    """The named schedule with its parameters set (unset ones take ``OPTIONS``' defaults).

    - step: multiply by ``factor`` every ``every_fraction`` of the run
      (optax.piecewise_constant_schedule)
    - exponential, cosine: decay to ``final_fraction * lr`` at the end
      (optax.exponential_decay, optax.cosine_decay_schedule with alpha)
    - warmup_cosine: 0 -> lr linearly over ``warmup_steps`` (must be shorter than
      the run), then cosine to ``final_fraction * lr`` (optax.warmup_cosine_decay_schedule)
    - one_cycle: lr / div_factor -> lr over ``pct_start`` of the run, then down
      to lr / (div_factor * final_div_factor) (optax.cosine_onecycle_schedule)

    reduce_on_plateau depends on the loss, not only on the step: use
    :func:`plateau_scales` / :func:`run_with_plateau`.

    Invalid combinations raise ValueError with a sentence saying what is wrong.

    >>> s = build("warmup_cosine", 1.0, 100, warmup_steps=20)
    >>> [round(float(s(k)), 2) for k in (0, 10, 20)]
    [0.0, 0.5, 1.0]
    """
    if name not in NAMES:
        if name == PLATEAU:
            raise ValueError("reduce_on_plateau follows the loss, not the step count: "
                             "use run_with_plateau.")
        raise ValueError(f"Unknown schedule {name!r}; choose one of {', '.join(ALL_NAMES)}.")
    unknown = set(options) - set(OPTIONS[name])
    if unknown:
        raise ValueError(f"The {name} schedule has no parameter {', '.join(sorted(unknown))}; "
                         f"it takes {', '.join(OPTIONS[name]) or 'none'}.")
    o = {**OPTIONS[name], **options}
    if not (isinstance(lr, int | float) and not isinstance(lr, bool) and math.isfinite(lr) and lr >= 0):
        raise ValueError(f"A learning rate must be finite and non-negative, got {lr!r}.")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"The run must have at least one step, got {steps!r}.")
    lr = float(lr)
    if name == "constant":
        return optax.constant_schedule(lr)
    if name == "step":
        factor = _number("The step-decay factor", o["factor"], 0.0, 1.0, low_open=True)
        frac = _number("The step-decay interval (a fraction of the run)", o["every_fraction"],
                       0.0, 1.0, low_open=True)
        every = max(1, round(frac * steps))
        return optax.piecewise_constant_schedule(
            lr, {every * k: factor for k in range(1, steps // every + 1)})
    if name in ("exponential", "cosine"):
        final = _number("The final fraction of the rate", o["final_fraction"], 0.0, 1.0, low_open=True)
        if name == "exponential":
            return optax.exponential_decay(lr, transition_steps=steps, decay_rate=final)
        return optax.cosine_decay_schedule(lr, decay_steps=steps, alpha=final)
    if name == "warmup_cosine":
        final = _number("The final fraction of the rate", o["final_fraction"], 0.0, 1.0)
        warm = o["warmup_steps"]
        warm = max(1, steps // 10) if warm == -1 else warm
        warm = _number("The warmup length", warm, 0.0)
        if warm != int(warm):
            raise ValueError(f"The warmup length must be a whole number of steps, got {warm:g}.")
        if warm >= steps:
            raise ValueError(f"The warmup ({int(warm)} steps) must be shorter than the run "
                             f"({steps} steps), or the rate never decays.")
        return optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps=int(warm), decay_steps=steps,
                                                  end_value=final * lr)
    pct = _number("The one-cycle warm-up fraction (pct_start)", o["pct_start"], 0.0, 1.0,
                  low_open=True, high_open=True)
    div = _number("The one-cycle start divisor (div_factor)", o["div_factor"], 1.0)
    final_div = _number("The one-cycle final divisor (final_div_factor)", o["final_div_factor"], 1.0)
    if steps < 2:
        raise ValueError("A one-cycle schedule needs at least 2 steps.")
    return optax.cosine_onecycle_schedule(steps, lr, pct_start=pct, div_factor=div,
                                          final_div_factor=final_div)


def check_plateau(factor: float = 0.5, patience: int = 10, rtol: float = 1e-4, cooldown: int = 0,
                  min_scale: float = 1e-3) -> dict:
    """Validate reduce-on-plateau's parameters; returns them as a dict (ValueError if bad)."""
    _number("The plateau factor", factor, 0.0, 1.0, low_open=True, high_open=True)
    _number("The patience", patience, 1.0)
    _number("The relative tolerance (rtol)", rtol, 0.0, 1.0, low_open=True)
    _number("The cooldown", cooldown, 0.0)
    _number("The smallest scale (min_scale)", min_scale, 0.0, 1.0)
    if patience != int(patience) or cooldown != int(cooldown):
        raise ValueError("patience and cooldown must be whole numbers of steps.")
    return dict(factor=float(factor), patience=int(patience), rtol=float(rtol),
                cooldown=int(cooldown), min_scale=float(min_scale))


def plateau_scales(losses, factor: float = 0.5, patience: int = 10, rtol: float = 1e-4,
                   cooldown: int = 0, min_scale: float = 1e-3) -> np.ndarray:
    """The multiplier reduce-on-plateau applies at each step, given the loss before each step.

    The rule of ``optax.contrib.reduce_on_plateau`` (accumulation_size 1, atol 0),
    written out in NumPy: at step k, with loss f_k before the step,

        improved  = f_k < (1 - rtol) * best;  best <- f_k if improved
        count     = 0 if improved else count + 1
        if in cooldown: count = 0, cooldown -= 1
        elif count == patience: scale <- max(scale * factor, min_scale), count = 0,
                                cooldown <- cooldown steps
        rate_k    = lr * scale                     (the new scale applies at once)

    >>> plateau_scales([3.0, 3.0, 3.0, 3.0, 2.0], factor=0.5, patience=2).tolist()
    [1.0, 1.0, 0.5, 0.5, 0.5]
    """
    p = check_plateau(factor, patience, rtol, cooldown, min_scale)
    best, count, cool, scale = math.inf, 0, 0, 1.0
    out = np.empty(len(losses), np.float64)
    for k, f in enumerate(np.asarray(losses, np.float64)):
        improved = f < (1 - p["rtol"]) * best
        best = f if improved else best
        count = 0 if improved else count + 1
        if cool > 0:
            count, cool = 0, cool - 1
        elif count == p["patience"]:
            scale, count, cool = max(scale * p["factor"], p["min_scale"]), 0, p["cooldown"]
        out[k] = scale
    return out


def run_with_plateau(run_table: Callable[[np.ndarray], np.ndarray], lr: float, steps: int,
                     **plateau) -> tuple[np.ndarray, np.ndarray, int]:
    """Reduce-on-plateau on any engine that takes a rate table, by replaying the run.

    ``run_table(table)`` runs ``steps`` steps at the rates ``table`` (shape
    (steps,)) and returns the loss before each step, shape (>= steps,). The
    rate at step k depends only on the losses up to step k, and those depend
    only on the rates before step k. So: run at a constant rate, compute the
    scales the plateau rule would have used from those losses, and re-run with
    them until the table no longer changes. Each round is exact at least up to
    the first step where its table differs from the previous one, so this ends
    after at most (number of changes of the rate + 2) runs, all of the same
    shape (no recompile). Returns (rate table, losses, runs).
    """
    plateau = check_plateau(**plateau)
    table = np.full(steps, float(lr), np.float32)
    for rounds in range(1, steps + 3):
        losses = np.asarray(run_table(table))
        new = (lr * plateau_scales(losses[:steps], **plateau)).astype(np.float32)
        if np.array_equal(new, table):
            return table, losses, rounds
        table = new
    raise RuntimeError("reduce-on-plateau did not settle.")  # unreachable: see above
