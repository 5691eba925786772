"""Text alternatives for the main charts: one sentence per chart, computed from the runs it draws.

A screen reader cannot read a Plotly chart, so each page puts the chart's sentence
next to it (ui.widgets.chart_text). Every number comes from the arrays passed in,
never from what a run was expected to do.

>>> paths_text("Rosenbrock", ["lr = 0.001", "lr = 0.5"], ["converged", "diverged"], [412, None],
...            [None, 7], 500)
'Paths of 2 runs on Rosenbrock: lr = 0.001 converged in 412 steps; lr = 0.5 diverged at step 7.'
>>> curves_text("Loss against step", ["a", "b"], [[1.0, 0.5, 0.01], [1.0, 3.0, 9.0]], [None, 2])
'Loss against step, 2 runs over 2 steps: a ended at 0.01 (lowest 0.01); b blew up at step 2.'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def _g(v: float) -> str:
    """A number with 3 significant digits (plain, no SI prefix)."""
    return f"{float(v):.3g}"


def _runs(n: int) -> str:
    return f"{n} run" + ("" if n == 1 else "s")


def _listed(parts: Sequence[str]) -> str:
    return "; ".join(parts)


def run_phrase(name: str, regime: str, steps_to_converge: int | None, diverged_at: int | None,
               steps: int) -> str:
    """What one run did, e.g. 'lr = 0.1 converged in 40 steps' or 'lr = 2 diverged at step 3'."""
    if diverged_at is not None:
        return f"{name} diverged at step {int(diverged_at)}"
    if regime == "converged" and steps_to_converge is not None:
        return f"{name} converged in {int(steps_to_converge)} steps"
    if steps_to_converge is not None:  # e.g. oscillating but settled in the end
        return f"{name} was {regime}, settling by step {int(steps_to_converge)}"
    return f"{name} was {regime}, not converged in {int(steps)} steps"


def paths_text(surface_title: str, names: Sequence[str], regimes: Sequence[str],
               steps_to_converge: Sequence[int | None], diverged_at: Sequence[int | None],
               steps: int) -> str:
    """The trajectory chart: 'Paths of 3 runs on Rosenbrock: lr = 0.001 converged in 412 steps; …'."""
    parts = [run_phrase(*run, steps) for run in zip(names, regimes, steps_to_converge, diverged_at,
                                                    strict=True)]
    return f"Paths of {_runs(len(parts))} on {surface_title}: {_listed(parts)}."


def paths_text_of(surface, sweep, diagnoses, names: Sequence[str]) -> str:
    """paths_text from an engine Surface, Sweep and its Diagnosis list."""
    dead = [None if d < 0 else int(d) for d in np.asarray(sweep.diverged_at)]
    return paths_text(surface.title, names, [str(d.regime) for d in diagnoses],
                      [d.steps_to_converge for d in diagnoses], dead, sweep.points.shape[1] - 1)


def curves_text(title: str, names: Sequence[str], curves, diverged_at: Sequence[int | None] | None = None,
                unit: str = "") -> str:
    """A chart of one curve per run against step: how each ended and its lowest value.

    A run that blew up reports only the step, never a final value."""
    curves = [np.asarray(c, np.float64) for c in curves]
    dead = list(diverged_at) if diverged_at is not None else [None] * len(curves)
    steps = max((len(c) for c in curves), default=1) - 1
    parts = []
    for name, c, d in zip(names, curves, dead, strict=True):
        if d is not None:
            parts.append(f"{name} blew up at step {int(d)}")
            continue
        finite = c[np.isfinite(c)]
        if not len(finite):
            parts.append(f"{name} has no finite value")
            continue
        parts.append(f"{name} ended at {_g(finite[-1])}{unit} (lowest {_g(finite.min())}{unit})")
    return f"{title}, {_runs(len(parts))} over {steps} steps: {_listed(parts)}."


def rates_text(names: Sequence[str], tables) -> str:
    """The rate-against-step chart: each run's rate at the start, its peak and at the end."""
    parts = []
    for name, t in zip(names, tables, strict=True):
        t = np.asarray(t, np.float64)
        if np.allclose(t, t[0]):
            parts.append(f"{name} stays at {_g(t[0])}")
        else:
            parts.append(f"{name} goes from {_g(t[0])} (peak {_g(t.max())}) to {_g(t[-1])}")
    n = max((len(np.asarray(t)) for t in tables), default=0)
    return f"Rate against step, over {n} steps: {_listed(parts)}."


