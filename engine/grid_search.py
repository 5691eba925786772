"""Grid search over the learning rate: a log grid, run in one vmapped call, and the best rate.

The grid is ``n`` rates spaced evenly in log10 between ``lo`` and ``hi``:

    lr_i = lo * (hi / lo) ** (i / (n - 1)),   i = 0 .. n-1

On a surface the whole grid is one :func:`engine.descent.sweep` call (one
compile per step bucket and rate bucket); every run is named by
:func:`engine.diagnose.diagnose`. On the network it is one
:func:`engine.mlp.train` call per seed (each seed changes the initial weights
and the mini-batch order; the same compiled kernel serves them all).

The best rate, for the chosen criterion over the fixed budget:

- "final loss": the lowest loss at the end of the run (surfaces: above the
  global minimum's value; network: the median over seeds of the training
  loss). Runs that diverged are never best.
- "steps to converge" (surfaces only): the fewest steps to get and stay within
  the diagnosis tolerance of a minimum.

Ties (several rates equally good to float precision, e.g. all reaching the
float32 floor of the loss) go to the one that converged in the fewest steps,
then to the middle of the tied rates, in log scale.

On f = 0.5 (a x^2 + b y^2) the final-loss best over a fixed budget lies close
to theory's 2 / (L + mu), where the slowest direction shrinks fastest.

>>> from engine import surfaces
>>> g = on_surface(surfaces.quadratic(1.0, 10.0), 0.01, 1.0, 64, steps=60)
>>> abs(g.best_rate / (2 / 11) - 1) < 0.1
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engine import data as datasets
from engine import descent, diagnose, mlp, theory
from engine.surfaces import Surface

MAX_RATES = 256
MAX_NETWORK_RATES = 64
MAX_SEEDS = 8
CRITERIA = ("final loss", "steps to converge")
# Network regimes, relative to the grid (there is no closed-form minimum to reach):
NET_CLOSE = 2.0  # "converged": median final loss within 2x the grid's best
NET_UPS = 0.1  # "oscillating": the loss rose on at least 10% of the steps


def log_grid(lo: float, hi: float, n: int, max_n: int = MAX_RATES) -> np.ndarray:
    """``n`` rates evenly spaced in log10 from ``lo`` to ``hi`` (float64).

    >>> log_grid(0.01, 1.0, 3).tolist()
    [0.01, 0.1, 1.0]
    """
    for name, v in (("The smallest rate", lo), ("The largest rate", hi)):
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
            raise ValueError(f"{name} must be a positive number, got {v!r}.")
    if lo >= hi:
        raise ValueError(f"The smallest rate ({lo:g}) must be below the largest ({hi:g}).")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or not 2 <= n <= max_n:
        raise ValueError(f"The grid needs from 2 to {max_n} rates, got {n!r}.")
    return np.geomspace(lo, hi, int(n))


def pick_best(score: np.ndarray, eligible: np.ndarray, tie_break: np.ndarray | None = None) -> int | None:
    """Index of the smallest ``score`` among ``eligible``.

    Ties (equal to float precision) go to the smallest ``tie_break`` if given,
    then to the middle of what is still tied.
    """
    score = np.where(eligible & np.isfinite(score), score, np.inf)
    best = float(np.min(score)) if len(score) else math.inf
    if not math.isfinite(best):
        return None
    tied = np.nonzero(score <= best + 1e-6 * abs(best) + 1e-30)[0]
    if tie_break is not None and len(tied) > 1:
        tb = np.where(np.isfinite(tie_break[tied]), tie_break[tied], np.inf)
        if np.any(np.isfinite(tb)):
            tied = tied[tb == np.min(tb)]
    return int(tied[len(tied) // 2])


@dataclass(frozen=True, eq=False)
class SurfaceGrid:
    """A grid on a surface: per rate the final loss gap, steps to converge and regime.

    final_loss: (n,) loss at the end minus the global minimum's value;
    steps_to_converge: (n,) float, NaN where it did not; regimes: (n,) str;
    best_index: the best rate for ``criterion`` (None if every run diverged).
    """

    rates: np.ndarray
    steps: int
    final_loss: np.ndarray
    steps_to_converge: np.ndarray
    regimes: tuple[str, ...]
    diverged_at: np.ndarray
    best_index: int | None
    criterion: str
    sweep: descent.Sweep
    stable_below: float | None  # 2 / L on quadratics
    theory_best: float | None  # 2 / (L + mu) on quadratics

    @property
    def best_rate(self) -> float | None:
        return None if self.best_index is None else float(self.rates[self.best_index])


def on_surface(surface: Surface, lo: float, hi: float, n: int, steps: int, *,
               momentum: float = 0.0, criterion: str = "final loss") -> SurfaceGrid:
    """Run the grid on ``surface`` in one sweep and pick the best rate."""
    if criterion not in CRITERIA:
        raise ValueError(f"The criterion must be one of {', '.join(CRITERIA)}, got {criterion!r}.")
    rates = log_grid(lo, hi, n)
    sw = descent.sweep(surface, [float(r) for r in rates], steps, momentum=momentum)
    diag = [diagnose.diagnose(surface, t) for t in sw]
    regimes = tuple(d.regime.value for d in diag)
    conv = np.array([np.nan if d.steps_to_converge is None else d.steps_to_converge for d in diag])
    final = sw.losses[:, -1].astype(np.float64) - surface.global_value
    final = np.maximum(final, 0.0)
    ok = sw.diverged_at < 0
    score = final if criterion == "final loss" else conv
    best = pick_best(score, ok, tie_break=conv if criterion == "final loss" else final)
    sb = tb = None
    if surface.is_quadratic():
        th = theory.quadratic(*surface.params[:2])
        sb = th.stable_below if momentum == 0 else th.stable_below_momentum(momentum)
        tb = th.best_rate if momentum == 0 else th.best_momentum()[0]
    return SurfaceGrid(rates, steps, final, conv, regimes, sw.diverged_at, best, criterion, sw, sb, tb)


@dataclass(frozen=True, eq=False)
class NetworkGrid:
    """A grid on the network, several seeds: (seeds, n) final metrics and (seeds, n, steps+1) curves."""

    rates: np.ndarray
    seeds: tuple[int, ...]
    steps: int
    train_loss: np.ndarray  # (s, n, steps+1)
    val_loss: np.ndarray  # (s, n, steps+1)
    val_acc: np.ndarray  # (s, n, steps+1)
    diverged_at: np.ndarray  # (s, n)
    regimes: tuple[str, ...]
    best_index: int | None

    @property
    def final_loss(self) -> np.ndarray:
        return self.train_loss[:, :, -1]

    @property
    def final_acc(self) -> np.ndarray:
        return self.val_acc[:, :, -1]

    @property
    def best_rate(self) -> float | None:
        return None if self.best_index is None else float(self.rates[self.best_index])


def network_regimes(train_loss: np.ndarray, diverged_at: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Per rate: diverged (any seed blew up or ended above its start), oscillating (loss rose on
    >= 10% of steps, median over seeds), else converged / slow by whether the median final loss
    is within 2x the best non-diverged one. Returns (regimes, eligible-for-best mask)."""
    final = np.median(train_loss[:, :, -1], axis=0)
    blew = np.any((diverged_at >= 0) | (train_loss[:, :, -1] >= train_loss[:, :, 0]), axis=0)
    ups = np.median(np.mean(np.diff(train_loss, axis=-1) > 1e-6, axis=-1), axis=0)
    ok_final = np.where(blew, np.inf, final)
    floor = np.min(ok_final) if np.any(~blew) else np.inf
    regimes = []
    for i in range(train_loss.shape[1]):
        if blew[i]:
            regimes.append("diverged")
        elif ups[i] >= NET_UPS:
            regimes.append("oscillating")
        elif final[i] <= NET_CLOSE * floor:
            regimes.append("converged")
        else:
            regimes.append("slow")
    return regimes, ~blew


