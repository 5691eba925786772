"""Engine speed: JAX `run` / `sweep` / `sweep_final` against NumPy and C doing the same work.

Run from the repo root (2-4 minutes on 2 cores):

    .venv/bin/python benchmarks/bench_engine.py [--json out.json] [--repeats N]
        [--only one_run,sweep,adam,final,schedules,grid,compile,flag] [--alt-descent FILE]

Every baseline does the engine's work (``baselines.py``): heavy ball (or Adam), one
loss-and-gradient evaluation per step, the engine's validity check and divergence box,
frozen runs, full trajectories. Timings are wall clock, interleaved (a, b, c, a, b, c, ...)
so a busy second core slows all alike; each ratio is of medians measured side by side in
one process, with the ratio of minimums beside it.

a) ``one_run``: one 500-step run on Rosenbrock: ``descent.run`` vs a NumPy Python loop,
   plus the raw jitted kernel on device arrays (host overhead vs compute).
b) ``sweep``: 1,024 rates x 500 steps on Rosenbrock, plain SGD, full trajectories:
   ``descent.sweep`` and its raw kernel vs NumPy vectorised across rates (float32 and
   float64; the faster is the baseline) and vs C (``cref.c``, one thread, built here
   with ``cc -O3 -march=native``); results compared run by run; c) its memory floor.
d) ``adam``: the same with ``optimizer=optax.adam`` vs a NumPy Adam.
e) ``final``: ``descent.sweep_final``, 16,384 runs (128 rates x 128 momenta, momentum per
   run) x 500 steps on the quadratic and on Rosenbrock vs NumPy and C, final points only.
f) ``schedules``: ``descent.rate_table`` of a schedule never seen before (cold: new
   parameters each call) and of the same one again (cached), for optax's cosine and every
   named schedule (``schedules.make``); a 3-rate sweep with schedules vs constant rates.
g) ``grid``: 256 rates x 500 steps on the default quadratic (part 3's grid).
h) ``compile``: first compile per surface family in fresh processes, without and with a
   warm persistent compilation cache.
i) ``flag``: b), d) and e) again in a child process started with XLA's default
   small-while-loop threshold (1,024 bytes: what ``engine/__init__.py`` raises to 1e9),
   to show what the flag buys; the child's compiled HLO is checked for the flag's effect.

``--alt-descent FILE`` also times another version of ``engine/descent.py`` (same public
API) side by side in b), d) and e): how an engine proposal is measured.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import baselines
import common  # puts the repo root on sys.path, so `engine` imports
import jax
import numpy as np
import optax

from engine import descent, schedules, surfaces

# This process never uses JAX's persistent cache: every compile here is real.
jax.config.update("jax_enable_compilation_cache", False)

STEPS = 500
SWEEP_RATES = np.geomspace(1e-5, 1e-2, 1024)  # SGD on Rosenbrock: ~230 of them diverge
ADAM_RATES = np.geomspace(1e-4, 10.0, 1024)  # Adam on Rosenbrock: the last ~40 diverge
FINAL_SIDE = 128  # sweep_final: FINAL_SIDE rates x FINAL_SIDE momenta
FINAL_MOMENTA = np.linspace(0.0, 0.99, FINAL_SIDE)
FINAL_RATES = {"quadratic": np.geomspace(1e-3, 1.0, FINAL_SIDE),
               "rosenbrock": np.geomspace(1e-5, 1e-2, FINAL_SIDE)}
GRID_RATES = np.geomspace(1e-4, 10.0, 256)  # the app's rate range; on the bowl > 0.2 diverges
RUN_RATE = 5e-4
DEFAULT_THRESHOLD = 1024  # XLA:CPU's own xla_cpu_small_while_loop_byte_threshold
TARGETS = {"sweep": 6.0, "adam": 4.0, "final": 4.0, "c_within": 3.0, "schedule_ms": 1.0}
# float32 engine vs NumPy: final points agree to this (loose) tolerance, except a few runs
# at the edge of stability (or Adam at rates of order 1-10 on the banana, which wander
# chaotically), where rounding differences grow; those are counted and reported.
RTOL = ATOL = 1e-2
MAX_MISMATCH_FRACTION = {"sweep": 0.01, "adam": 0.02, "final": 0.01}
MAX_DIVERGED_SET_DIFF = 0.001  # runs whose diverged/not status differs, in sweep_final


def load(path: str | None):
    """Another version of engine/descent.py, imported as a module (or None)."""
    if not path:
        return None
    spec = importlib.util.spec_from_file_location("alt_descent", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def raw_kernel(mod, s, lrs, steps, momentum=0.0, optimizer=None, keep_path=True):
    """The jitted kernel of ``mod`` on device arrays, exactly as ``sweep``/``sweep_final``
    call it: ``_prepare`` then ``_descend`` (a 4-tuple from ``_prepare`` carries the
    compiled length as an extra static argument, as in engine/descent.py)."""
    length = mod._sweep_length if keep_path else (lambda st, _n: mod.step_bucket(st))
    prep = mod._prepare(s, list(lrs), steps, None, momentum, optimizer, 0.0, 0, length)
    statics = [s.family, optimizer, keep_path] + ([prep[1]] if len(prep) == 4 else [])
    args = jax.block_until_ready(jax.device_put(prep[-1]))
    return lambda: jax.block_until_ready(mod._descend(*statics, *args))


def ratio_text(base: common.Timing, eng: common.Timing) -> str:
    return f"{base.median / eng.median:.2f}x (min {base.min / eng.min:.2f}x)"


def best_numpy(t: dict, names=("numpy32", "numpy64")) -> str:
    return min(names, key=lambda k: t[k].median)


def final_close(px, py, ref_x, ref_y) -> np.ndarray:
    return (np.isclose(px, ref_x, rtol=RTOL, atol=ATOL)
            & np.isclose(py, ref_y, rtol=RTOL, atol=ATOL))


def agreement(kind: str, px, py, dead, ref) -> dict:
    """Engine final points (px, py) and dead steps against a reference (xs, ys, fs, dead)."""
    rx, ry, _, rdead = ref
    rx, ry = (rx[-1], ry[-1]) if np.ndim(rx) == 2 else (rx, ry)
    dead, rdead = np.asarray(dead), np.asarray(rdead)
    close = final_close(px, py, rx, ry)
    same_step = dead == rdead
    same_set = (dead >= 0) == (rdead >= 0)
    n = len(dead)
    if kind == "final":
        honest = (1 - same_set.mean() <= MAX_DIVERGED_SET_DIFF
                  and 1 - close[same_set].mean() <= MAX_MISMATCH_FRACTION[kind])
    else:
        honest = bool(same_step.all()) and 1 - close.mean() <= MAX_MISMATCH_FRACTION[kind]
    return {"runs": n, "diverged_ref": int((rdead >= 0).sum()),
            "diverged_engine": int((dead >= 0).sum()), "same_diverged_at": int(same_step.sum()),
            "same_diverged_set": int(same_set.sum()), "final_point_close": int(close.sum()),
            "honest": bool(honest)}


def agreement_text(a: dict, kind: str) -> str:
    if kind == "final":
        return (f"{a['same_diverged_set']}/{a['runs']} same diverged-or-not "
                f"({a['diverged_engine']} vs {a['diverged_ref']} diverged), "
                f"{a['final_point_close']}/{a['runs']} final points close")
    return (f"{a['same_diverged_at']}/{a['runs']} same divergence step ({a['diverged_ref']} "
            f"diverged), {a['final_point_close']}/{a['runs']} final points close")


def load_note() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


# ---------------------------------------------------------------------------
# a) one run
# ---------------------------------------------------------------------------


def numpy_loop_run(s, lr: float, steps: int):
    """One run as a plain Python loop over steps (float64 scalars), the engine's rules."""
    lg = baselines.loss_grad(s, float)
    cx, cy = s.center
    h = float(descent.half_box(s, 0.0))
    x, y = (float(v) for v in s.start)
    f, gx, gy = lg(x, y)
    vx = vy = 0.0
    points, losses = np.empty((steps + 1, 2)), np.empty(steps + 1)
    points[0], losses[0] = (x, y), f
    dead = -1
    for k in range(steps):
        if dead < 0:
            nvx, nvy = gx + 0.0 * vx, gy + 0.0 * vy
            nx, ny = x - lr * nvx, y - lr * nvy
            nf, ngx, ngy = lg(nx, ny)
            if np.isfinite(nf) and abs(nx - cx) <= h and abs(ny - cy) <= h:
                x, y, vx, vy, f, gx, gy = nx, ny, nvx, nvy, nf, ngx, ngy
            else:
                dead = k + 1
        points[k + 1], losses[k + 1] = (x, y), f
    return points, losses, dead


