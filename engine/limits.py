"""Measured counterparts of theory's numbers, for what has no closed form.

``theory`` gives 2/L (plain gradient descent) and 2(1 + beta)/L (heavy ball) on
a quadratic. Adaptive optimizers (AdaGrad, RMSProp, Adam) rescale each step by
the gradients they have seen, and Nesterov looks ahead, so no 2/L formula
applies to them, and no surface but a quadratic has one at all. What the app
shows there instead is measured:

- :func:`measured_limit`: the largest rate that did not diverge, from a sweep of
  ``LIMIT_RATES`` log-spaced rates from ``LIMIT_LO`` to ``LIMIT_HI`` refined by a
  second sweep of as many rates between the last stable and the first
  divergent one (so the answer is within about 0.3% of the true edge);
- :func:`distance_growth`: how often a run's distance to a point grew from one
  step to the next, and by how much at most (the heavy ball's spectral radius
  is only the distance's asymptotic factor per step; early on it can grow).

Both are pure (NumPy and the engine; no Streamlit).

>>> from engine import surfaces
>>> round(measured_limit(surfaces.quadratic(1.0, 10.0), "sgd", 200), 2)  # theory: 2/L = 0.2
0.2
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import descent, optimizers
from engine.surfaces import Surface

LIMIT_LO, LIMIT_HI = 1e-4, 10.0
LIMIT_RATES = 64


def _stable(surface: Surface, lrs: np.ndarray, steps: int, start, momentum: float,
            maker, noise: float, seed: int) -> np.ndarray:
    """Which of ``lrs`` ran ``steps`` steps without diverging (bool array)."""
    # Always MAX_STEPS long and cut here: one compile per optimizer whatever ``steps`` is,
    # and the same noise draws as the pages' runs (which also compile for MAX_STEPS).
    final = descent.sweep_final(surface, [float(r) for r in lrs], descent.MAX_STEPS,
                                start=start, momentum=momentum, optimizer=maker,
                                noise=noise, seed=seed)
    dead = np.asarray(final.diverged_at)
    return (dead < 0) | (dead > steps)


def measured_limit(surface: Surface, optimizer_key: str, steps: int, start=None,
                   noise: float = 0.0, seed: int = 0, momentum: float = 0.0) -> float | None:
    """The largest constant rate at which ``optimizer_key`` did not diverge within ``steps``
    steps on ``surface`` from ``start`` (None: the surface's own start).

    Rates 1e-4 .. 10 are swept on a log grid (``LIMIT_RATES`` rates), then again
    on a finer log grid between the last rate that stayed and the first that
    diverged. "Diverged" is the engine's rule (a non-finite loss or leaving the
    divergence box). The answer is the top of the stable range seen from below:
    the last rate before the first divergence. It is ``LIMIT_HI`` when no rate
    up to it diverged (so the true limit, if any, is higher), and None when even
    ``LIMIT_LO`` diverged. ``momentum`` is the heavy ball's beta and applies only
    to ``"sgd"`` (the other optimizers carry their own); ``noise`` and ``seed``
    are the gradient noise of the runs it describes.

    >>> from engine import surfaces
    >>> measured_limit(surfaces.quadratic(1.0, 10.0), "adam", 100)  # nothing up to 10 diverged
    10.0
    """
    maker = optimizers.maker(optimizer_key)  # ValueError for an unknown key
    momentum = float(momentum) if optimizer_key == "sgd" else 0.0
    args = (steps, start, momentum, maker, noise, seed)
    coarse = np.geomspace(LIMIT_LO, LIMIT_HI, LIMIT_RATES)
    ok = _stable(surface, coarse, *args)
    if not ok[0]:
        return None
    if ok.all():
        return float(coarse[-1])
    first_bad = int(np.argmin(ok))
    fine = np.geomspace(coarse[first_bad - 1], coarse[first_bad], LIMIT_RATES)
    ok_fine = _stable(surface, fine, *args)
    if not ok_fine[0]:  # float32 rounding can make the repeat of a rate differ: keep the coarse
        return float(coarse[first_bad - 1])
    if ok_fine.all():
        return float(fine[-1])
    return float(fine[int(np.argmin(ok_fine)) - 1])


@dataclass(frozen=True)
class DistanceGrowth:
    """Of the first ``of`` steps, ``grew`` increased the distance to the target; the largest
    one-step factor d(k+1)/d(k) was ``largest`` (at most 1 when it never grew)."""

    grew: int
    of: int
    largest: float


def distance_growth(points, target, first: int = 60) -> DistanceGrowth:
    """How a path's distance to ``target`` changed over its first ``first`` steps.

    d(k) = |points[k] - target|; a step k grew it if d(k+1) > d(k). A step from
    d(k) = 0 that moves counts as growth by an infinite factor.

    >>> g = distance_growth([(1.0, 0.0), (-0.5, 0.0), (0.75, 0.0), (0.1, 0.0)], (0.0, 0.0))
    >>> g.grew, g.of, g.largest
    (1, 3, 1.5)
    """
    pts = np.asarray(points, dtype=np.float64)
    d = np.linalg.norm(pts - np.asarray(target, dtype=np.float64), axis=1)[: first + 1]
    before, after = d[:-1], d[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(before > 0, after / np.where(before > 0, before, 1.0),
                         np.where(after > 0, np.inf, 1.0))
    largest = float(ratio.max()) if len(ratio) else 1.0
    return DistanceGrowth(int(np.sum(after > before)), len(after), largest)
