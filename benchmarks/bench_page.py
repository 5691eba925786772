"""Playground page speed and size, in Streamlit's AppTest (no browser).

Run from the repo root (about 30 s):

    .venv/bin/python benchmarks/bench_page.py [--json out.json] [--repeats N]

- cold: the first run of the Playground in this process (includes the engine's
  ``warm_up`` for the default surface; JAX's persistent cache is the app's own
  ``.jax_cache``, so this depends on what earlier runs left there);
- warm reruns after changing the first rate, both through its log slider
  (``lr_sl_0``) and its exact number entry (``lr_num_0``): every value is new,
  so each rerun really runs the engine (``run_scene`` misses its cache);
- a rerun with nothing changed (everything cached);
- four runs of four different optimizers (``?opt=sgd,momentum,adam,rmsprop`` in the
  link, as ``Scene(optimizers=(...))``): warm reruns after a slider change, each of which
  runs four engine calls (one per optimizer), checked in the legend and the link;
- the default trajectory figure's payload: the bytes of its Plotly JSON spec and
  its number of animation frames, also for the largest scene (4 rates x 1,000 steps);
- where a warm rerun's time goes, timed outside Streamlit: engine + diagnosis,
  the three figure builders, and Plotly's JSON encoding of the figures (for the default
  scene and for the four-optimizer scene).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import replace

import common  # first: puts the repo root on sys.path, so the app's packages import
import plotly.io as pio
from streamlit.testing.v1 import AppTest

from charts.playground import loss_figure, step_size_figure, trajectory_figure
from engine import descent, optimizers
from engine.diagnose import diagnose
from engine.scene import Scene, run_scene, scene_to_query
from ui import playground_state
from ui.widgets import RATE_STOPS

APP = str(common.ROOT / "app.py")
TIMEOUT = 120
RERUN_TARGET_S = 0.300
PAYLOAD_TARGET_KB = 300
FRAMES_TARGET = 100
SCHEDULES = ("cosine", "one_cycle")  # an elementwise optax schedule, and one that is not
FOUR = Scene(rates=(0.05, 0.02, 0.1, 0.01), optimizers=("sgd", "momentum", "adam", "rmsprop"))


def playground_page() -> str:
    """The Playground's file as app.py names it (the page files have been renamed before)."""
    text = (common.ROOT / "app.py").read_text()
    match = re.search(r"st\.Page\(\s*[\"']([^\"']*playground[^\"']*)[\"']", text)
    if match:
        return match.group(1)
    return next(str(f.relative_to(common.ROOT)) for f in
                sorted((common.ROOT / "pages").glob("playground*.py")))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def check(at: AppTest) -> None:
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])


def payload(at: AppTest) -> tuple[float, int, float]:
    """(trajectory spec KB, its frames, all charts' spec KB)."""
    charts = at.get("plotly_chart")
    spec = charts[0].proto.spec
    frames = len(json.loads(spec).get("frames", []))
    return len(spec) / 1024, frames, sum(len(c.proto.spec) for c in charts) / 1024


def legend_names(at: AppTest) -> list[str]:
    return [d.get("name", "") for d in json.loads(at.get("plotly_chart")[0].proto.spec)["data"]]


def shows_rate(at: AppTest, value: float) -> bool:
    """A legend entry names rate ``value`` ("lr = 0.05", maybe after an optimizer's label)."""
    pattern = re.compile(re.escape(f"lr = {value:.4g}") + r"(?![\d.e])")
    return any(pattern.search(name) for name in legend_names(at))


def rerun_times(at: AppTest, values, set_value, check_also=None) -> list[float]:
    """Seconds of each warm rerun after ``set_value(v)``; the first is not counted (it may
    still warm caches). Each rerun must show the new rate (and pass ``check_also``)."""
    out = []
    for i, v in enumerate(values):
        set_value(v)
        t = timed(at.run)
        check(at)
        assert shows_rate(at, v), (v, legend_names(at))
        if check_also is not None:
            check_also(at)
        if i:
            out.append(t)
    return out


