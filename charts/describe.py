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
                unit: str = "", steps: int | None = None) -> str:
    """A chart of one curve per run against step: how each ended and its lowest value.

    A run that blew up reports only the step, never a final value. ``steps``: the run's length
    when a curve has one value per step rather than per point (a step size)."""
    curves = [np.asarray(c, np.float64) for c in curves]
    dead = list(diverged_at) if diverged_at is not None else [None] * len(curves)
    if steps is None:
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


def _dead(diverged_at) -> list[int | None]:
    """Engine divergence steps (-1 where none) as a list with None where none."""
    return [None if int(d) < 0 else int(d) for d in np.asarray(diverged_at).ravel()]


def votes_text(options: Sequence[str], tally: dict, labels: Sequence[str] | None = None,
               right=None, what: str = "Votes") -> str:
    """A vote chart: how many of the votes each option got, the right ones marked.

    >>> votes_text(["a", "b", "c"], {"a": 12, "b": 8}, ["it diverges", "it converges", "it crawls"],
    ...            right={"a"})
    "Votes: 12 of 20 for 'it diverges' (right), 8 of 20 for 'it converges', 0 of 20 for 'it crawls'."
    >>> votes_text(["x", "y"], {})
    "Votes: none yet, for 'x' or 'y'."
    """
    names = list(labels) if labels else list(options)
    counts = [int(tally.get(o, 0)) for o in options]
    n = sum(counts)
    if not n:
        return f"{what}: none yet, for " + " or ".join(f"'{x}'" for x in names) + "."
    right = set(right or ())
    parts = [f"{k} of {n} for '{x}'" + (" (right)" if o in right else "")
             for o, x, k in zip(options, names, counts, strict=True)]
    return f"{what}: " + ", ".join(parts) + "."


def series_text(title: str, x_what: str, xs, series) -> str:
    """A chart of a few named lines against one x: where each starts and ends, and where it has no
    value (a run that never converged is a gap).

    >>> series_text("Steps to converge against condition number", "κ", [1, 10, 100],
    ...             [("measured", [3, 30, float("nan")]), ("theory", [2, 25, 260])])
    ... # doctest: +NORMALIZE_WHITESPACE
    'Steps to converge against condition number, 3 values of κ from 1 to 100: measured from 3 at
     κ = 1 to 30 at κ = 10 (no value at 1 of them); theory from 2 at κ = 1 to 260 at κ = 100.'
    """
    xs = np.asarray(xs, np.float64)
    parts = []
    for name, ys in series:
        ys = np.asarray([np.nan if v is None else v for v in ys], np.float64)
        ok = np.nonzero(np.isfinite(ys))[0]
        if not len(ok):
            parts.append(f"{name} has no value")
            continue
        a, b = ok[0], ok[-1]
        text = f"{name} from {_g(ys[a])} at {x_what} = {_g(xs[a])} to {_g(ys[b])} at {x_what} = {_g(xs[b])}"
        if len(ok) < len(ys):
            text += f" (no value at {len(ys) - len(ok)} of them)"
        parts.append(text)
    return (f"{title}, {len(xs)} values of {x_what} from {_g(xs.min())} to {_g(xs.max())}: "
            f"{_listed(parts)}.")


def rate_sweep_text(rates, steps, distance, regimes: Sequence[str], fastest_index: int | None,
                    budget: int, marks: dict[str, float] | None = None) -> str:
    """A lesson's rate sweep (steps to converge on top, final distance below, against the rate):
    the regimes, where divergence starts, the fastest rate, the closest finish and the marked rates.

    >>> rate_sweep_text([0.01, 0.1, 0.3], [float("inf"), 12, float("inf")], [0.5, 1e-6, float("inf")],
    ...                 ["slow", "converged", "diverged"], 1, 100, {"2/L": 0.2}).split("; ")
    ... # doctest: +NORMALIZE_WHITESPACE
    ['Steps to converge (top) and distance to the minimum at the end (bottom) against rate, 100 steps
      per run. Steps to converge for 3 rates from 0.01 to 0.3: 1 slow, 1 converged, 1 diverged',
     'diverged from 0.3 up', 'fastest 0.1 (12 steps)', 'closest at the end 0.1 (distance 1e-06)',
     'marked: 2/L = 0.2.']
    """
    rates = np.asarray(rates, np.float64)
    steps = np.asarray(steps, np.float64)
    distance = np.asarray(distance, np.float64)
    text = grid_text(rates, np.where(np.isfinite(steps), steps, np.nan), regimes,
                     "steps to converge")[:-1]
    if fastest_index is not None:
        text += f"; fastest {_g(rates[fastest_index])} ({int(steps[fastest_index])} steps)"
    else:
        text += f"; none converged in {int(budget)} steps"
    ok = np.isfinite(distance)
    if ok.any():
        k = int(np.argmin(np.where(ok, distance, np.inf)))
        text += f"; closest at the end {_g(rates[k])} (distance {_g(distance[k])})"
    if marks:
        text += "; marked: " + ", ".join(f"{name} = {_g(v)}" for name, v in marks.items())
    return (f"Steps to converge (top) and distance to the minimum at the end (bottom) against rate, "
            f"{int(budget)} steps per run. {text}.")