def bench_one_run(repeats: int, alt) -> tuple[list[dict], dict]:
    s = surfaces.rosenbrock()
    descent.run(s, RUN_RATE, STEPS)  # compile
    kernel = raw_kernel(descent, s, [RUN_RATE], STEPS)
    t = common.measure_side_by_side({
        "engine": lambda: descent.run(s, RUN_RATE, STEPS),
        "kernel": kernel,
        "numpy": lambda: numpy_loop_run(s, RUN_RATE, STEPS),
    }, repeats)
    traj = descent.run(s, RUN_RATE, STEPS)
    ref_points, _, ref_dead = numpy_loop_run(s, RUN_RATE, STEPS)
    same = bool(np.allclose(traj.points[-1], ref_points[-1], rtol=RTOL, atol=ATOL)
                and (traj.diverged_at or -1) == ref_dead)
    e, k, n = t["engine"], t["kernel"], t["numpy"]
    print(f"a) one {STEPS}-step run, Rosenbrock, lr={RUN_RATE}, after compile ({e.n} repeats, "
          f"{load_note()})")
    print(f"   descent.run            {e.ms_cpu()}")
    print(f"   raw kernel             {k.ms_cpu()}  -> host overhead in run() ~ "
          f"{(e.median - k.median) * 1e3:.3g} ms")
    print(f"   NumPy Python loop      {n.ms_cpu()}   NumPy/engine = {ratio_text(n, e)};"
          f" same final point: {same}")
    rows = [
        common.row(f"one {STEPS}-step run, Rosenbrock, after compile (`run`)", e.ms_cpu(),
                   f"NumPy Python loop {n.ms_cpu()}", ratio_text(n, e)),
        common.row("  of which the raw jitted kernel (1,000-step, 4-rate compile)", k.ms_cpu(),
                   ratio=f"{k.median / e.median:.0%} of `run`"),
    ]
    return rows, {"engine_ms": e.median * 1e3, "kernel_ms": k.median * 1e3,
                  "numpy_loop_ms": n.median * 1e3, "same_final_point": same}


# ---------------------------------------------------------------------------
# b) + c) the 1,024-rate SGD sweep, and its memory floor
# ---------------------------------------------------------------------------


