"""One-click "show me" scenes that tell one story, with rates computed from theory, not typed.

On the quadratic bowl f = ½(a x² + b y²) with L = max(a, b) and mu = min(a, b),
from the slowest to the fastest rate:

- too small = 0.01/L: crawls, far from the minimum when the budget ends;
- best fixed rate = 2/(L + mu), beside 1/L: the best rate zig-zags along the
  steep axis yet arrives first, because it balances both directions (each error
  shrinks by at most (L - mu)/(L + mu) per step); 1/L never overshoots but
  leaves the flat direction shrinking by only 1 - mu/L per step;
- oscillating but converging = 1.9/L: past the best rate the steep direction
  flips sign with a factor close to 1, so it still converges, but slower;
- diverging = 2.2/L: past 2/L every step grows the steep direction.

"Stuck" uses the sharp-vs-wide surface: 0.05 stays in the sharp pit
(0.05 < 2/L_sharp = 0.125), 0.5 escapes to the wide minimum.

>>> list(presets())[:2]
['Too small', 'Best fixed rate 2/(L+μ)']
"""

from __future__ import annotations

from engine import theory
from engine.scene import Scene, default_params

BEST = "Best fixed rate 2/(L+μ)"


def presets() -> dict[str, Scene]:
    """The presets in story order: name -> scene."""
    bowl = dict(surface="quadratic", params=default_params("quadratic"))
    th = theory.quadratic(*(v for _, v in bowl["params"]))
    return {
        "Too small": Scene(**bowl, rates=(round(0.01 / th.L, 6),), steps=100),
        BEST: Scene(**bowl, rates=(round(th.best_rate, 6), round(1.0 / th.L, 6)), steps=100),
        "Oscillating but converging": Scene(**bowl, rates=(round(1.9 / th.L, 6),), steps=100),
        "Diverging": Scene(**bowl, rates=(round(2.2 / th.L, 6),), steps=100),
        "Stuck in a local minimum": Scene(surface="sharp_wide", params=(), rates=(0.05, 0.5),
                                          steps=200),
    }