def on_network(dataset: str, lo: float, hi: float, n: int, steps: int, *, seeds=(0,),
               sizes: tuple[int, ...] | None = None, batch_size: int | None = None,
               activation: str = "tanh") -> NetworkGrid:
    """Train the network at every grid rate, once per seed; best = lowest median final train loss."""
    rates = log_grid(lo, hi, n, max_n=MAX_NETWORK_RATES)
    seeds = tuple(int(s) for s in seeds)
    if not 1 <= len(seeds) <= MAX_SEEDS:
        raise ValueError(f"The network grid needs from 1 to {MAX_SEEDS} seeds, got {len(seeds)}.")
    d = datasets.load(dataset)
    sizes = sizes or (d.n_features, 32, d.n_classes)
    runs = [mlp.train(mlp.init(sizes, seed=s), d.x_train, d.y_train, [float(r) for r in rates], steps,
                      evals=[(d.x_val, d.y_val)], batch_size=batch_size, seed=s, activation=activation)
            for s in seeds]
    train_loss = np.stack([r.train_loss for r in runs]).astype(np.float64)
    val_loss = np.stack([r.eval_loss[:, 0] for r in runs]).astype(np.float64)
    val_acc = np.stack([r.eval_acc[:, 0] for r in runs]).astype(np.float64)
    dead = np.stack([r.diverged_at for r in runs])
    regimes, ok = network_regimes(train_loss, dead)
    best = pick_best(np.median(train_loss[:, :, -1], axis=0), ok)
    return NetworkGrid(rates, seeds, steps, train_loss, val_loss, val_acc, dead, tuple(regimes), best)
