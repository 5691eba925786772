"""One-click "show me" scenes, with rates computed from theory rather than typed.

On the quadratic bowl f = ½(a x² + b y²) with L = max(a, b):
too small = 0.01/L (crawls), just right = 1/L (the largest rate that never
overshoots; the best fixed rate 2/(L + mu) already zig-zags along the steep axis),
oscillating = 1.8/L, diverging = 2.2/L. "Stuck" uses the sharp-vs-wide surface:
0.05 stays in the sharp pit (0.05 < 2/L_sharp = 0.125), 0.5 escapes to the wide minimum.

>>> sorted(presets())[:2]
['Diverging', 'Just right']
"""

from __future__ import annotations

from engine import theory
from engine.scene import Scene, default_params


def presets() -> dict[str, Scene]:
    th = theory.quadratic(1.0, 10.0)
    bowl = dict(surface="quadratic", params=default_params("quadratic"))
    return {
        "Too small": Scene(**bowl, rates=(round(0.01 / th.L, 6),), steps=100),
        "Just right": Scene(**bowl, rates=(round(1.0 / th.L, 6),), steps=100),
        "Oscillating": Scene(**bowl, rates=(round(1.8 / th.L, 6),), steps=100),
        "Diverging": Scene(**bowl, rates=(round(2.2 / th.L, 6),), steps=100),
        "Stuck in a local minimum": Scene(surface="sharp_wide", params=(), rates=(0.05, 0.5),
                                          steps=200),
    }
