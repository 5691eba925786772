"""A schedule against a constant rate, on a surface or on the network, in one call each.

Both runs share the peak rate ``lr``: row 0 is the constant rate, row 1 the
schedule (``engine.schedules.build``). Reduce-on-plateau follows the loss, so it
is replayed with :func:`engine.schedules.run_with_plateau` (one extra call of
the same compiled kernel per reduction).

A table row names what a run did with :func:`what_it_did`: the path (oscillating
or not) and whether and when it converged, read from one diagnosis, so no two
cells can contradict each other.

>>> from engine import surfaces
>>> sw, rounds = on_surface(surfaces.quadratic(), "cosine", 0.1, 100)
>>> sw.lrs.shape, rounds
((2, 100), 1)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from engine import data as datasets
from engine import descent, mlp, schedules
from engine.diagnose import Diagnosis, Regime
from engine.surfaces import Surface


def _table_rate(table: np.ndarray):
    """A schedule step -> table[step] (so a precomputed table goes through the engines)."""
    t = jnp.asarray(table, jnp.float32)
    return lambda k: t[k]


def schedule_table(name: str, lr: float, steps: int, options: dict) -> np.ndarray | None:
    """The schedule's rates at steps 0..steps-1, or None for reduce-on-plateau (loss-driven)."""
    if name == schedules.PLATEAU:
        schedules.check_plateau(**options)
        return None
    return descent.rate_table(schedules.build(name, lr, steps, **options), steps)


def on_surface(surface: Surface, name: str, lr: float, steps: int, momentum: float = 0.0,
               **options) -> tuple[descent.Sweep, int]:
    """(sweep of [constant lr, schedule], runs needed): one sweep call (more for the plateau rule)."""
    table = schedule_table(name, lr, steps, options)
    rounds = 1
    if table is None:
        def run_table(t):
            return descent.sweep(surface, [_table_rate(t)], steps, momentum=momentum).losses[0]

        table, _, rounds = schedules.run_with_plateau(run_table, lr, steps, **options)
    return descent.sweep(surface, [lr, _table_rate(table)], steps, momentum=momentum), rounds


def on_network(dataset: str, name: str, lr: float, steps: int, *, seed: int = 0,
               batch_size: int | None = 64, sizes: tuple[int, ...] | None = None,
               **options) -> tuple[mlp.TrainRun, int]:
    """(training run of [constant lr, schedule], runs needed) on a data set's small MLP."""
    d = datasets.load(dataset)
    sizes = sizes or (d.n_features, 32, d.n_classes)
    p0 = mlp.init(sizes, seed=seed)
    table = schedule_table(name, lr, steps, options)
    rounds = 1
    if table is None:
        def run_table(t):
            return mlp.train(p0, d.x_train, d.y_train, [_table_rate(t)], steps, batch_size=batch_size,
                             seed=seed).train_loss[0]

        table, _, rounds = schedules.run_with_plateau(run_table, lr, steps, **options)
    run = mlp.train(p0, d.x_train, d.y_train, [lr, _table_rate(table)], steps, batch_size=batch_size,
                    seed=seed)
    return run, rounds


def what_it_did(diagnosis: Diagnosis, diverged_at: int | None, steps: int) -> str:
    """What a run did, in one phrase built from its diagnosis (one rule for every cell).

    The path comes from the regime (oscillating: repeated direction reversals);
    convergence from the diagnosis' convergence step, which a run that oscillates
    can have too: "oscillating, converged at step 57".

    >>> from engine import diagnose, surfaces
    >>> s = surfaces.quadratic(1.0, 1.0)
    >>> def did(lr):
    ...     t = descent.run(s, lr, 100)
    ...     return what_it_did(diagnose.diagnose(s, t), t.diverged_at, 100)
    >>> did(1.5)  # flips sign every step, and still converges
    'oscillating, converged at step 9'
    >>> did(0.001)
    'slow: not converged in 100 steps'
    >>> did(2.5).startswith("diverged at step")
    True
    """
    d = diagnosis
    if d.regime == Regime.DIVERGED:
        return "diverged" if diverged_at is None else f"diverged at step {diverged_at}"
    converged = d.converged
    at = "" if d.steps_to_converge is None else f" at step {d.steps_to_converge}"
    if d.regime == Regime.LOCAL_MINIMUM:
        return f"stuck in a local minimum{' from step ' + str(d.steps_to_converge) if at else ''}"
    if d.regime == Regime.OSCILLATING:
        return f"oscillating, converged{at}" if converged else f"oscillating, not converged in {steps} steps"
    if d.regime == Regime.SLOW or not converged:
        return f"slow: not converged in {steps} steps"
    return f"converged{at}"
