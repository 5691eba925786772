"""Stability maps (issue 11): the 128 x 128 x 500-step map against NumPy, the page's warm
rerun after a change of range, and the map figure's payload.

Run from the repo root (about 1-2 minutes):

    .venv/bin/python benchmarks/bench_maps.py [--json out.json] [--repeats N]

- engine: one ``descent.sweep_final`` call for 16,384 heavy-ball runs (128 rates x 128
  momenta, momentum per run) of 500 steps, against NumPy doing the same work in one run
  (``baselines.numpy_heavy_ball``: vectorised across runs, the same update, validity check,
  divergence box and freezing, final rows only), float32 and float64, the faster one being
  the baseline; results compared (same divergence step; final points close). On the bowl
  with curvatures 1 and 10 and on Rosenbrock. Target: at least 4x.
- the whole map (``maps.momentum_map``: three ``sweep_final`` calls, T, T - K and T - K - 1
  steps, plus the end-window replay and the regimes) at 128 x 128 x 500;
- page: the Stability maps page in AppTest, warm, rerun after a change of the smallest rate
  (every value new, so the map is really recomputed), at the default 100 steps and at 500.
  Target: at most 1 s;
- payload: the bytes of the map's Plotly JSON at 128 x 128 (regime and loss colouring), and
  of the chart the page sends. Target: at most 300 KB (tests/test_maps.py asserts it).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import baselines
import common  # first: puts the repo root on sys.path
import numpy as np
import plotly.io as pio
from streamlit.testing.v1 import AppTest

from charts.maps import map_figure
from engine import descent, maps, surfaces

APP = str(common.ROOT / "app.py")
PAGE = "app_pages/stability_maps.py"
ENGINE_TARGET = 4.0
RERUN_TARGET_S = 1.0
PAYLOAD_TARGET = 300_000
SIDE, STEPS = 128, 500


def grid(lo: float, hi: float) -> tuple[list[float], np.ndarray]:
    lr, beta = np.meshgrid(maps.rate_axis(lo, hi, SIDE), maps.linear_axis(0.0, 0.99, SIDE))
    return lr.ravel().tolist(), beta.ravel()


def engine_vs_numpy(name: str, surface, lo: float, hi: float, repeats: int) -> list[dict]:
    lrs, beta = grid(lo, hi)

    def engine():
        return descent.sweep_final(surface, lrs, STEPS, momentum=beta)

    fns = {"engine": engine}
    for dt in (np.float32, np.float64):
        fns[f"numpy {dt.__name__}"] = (lambda dt=dt: baselines.numpy_heavy_ball(
            surface, lrs, STEPS, beta, keep_path=False, dtype=dt))
    t = common.measure_side_by_side(fns, repeats)
    e = engine()
    same = {}
    for key in ("numpy float32", "numpy float64"):
        x, y, _, dead = fns[key]()
        live = (dead < 0) & (e.diverged_at < 0)
        close = np.isclose(x[live], e.points[live, 0], rtol=1e-2, atol=1e-2) & np.isclose(
            y[live], e.points[live, 1], rtol=1e-2, atol=1e-2)
        same[key] = (int(np.sum(dead == e.diverged_at)), int(np.sum(close)), int(np.sum(live)))
    best = min(("numpy float32", "numpy float64"), key=lambda k: t[k].median)
    ratio = t[best].median / t["engine"].median
    for k, v in t.items():
        print(f"  {name} {k}: {v.ms_cpu()}")
    print(f"  {name}: ratio {ratio:.1f}x against {best}; same divergence step / close final "
          f"point / both alive: {same}")
    n = len(lrs)
    agree = same[best]
    return [common.row(f"{name}: 128 x 128 x 500 heavy ball, final only (`sweep_final`)",
                       t["engine"].ms(), f"{t[best].ms()} ({best})", f"{ratio:.1f}x",
                       f">= {ENGINE_TARGET:g}x", ratio >= ENGINE_TARGET),
            common.row(f"{name}: same results as NumPy (divergence step; final point rtol = atol "
                       "= 1e-2)", f"{agree[0]}/{n} same step, {agree[1]}/{agree[2]} close")]


def whole_map(repeats: int) -> dict:
    config = maps.MapConfig(steps=STEPS)
    maps.momentum_map(config)
    t = common.measure(lambda: maps.momentum_map(config), repeats)
    print(f"  whole momentum map 128 x 128 x 500 (3 sweep_final calls + window + regimes): "
          f"{t.ms_cpu()}")
    return common.row("whole rate x momentum map, 128 x 128 x 500 (3 `sweep_final` calls, "
                      "end window, regimes)", t.ms())


def page_reruns(repeats: int) -> list[dict]:
    rows = []
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    for steps in (100, STEPS):
        at.number_input(key="maps_steps_momentum").set_value(steps).run()
        assert not at.exception, [e.value for e in at.exception]
        times = []
        values = 1e-4 * np.geomspace(1.05, 3.0, repeats + 1)
        at.number_input(key="maps_lo_momentum").set_value(float(values[0])).run()  # warm shape
        for v in values[1:]:
            t0 = time.perf_counter()
            at.number_input(key="maps_lo_momentum").set_value(float(v)).run()
            times.append(time.perf_counter() - t0)
            assert not at.exception, [e.value for e in at.exception]
            # really a new map: the link and the map's own first rate say so
            lo = at.query_params["lo"]
            lo = lo[0] if isinstance(lo, list) else lo
            assert float(lo) == float(f"{v:.6g}"), (lo, v)
        print(f"    reruns (s): {', '.join(f'{x:.3f}' for x in times)}")
        t = common.timing(times)
        print(f"  page rerun after a change of range, 128 x 128 x {steps}: {t.s()}")
        rows.append(common.row(f"Stability maps page rerun after a change of range, warm "
                               f"(AppTest), 128 x 128 x {steps}", t.s(), target=f"<= {RERUN_TARGET_S:g} s",
                               met=t.median <= RERUN_TARGET_S))
    spec = at.get("plotly_chart")[0].proto.spec
    size = len(spec.encode())
    json.loads(spec)
    print(f"  the page's map chart spec: {size:,} bytes")
    rows.append(common.row("Stability maps page: the map chart as sent (128 x 128, regimes)",
                           f"{size / 1000:.0f} KB", target="<= 300 KB", met=size <= PAYLOAD_TARGET))
    return rows


def payload() -> list[dict]:
    m = maps.momentum_map(maps.MapConfig(steps=STEPS))
    rows = []
    for color in ("regime", "loss"):
        t0 = time.perf_counter()
        fig = map_figure(m, color, selected=m.best_cell)
        spec = pio.to_json(fig, validate=False)
        took = time.perf_counter() - t0
        size = len(spec.encode())
        print(f"  map figure 128 x 128 ({color}): {size:,} bytes, built and encoded in "
              f"{took * 1e3:.0f} ms")
        rows.append(common.row(f"map figure payload, 128 x 128, coloured by {color}",
                               f"{size / 1000:.0f} KB (build + JSON {took * 1e3:.0f} ms)",
                               target="<= 300 KB", met=size <= PAYLOAD_TARGET))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    print(f"machine: {common.machine()}")
    rows = []
    rows += engine_vs_numpy("bowl (1, 10)", surfaces.quadratic(1.0, 10.0), 1e-3, 1.0, args.repeats)
    rows += engine_vs_numpy("Rosenbrock", surfaces.rosenbrock(), 1e-5, 1e-2, args.repeats)
    rows.append(whole_map(args.repeats))
    rows += payload()
    rows += page_reruns(args.repeats)
    print()
    print(common.markdown_table(rows))
    common.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