def slider_values(n: int, avoid=()) -> list[float]:
    """n + 1 distinct slider stops from 1e-3 to 0.3, none of them in ``avoid``."""
    stops = [v for v in RATE_STOPS if 1e-3 <= v <= 0.3 and v not in avoid]
    step = max(1, len(stops) // (n + 1))
    return stops[::step][: n + 1]


def scene_reruns(scene: Scene, n: int, check_also=None) -> tuple[float, common.Timing, dict]:
    """The Playground opened on ``scene``'s link, then warm reruns after slider changes."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in scene_to_query(scene).items():
        at.query_params[key] = value
    at.switch_page(playground_page())
    cold = timed(at.run)
    check(at)
    if check_also is not None:
        check_also(at)
    times = rerun_times(at, slider_values(n, scene.rates),
                        lambda v: at.select_slider(key="lr_sl_0").set_value(v), check_also)
    return cold, common.timing(times), {"labels": legend_names(at), "query": dict(at.query_params)}


def four_optimizers(n: int) -> tuple[float, common.Timing, dict]:
    """FOUR's link, checking each rerun still shows all four optimizers."""
    labels = [optimizers.get(k).label for k in FOUR.optimizers]

    def all_four(at: AppTest) -> None:
        names = legend_names(at)
        missing = [lab for lab in labels if not any(name.startswith(lab + ",") for name in names)]
        assert not missing, ("the page did not run every optimizer", missing, names)
        assert at.query_params.get("opt") == ",".join(FOUR.optimizers), dict(at.query_params)

    return scene_reruns(FOUR, n, all_four)


def scheduled(name: str, n: int) -> tuple[float, common.Timing, dict]:
    """The default scene with every rate on the named schedule (checked in the link)."""
    def on_schedule(at: AppTest) -> None:
        assert at.query_params.get("schedule") == name, dict(at.query_params)

    return scene_reruns(Scene(schedule=name), n, on_schedule)


def breakdown(repeats: int, scene: Scene | None = None) -> dict[str, common.Timing]:
    """A warm rerun's work, piece by piece, on ``scene`` (default: the default scene) with a
    new first rate each time; with several optimizers, ``run_scene`` (one engine call each)."""
    scene = scene or Scene()
    surface = scene.build_surface()
    run_scene(scene)
    rates = iter(RATE_STOPS[30:90] * 3)

    def engine():
        if scene.optimizers:
            _, sw, diagnoses = run_scene(replace(scene, rates=(next(rates),) + scene.rates[1:]))
            return sw, diagnoses
        sw = descent.sweep(surface, (next(rates),) + scene.rates[1:], scene.steps)
        return sw, [diagnose(surface, t) for t in sw]

    sw, _ = engine()
    labels = [playground_state.run_label(scene, i) for i in range(len(scene.rates))]
    trajectory_figure(surface, sw, labels=labels)  # fills the cached surface background
    figs = [trajectory_figure(surface, sw, labels=labels), loss_figure(surface, sw, labels=labels),
            step_size_figure(sw, labels=labels)]
    return common.measure_side_by_side({
        "engine + diagnose": engine,
        "trajectory_figure": lambda: trajectory_figure(surface, sw, labels=labels),
        "loss + step-size figures": lambda: (loss_figure(surface, sw, labels=labels),
                                             step_size_figure(sw, labels=labels)),
        "Plotly JSON of the 3 figures": lambda: [pio.to_json(f, validate=False) for f in figs],
    }, repeats)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the result rows here (for run_all.py)")
    p.add_argument("--repeats", type=int, default=10, help="warm reruns per widget")
    args = p.parse_args(argv)
    n = args.repeats
    print(f"machine: {json.dumps(common.machine())}")

    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.switch_page(playground_page())
    cold = timed(at.run)
    check(at)
    kb, frames, all_kb = payload(at)
    print(f"cold first run: {cold:.2f} s; default trajectory spec {kb:.1f} KB, {frames} frames;"
          f" all 3 charts {all_kb:.1f} KB")

    # Distinct slider stops (never the defaults 0.01, 0.1, 0.19), then distinct typed numbers.
    typed_values = [round(0.0123 + 0.0111 * i, 4) for i in range(n + 1)]
    slider = rerun_times(at, slider_values(n, Scene().rates),
                         lambda v: at.select_slider(key="lr_sl_0").set_value(v))
    typed = rerun_times(at, typed_values, lambda v: at.number_input(key="lr_num_0").set_value(v))
    same = [timed(at.run) for _ in range(n)]
    check(at)
    ts, tt, tsame = common.timing(slider), common.timing(typed), common.timing(same)
    print(f"warm rerun after a slider change ({ts.n}): {ts.ms()}")
    print(f"warm rerun after typing a rate   ({tt.n}): {tt.ms()}")
    print(f"rerun with nothing changed       ({tsame.n}): {tsame.ms()}")

    # The largest scene the controls allow: 4 rates, 1,000 steps.
    at.number_input(key="n_rates").set_value(4).run()
    at.slider(key="steps").set_value(1000).run()
    check(at)
    big_kb, big_frames, big_all_kb = payload(at)
    big_rerun = common.timing(rerun_times(
        at, [0.0567, 0.0678, 0.0789, 0.0891, 0.0912][: max(2, min(5, n))],
        lambda v: at.number_input(key="lr_num_0").set_value(v)))
    print(f"largest scene (4 rates x 1,000 steps): trajectory spec {big_kb:.1f} KB, {big_frames} "
          f"frames, all charts {big_all_kb:.1f} KB; warm rerun {big_rerun.ms()}")

    four_cold, four, four_info = four_optimizers(n)
    print(f"four optimizers ({', '.join(FOUR.optimizers)}): cold first run {four_cold:.2f} s "
          f"(compiles), warm rerun after a slider change ({four.n}): {four.ms()}; legend "
          f"{four_info['labels'][2:6]}")

    sched = {name: scheduled(name, max(2, min(4, n))) for name in SCHEDULES}
    for name, (c, t, _) in sched.items():
        print(f"schedule {name}: cold first run {c:.2f} s, warm rerun after a slider change "
              f"({t.n}): {t.ms()}")

    parts = breakdown(max(5, n))
    print("where a warm rerun goes (default scene, outside Streamlit):")
    for name, t in parts.items():
        print(f"   {name:30s} {t.ms_cpu()}")
    accounted = sum(t.median for t in parts.values())
    parts4 = breakdown(max(5, n), FOUR)
    print("where a warm rerun goes (four optimizers, outside Streamlit):")
    for name, t in parts4.items():
        print(f"   {name:30s} {t.ms_cpu()}")
    rows = [
        common.row("Playground cold first run (AppTest, includes `warm_up`)", f"{cold:.2f} s"),
        common.row("Playground warm rerun after a rate slider change (AppTest)", ts.ms(),
                   target="<= 300 ms", met=ts.median <= RERUN_TARGET_S),
        common.row("Playground warm rerun after typing a rate (AppTest)", tt.ms(),
                   target="<= 300 ms", met=tt.median <= RERUN_TARGET_S),
        common.row("  of which outside Streamlit: engine+diagnose, 3 figures, Plotly JSON",
                   f"{accounted * 1e3:.3g} ms", ratio=", ".join(
                       f"{k} {t.median * 1e3:.2g}" for k, t in parts.items())),
        common.row("Playground rerun with nothing changed (AppTest)", tsame.ms()),
        common.row("Playground warm rerun after a slider change, four runs of four optimizers "
                   f"({', '.join(FOUR.optimizers)}; AppTest)", four.ms(),
                   target="<= 300 ms", met=four.median <= RERUN_TARGET_S),
        common.row("  of which outside Streamlit: `run_scene` (4 engine calls + diagnose), "
                   "3 figures, Plotly JSON", f"{sum(t.median for t in parts4.values()) * 1e3:.3g}"
                   " ms", ratio=", ".join(f"{k} {t.median * 1e3:.2g}" for k, t in parts4.items())),
        *(common.row(f"Playground warm rerun after a slider change, default scene on the {name} "
                     "schedule (AppTest)", t.ms(), target="<= 300 ms",
                     met=t.median <= RERUN_TARGET_S) for name, (_, t, _) in sched.items()),
        common.row("default trajectory figure payload", f"{kb:.0f} KB (all 3 charts "
                   f"{all_kb:.0f} KB)", target="<= 300 KB", met=kb <= PAYLOAD_TARGET_KB),
        common.row("default trajectory figure frames", str(frames), target="<= ~100",
                   met=frames <= FRAMES_TARGET),
        common.row("largest scene (4 rates x 1,000 steps): payload, frames, warm rerun",
                   f"{big_kb:.0f} KB, {big_frames} frames, rerun {big_rerun.ms()}"),
    ]
    print()
    print(common.markdown_table(rows))
    common.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
