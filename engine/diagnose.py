"""Name what a run did: converged, oscillating, slow, diverged, or stuck in a local minimum.

Definitions (``tol`` defaults to ``TOL_FRACTION`` of the surface's extent):

- steps_to_converge: the first step k after which the run stays within ``tol``
  of the minimum it ends nearest to; None if it is not within ``tol`` at the end.
- overshoots: steps that reverse the previous step's direction,
  (x_{k+1} - x_k) . (x_k - x_{k-1}) < 0, counting only steps longer than
  ``tol / 1000``.
- converged: steps_to_converge is not None. A run can overshoot on every
  step and still converge: the regime names the path, ``converged`` the end.
- regime, in priority order: diverged (the engine froze the run: it left the
  divergence box, which is sized so that a run theory calls stable never
  leaves it, or it hit a non-finite loss) > local minimum (it ends in a
  minimum that is not global) > oscillating (at least ``MIN_OVERSHOOTS``
  overshoots: a count, not a share, so a longer budget never turns an
  oscillating run into a converged one) > slow (not converged within the
  budget) > converged.

On f = 0.5 L (x^2 + y^2) this agrees with theory: lr L < 1 converges with no
overshoot, 1 < lr L < 2 oscillates, lr L > 2 diverges. A run that grows
too slowly to leave the box within its budget (lr L just above 2) is not yet
called diverged.

>>> from engine import surfaces, descent
>>> s = surfaces.quadratic(1.0, 1.0)
>>> diagnose(s, descent.run(s, 1.5, 100)).regime.value
'oscillating'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from engine.descent import Trajectory
from engine.surfaces import Minimum, Surface

TOL_FRACTION = 1e-3
LOCAL_BASIN_FRACTION = 0.05
MIN_OVERSHOOTS = 2


class Regime(StrEnum):
    CONVERGED = "converged"
    OSCILLATING = "oscillating"
    SLOW = "slow"
    DIVERGED = "diverged"
    LOCAL_MINIMUM = "local minimum"


@dataclass(frozen=True)
class Diagnosis:
    regime: Regime
    steps_to_converge: int | None
    overshoots: int
    final_distance: float
    minimum: Minimum | None

    @property
    def converged(self) -> bool:
        """The run ended, and stayed from ``steps_to_converge`` on, within tol of a minimum."""
        return self.steps_to_converge is not None


def default_tol(surface: Surface) -> float:
    """Convergence radius: ``TOL_FRACTION`` of the surface's extent."""
    return TOL_FRACTION * surface.extent


def count_overshoots(points: np.ndarray, min_step: float) -> tuple[int, int]:
    """(reversals, significant pairs) along a path of shape (k, 2)."""
    d = np.diff(points, axis=0)
    if len(d) < 2:
        return 0, 0
    big = np.linalg.norm(d, axis=1) > min_step
    pair = big[:-1] & big[1:]
    dots = np.sum(d[:-1] * d[1:], axis=1)
    return int(np.sum(pair & (dots < 0))), int(np.sum(pair))


def is_blowing_up(losses: np.ndarray) -> bool:
    """The loss ends above its start and grew over the run's second half (a network's test;
    surfaces rely on the divergence box, since a stable heavy ball's loss can grow for a while)."""
    if len(losses) < 3:
        return False
    first, middle, last = losses[0], losses[len(losses) // 2], losses[-1]
    return bool(last > first and last > middle)


def diagnose(surface: Surface, trajectory: Trajectory, tol: float | None = None) -> Diagnosis:
    """Diagnose one trajectory on ``surface`` (see the module docstring for the rules)."""
    tol = default_tol(surface) if tol is None else float(tol)
    points = np.asarray(trajectory.points, dtype=np.float64)
    if trajectory.diverged_at is not None:
        points = points[: trajectory.diverged_at]
    minima_xy = np.array([m.point for m in surface.minima], dtype=np.float64)
    dists = np.linalg.norm(points[:, None, :] - minima_xy[None], axis=-1)
    nearest = int(np.argmin(dists[-1]))
    minimum = surface.minima[nearest]
    final_distance = float(dists[-1, nearest])
    outside = np.nonzero(dists[:, nearest] >= tol)[0]
    steps_to_converge = None
    if final_distance < tol:
        steps_to_converge = int(outside[-1] + 1) if len(outside) else 0
    overshoots, _ = count_overshoots(points, tol / 1000)

    if trajectory.diverged_at is not None:
        regime = Regime.DIVERGED
        minimum = None
    elif not minimum.is_global and final_distance < LOCAL_BASIN_FRACTION * surface.extent:
        regime = Regime.LOCAL_MINIMUM
    elif overshoots >= MIN_OVERSHOOTS:
        regime = Regime.OSCILLATING
    elif steps_to_converge is None:
        regime = Regime.SLOW
    else:
        regime = Regime.CONVERGED
    return Diagnosis(regime, steps_to_converge, overshoots, final_distance, minimum)
