"""Engine speed: JAX `run`/`sweep` against NumPy doing the same gradient descent.

Run from the repo root (about a minute on 2 cores):

    .venv/bin/python benchmarks/bench_engine.py [--json out.json] [--repeats N]

a) one 500-step run on Rosenbrock after compile: ``descent.run`` vs a NumPy
   Python loop (hand-written gradient), plus the raw jitted kernel
   (``descent._descend`` on prepared device arrays, ``block_until_ready``) to
   separate host-side overhead from compute.
b) 1,024 rates x 500 steps on Rosenbrock with full trajectories and divergence
   freezing: ``descent.sweep`` vs NumPy vectorised across rates (one Python loop
   over steps), same freezing rule; final points and divergence steps compared.
c) the memory floor of b): bytes the sweep must write / measured write bandwidth.
d) first compile per surface family in a fresh process (persistent cache off),
   and again with a warm persistent compilation cache (two fresh processes).
e) 256 rates x 500 steps on the default quadratic: ``sweep`` vs NumPy vectorised.

Every timing is wall clock, median and min of several repeats, with engine and
NumPy calls interleaved so a busy second core slows both alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import common  # first: puts the repo root on sys.path, so `engine` imports
import jax
import jax.numpy as jnp
import numpy as np

from engine import descent, surfaces
from engine.descent import DIVERGENCE_FACTOR

# This process never uses JAX's persistent cache: every compile here is real.
jax.config.update("jax_enable_compilation_cache", False)

STEPS = 500
SWEEP_RATES = np.geomspace(1e-5, 1e-2, 1024)  # on Rosenbrock: ~230 of them diverge
GRID_RATES = np.geomspace(1e-4, 10.0, 256)  # the app's rate range; on the bowl > 0.2 diverges
RUN_RATE = 5e-4
# float32 engine vs float64 NumPy: points agree to this (loose) tolerance, except at
# most a handful of runs at the edge of stability, where rounding differences grow.
RTOL = ATOL = 1e-2
MAX_MISMATCH_FRACTION = 0.01


# ---------------------------------------------------------------------------
# NumPy references: the same update, the same freezing rule, float64.
# ---------------------------------------------------------------------------


def rosenbrock_loss_grad(s):
    a, b = s.params

    def loss(x, y):
        return (a - x) ** 2 + b * (y - x * x) ** 2

    def grad(x, y):
        r = y - x * x
        return -2.0 * (a - x) - 4.0 * b * x * r, 2.0 * b * r

    return loss, grad


def quadratic_loss_grad(s):
    a, b, angle = s.params
    c, sn = np.cos(angle), np.sin(angle)

    def loss(x, y):
        u, v = c * x + sn * y, -sn * x + c * y
        return 0.5 * (a * u * u + b * v * v)

    def grad(x, y):
        u, v = c * x + sn * y, -sn * x + c * y
        gu, gv = a * u, b * v
        return c * gu - sn * gv, sn * gu + c * gv

    return loss, grad


LOSS_GRAD = {"rosenbrock": rosenbrock_loss_grad, "quadratic": quadratic_loss_grad}


def box(s):
    return np.asarray(s.center, dtype=np.float64), DIVERGENCE_FACTOR * s.extent


def numpy_loop_run(s, lr: float, steps: int):
    """One run as a plain Python loop over steps, NumPy (2,) arrays, float64."""
    loss, grad = LOSS_GRAD[s.name](s)
    center, half_box = box(s)
    x = np.asarray(s.start, dtype=np.float64)
    f = loss(x[0], x[1])
    points = np.empty((steps + 1, 2))
    losses = np.empty(steps + 1)
    points[0], losses[0] = x, f
    dead = -1
    with np.errstate(all="ignore"):
        for k in range(steps):
            if dead < 0:
                g = np.array(grad(x[0], x[1]))
                x_new = x - lr * g
                f_new = loss(x_new[0], x_new[1])
                if (not np.isfinite(f_new) or not np.all(np.isfinite(x_new))
                        or np.any(np.abs(x_new - center) > half_box)):
                    dead = k + 1
                else:
                    x, f = x_new, f_new
            points[k + 1], losses[k + 1] = x, f
    return points, losses, dead


def numpy_sweep_pairs(s, rates: np.ndarray, steps: int):
    """Vectorised across rates, state as an (n, 2) array (the engine's layout)."""
    loss, grad = LOSS_GRAD[s.name](s)
    center, half_box = box(s)
    n = len(rates)
    lr = np.asarray(rates, dtype=np.float64)[:, None]
    x = np.empty((n, 2))
    x[:] = s.start
    f = loss(x[:, 0], x[:, 1])
    points = np.empty((steps + 1, n, 2))  # time-major, like the kernel's output
    losses = np.empty((steps + 1, n))
    points[0], losses[0] = x, f
    dead = np.full(n, -1)
    g = np.empty_like(x)
    with np.errstate(all="ignore"):
        for k in range(steps):
            g[:, 0], g[:, 1] = grad(x[:, 0], x[:, 1])
            x_new = x - lr * g
            f_new = loss(x_new[:, 0], x_new[:, 1])
            bad = (~np.isfinite(f_new) | ~np.isfinite(x_new).all(axis=1)
                   | (np.abs(x_new - center) > half_box).any(axis=1))
            live = dead < 0
            dead[live & bad] = k + 1
            move = live & ~bad
            x = np.where(move[:, None], x_new, x)
            f = np.where(move, f_new, f)
            points[k + 1], losses[k + 1] = x, f
    return points.swapaxes(0, 1), losses.T, dead


def numpy_sweep_columns(s, rates: np.ndarray, steps: int):
    """Vectorised across rates, x and y as two (n,) arrays (usually faster in NumPy)."""
    loss, grad = LOSS_GRAD[s.name](s)
    (cx, cy), half_box = box(s)
    n = len(rates)
    lr = np.asarray(rates, dtype=np.float64)
    x = np.full(n, float(s.start[0]))
    y = np.full(n, float(s.start[1]))
    f = loss(x, y)
    points = np.empty((steps + 1, 2, n))
    losses = np.empty((steps + 1, n))
    points[0, 0], points[0, 1], losses[0] = x, y, f
    dead = np.full(n, -1)
    with np.errstate(all="ignore"):
        for k in range(steps):
            gx, gy = grad(x, y)
            x_new = x - lr * gx
            y_new = y - lr * gy
            f_new = loss(x_new, y_new)
            ok = (np.isfinite(f_new) & (np.abs(x_new - cx) <= half_box)
                  & (np.abs(y_new - cy) <= half_box))  # NaN/inf fail these too
            live = dead < 0
            dead[live & ~ok] = k + 1
            move = live & ok
            x = np.where(move, x_new, x)
            y = np.where(move, y_new, y)
            f = np.where(move, f_new, f)
            points[k + 1, 0], points[k + 1, 1], losses[k + 1] = x, y, f
    return points.transpose(2, 0, 1), losses.T, dead


def agreement(engine_points, engine_dead, ref_points, ref_dead, rates) -> dict:
    """How well the float32 engine and the float64 reference agree, run by run."""
    close = np.isclose(engine_points[:, -1], ref_points[:, -1], rtol=RTOL, atol=ATOL).all(axis=1)
    same_dead = np.asarray(engine_dead) == np.asarray(ref_dead)
    bad = ~(close & same_dead)
    return {
        "runs": len(rates),
        "diverged": int((np.asarray(ref_dead) >= 0).sum()),
        "same_diverged_at": int(same_dead.sum()),
        "final_point_close": int(close.sum()),
        "allclose_all": bool(close.all()),
        "mismatched_rates": [float(f"{r:.4g}") for r in np.asarray(rates)[bad]][:10],
        "honest": bool(same_dead.all() and bad.mean() <= MAX_MISMATCH_FRACTION),
    }


def kernel_args(s, table: np.ndarray, steps: int):
    """The arguments `sweep` passes to the jitted kernel, already on the device."""
    args = (
        jnp.asarray(s.params, dtype=jnp.float32),
        jnp.asarray(table),
        jnp.asarray(s.start, dtype=jnp.float32),
        jnp.float32(0.0),
        jnp.int32(steps),
        jnp.asarray(s.center, dtype=jnp.float32),
        jnp.float32(DIVERGENCE_FACTOR * s.extent),
    )
    return jax.block_until_ready(args)


def kernel_call(s, args):
    return lambda: jax.block_until_ready(descent._descend(s.family, *args))


def padded_table(rates, steps: int) -> np.ndarray:
    """The (compiled steps, rate bucket) float32 table `sweep` builds."""
    n = len(rates)
    n_b = descent.rate_bucket(n)
    table = np.zeros((descent._sweep_length(steps, n_b), n_b), dtype=np.float32)
    table[:steps, :n] = np.asarray(rates, dtype=np.float32)[None, :]
    return table


# ---------------------------------------------------------------------------
# a) one run
# ---------------------------------------------------------------------------


def bench_one_run(repeats: int) -> tuple[list[dict], dict]:
    s = surfaces.rosenbrock()
    descent.run(s, RUN_RATE, STEPS)  # compile
    args = kernel_args(s, padded_table([RUN_RATE], STEPS), STEPS)
    kernel = kernel_call(s, args)
    kernel()
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
    info = {"engine_ms": e.median * 1e3, "engine_min_ms": e.min * 1e3,
            "kernel_ms": k.median * 1e3, "kernel_min_ms": k.min * 1e3,
            "numpy_loop_ms": n.median * 1e3, "numpy_loop_min_ms": n.min * 1e3,
            "same_final_point": same, "final_point": traj.points[-1].tolist()}
    print(f"a) one {STEPS}-step run, Rosenbrock, lr={RUN_RATE}, after compile ({e.n} repeats)")
    print(f"   descent.run            {e.ms_cpu()}")
    print(f"   raw kernel (4-rate bucket, block_until_ready) {k.ms_cpu()}"
          f"  -> host overhead in run() ~ {(e.median - k.median) * 1e3:.3g} ms")
    print(f"   NumPy Python loop      {n.ms_cpu()}   NumPy/engine = {n.median / e.median:.2f}x;"
          f" same final point: {same}")
    rows = [
        common.row(f"one {STEPS}-step run, Rosenbrock, after compile (`run`)", e.ms_cpu(),
                   f"NumPy Python loop {n.ms_cpu()}",
                   f"{n.median / e.median:.1f}x (CPU {n.cpu / e.cpu:.1f}x)"),
        common.row("  of which the raw jitted kernel (`_descend`, 4-rate bucket)", k.ms_cpu(),
                   ratio=f"{k.median / e.median:.0%} of `run`"),
    ]
    return rows, info


# ---------------------------------------------------------------------------
# b) + c) the 1,024-rate sweep and its memory floor
# ---------------------------------------------------------------------------


def write_bandwidth(nbytes: int, repeats: int = 100) -> dict:
    """Best-of-``repeats`` bandwidth of filling / copying a float32 array of ``nbytes``."""
    dst = np.empty(nbytes // 4, dtype=np.float32)
    src = np.ones_like(dst)
    dst.fill(0.0)  # fault the pages in first
    fill = common.measure(lambda: dst.fill(1.0), repeats)
    copy = common.measure(lambda: np.copyto(dst, src), repeats)
    return {"fill_GBps": nbytes / fill.min / 1e9, "copyto_write_GBps": nbytes / copy.min / 1e9,
            "fill_min_ms": fill.min * 1e3, "copyto_min_ms": copy.min * 1e3}


def bench_sweep(repeats: int) -> tuple[list[dict], dict]:
    s = surfaces.rosenbrock()
    rates = [float(r) for r in SWEEP_RATES]
    n = len(rates)
    sw = descent.sweep(s, rates, STEPS)  # compile
    args = kernel_args(s, padded_table(rates, STEPS), STEPS)
    kernel = kernel_call(s, args)
    kernel()
    t = common.measure_side_by_side({
        "engine": lambda: descent.sweep(s, rates, STEPS),
        "kernel": kernel,
        "numpy_pairs": lambda: numpy_sweep_pairs(s, SWEEP_RATES, STEPS),
        "numpy_columns": lambda: numpy_sweep_columns(s, SWEEP_RATES, STEPS),
    }, repeats)
    e, k = t["engine"], t["kernel"]
    best_np = min(("numpy_pairs", "numpy_columns"), key=lambda name: t[name].median)
    b = t[best_np]
    ref = numpy_sweep_columns(s, SWEEP_RATES, STEPS)
    ref_pairs = numpy_sweep_pairs(s, SWEEP_RATES, STEPS)
    assert np.array_equal(ref[2], ref_pairs[2]) and np.allclose(ref[0], ref_pairs[0],
                                                                 equal_nan=True)
    agree = agreement(sw.points, sw.diverged_at, ref[0], ref[2], SWEEP_RATES)
    ratio = b.median / e.median

    # c) memory floor: what the sweep has to write, at this machine's write bandwidth.
    nbytes = n * (STEPS + 1) * 2 * 4 + n * (STEPS + 1) * 4
    bw = write_bandwidth(nbytes)
    floor = nbytes / (bw["fill_GBps"] * 1e9)

    print(f"b) sweep {n} rates x {STEPS} steps, Rosenbrock, full trajectories ({e.n} repeats)")
    print(f"   descent.sweep          {e.ms_cpu()}")
    print(f"   raw kernel (1,024-rate bucket) {k.ms_cpu()}")
    print(f"   NumPy (n, 2) arrays    {t['numpy_pairs'].ms_cpu()}")
    print(f"   NumPy x, y columns     {t['numpy_columns'].ms_cpu()}")
    print(f"   best NumPy / engine = {ratio:.2f}x (target >= 5x)")
    print(f"   agreement: {json.dumps(agree)}")
    print(f"c) bytes written {nbytes / 1e6:.2f} MB; fill bandwidth {bw['fill_GBps']:.1f} GB/s "
          f"(copyto {bw['copyto_write_GBps']:.1f} GB/s written) -> floor {floor * 1e3:.3g} ms;"
          f" sweep = {e.median / floor:.0f}x floor, kernel = {k.median / floor:.0f}x floor")
    rows = [
        common.row(f"sweep {n} rates x {STEPS} steps, Rosenbrock, trajectories + freezing",
                   e.ms_cpu(), f"NumPy vectorised ({best_np.split('_')[1]}) {b.ms_cpu()}",
                   f"{ratio:.2f}x (CPU {b.cpu / e.cpu:.2f}x)", ">= 5x", ratio >= 5),
        common.row("  of which the raw jitted kernel (1,024-rate bucket)", k.ms_cpu(),
                   ratio=f"{k.median / e.median:.0%} of `sweep`"),
        common.row("  same results as NumPy (divergence step; final point rtol=atol=1e-2)",
                   f"{agree['same_diverged_at']}/{n} same step, {agree['final_point_close']}/{n}"
                   " close", target="all steps, >= 99% points", met=agree["honest"]),
        common.row(f"memory floor of the sweep ({nbytes / 1e6:.1f} MB written at "
                   f"{bw['fill_GBps']:.0f} GB/s)", e.ms_cpu(), f"floor {floor * 1e3:.2g} ms",
                   f"{e.median / floor:.0f}x above floor (kernel {k.median / floor:.0f}x)"),
    ]
    info = {"engine_ms": e.median * 1e3, "engine_min_ms": e.min * 1e3,
            "kernel_ms": k.median * 1e3, "kernel_min_ms": k.min * 1e3,
            "numpy_pairs_ms": t["numpy_pairs"].median * 1e3,
            "numpy_columns_ms": t["numpy_columns"].median * 1e3,
            "ratio": ratio, "agreement": agree, "bytes_written": nbytes, "bandwidth": bw,
            "floor_ms": floor * 1e3}
    return rows, info


# ---------------------------------------------------------------------------
# d) first compile, in fresh processes
# ---------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import json, sys, time
    t0 = time.perf_counter()
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
    t_trivial = timed(lambda: jax.jit(lambda v: v * 2.0 + 1.0)(jnp.zeros(2)).block_until_ready())
    first, seen = {}, set()
    for name in surfaces.names():
        s = surfaces.get(name)
        if s.family in seen:  # e.g. ravine shares the quadratic's compiled kernel
            continue
        seen.add(s.family)
        first[name] = timed(lambda: descent.sweep(s, [0.01], 500))
    # What ui.runtime.warm_up adds on a surface's first visit: the other step buckets.
    s = surfaces.rosenbrock()
    others = timed(lambda: [descent.sweep(s, [0.01], n) for n in descent.STEP_BUCKETS
                            if n != 500])
    print(json.dumps({"import": t_import, "backend_init": t_backend, "trivial_jit": t_trivial,
                      "first_sweep": first, "warm_up_other_buckets_rosenbrock": others,
                      "traces": descent.trace_count()}))
""")


def child_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_COMPILATION_CACHE")}
    env["PYTHONPATH"] = str(common.ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_child(mode: str, cache_dir: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, mode, cache_dir], cwd=common.ROOT,
                         env=child_env(), capture_output=True, text=True, timeout=300,
                         check=False)
    if out.returncode != 0:
        raise RuntimeError(f"compile child ({mode}) failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_compile() -> tuple[list[dict], dict]:
    cold = run_child("off", "")
    with tempfile.TemporaryDirectory(prefix="jax-cache-bench-") as cache_dir:
        populate = run_child("on", cache_dir)
        warm = run_child("on", cache_dir)
    names = list(cold["first_sweep"])
    c = np.array([cold["first_sweep"][k] for k in names])  # (family, [wall, cpu])
    w = np.array([warm["first_sweep"][k] for k in names])
    p = np.array([populate["first_sweep"][k] for k in names])
    cb, wb = cold["warm_up_other_buckets_rosenbrock"], warm["warm_up_other_buckets_rosenbrock"]
    print("d) first `sweep` call per surface family in a fresh process (4-rate bucket, 500 "
          "steps); wall s / CPU s")
    print(f"   process start: import {cold['import']:.2f} s, backend init "
          f"{cold['backend_init'][0]:.3f} s, first trivial jit {cold['trivial_jit'][0]:.3f} s")
    print(f"   {'family':12s} {'no cache':>16s} {'populating cache':>18s} {'warm disk cache':>16s}")
    for i, k in enumerate(names):
        print(f"   {k:12s} {c[i, 0]:7.3f} / {c[i, 1]:5.3f} {p[i, 0]:9.3f} / {p[i, 1]:5.3f}"
              f" {w[i, 0]:7.3f} / {w[i, 1]:5.3f}")
    print(f"   rosenbrock's other 3 step buckets (rest of ui.runtime.warm_up): cold "
          f"{cb[0]:.3f} s (CPU {cb[1]:.3f}), warm cache {wb[0]:.3f} s (CPU {wb[1]:.3f})")

    def stats(a):
        return (f"median {np.median(a[:, 0]):.3g} s (min {a[:, 0].min():.3g}, max "
                f"{a[:, 0].max():.3g}; CPU median {np.median(a[:, 1]):.3g})")

    rows = [
        common.row("first compile per surface family, fresh process, no persistent cache "
                   f"(first `sweep` call, {len(names)} families)", stats(c)),
        common.row("  same, persistent compilation cache warm", stats(w),
                   f"no cache: median {np.median(c[:, 0]):.3g} s",
                   f"{np.median(c[:, 0]) / np.median(w[:, 0]):.1f}x faster"),
        common.row("  rest of the app's `warm_up` for one surface (3 more step buckets)",
                   f"no cache {cb[0]:.3g} s (CPU {cb[1]:.3g}); warm cache {wb[0]:.3g} s "
                   f"(CPU {wb[1]:.3g})"),
    ]
    return rows, {"cold": cold, "warm": warm, "populate": populate}


# ---------------------------------------------------------------------------
# e) the 256-rate grid on the default quadratic
# ---------------------------------------------------------------------------


def bench_grid(repeats: int) -> tuple[list[dict], dict]:
    s = surfaces.quadratic()
    rates = [float(r) for r in GRID_RATES]
    sw = descent.sweep(s, rates, STEPS)  # compile
    args = kernel_args(s, padded_table(rates, STEPS), STEPS)
    kernel = kernel_call(s, args)
    kernel()
    t = common.measure_side_by_side({
        "engine": lambda: descent.sweep(s, rates, STEPS),
        "kernel": kernel,
        "numpy_pairs": lambda: numpy_sweep_pairs(s, GRID_RATES, STEPS),
        "numpy_columns": lambda: numpy_sweep_columns(s, GRID_RATES, STEPS),
    }, repeats)
    e, k = t["engine"], t["kernel"]
    best_np = min(("numpy_pairs", "numpy_columns"), key=lambda name: t[name].median)
    b = t[best_np]
    ref = numpy_sweep_columns(s, GRID_RATES, STEPS)
    agree = agreement(sw.points, sw.diverged_at, ref[0], ref[2], GRID_RATES)
    ratio = b.median / e.median
    print(f"e) grid {len(rates)} rates x {STEPS} steps, default quadratic ({e.n} repeats)")
    print(f"   descent.sweep {e.ms_cpu()}; raw kernel {k.ms_cpu()}")
    print(f"   NumPy (n, 2) {t['numpy_pairs'].ms_cpu()}; NumPy columns {t['numpy_columns'].ms_cpu()}")
    print(f"   best NumPy / engine = {ratio:.2f}x; agreement: {json.dumps(agree)}")
    rows = [
        common.row(f"grid {len(rates)} rates x {STEPS} steps, default quadratic, one call",
                   e.ms_cpu(), f"NumPy vectorised ({best_np.split('_')[1]}) {b.ms_cpu()}",
                   f"{ratio:.2f}x (CPU {b.cpu / e.cpu:.2f}x)"),
        common.row("  of which the raw jitted kernel (256-rate bucket)", k.ms_cpu(),
                   ratio=f"{k.median / e.median:.0%} of `sweep`"),
    ]
    info = {"engine_ms": e.median * 1e3, "kernel_ms": k.median * 1e3,
            "numpy_ms": b.median * 1e3, "ratio": ratio, "agreement": agree}
    return rows, info


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the result rows here (for run_all.py)")
    p.add_argument("--repeats", type=int, default=15, help="repeats of each sweep timing")
    p.add_argument("--skip-compile", action="store_true", help="skip d) (the subprocesses)")
    args = p.parse_args(argv)
    print(f"machine: {json.dumps(common.machine())}; JAX {jax.__version__} on "
          f"{jax.devices()[0].platform}, NumPy {np.__version__}\n")
    t0 = time.perf_counter()
    rows, info = [], {}
    for key, fn in (("one_run", lambda: bench_one_run(5 * args.repeats)),
                    ("sweep", lambda: bench_sweep(args.repeats)),
                    ("grid", lambda: bench_grid(args.repeats)),
                    ("compile", None if args.skip_compile else bench_compile)):
        if fn is None:
            continue
        r, i = fn()
        rows += r
        info[key] = i
        print()
    print(common.markdown_table(rows))
    print(f"\n(bench_engine took {time.perf_counter() - t0:.0f} s)")
    common.write_json(args.json, rows, {"details": info})
    return 0


if __name__ == "__main__":
    sys.exit(main())