def grid_text(rates, values, regimes: Sequence[str], what: str, best_index: int | None = None) -> str:
    """A grid-search chart: how many rates fell in each regime, where divergence starts, the best.

    >>> grid_text([0.01, 0.1, 1.0], [0.5, 0.01, 9.0], ["slow", "converged", "diverged"],
    ...           "final loss", 1).split("; ")  # doctest: +NORMALIZE_WHITESPACE
    ['Final loss for 3 rates from 0.01 to 1: 1 slow, 1 converged, 1 diverged',
     'diverged from 1 up', 'best 0.1 (final loss 0.01).']
    """
    rates = np.asarray(rates, np.float64)
    values = np.asarray(values, np.float64)
    if values.ndim > 1:  # one row per seed: the median, as the chart's point
        values = np.median(values, axis=0)
    counts = Counter(regimes)
    tally = ", ".join(f"{counts[r]} {r}" for r in sorted(counts, key=lambda r: -counts[r]))
    text = f"{what.capitalize()} for {len(rates)} rates from {_g(rates.min())} to {_g(rates.max())}: {tally}"
    dead = [r for r, g in zip(rates, regimes, strict=True) if g == "diverged"]
    if dead:
        text += f"; diverged from {_g(min(dead))} up" if max(dead) == rates.max() else \
            f"; diverged at {len(dead)} rates, the smallest {_g(min(dead))}"
    if best_index is not None and 0 <= best_index < len(rates):
        v = values[best_index]
        text += f"; best {_g(rates[best_index])}" + (f" ({what} {_g(v)})" if np.isfinite(v) else "")
    return text + "."


def range_test_text(tests, labels: Sequence[str]) -> str:
    """The range-test chart: per seed, where the smoothed loss was lowest and fell fastest."""
    parts = []
    for label, t in zip(labels, tests, strict=True):
        lowest = f"lowest at rate {_g(t.lrs[t.min_index])}"
        steep = "" if t.steepest is None else f", steepest fall at {_g(t.steepest)}"
        parts.append(f"{label}: {lowest}{steep}, stopped at {_g(t.lrs[-1])}")
    first = tests[0].lrs[0] if tests else 0.0
    return (f"Smoothed loss against a rate growing from {_g(first)}, {_runs(len(parts))}: "
            f"{_listed(parts)}.")


def accuracy_text(title: str, names: Sequence[str], acc, diverged_at: Sequence[int | None]) -> str:
    """Accuracy curves (fractions 0-1): each run's final accuracy, none for a run that blew up."""
    parts = []
    for name, a, d in zip(names, acc, diverged_at, strict=True):
        a = np.asarray(a, np.float64)
        parts.append(f"{name} blew up at step {int(d)}" if d is not None else
                     f"{name} ended at {100 * a[-1]:.1f}% (best {100 * np.nanmax(a):.1f}%)")
    return f"{title}, {_runs(len(parts))}: {_listed(parts)}."


def map_text(regime_counts: dict[str, int], x_what: str, y_what: str) -> str:
    """A stability map: how many cells ended in each regime."""
    total = sum(regime_counts.values())
    tally = ", ".join(f"{n} {r}" for r, n in sorted(regime_counts.items(), key=lambda kv: -kv[1]) if n)
    return f"Map of {total} runs, {x_what} across and {y_what} up: {tally}."


