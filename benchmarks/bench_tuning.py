"""Part 3 speed: the grid search on a surface and the range test on the digits MLP.

Run from the repo root (a minute or two on 2 cores):

    .venv/bin/python benchmarks/bench_tuning.py [--json out.json] [--repeats N] [--seeds N]

a) a grid of 256 rates x 500 steps on the default quadratic, after compile:
   ``descent.sweep`` (the one call ``grid_search.on_surface`` makes) against
   NumPy vectorised across rates (one Python loop over steps, same freezing
   rule), and the whole ``grid_search.on_surface`` (sweep + 256 diagnoses +
   best pick). Target: the sweep under 100 ms.
b) the range test, 200 steps on the digits MLP (64 -> 32 -> 10, mini-batches of
   64), after compile: ``lr_finder.range_test`` (one ``mlp.train`` call) against
   a sequential baseline: a Python loop over steps calling a jitted optax
   step (sgd at the growing rate, then the training-set loss). Target: under 0.5 s.
c) the suggestion on digits over several seeds (steepest descent of the
   smoothed loss; defaults: 1e-6 to 10 over 100 steps, beta 0.98, 4x stop).

Wall clock, median and min of several repeats, engine and baseline interleaved.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import common  # first: puts the repo root on sys.path
import jax
import jax.numpy as jnp
import numpy as np
import optax

from engine import data, descent, grid_search, lr_finder, mlp, surfaces
from engine.descent import DIVERGENCE_FACTOR

GRID_RATES = np.geomspace(1e-4, 10.0, 256)
GRID_STEPS = 500
RANGE_STEPS = 200


def numpy_grid(s, rates, steps):
    """GD on f = 0.5 (a x^2 + b y^2) for every rate at once, float64, frozen where it leaves the box."""
    a, b, _ = s.params
    curv = np.array([a, b])
    center, half = np.asarray(s.center), DIVERGENCE_FACTOR * s.extent
    lr = rates[:, None]
    x = np.tile(np.asarray(s.start, np.float64), (len(rates), 1))
    losses = np.empty((steps + 1, len(rates)))
    losses[0] = 0.5 * (x**2 @ curv)
    dead = np.full(len(rates), -1)
    with np.errstate(all="ignore"):
        for k in range(steps):
            x_new = x - lr * curv * x
            f_new = 0.5 * (x_new**2 @ curv)
            bad = ~np.isfinite(f_new) | np.any(np.abs(x_new - center) > half, axis=1)
            dead = np.where((dead < 0) & bad, k + 1, dead)
            move = (dead < 0)[:, None]
            x = np.where(move, x_new, x)
            losses[k + 1] = np.where(dead < 0, f_new, losses[k])
    return losses, dead


def sequential_range_test(p0, x, y, steps, batch=64, seed=0):
    """The range test as a plain training loop: one jitted optax step per Python iteration."""
    schedule = lr_finder.rate_schedule(lr_finder.DEFAULT_MIN_LR, lr_finder.DEFAULT_MAX_LR, steps)
    opt = optax.sgd(schedule)
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    @jax.jit
    def step(p, state, k):
        idx = jax.random.randint(jax.random.fold_in(jax.random.PRNGKey(seed), k), (batch,), 0, len(x))
        g = jax.grad(mlp.loss)(p, xj[idx], yj[idx])
        upd, state = opt.update(g, state, p)
        p = optax.apply_updates(p, upd)
        return p, state, mlp.loss(p, xj, yj)

    p, state, out = p0, opt.init(p0), []
    for k in range(steps):
        p, state, f = step(p, state, k)
        out.append(f)
    return np.asarray(jnp.stack(out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the result rows here")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"machine: {json.dumps(common.machine())}; JAX {jax.__version__}\n")
    rows = []

    # a) the grid on a surface
    s = surfaces.quadratic()
    rates = [float(r) for r in GRID_RATES]
    t0 = time.perf_counter()
    sw = descent.sweep(s, rates, GRID_STEPS)
    compile_s = time.perf_counter() - t0
    ref, ref_dead = numpy_grid(s, GRID_RATES, GRID_STEPS)
    agree = np.array_equal(sw.diverged_at >= 0, ref_dead >= 0)
    t = common.measure_side_by_side({
        "sweep": lambda: descent.sweep(s, rates, GRID_STEPS),
        "numpy": lambda: numpy_grid(s, GRID_RATES, GRID_STEPS),
        "on_surface": lambda: grid_search.on_surface(s, 1e-4, 10.0, 256, GRID_STEPS),
    }, args.repeats)
    print(f"a) grid 256 x {GRID_STEPS} on the quadratic (first call incl. compile {compile_s:.2f} s); "
          f"divergence agrees with NumPy: {agree}")
    for k, v in t.items():
        print(f"   {k:11s} {v.ms_cpu()}")
    rows.append(common.row(f"grid 256 rates x {GRID_STEPS} steps, quadratic (one sweep call)",
                           t["sweep"].ms(), "NumPy vectorised: " + t["numpy"].ms(),
                           f"{t['numpy'].median / t['sweep'].median:.2g}x", "< 100 ms",
                           t["sweep"].median < 0.1))
    rows.append(common.row("grid_search.on_surface (sweep + 256 diagnoses + best)", t["on_surface"].ms()))

    # b) the range test on digits
    d = data.load("digits")
    p0 = mlp.init(lr_finder.DEFAULT_SIZES, seed=0)
    t0 = time.perf_counter()
    lr_finder.range_test(p0, d.x_train, d.y_train, steps=RANGE_STEPS)
    compile_s = time.perf_counter() - t0
    sequential_range_test(p0, d.x_train, d.y_train, RANGE_STEPS)
    t = common.measure_side_by_side({
        "range_test": lambda: lr_finder.range_test(p0, d.x_train, d.y_train, steps=RANGE_STEPS),
        "sequential": lambda: sequential_range_test(p0, d.x_train, d.y_train, RANGE_STEPS),
    }, max(3, args.repeats // 2))
    print(f"b) range test {RANGE_STEPS} steps on digits (first call incl. compile {compile_s:.2f} s)")
    for k, v in t.items():
        print(f"   {k:11s} {v.ms_cpu()}")
    rows.append(common.row(f"range test {RANGE_STEPS} steps, digits MLP 64-32-10, batch 64",
                           t["range_test"].ms(), "jitted optax step in a Python loop: "
                           + t["sequential"].ms(),
                           f"{t['sequential'].median / t['range_test'].median:.2g}x", "< 500 ms",
                           t["range_test"].median < 0.5))

    # c) the suggestion over seeds
    res = lr_finder.range_tests("digits", seeds=tuple(range(args.seeds)))
    mean, lo, hi = res.spread()
    steep = [t.steepest for t in res.tests]
    tenth = [t.min_lr_10 for t in res.tests]
    print(f"c) digits suggestion over {args.seeds} seeds: geometric mean {mean:.3g}, range {lo:.3g} "
          f"to {hi:.3g}; steepest {np.round(steep, 3).tolist()}; min/10 {np.round(tenth, 3).tolist()}")
    rows.append(common.row(f"suggested rate on digits, {args.seeds} seeds (steepest descent)",
                           f"{mean:.3g} (range {lo:.3g} to {hi:.3g})"))
    print("\n" + common.markdown_table(rows))
    common.write_json(args.json, rows, {"steepest": steep, "min_lr_10": tenth})
    return 0


if __name__ == "__main__":
    sys.exit(main())
