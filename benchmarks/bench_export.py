"""Exports and custom surfaces: GIF build time and size for 100 frames, CSV build time, and
the first build of a surface typed as a formula.

Run from the repo root (about a minute on 2 cores):

    .venv/bin/python benchmarks/bench_export.py [--json out.json] [--repeats N]

a) ``charts.export.trajectory_gif`` for 100 frames (the Playground's maximum) of
   four runs: Rosenbrock with 1,000 steps (long paths, three diverge), the
   sharp/wide surface with 200 steps, and a custom surface with a blank
   (non-finite) region. Wall-clock median and min after one warm-up (the loss
   grid's compile is not counted), CPU time, and the GIF's size. Targets
   (issue 12): <= 5 s and <= 3 MB.
b) ``runs_csv`` for the Playground's 4 runs x 1,000 steps and a grid search's
   256 runs x 500 steps.
c) ``surfaces.custom`` for a formula never seen before (parse, minima search
   with its compiles, default start) and the first ``sweep`` on it (the descent
   compile), each on a fresh formula per repeat; then that a second sweep with
   other rates, start and steps does not compile again.
"""

from __future__ import annotations

import argparse
import io
import json
import time

import common  # first: puts the repo root on sys.path, so `engine` imports
import jax
from PIL import Image

from charts.export import runs_csv, trajectory_gif
from engine import descent, surfaces

GIF_TARGET_S = 5.0
GIF_TARGET_BYTES = 3_000_000
SCENES = {
    "Rosenbrock, 4 runs x 1,000 steps": ("rosenbrock", [1e-3, 3e-3, 1e-2, 2e-2], 1000),
    "sharp/wide, 4 runs x 200 steps": ("sharp_wide", [0.05, 0.5, 1.5, 2.5], 200),
    "custom x*log(x) + y**2, 4 runs x 300 steps": (None, [0.01, 0.1, 0.5, 1.2], 300),
}


def _surface(name):
    if name is None:
        return surfaces.custom("x*log(x) + y**2", bounds=((-1, 2), (-2, 2)), start=(1.5, 1.5))
    return surfaces.get(name)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the result rows here")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"machine: {json.dumps(common.machine())}; JAX {jax.__version__}\n")
    rows = []
    extra: dict = {}

    # a) GIF
    print("a) trajectory_gif, 100 frames")
    for what, (name, rates, steps) in SCENES.items():
        s = _surface(name)
        sw = descent.sweep(s, rates, steps)
        data = trajectory_gif(s, sw)
        frames = Image.open(io.BytesIO(data)).n_frames
        t = common.measure(lambda s=s, sw=sw: trajectory_gif(s, sw), args.repeats)
        size = len(data)
        ok = t.median <= GIF_TARGET_S and size <= GIF_TARGET_BYTES
        print(f"   {what}: {frames} frames, {size / 1e6:.3f} MB, {t.ms_cpu()}")
        rows.append(common.row(f"GIF, {frames} frames: {what}", f"{t.ms()}; {size / 1e6:.2f} MB",
                               target="<= 5 s, <= 3 MB", met=ok))
        extra[what] = {"frames": frames, "bytes": size, "median_s": t.median, "min_s": t.min,
                       "cpu_s": t.cpu}

    # b) CSV
    print("b) runs_csv")
    for what, (name, n, steps) in {"4 runs x 1,000 steps": ("rosenbrock", 4, 1000),
                                    "256 runs x 500 steps": ("quadratic", 256, 500)}.items():
        s = surfaces.get(name)
        rates = [1e-3 * (1 + k) / n for k in range(n)]
        sw = descent.sweep(s, rates, steps)
        text = runs_csv(sw)
        t = common.measure(lambda sw=sw: runs_csv(sw), max(3, args.repeats // 2))
        print(f"   {what}: {len(text) / 1e6:.2f} MB, {t.ms_cpu()}")
        rows.append(common.row(f"runs CSV, {what}", f"{t.ms()}; {len(text) / 1e6:.2f} MB"))

    # c) a custom surface, first time
    print("c) surfaces.custom on a new formula, then its first sweep")
    build, first_sweep = [], []
    for k in range(max(3, args.repeats // 2)):
        text = f"(1 - x)**2 + {3 + k}*(y - x**2)**2 + 0.1*sin(3*x)"
        t0 = time.perf_counter()
        s = surfaces.custom(text)
        t1 = time.perf_counter()
        descent.sweep(s, [1e-3, 1e-2], 200)
        t2 = time.perf_counter()
        build.append(t1 - t0)
        first_sweep.append(t2 - t1)
        before = descent.trace_count()
        descent.sweep(s, [5e-3, 2e-2, 3e-2], 700, start=(0.5, -1.0))
        assert descent.trace_count() == before, "a custom surface recompiled on new rates"
    tb, ts = common.timing(build), common.timing(first_sweep)
    print(f"   custom(): {tb.s()}; first sweep (compile): {ts.s()}; no recompile after: True")
    rows.append(common.row("surfaces.custom on a new formula (parse, minima, start)", tb.s()))
    rows.append(common.row("first sweep on a new formula (one compile)", ts.s()))

    print()
    print(common.markdown_table(rows))
    common.write_json(args.json, rows, {"gif": extra})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