def sharpness_text(names: Sequence[str], steps, sharp, rates, diverged_at) -> str:
    """The sharpness chart: per rate, the largest Hessian eigenvalue at the first and last recorded
    step (before a divergence) and its peak, against the rate's limit 2/lr.

    >>> sharpness_text(["lr = 0.1", "lr = 1"], [0, 10, 20], [[5, 12, 19], [5, 9, 1e9]], [0.1, 1],
    ...                [-1, 15]).split("; ")  # doctest: +NORMALIZE_WHITESPACE
    ['Sharpness (largest Hessian eigenvalue) against step, each rate with its limit 2/lr, 2 runs
      over 20 steps: lr = 0.1 from 5 to 19 (peak 19, limit 20, below it at the end)',
     'lr = 1 from 5 to 9 (peak 9, limit 2, above it at the end), then diverged at step 15.']
    """
    steps = np.asarray(steps)
    parts = []
    for name, s, lr, d in zip(names, sharp, rates, np.asarray(diverged_at).ravel(), strict=True):
        keep = steps < d if d >= 0 else np.ones(len(steps), bool)
        keep[0] = True
        s = np.asarray(s, np.float64)[keep]
        s = s[np.isfinite(s)]
        limit = 2.0 / float(lr)
        if not len(s):
            parts.append(f"{name} has no recorded value")
            continue
        side = "above" if s[-1] >= limit else "below"
        text = (f"{name} from {_g(s[0])} to {_g(s[-1])} (peak {_g(s.max())}, limit {_g(limit)}, "
                f"{side} it at the end)")
        parts.append(text + (f", then diverged at step {int(d)}" if d >= 0 else ""))
    span = int(steps[-1]) if len(steps) else 0
    return (f"Sharpness (largest Hessian eigenvalue) against step, each rate with its limit 2/lr, "
            f"{_runs(len(parts))} over {span} steps: {_listed(parts)}.")


def boundary_text(name: str, x, y, xs, ys, classes, frame_steps) -> str:
    """The animated decision regions of one run: how much of the plane each class's region covers
    at the last frame, and how many validation points lie in their own class's region, first and last.

    >>> g = np.linspace(-1, 1, 4)
    >>> first = np.zeros((4, 4), int); last = np.tile([0, 0, 1, 1], (4, 1))
    >>> print(boundary_text("lr = 0.1", [[-0.9, 0], [0.9, 0], [0.8, 0.5]], [0, 1, 0], g, g,
    ...                     np.stack([first, last]), [0, 50]))  # doctest: +NORMALIZE_WHITESPACE
    Decision regions of lr = 0.1 at 2 recorded steps from 0 to 50, with 3 validation points: at
    step 50 the regions cover class 0 50%, class 1 50% of the plane; 2 of the 3 points (66.7%) lie
    in their own class's region at step 0, 2 (66.7%) at step 50.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y).ravel()
    xs, ys, classes = np.asarray(xs, np.float64), np.asarray(ys, np.float64), np.asarray(classes)
    ix = np.abs(x[:, 0, None] - xs[None]).argmin(1)  # each point's nearest grid cell
    iy = np.abs(x[:, 1, None] - ys[None]).argmin(1)
    n = len(y)

    def inside(f: int) -> int:
        return int(np.sum(classes[f][iy, ix] == y))

    last = classes[-1].ravel()
    cover = ", ".join(f"class {k} {100 * np.mean(last == k):.0f}%" for k in np.unique(last))
    a, b = inside(0), inside(-1)
    return (f"Decision regions of {name} at {len(frame_steps)} recorded steps from {int(frame_steps[0])} "
            f"to {int(frame_steps[-1])}, with {n} validation points: at step {int(frame_steps[-1])} the "
            f"regions cover {cover} of the plane; {a} of the {n} points ({_pct(a / max(n, 1))}) lie in "
            f"their own class's region at step {int(frame_steps[0])}, {b} ({_pct(b / max(n, 1))}) at "
            f"step {int(frame_steps[-1])}.")


def digits_text(labels, predicted, listed: int = 8) -> str:
    """The digits mosaic: how many images got their true label, and which were misread.

    >>> digits_text([3, 5, 9, 1], [3, 6, 4, 1])
    '4 validation digits with their predicted labels: 2 right, 2 wrong (a 5 read as 6, a 9 read as 4).'
    """
    labels, predicted = np.asarray(labels).ravel(), np.asarray(predicted).ravel()
    wrong = np.nonzero(labels != predicted)[0]
    text = (f"{len(labels)} validation digits with their predicted labels: "
            f"{len(labels) - len(wrong)} right, {len(wrong)} wrong")
    if len(wrong):
        misread = [f"a {int(labels[k])} read as {int(predicted[k])}" for k in wrong[:listed]]
        more = f", and {len(wrong) - listed} more" if len(wrong) > listed else ""
        text += f" ({', '.join(misread)}{more})"
    return text + "."