def map_text_of(m) -> str:
    """map_text of an engine.maps.StabilityMap, with the best cell when there is one."""
    from charts.maps import ROW_TITLES
    from engine.maps import REGIMES

    codes = np.asarray(m.regimes).ravel()
    counts = {r: int(np.sum(codes == k)) for k, r in enumerate(REGIMES)}
    rates = np.asarray(m.rates)
    text = map_text(counts, f"rate from {_g(rates.min())} to {_g(rates.max())}",
                    ROW_TITLES[m.config.kind])[:-1]
    if m.best_cell is not None:
        i, j = m.best_cell
        text += f"; best at rate {_g(rates[j])}, {ROW_TITLES[m.config.kind]} {_g(m.rows[i])}"
    return text + "."


def _pct(v: float) -> str:
    return f"{100 * float(v):.1f}%"


def training_text(names: Sequence[str], train_loss, val_acc,
                  diverged_at: Sequence[int | None]) -> str:
    """The network-training chart (loss and accuracy against step): each run's final training
    loss and validation accuracy (a fraction 0-1), with its best; only the step for a run that
    blew up.

    >>> training_text(["lr = 0.1", "lr = 10"], [[0.7, 0.3, 0.1], [0.7, 9.0, 9.0]],
    ...               [[0.5, 0.8, 0.9], [0.5, 0.3, 0.3]], [None, 1]).split(": ")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Training and validation loss and accuracy against step, 2 runs over 2 steps',
     'lr = 0.1 ended at training loss 0.1, validation accuracy 90.0% (best 90.0%);
      lr = 10 blew up at step 1.']
    """
    parts = []
    steps = 0
    for name, loss, acc, d in zip(names, train_loss, val_acc, diverged_at, strict=True):
        loss, acc = np.asarray(loss, np.float64), np.asarray(acc, np.float64)
        steps = max(steps, len(loss) - 1)
        if d is not None:
            parts.append(f"{name} blew up at step {int(d)}")
            continue
        parts.append(f"{name} ended at training loss {_g(loss[-1])}, validation accuracy "
                     f"{_pct(acc[-1])} (best {_pct(np.nanmax(acc))})")
    return (f"Training and validation loss and accuracy against step, {_runs(len(parts))} over "
            f"{steps} steps: {_listed(parts)}.")


def training_text_of(run, names: Sequence[str]) -> str:
    """training_text of an engine.mlp TrainRun (its first evaluation set is the validation one)."""
    dead = [None if d < 0 else int(d) for d in np.asarray(run.diverged_at)]
    return training_text(names, run.train_loss, np.asarray(run.eval_acc)[:, 0], dead)


def finetune_text(names: Sequence[str], b_acc, a_acc, diverged_at: Sequence[int | None]) -> str:
    """The fine-tuning chart: per run, task B's accuracy (learning) and task A's (what is kept)
    from the first step to the last (fractions 0-1); only the step for a run that blew up.

    >>> finetune_text(["lr = 0.01", "lr = 5"], [[0.1, 0.6, 0.9], [0.1, 0.2, 0.2]],
    ...               [[0.99, 0.98, 0.97], [0.99, 0.1, 0.1]], [None, 1]).split("; ")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Task B accuracy (learning) and task A accuracy (what is kept) against step, 2 runs over 2
      steps: lr = 0.01: task B 10.0% to 90.0%, task A 99.0% to 97.0%',
     'lr = 5 blew up at step 1.']
    """
    parts = []
    steps = 0
    for name, b, a, d in zip(names, b_acc, a_acc, diverged_at, strict=True):
        b, a = np.asarray(b, np.float64), np.asarray(a, np.float64)
        steps = max(steps, len(b) - 1)
        if d is not None:
            parts.append(f"{name} blew up at step {int(d)}")
            continue
        parts.append(f"{name}: task B {_pct(b[0])} to {_pct(b[-1])}, task A {_pct(a[0])} to "
                     f"{_pct(a[-1])}")
    return (f"Task B accuracy (learning) and task A accuracy (what is kept) against step, "
            f"{_runs(len(parts))} over {steps} steps: {_listed(parts)}.")


def finetune_text_of(run, names: Sequence[str]) -> str:
    """finetune_text of an engine.finetune run."""
    dead = [None if d < 0 else int(d) for d in np.asarray(run.diverged_at)]
    return finetune_text(names, run.b_acc, run.a_acc, dead)
