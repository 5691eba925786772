"""Learning-rate schedules by name, built on optax's (not re-derived).

Each takes the peak (or constant) rate and the run's length and returns an
optax schedule ``step -> rate``:

- constant:       lr
- step:           lr * 0.5 ** floor(k / (steps / 4))           (optax.piecewise_constant_schedule)
- exponential:    lr * 0.01 ** (k / steps)                      (optax.exponential_decay)
- cosine:         lr * (0.01 + 0.99 * 0.5 (1 + cos(pi k / steps)))  (optax.cosine_decay_schedule)
- warmup_cosine:  0 -> lr linearly over 10% of the run, then cosine to lr / 100
                  (optax.warmup_cosine_decay_schedule)
- one_cycle:      lr / 25 -> lr over 30% of the run, then down to lr / 1e4
                  (optax.cosine_onecycle_schedule, Smith's one-cycle policy)

>>> s = make("step", 0.4, 100)
>>> [round(float(s(k)), 3) for k in (0, 26, 51, 99)]
[0.4, 0.2, 0.1, 0.05]
"""

from __future__ import annotations

import math

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


def make(name: str, lr: float, steps: int) -> optax.Schedule:
    """The named schedule peaking at ``lr`` over ``steps`` steps."""
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