def write_bandwidth(nbytes: int, repeats: int = 100) -> dict:
    """Best-of-``repeats`` bandwidth of filling a float32 array of ``nbytes``."""
    dst = np.empty(nbytes // 4, dtype=np.float32)
    dst.fill(0.0)  # fault the pages in first
    fill = common.measure(lambda: dst.fill(1.0), repeats)
    return {"fill_GBps": nbytes / fill.min / 1e9, "fill_min_ms": fill.min * 1e3}


def sweep_fns(mod, s, rates, optimizer=None) -> dict:
    rl = [float(r) for r in rates]
    return {"sweep": lambda: mod.sweep(s, rl, STEPS, optimizer=optimizer),
            "kernel": raw_kernel(mod, s, rl, STEPS, optimizer=optimizer)}


def bench_sweep(repeats: int, alt) -> tuple[list[dict], dict]:
    s = surfaces.rosenbrock()
    rates = SWEEP_RATES
    n = len(rates)
    fns = sweep_fns(descent, s, rates)
    if alt is not None:
        fns.update({f"alt_{k}": v for k, v in sweep_fns(alt, s, rates).items()})
    fns["numpy32"] = lambda: baselines.numpy_heavy_ball(s, rates, STEPS)
    fns["numpy64"] = lambda: baselines.numpy_heavy_ball(s, rates, STEPS, dtype=np.float64)
    c_fresh = baselines.c_reference(s, rates, STEPS)
    if c_fresh is not None:
        fns["c"] = c_fresh
        fns["c_prealloc"] = baselines.c_reference(s, rates, STEPS, fresh=False)
    t = common.measure_side_by_side(fns, repeats)
    e, k = t["sweep"], t["kernel"]
    best = best_numpy(t)
    b = t[best]
    sw = descent.sweep(s, [float(r) for r in rates], STEPS)
    px, py = sw.points[:, -1, 0], sw.points[:, -1, 1]
    agree = {name: agreement("sweep", px, py, sw.diverged_at, ref) for name, ref in (
        ("numpy64", baselines.numpy_heavy_ball(s, rates, STEPS, dtype=np.float64)),
        ("numpy32", baselines.numpy_heavy_ball(s, rates, STEPS)),
        *((("c", c_fresh()),) if c_fresh else ()))}
    ratio = b.median / e.median

    # c) memory floor: what the sweep has to write, at this machine's write bandwidth.
    nbytes = n * (STEPS + 1) * 3 * 4
    bw = write_bandwidth(nbytes)
    floor = nbytes / (bw["fill_GBps"] * 1e9)

    print(f"b) sweep {n} rates x {STEPS} steps, Rosenbrock, plain SGD, full trajectories "
          f"({e.n} repeats, {load_note()})")
    for name, tm in t.items():
        print(f"   {name:12s} {tm.ms_cpu()}")
    print(f"   NumPy ({best}) / sweep = {ratio_text(b, e)} (target >= {TARGETS['sweep']:g}x); "
          f"NumPy / raw kernel = {ratio_text(b, k)}")
    for name, a in agree.items():
        print(f"   agreement with {name}: {json.dumps(a)}")
    rows = [
        common.row(f"SGD sweep {n} rates x {STEPS} steps, Rosenbrock, full trajectories "
                   "(`sweep`)", e.ms_cpu(), f"NumPy vectorised across rates ({best[5:]}-bit) "
                   f"{b.ms_cpu()}", ratio_text(b, e), f">= {TARGETS['sweep']:g}x",
                   ratio >= TARGETS["sweep"]),
        common.row("  the raw jitted kernel alone (`_descend` on device arrays)", k.ms_cpu(),
                   f"NumPy {b.ms()}", ratio_text(b, k), f">= {TARGETS['sweep']:g}x",
                   b.median / k.median >= TARGETS["sweep"]),
        common.row("  same results as NumPy float64 (divergence step; final point "
                   "rtol=atol=1e-2)", agreement_text(agree["numpy64"], "sweep"),
                   target="every step, >= 99% points", met=agree["numpy64"]["honest"]),
    ]
    info = {"ms": {name: tm.median * 1e3 for name, tm in t.items()},
            "min_ms": {name: tm.min * 1e3 for name, tm in t.items()},
            "ratio": ratio, "kernel_ratio": b.median / k.median, "agreement": agree,
            "c": dict(baselines.C_STATUS)}
    if c_fresh is not None:
        c = t["c"]
        info["engine_over_c"] = e.median / c.median
        rows.append(common.row(
            "  against C, one thread (`cref.c`, cc -O3 -march=native, fresh output arrays)",
            f"`sweep` {e.ms()}; kernel {k.ms()}",
            f"C {c.ms()} (into reused arrays: {t['c_prealloc'].ms()})",
            f"engine/C {e.median / c.median:.1f}x (kernel/C {k.median / c.median:.1f}x)",
            f"within {TARGETS['c_within']:g}x", e.median / c.median <= TARGETS["c_within"]))
        rows.append(common.row("  same results as C (float32)", agreement_text(agree["c"], "sweep"),
                               met=agree["c"]["honest"]))
        print(f"   engine / C = {e.median / c.median:.2f}x (goal <= {TARGETS['c_within']:g}x); "
              f"kernel / C = {k.median / c.median:.2f}x; {baselines.C_STATUS}")
    else:
        rows.append(common.row("  against C", baselines.C_STATUS["status"]))
        print(f"   C reference: {baselines.C_STATUS['status']}")
    if alt is not None:
        ae, ak = t["alt_sweep"], t["alt_kernel"]
        asw = alt.sweep(s, [float(r) for r in rates], STEPS)
        same = agreement("sweep", asw.points[:, -1, 0], asw.points[:, -1, 1], asw.diverged_at,
                         baselines.numpy_heavy_ball(s, rates, STEPS, dtype=np.float64))
        identical = bool(np.array_equal(asw.diverged_at, sw.diverged_at)
                         and np.array_equal(asw.points, sw.points))
        info["alt"] = {"ratio": b.median / ae.median, "agreement": same, "identical": identical}
        rows.append(common.row("  PROPOSAL (`--alt-descent`): `sweep`", ae.ms_cpu(),
                               f"NumPy {b.ms()}", ratio_text(b, ae), f">= {TARGETS['sweep']:g}x",
                               b.median / ae.median >= TARGETS["sweep"] and same["honest"]))
        rows.append(common.row("  PROPOSAL: raw kernel", ak.ms_cpu(), ratio=ratio_text(b, ak)
                               + (f"; kernel/C {ak.median / t['c'].median:.1f}x"
                                  if "c" in t else "")))
        print(f"   PROPOSAL: sweep {ae.ms()}, kernel {ak.ms()}; NumPy/sweep {ratio_text(b, ae)};"
              f" agreement {json.dumps(same)}; bitwise identical to today's engine: {identical}")
    rows.append(common.row(f"  memory floor ({nbytes / 1e6:.1f} MB of paths written at "
                           f"{bw['fill_GBps']:.0f} GB/s)", e.ms(), f"floor {floor * 1e3:.2g} ms",
                           f"{e.median / floor:.0f}x above the floor (kernel "
                           f"{k.median / floor:.0f}x)"))
    info.update({"bytes_written": nbytes, "bandwidth": bw, "floor_ms": floor * 1e3})
    print(f"c) bytes written {nbytes / 1e6:.2f} MB; fill bandwidth {bw['fill_GBps']:.1f} GB/s -> "
          f"floor {floor * 1e3:.3g} ms; sweep = {e.median / floor:.0f}x floor, kernel = "
          f"{k.median / floor:.0f}x floor")
    return rows, info


# ---------------------------------------------------------------------------
# d) Adam
# ---------------------------------------------------------------------------


def bench_adam(repeats: int, alt) -> tuple[list[dict], dict]:
    s = surfaces.rosenbrock()
    rates = ADAM_RATES
    n = len(rates)
    fns = sweep_fns(descent, s, rates, optax.adam)
    if alt is not None:
        fns.update({f"alt_{k}": v for k, v in sweep_fns(alt, s, rates, optax.adam).items()})
    fns["numpy32"] = lambda: baselines.numpy_adam(s, rates, STEPS)
    fns["numpy64"] = lambda: baselines.numpy_adam(s, rates, STEPS, dtype=np.float64)
    t = common.measure_side_by_side(fns, repeats)
    e, k = t["sweep"], t["kernel"]
    best = best_numpy(t)
    b = t[best]
    sw = descent.sweep(s, [float(r) for r in rates], STEPS, optimizer=optax.adam)
    px, py = sw.points[:, -1, 0], sw.points[:, -1, 1]
    agree = agreement("adam", px, py, sw.diverged_at,
                      baselines.numpy_adam(s, rates, STEPS, dtype=np.float64))
    ratio = b.median / e.median
    print(f"d) Adam sweep {n} rates x {STEPS} steps, Rosenbrock, full trajectories "
          f"({e.n} repeats, {load_note()})")
    for name, tm in t.items():
        print(f"   {name:12s} {tm.ms_cpu()}")
    print(f"   NumPy ({best}) / sweep = {ratio_text(b, e)} (target >= {TARGETS['adam']:g}x)")
    print(f"   agreement with NumPy float64: {json.dumps(agree)}")
    rows = [
        common.row(f"Adam sweep {n} rates x {STEPS} steps, Rosenbrock, full trajectories "
                   "(`sweep(optimizer=optax.adam)`)", e.ms_cpu(),
                   f"NumPy Adam vectorised ({best[5:]}-bit) {b.ms_cpu()}", ratio_text(b, e),
                   f">= {TARGETS['adam']:g}x", ratio >= TARGETS["adam"]),
        common.row("  the raw jitted kernel alone", k.ms_cpu(), f"NumPy {b.ms()}",
                   ratio_text(b, k), f">= {TARGETS['adam']:g}x",
                   b.median / k.median >= TARGETS["adam"]),
        common.row("  same results as NumPy float64", agreement_text(agree, "adam"),
                   target="every step, >= 98% points", met=agree["honest"]),
    ]
    info = {"ms": {name: tm.median * 1e3 for name, tm in t.items()},
            "min_ms": {name: tm.min * 1e3 for name, tm in t.items()},
            "ratio": ratio, "kernel_ratio": b.median / k.median, "agreement": agree}
    if alt is not None:
        ae = t["alt_sweep"]
        asw = alt.sweep(s, [float(r) for r in rates], STEPS, optimizer=optax.adam)
        same = agreement("adam", asw.points[:, -1, 0], asw.points[:, -1, 1], asw.diverged_at,
                         baselines.numpy_adam(s, rates, STEPS, dtype=np.float64))
        info["alt"] = {"ratio": b.median / ae.median, "agreement": same}
        rows.append(common.row("  PROPOSAL (`--alt-descent`): `sweep`", ae.ms_cpu(),
                               f"NumPy {b.ms()}", ratio_text(b, ae), f">= {TARGETS['adam']:g}x",
                               b.median / ae.median >= TARGETS["adam"] and same["honest"]))
        print(f"   PROPOSAL: sweep {ae.ms()}, kernel {t['alt_kernel'].ms()}; NumPy/sweep "
              f"{ratio_text(b, ae)}; agreement {json.dumps(same)}")
    return rows, info


# ---------------------------------------------------------------------------
# e) sweep_final
# ---------------------------------------------------------------------------


def bench_final(repeats: int, alt) -> tuple[list[dict], dict]:
    rows, info = [], {}
    reps = max(3, repeats // 2)
    for name in ("quadratic", "rosenbrock"):
        s = surfaces.get(name)
        rates = np.repeat(FINAL_RATES[name], FINAL_SIDE)
        momenta = np.tile(FINAL_MOMENTA, FINAL_SIDE)
        rl = rates.tolist()
        n = len(rl)
        fns = {"final": lambda s=s, rl=rl, m=momenta: descent.sweep_final(s, rl, STEPS, momentum=m),
               "kernel": raw_kernel(descent, s, rl, STEPS, momenta, keep_path=False)}
        if alt is not None:
            fns["alt_final"] = lambda s=s, rl=rl, m=momenta: alt.sweep_final(s, rl, STEPS,
                                                                             momentum=m)
        fns["numpy32"] = lambda s=s, r=rates, m=momenta: baselines.numpy_heavy_ball(
            s, r, STEPS, m, keep_path=False)
        fns["numpy64"] = lambda s=s, r=rates, m=momenta: baselines.numpy_heavy_ball(
            s, r, STEPS, m, keep_path=False, dtype=np.float64)
        c = baselines.c_reference(s, rates, STEPS, momenta, keep_path=False)
        if c is not None:
            fns["c"] = c
        t = common.measure_side_by_side(fns, reps)
        e, k = t["final"], t["kernel"]
        best = best_numpy(t)
        b = t[best]
        fin = descent.sweep_final(s, rl, STEPS, momentum=momenta)
        agree = agreement("final", fin.points[:, 0], fin.points[:, 1], fin.diverged_at,
                          baselines.numpy_heavy_ball(s, rates, STEPS, momenta, keep_path=False,
                                                     dtype=np.float64))
        ratio = b.median / e.median
        print(f"e) sweep_final {n} runs ({FINAL_SIDE} rates x {FINAL_SIDE} momenta) x {STEPS} "
              f"steps, {name} ({e.n} repeats, {load_note()})")
        for key, tm in t.items():
            print(f"   {key:12s} {tm.ms_cpu()}")
        print(f"   NumPy ({best}) / sweep_final = {ratio_text(b, e)} (target >= "
              f"{TARGETS['final']:g}x)")
        print(f"   agreement with NumPy float64: {json.dumps(agree)}")
        rows += [
            common.row(f"`sweep_final` {n} runs (rates x momenta, momentum per run) x {STEPS} "
                       f"steps, {name}", e.ms_cpu(),
                       f"NumPy vectorised ({best[5:]}-bit) {b.ms_cpu()}", ratio_text(b, e),
                       f">= {TARGETS['final']:g}x", ratio >= TARGETS["final"]),
            common.row("  the raw jitted kernel alone", k.ms_cpu(), f"NumPy {b.ms()}",
                       ratio_text(b, k) + (f"; C {t['c'].ms()}, kernel/C "
                                           f"{k.median / t['c'].median:.1f}x" if "c" in t else "")),
            common.row("  same results as NumPy float64 (diverged or not; final point "
                       "rtol=atol=1e-2)", agreement_text(agree, "final"),
                       target=">= 99.9% same set, >= 99% points", met=agree["honest"]),
        ]
        info[name] = {"ms": {key: tm.median * 1e3 for key, tm in t.items()},
                      "min_ms": {key: tm.min * 1e3 for key, tm in t.items()},
                      "ratio": ratio, "agreement": agree}
        if alt is not None:
            ae = t["alt_final"]
            af = alt.sweep_final(s, rl, STEPS, momentum=momenta)
            same = agreement("final", af.points[:, 0], af.points[:, 1], af.diverged_at,
                             baselines.numpy_heavy_ball(s, rates, STEPS, momenta,
                                                        keep_path=False, dtype=np.float64))
            info[name]["alt"] = {"ratio": b.median / ae.median, "agreement": same}
            rows.append(common.row("  PROPOSAL (`--alt-descent`): `sweep_final`", ae.ms_cpu(),
                                   f"NumPy {b.ms()}", ratio_text(b, ae),
                                   f">= {TARGETS['final']:g}x",
                                   b.median / ae.median >= TARGETS["final"] and same["honest"]))
            print(f"   PROPOSAL: sweep_final {ae.ms()}; NumPy/sweep_final {ratio_text(b, ae)}; "
                  f"agreement {json.dumps(same)}")
    return rows, info


# ---------------------------------------------------------------------------
# f) schedules
# ---------------------------------------------------------------------------


def bench_schedules(repeats: int, alt) -> tuple[list[dict], dict]:
    """Rate tables: cold (a schedule object never seen: new parameters each call, so neither
    ``schedules.make``'s cache nor the table cache can answer) and cached (the same call again,
    which is what a Playground rerun does)."""
    n = 1000
    reps = 3 * repeats
    fresh = itertools.count(1)

    def new_rate() -> float:  # a rate no call has used before
        return 0.1 + 1e-9 * next(fresh)

    same = optax.cosine_decay_schedule(0.1, n)
    fns = {"optax cosine, new object": lambda: descent.rate_table(
               optax.cosine_decay_schedule(new_rate(), n), n),
           "optax cosine, same object": lambda: descent.rate_table(same, n)}
    for name in schedules.NAMES:
        fns[f"make({name}), new"] = lambda name=name: descent.rate_table(
            schedules.make(name, new_rate(), n), n)
        fns[f"make({name}), again"] = lambda name=name: descent.rate_table(
            schedules.make(name, 0.1, n), n)
    # A table that takes more than 50 ms is timed only 3 times.
    probe = {k: common.measure(f, 1).median for k, f in fns.items()}
    slow = {k: fns.pop(k) for k in [k for k, v in probe.items() if v > 0.05]}
    t = common.measure_side_by_side(fns, reps)
    if slow:
        t.update(common.measure_side_by_side(slow, 3))
    q = surfaces.quadratic()
    rates = (0.01, 0.1, 0.19)
    sched = [optax.cosine_decay_schedule(r, 100) for r in rates]
    descent.sweep(q, sched, 100)  # compile (in case a schedule compiles apart from constants)
    ts = common.measure_side_by_side({
        "constant": lambda: descent.sweep(q, rates, 100),
        "cosine (same objects)": lambda: descent.sweep(q, sched, 100),
        "cosine (new objects)": lambda: descent.sweep(
            q, [optax.cosine_decay_schedule(new_rate() * r / 0.1, 100) for r in rates], 100),
    }, reps)
    print(f"f) schedules: rate_table(schedule, {n}) ({reps} repeats, {load_note()})")
    for k, v in t.items():
        print(f"   {k:28s} {v.ms_cpu()}")
    print("   Playground-sized sweep (3 rates x 100 steps, quadratic):")
    for k, v in ts.items():
        print(f"   {k:28s} {v.ms_cpu()}")
    cold, warm = t["optax cosine, new object"], t["optax cosine, same object"]
    new = {k.split("(")[1].split(")")[0]: v for k, v in t.items() if k.endswith("new")}
    again = {k.split("(")[1].split(")")[0]: v for k, v in t.items() if k.endswith("again")}
    worst_new = max(new, key=lambda k: new[k].median)
    worst_again = max(again, key=lambda k: again[k].median)
    extra = ts["cosine (new objects)"].median - ts["constant"].median
    limit = TARGETS["schedule_ms"]
    rows = [
        common.row(f"`rate_table(optax.cosine_decay_schedule(lr, {n}), {n})`, a schedule never "
                   "seen before (eager JAX)", cold.ms(), target=f"< {limit:g} ms",
                   met=cold.median * 1e3 < limit),
        common.row("  the same schedule object again (cached table)", warm.ms(),
                   ratio=f"{cold.median / warm.median:.0f}x faster than cold"),
        common.row("  every named schedule, `schedules.make(name, new lr, ...)` (" + ", ".join(
            f"{k} {v.median * 1e3:.2g}" for k, v in new.items()) + f" ms); slowest: {worst_new}",
                   new[worst_new].ms(), target=f"< {limit:g} ms",
                   met=new[worst_new].median * 1e3 < limit),
        common.row("  the same `schedules.make(...)` call again (a rerun), slowest of the named",
                   again[worst_again].ms(), target=f"< {limit:g} ms",
                   met=again[worst_again].median * 1e3 < limit),
        common.row("3-rate, 100-step sweep with a cosine schedule per rate (new objects / same "
                   "objects)", f"{ts['cosine (new objects)'].ms()} / "
                   f"{ts['cosine (same objects)'].ms()}",
                   f"constant rates {ts['constant'].ms()}",
                   f"+{extra * 1e3:.2g} ms for 3 new schedules", f"< {limit:g} ms per schedule",
                   extra / 3 * 1e3 < limit),
    ]
    info = {"rate_table_ms": {k: v.median * 1e3 for k, v in t.items()},
            "rate_table_min_ms": {k: v.min * 1e3 for k, v in t.items()},
            "sweep_ms": {k: v.median * 1e3 for k, v in ts.items()}}
    return rows, info


# ---------------------------------------------------------------------------
# g) the 256-rate grid on the default quadratic
# ---------------------------------------------------------------------------


def bench_grid(repeats: int, alt) -> tuple[list[dict], dict]:
    s = surfaces.quadratic()
    fns = sweep_fns(descent, s, GRID_RATES)
    fns["numpy32"] = lambda: baselines.numpy_heavy_ball(s, GRID_RATES, STEPS)
    fns["numpy64"] = lambda: baselines.numpy_heavy_ball(s, GRID_RATES, STEPS, dtype=np.float64)
    t = common.measure_side_by_side(fns, repeats)
    e, k = t["sweep"], t["kernel"]
    best = best_numpy(t)
    b = t[best]
    sw = descent.sweep(s, [float(r) for r in GRID_RATES], STEPS)
    agree = agreement("sweep", sw.points[:, -1, 0], sw.points[:, -1, 1], sw.diverged_at,
                      baselines.numpy_heavy_ball(s, GRID_RATES, STEPS, dtype=np.float64))
    print(f"g) grid {len(GRID_RATES)} rates x {STEPS} steps, default quadratic ({e.n} repeats, "
          f"{load_note()})")
    print(f"   descent.sweep {e.ms_cpu()}; raw kernel {k.ms_cpu()}")
    print(f"   NumPy float32 {t['numpy32'].ms_cpu()}; float64 {t['numpy64'].ms_cpu()}")
    print(f"   NumPy / engine = {ratio_text(b, e)}; agreement: {json.dumps(agree)}")
    rows = [common.row(f"grid {len(GRID_RATES)} rates x {STEPS} steps, default quadratic, "
                       "one call", e.ms_cpu(), f"NumPy vectorised ({best[5:]}-bit) {b.ms()}",
                       ratio_text(b, e), "< 100 ms (part 3)", e.median < 0.1)]
    return rows, {"engine_ms": e.median * 1e3, "kernel_ms": k.median * 1e3,
                  "numpy_ms": b.median * 1e3, "agreement": agree}


# ---------------------------------------------------------------------------
# h) first compile, in fresh processes
# ---------------------------------------------------------------------------

COMPILE_CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
    import engine  # sets XLA_FLAGS first
    import jax
    mode, cache_dir = sys.argv[1], sys.argv[2]
    if mode == "off":
        jax.config.update("jax_enable_compilation_cache", False)
    else:
        jax.config.update("jax_enable_compilation_cache", True)
        jax.config.update("jax_compilation_cache_dir", cache_dir)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    import jax.numpy as jnp
    from engine import descent, surfaces

    def timed(fn):
        c, t = time.process_time(), time.perf_counter()
        fn()
        return time.perf_counter() - t, time.process_time() - c

    t_import = time.perf_counter() - t0
    t_backend = timed(lambda: jnp.zeros(2).block_until_ready())
    first, seen = {}, set()
    for name in surfaces.names():
        s = surfaces.get(name)
        if s.family in seen:  # e.g. ravine shares the quadratic's compiled kernel
            continue
        seen.add(s.family)
        first[name] = timed(lambda: descent.sweep(s, [0.01], 500))
    print(json.dumps({"import": t_import, "backend_init": t_backend, "first_sweep": first,
                      "traces": descent.trace_count()}))
""")


def child_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = str(common.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_compile_child(mode: str, cache_dir: str) -> dict:
    out = subprocess.run([sys.executable, "-c", COMPILE_CHILD, mode, cache_dir], cwd=common.ROOT,
                         env=child_env(), capture_output=True, text=True, timeout=300,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"compile child ({mode}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_compile(repeats: int, alt) -> tuple[list[dict], dict]:
    cold = run_compile_child("off", "")
    with tempfile.TemporaryDirectory(prefix="jax-cache-bench-") as cache_dir:
        run_compile_child("on", cache_dir)
        warm = run_compile_child("on", cache_dir)
    names = list(cold["first_sweep"])
    c = np.array([cold["first_sweep"][k] for k in names])  # (family, [wall, cpu])
    w = np.array([warm["first_sweep"][k] for k in names])
    print(f"h) first `sweep` call per surface family in a fresh process; wall s / CPU s "
          f"({load_note()})")
    print(f"   process start: import {cold['import']:.2f} s, backend init "
          f"{cold['backend_init'][0]:.3f} s")
    for i, k in enumerate(names):
        print(f"   {k:12s} no cache {c[i, 0]:6.3f} / {c[i, 1]:5.3f}   warm disk cache "
              f"{w[i, 0]:6.3f} / {w[i, 1]:5.3f}")

    def stats(a):
        return (f"median {np.median(a[:, 0]):.3g} s (min {a[:, 0].min():.3g}, max "
                f"{a[:, 0].max():.3g}; CPU {np.median(a[:, 1]):.3g})")

    rows = [
        common.row("first compile per surface family, fresh process, no persistent cache "
                   f"({len(names)} families)", stats(c)),
        common.row("  same, persistent compilation cache warm", stats(w),
                   f"no cache: median {np.median(c[:, 0]):.3g} s",
                   f"{np.median(c[:, 0]) / np.median(w[:, 0]):.1f}x faster"),
    ]
    return rows, {"cold": cold, "warm": warm}


# ---------------------------------------------------------------------------
# i) what the XLA flag buys: b), d), e) in a child without it
# ---------------------------------------------------------------------------


def small_call_loops(mod=descent) -> dict:
    """How the compiled SGD sweep kernel's descent loop is emitted: XLA:CPU marks a while
    loop it compiles as one function ``xla_cpu_small_call``; without that each op of the
    body is dispatched on its own every step."""
    s = surfaces.rosenbrock()
    rl = [float(r) for r in SWEEP_RATES]
    prep = mod._prepare(s, rl, STEPS, None, 0.0, None, 0.0, 0, mod._sweep_length)
    statics = [s.family, None, True] + ([prep[1]] if len(prep) == 4 else [])
    text = mod._descend.lower(*statics, *prep[-1]).compile().as_text()
    return {"while_loops": text.count(" while("), "small_calls": text.count('xla_cpu_small_call="true"'),
            "fusions": text.count(" fusion(")}


def flag_child(repeats: int) -> dict:
    """In a child process: the kernels of b), d), e) and the public calls, plus the SGD
    sweep's NumPy baseline side by side, and how the descent loop was compiled."""
    s, q = surfaces.rosenbrock(), surfaces.quadratic()
    sgd, adam = sweep_fns(descent, s, SWEEP_RATES), sweep_fns(descent, s, ADAM_RATES, optax.adam)
    fns = {"sweep": sgd["sweep"], "kernel": sgd["kernel"],
           "numpy32": lambda: baselines.numpy_heavy_ball(s, SWEEP_RATES, STEPS),
           "adam": adam["sweep"], "adam_kernel": adam["kernel"]}
    for surf in (q, s):
        rl = np.repeat(FINAL_RATES[surf.name], FINAL_SIDE).tolist()
        m = np.tile(FINAL_MOMENTA, FINAL_SIDE)
        fns[f"final_{surf.name}"] = raw_kernel(descent, surf, rl, STEPS, m, keep_path=False)
    t = common.measure_side_by_side(fns, repeats)
    return {"ms": {k: v.median * 1e3 for k, v in t.items()},
            "min_ms": {k: v.min * 1e3 for k, v in t.items()},
            "hlo": small_call_loops(), "xla_flags": os.environ.get("XLA_FLAGS", ""),
            "loadavg": os.getloadavg()[0]}


