"""One-click "show me" scenes that tell one story, with rates computed from theory, not typed.

On the quadratic bowl f = ½(a x² + b y²) with L = max(a, b) and mu = min(a, b),
from the slowest to the fastest rate:

- too small = 0.01/L: crawls, far from the minimum when the budget ends;
- best fixed rate = 2/(L + mu), beside 1/L: the best rate zig-zags along the
  steep axis yet arrives first, because it balances both directions (each error
  shrinks by at most (L - mu)/(L + mu) per step); 1/L never overshoots but
  leaves the flat direction shrinking by only 1 - mu/L per step;
- oscillating, converging = 1.9/L (oscillating but converging): past the best rate the steep direction
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
OSCILLATING = "Oscillating, converging"


def presets() -> dict[str, Scene]:
    """The presets in story order: name -> scene."""
    bowl = dict(surface="quadratic", params=default_params("quadratic"))
    th = theory.quadratic(*(v for _, v in bowl["params"]))
    return {
        "Too small": Scene(**bowl, rates=(round(0.01 / th.L, 6),), steps=100),
        BEST: Scene(**bowl, rates=(round(th.best_rate, 6), round(1.0 / th.L, 6)), steps=100),
        OSCILLATING: Scene(**bowl, rates=(round(1.9 / th.L, 6),), steps=100),
        "Diverging": Scene(**bowl, rates=(round(2.2 / th.L, 6),), steps=100),
        "Stuck in a local minimum": Scene(surface="sharp_wide", params=(), rates=(0.05, 0.5),
                                          steps=200),
    }


def preset_help() -> dict[str, str]:
    """One sentence per preset for its button's tooltip, with the rates it sets."""
    p = presets()

    def rates(name: str) -> str:
        return " and ".join(f"{r:g}" for r in p[name].rates)

    return {
        "Too small": f"lr = 0.01/L = {rates('Too small')} on the bowl: it crawls.",
        BEST: "lr = 2/(L+μ) = {:g} beside 1/L = {:g}: the best fixed rate zig-zags on the steep "
              "axis yet arrives first.".format(*p[BEST].rates),
        OSCILLATING: f"lr = 1.9/L = {rates(OSCILLATING)}: past the best rate, still below 2/L.",
        "Diverging": f"lr = 2.2/L = {rates('Diverging')}: past 2/L.",
        "Stuck in a local minimum": f"lr = {rates('Stuck in a local minimum')} on the sharp and "
                                    "wide minima: the small rate stays in the sharp pit.",
    }