def bench_flag(repeats: int, alt, rounds: int = 3) -> tuple[list[dict], dict]:
    """Fresh child processes with and without the flag, alternating (on, off, on, off, ...)
    so load changes hit both alike; each number is the median over the rounds of each
    child's median."""
    off = f"--xla_backend_extra_options=xla_cpu_small_while_loop_byte_threshold={DEFAULT_THRESHOLD}"
    modes = {"on": "", "off": off}  # "": engine/__init__.py adds its flag
    runs = {m: [] for m in modes}
    print(f"i) the XLA flag: {rounds} rounds of two child processes, XLA_FLAGS='' (the engine "
          f"adds its flag) and XLA_FLAGS={off} ({load_note()})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-flag-") as tmp:
        for r in range(rounds):
            for mode, flags in modes.items():
                out = os.path.join(tmp, f"{mode}{r}.json")
                cmd = [sys.executable, os.path.abspath(__file__), "--flag-child", out,
                       "--repeats", str(repeats)]
                proc = subprocess.run(cmd, cwd=common.ROOT, env=child_env(XLA_FLAGS=flags),
                                      capture_output=True, text=True, timeout=900, check=False)
                if proc.returncode != 0 or not os.path.exists(out):
                    print(proc.stdout[-2000:], proc.stderr[-3000:])
                    return [common.row("the XLA flag (child processes)",
                                       f"failed (exit code {proc.returncode})")], {}
                with open(out) as fh:
                    runs[mode].append(json.load(fh))
    med = {m: {k: float(np.median([c["ms"][k] for c in runs[m]])) for k in runs[m][0]["ms"]}
           for m in modes}
    hlo = {m: runs[m][0]["hlo"] for m in modes}
    for m in modes:
        print(f"   {m:3s}: " + ", ".join(f"{k} {v:.3g}" for k, v in med[m].items())
              + f" ms; compiled loop: {hlo[m]}")
    on, no = med["on"], med["off"]
    rows = [common.row(
        "The XLA flag (fresh child processes, alternating): is the descent loop compiled as "
        "one function?",
        f"with the flag: {hlo['on']['small_calls']} of {hlo['on']['while_loops']} while loops "
        f"whole; with XLA's default threshold ({DEFAULT_THRESHOLD} bytes): "
        f"{hlo['off']['small_calls']}", target="the flag takes effect",
        met=hlo["on"]["small_calls"] > hlo["off"]["small_calls"])]
    for key, label in (("kernel", "SGD sweep 1,024 x 500, raw kernel"),
                       ("sweep", "SGD sweep 1,024 x 500, `sweep`"),
                       ("adam_kernel", "Adam sweep 1,024 x 500, raw kernel"),
                       ("final_quadratic", "`sweep_final` 16,384 x 500, quadratic, raw kernel"),
                       ("final_rosenbrock", "`sweep_final` 16,384 x 500, Rosenbrock, raw kernel")):
        extra = ""
        if key == "sweep":
            extra = (f"; NumPy/`sweep` {on['numpy32'] / on['sweep']:.2f}x with, "
                     f"{no['numpy32'] / no['sweep']:.2f}x without")
        rows.append(common.row(f"  {label}: with / without the flag", f"{on[key]:.3g} ms",
                               f"without: {no[key]:.3g} ms",
                               f"the flag buys {no[key] / on[key]:.2f}x{extra}"))
    return rows, {"median_ms": med, "hlo": hlo, "runs": runs}


SECTIONS = {"one_run": bench_one_run, "sweep": bench_sweep, "adam": bench_adam,
            "final": bench_final, "schedules": bench_schedules, "grid": bench_grid,
            "compile": bench_compile, "flag": bench_flag}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the result rows here (for run_all.py)")
    p.add_argument("--repeats", type=int, default=15, help="repeats of each timing")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help=f"comma-separated sections (default all: {','.join(SECTIONS)})")
    p.add_argument("--skip-compile", action="store_true", help="leave out h) (subprocesses)")
    p.add_argument("--alt-descent", help="also time this version of engine/descent.py")
    p.add_argument("--flag-child", help=argparse.SUPPRESS)  # i): measure, write JSON here
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in only if s not in SECTIONS]
    if unknown:
        p.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    if args.skip_compile and "compile" in only:
        only.remove("compile")
    if args.flag_child:
        with open(args.flag_child, "w") as fh:
            json.dump(flag_child(args.repeats), fh)
        return 0
    alt = load(args.alt_descent)
    print(f"machine: {json.dumps(common.machine())}; JAX {jax.__version__} on "
          f"{jax.devices()[0].platform}, NumPy {np.__version__}; "
          f"XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}\n", flush=True)
    t0 = time.perf_counter()
    rows, info = [], {"loadavg_start": os.getloadavg()[0]}
    for key in only:
        r, i = SECTIONS[key](args.repeats, alt)
        rows += r
        info[key] = i
        print(flush=True)
    info["loadavg_end"] = os.getloadavg()[0]
    print(common.markdown_table(rows))
    print(f"\n(bench_engine took {time.perf_counter() - t0:.0f} s; load average "
          f"{info['loadavg_start']:.1f} at start, {info['loadavg_end']:.1f} at end)")
    common.write_json(args.json, rows, {"details": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
