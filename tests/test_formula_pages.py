"""Your own formula on every page that picks a surface (Schedules, Grid search, Stability maps),
and the CSV downloads of Grid search, the range test, Schedules and the maps, in AppTest.

A download button's file is built on click (``st.download_button(data=callable)``); here the
callables the page registers are caught as Streamlit registers them, then called, which is
what a click does. Each CSV is parsed with the csv module and compared with the page's own
numbers (its charts and tables) and with the engine run with the page's settings.
"""

import csv
import doctest
import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from engine import diagnose, grid_search, lr_finder, maps, schedule_runs, surfaces
from engine.scene import scene_from_query
from ui import formula_input

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
FORMULA = "x**2 + 3*y**2 + sin(2*x)"  # one minimum, at (-0.515, 0), 2/L = 1/3
UNSAFE = "__import__('os').system('id')"


def open_page(name: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # Home first: AppTest switches pages only after a run
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(f"app_pages/{name}.py").run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def texts(at: AppTest, kind: str = "markdown") -> str:
    return " ".join(m.value for m in getattr(at, kind))


def query(at: AppTest) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def spec(at: AppTest, key: str) -> dict:
    """The figure of the chart with this key (its element id ends with the key)."""
    (chart,) = [c for c in at.get("plotly_chart") if c.proto.id.endswith(f"-{key}")]
    return json.loads(chart.proto.spec)


def trace(at: AppTest, key: str, name: str) -> dict:
    return next(t for t in spec(at, key)["data"] if t.get("name") == name)


@pytest.fixture
def downloads(monkeypatch) -> dict:
    """file name -> the callable a download button runs when clicked (the latest run's)."""
    got = {}
    original = MediaFileManager.add_deferred

    def record(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        got[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record)
    return got


def clicked(downloads: dict, file_name: str) -> list[dict]:
    """Click the download button of ``file_name``: its CSV, parsed by the csv module."""
    data = downloads[file_name]()
    text = data.decode() if isinstance(data, bytes) else data
    return list(csv.DictReader(io.StringIO(text)))


def num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def test_docstring_examples():
    assert doctest.testmod(formula_input).failed == 0


def test_links_of_your_own_surface_round_trip_and_junk_falls_back():
    q = formula_input.surface_to_link("custom", FORMULA, ((-2.0, 2.0), (-1.5, 1.0)))
    assert formula_input.surface_from_link(q, "himmelblau") == (
        "custom", FORMULA, ((-2.0, 2.0), (-1.5, 1.0)), [])
    for junk, why in [(UNSAFE, "Attributes such as"), ("9**9**9", ""), ("x" * 300, "200"),
                      ("lambda: 1", ""), ("().__class__", "Attributes such as")]:
        name, f, box, warnings = formula_input.surface_from_link(
            {"surface": "custom", "f": junk}, "himmelblau")
        assert (name, f, box) == ("himmelblau", "", None) and len(warnings) == 1, junk
        assert warnings[0].startswith("The formula in the link was refused") and why in warnings[0]
    name, _, _, warnings = formula_input.surface_from_link({"surface": "nope"}, "quadratic")
    assert name == "quadratic" and "Unknown surface `nope`" in warnings[0]
    name, f, box, warnings = formula_input.surface_from_link(
        {"surface": "custom", "f": FORMULA, "xmin": "abc", "xmax": "2"}, "quadratic")
    assert (name, box) == ("custom", ((-3.0, 2.0), (-3.0, 3.0)))
    assert warnings == ["`xmin=abc` is not a finite number; using -3."]


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def test_schedules_run_your_own_formula_and_its_csv_is_the_runs(downloads):
    at = open_page("schedules")
    at.selectbox(key="sch_surface").set_value("custom").run()
    at.text_input(key="sch_formula").set_value(FORMULA).run()
    ok(at)
    assert not at.error and not at.warning, [w.value for w in at.warning]
    assert query(at) == {"surface": "custom", "f": FORMULA, "xmin": "-3", "xmax": "3",
                         "ymin": "-3", "ymax": "3"}
    assert "at (-0.515, 0) the largest curvature is 6, so rates above 0.333" in texts(at)
    assert "Found numerically, so they may miss some" in texts(at, "caption")
    surface = surfaces.custom(FORMULA)
    sweep, _ = schedule_runs.on_surface(surface, "cosine", 0.025, 300)
    did = [schedule_runs.what_it_did(diagnose.diagnose(surface, t), t.diverged_at, 300)
           for t in sweep]
    rows = at.dataframe[0].value
    assert list(rows["what the run did"]) == did
    assert list(rows["final loss"]) == [f"{float(sweep.losses[i, -1]) - surface.global_value:.3g}"
                                        for i in range(2)]
    # the CSV: every run's rate and loss at every step, equal to the charts and the engine
    got = clicked(downloads, "learning-rate-lab-schedule-cosine-your-own.csv")
    assert len(got) == 2 * 301
    for i, label in enumerate(["constant 0.025", "cosine decay (to 1%)"]):
        mine = [r for r in got if r["run"] == str(i + 1)]
        assert {r["label"] for r in mine} == {label}
        rates = np.array([num(r["rate"]) for r in mine[:-1]], np.float32)
        losses = np.array([num(r["loss"]) for r in mine], np.float32)
        assert np.array_equal(rates, sweep.lrs[i]) and np.array_equal(losses, sweep.losses[i])
        assert np.array_equal(rates, np.float32(trace(at, "sch_rates", label)["y"]))
        assert mine[-1]["rate"] == "" and [r["step"] for r in mine] == [str(k) for k in range(301)]


def test_schedules_refuse_an_unsafe_formula_typed_or_in_a_link():
    at = open_page("schedules", {"surface": "custom", "f": FORMULA})
    assert at.selectbox(key="sch_surface").value == "custom" and not at.warning
    before = at.dataframe[0].value.to_dict()
    at.text_input(key="sch_formula").set_value(UNSAFE).run()
    ok(at)
    (error,) = at.error
    assert error.value.startswith("**Refused:**") and "column 17" in error.value
    assert any(c.value.endswith("^ column 17") for c in at.code)
    assert "Still running the last formula that worked" in texts(at, "caption")
    assert at.dataframe[0].value.to_dict() == before and query(at)["f"] == FORMULA
    # in a link: a warning naming the problem, and the page's default surface
    at = open_page("schedules", {"surface": "custom", "f": UNSAFE})
    assert "The formula in the link was refused: Attributes such as" in texts(at, "warning")
    assert "using the default surface, `himmelblau`" in texts(at, "warning")
    assert at.selectbox(key="sch_surface").value == "himmelblau" and not at.error
    assert query(at) == {"surface": "himmelblau"}
    # the warning is about the link: it goes once the surface is changed
    at.selectbox(key="sch_surface").set_value("quadratic").run()
    assert not at.warning and query(at) == {"surface": "quadratic"}


def test_schedules_network_csv_is_each_runs_rate_and_loss(downloads):
    at = open_page("schedules")
    at.radio(key="sch_target").set_value("network").run()
    at.selectbox(key="sch_data").set_value("moons").run()
    at.number_input(key="sch_steps").set_value(50).run()
    ok(at)
    assert query(at) == {"on": "network", "data": "moons", "steps": "50"}
    run, _ = schedule_runs.on_network("moons", "cosine", 0.025, 50)
    got = clicked(downloads, "learning-rate-lab-schedule-cosine-moons.csv")
    assert len(got) == 2 * 51
    for i in range(2):
        mine = [r for r in got if r["run"] == str(i + 1)]
        assert [num(r["rate"]) for r in mine[:-1]] == [float(x) for x in run.lrs[i]]
        assert [num(r["training loss"]) for r in mine] == [float(x) for x in run.train_loss[i]]
        assert [num(r["training accuracy"]) for r in mine] == [float(x) for x in run.train_acc[i]]
    lowest = [min(num(r["training loss"]) for r in got if r["run"] == str(i + 1)) for i in range(2)]
    assert list(at.dataframe[0].value["lowest loss"]) == [f"{v:.3g}" for v in lowest]


# ---------------------------------------------------------------------------
# Grid search
# ---------------------------------------------------------------------------


def test_grid_search_runs_your_own_formula_and_its_csvs_are_the_grid(downloads):
    at = open_page("grid_search", {"surface": "custom", "f": FORMULA})
    at.number_input(key="grid_n_surface").set_value(16).run()
    ok(at)
    assert not at.error and not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="grid_surface").value == "custom"
    g = grid_search.on_surface(surfaces.custom(FORMULA), 1e-3, 1.0, 16, 100)
    assert f"**Best rate in the grid: {g.best_rate:.4g}**" in texts(at)
    assert "own 2/L = 0.3333" in texts(at)
    names = [t.get("name", "") for t in spec(at, "grid_chart")["data"]]
    assert "2/L at the lowest minimum (-0.515, 0) = 0.3333" in names
    assert "at (-0.515, 0) the largest curvature is 6" in texts(at)
    table = clicked(downloads, "learning-rate-lab-grid-your-own.csv")
    assert [num(r["rate"]) for r in table] == g.rates.tolist()
    assert [r["regime"] for r in table] == list(g.regimes)
    assert {"converged", "diverged", "slow"} <= set(g.regimes)
    final = [num(r["final loss above the minimum"]) for r in table]
    assert final == g.final_loss.tolist()
    drawn = trace(at, "grid_chart", "final loss above the minimum")["y"]
    assert all(f == y for f, y in zip(final, drawn, strict=True) if f > 0)  # the chart's points
    steps = [num(r["steps to converge"]) for r in table]
    assert steps == [None if np.isnan(s) else s for s in g.steps_to_converge]
    assert steps == [None if y is None else y for y in trace(at, "grid_conv", "steps to converge")["y"]]
    assert [num(r["diverged at step"]) for r in table] == [
        None if d < 0 else d for d in g.diverged_at.tolist()]
    assert [r["best"] for r in table].index("true") == g.best_index
    curves = clicked(downloads, "learning-rate-lab-grid-your-own-curves.csv")
    assert len(curves) == 16 * 101
    losses = np.array([num(r["loss"]) for r in curves], np.float32).reshape(16, 101)
    assert np.array_equal(losses, g.sweep.losses)


def test_grid_search_refuses_an_unsafe_formula_typed_or_in_a_link():
    at = open_page("grid_search", {"surface": "custom", "f": FORMULA})
    at.text_input(key="grid_formula").set_value("x + ").run()
    ok(at)
    assert "ends too early" in at.error[0].value and query(at)["f"] == FORMULA
    at.text_input(key="grid_formula").set_value(UNSAFE).run()
    ok(at)
    assert at.error[0].value.startswith("**Refused:**") and "Best rate in the grid" in texts(at)
    at = open_page("grid_search", {"surface": "custom", "f": "9**9**9"})
    assert "The formula in the link was refused" in texts(at, "warning")
    assert at.selectbox(key="grid_surface").value == "quadratic" and query(at) == {
        "surface": "quadratic"}


def test_grid_search_network_csvs(downloads):
    at = open_page("grid_search")
    at.radio(key="grid_target").set_value("network").run()
    at.selectbox(key="grid_data").set_value("moons").run()
    at.number_input(key="grid_n_network").set_value(4).run()
    at.number_input(key="grid_steps_network").set_value(50).run()
    ok(at)
    g = grid_search.on_network("moons", 0.01, 10.0, 4, 50, seeds=(0, 1), batch_size=64)
    table = clicked(downloads, "learning-rate-lab-grid-moons.csv")
    assert [num(r["rate"]) for r in table] == g.rates.tolist()
    assert [r["regime"] for r in table] == list(g.regimes)
    for s in (0, 1):
        assert [num(r[f"final training loss (seed {s})"]) for r in table] == g.final_loss[s].tolist()
    med = [num(r["median final training loss"]) for r in table]
    assert med == np.median(g.final_loss, axis=0).tolist()
    assert f"({med[g.best_index]:.3g}; validation accuracy" in texts(at)
    curves = clicked(downloads, "learning-rate-lab-grid-moons-curves.csv")
    assert len(curves) == 2 * 4 * 51
    loss = np.array([num(r["training loss"]) for r in curves]).reshape(2, 4, 51)
    assert np.array_equal(loss, g.train_loss)


# ---------------------------------------------------------------------------
# The range test
# ---------------------------------------------------------------------------


def test_range_test_csv_is_every_seeds_curve(downloads):
    at = open_page("lr_finder")
    at.number_input(key="lrf_seeds").set_value(2).run()
    ok(at)
    got = clicked(downloads, "learning-rate-lab-range-test-digits-sgd.csv")
    res = lr_finder.range_tests("digits", seeds=(0, 1), batch_size=64)
    for s, t in zip(res.seeds, res.tests, strict=True):
        mine = [r for r in got if r["seed"] == str(s)]
        assert len(mine) == len(t.lrs) > 10
        for col, want, name in (("rate", t.lrs, None), ("loss", t.raw, f"seed {s}: raw loss"),
                                ("smoothed loss", t.smoothed, f"seed {s}: smoothed")):
            values = [num(r[col]) for r in mine]
            assert values == [float(v) for v in want], col
            if name:  # the chart draws the same numbers
                drawn = trace(at, "lrf_curve", name)
                assert values == drawn["y"] and [num(r["rate"]) for r in mine] == drawn["x"]


# ---------------------------------------------------------------------------
# Stability maps
# ---------------------------------------------------------------------------

SMALL = {"map": "momentum", "n": "12", "rows": "6", "lo": "0.01", "hi": "1", "steps": "100"}


def test_the_momentum_map_runs_your_own_formula_and_its_csv_is_the_cells(downloads):
    link = {**SMALL, "surface": "custom", "f": FORMULA, "xmin": "-2", "xmax": "2",
            "ymin": "-2", "ymax": "2"}
    at = open_page("stability_maps", link)
    assert not at.warning and not at.error, [w.value for w in at.warning]
    assert at.selectbox(key="maps_surface").value == "custom"
    assert at.text_input(key="maps_formula").value == FORMULA
    assert {k: query(at)[k] for k in link} == link
    config = maps.config_from_query(link)[0]
    assert config.surface == "custom" and config.box == ((-2.0, 2.0), (-2.0, 2.0))
    m = maps.compute(config)
    assert f"{m.regimes.size} runs of 100 steps" in texts(at)
    assert "at (-0.515, 0) the largest curvature is 6" in texts(at)
    first = int(maps.first_diverged(m.diverged)[0])  # the bottom row (β = 0) against 2/L = 1/3
    assert 0 < first < 12 and ("gives 2(1+β)/L = 0.3333 at the bottom row's β = 0" in texts(at))
    assert (f"the first rate that diverged is {m.rates[first]:.6g} (the last that did not: "
            f"{m.rates[first - 1]:.6g})") in texts(at)
    rows = clicked(downloads, "learning-rate-lab-map-momentum.csv")
    assert len(rows) == 6 * 12
    for r in rows:
        i, j = int(r["row"]), int(r["column"])
        assert num(r["rate"]) == m.rates[j] and num(r["momentum"]) == m.rows[i]
        assert r["regime"] == m.regime(i, j)
        assert num(r["final loss above the lowest"]) == m.final_loss[i, j]
        assert num(r["diverged at step"]) == (None if m.diverged_at[i, j] < 0 else m.diverged_at[i, j])
        assert (num(r["final x"]), num(r["final y"])) == tuple(m.final_points[i, j])
    assert {r["regime"] for r in rows} >= {"diverged", "converged"}
    # the cell's run opens in the Playground on the same formula and box
    (button,) = at.get("link_button")
    link = parse_qs(urlsplit(button.proto.url).query)
    scene, warnings = scene_from_query({k: v[0] for k, v in link.items()})
    assert not warnings and (scene.surface, scene.formula) == ("custom", FORMULA)
    assert scene.box == ((-2.0, 2.0), (-2.0, 2.0))


def test_the_map_refuses_an_unsafe_formula_typed_or_in_a_link():
    at = open_page("stability_maps", {**SMALL, "surface": "custom", "f": FORMULA})
    before = texts(at)
    at.text_input(key="maps_formula").set_value(UNSAFE).run()
    ok(at)
    assert at.error[0].value.startswith("**Refused:**") and "column 17" in at.error[0].value
    assert query(at)["f"] == FORMULA and texts(at) == before  # the last accepted map stays
    at.text_input(key="maps_formula").set_value(FORMULA).run()
    assert not at.error and texts(at) == before
    at.number_input(key="maps_box_xmin").set_value(1.0).run()  # the minimum is left outside
    ok(at)
    assert "No minimum of f was found inside the box" in texts(at, "error")
    at = open_page("stability_maps", {**SMALL, "surface": "custom", "f": UNSAFE})
    assert "The formula in the link was refused: Attributes such as" in texts(at, "warning")
    assert at.selectbox(key="maps_surface").value == "quadratic"
    assert query(at)["surface"] == "quadratic" and "f" not in query(at)


def test_condition_and_batch_map_csvs(downloads):
    at = open_page("stability_maps", {"map": "condition", "n": "10", "rows": "4", "steps": "100"})
    m = maps.compute(maps.config_from_query({"map": "condition", "n": "10", "rows": "4",
                                             "steps": "100"})[0])
    rows = clicked(downloads, "learning-rate-lab-map-condition.csv")
    assert [num(r["condition number"]) for r in rows[::10]] == m.rows.tolist()
    assert [num(r["steps to converge"]) for r in rows] == [
        None if np.isnan(v) else v for v in m.steps_to_converge.ravel()]
    assert [r["regime"] for r in rows] == [m.regime(i, j) for i in range(4) for j in range(10)]
    link = {"map": "batch", "n": "3", "bs": "32,128", "seeds": "2", "steps": "20"}
    at = open_page("stability_maps", link)
    m = maps.compute(maps.config_from_query(link)[0])
    rows = clicked(downloads, "learning-rate-lab-map-batch.csv")
    assert [int(r["batch size"]) for r in rows] == [32] * 3 + [128] * 3
    assert [num(r["median final training loss"]) for r in rows] == m.final_loss.ravel().tolist()
    for s in (0, 1):
        assert [num(r[f"diverged at step (seed {s})"]) for r in rows] == [
            None if d < 0 else d for d in m.diverged_at[s].ravel().tolist()]
    assert "Final training loss per seed" in texts(at)


def test_a_map_config_of_your_own_formula_round_trips_and_a_refused_one_falls_back():
    c = maps.MapConfig(surface="custom", params=(), formula=FORMULA, box=((-2.0, 2.0), (-1.0, 1.0)),
                       n=8, rows=4)
    assert maps.check_config(c) == (c, [])
    q = maps.config_to_query(c)
    assert (q["f"], q["xmin"], q["ymax"]) == (FORMULA, "-2", "1")
    assert maps.config_from_query(q) == (c, [])
    fixed, warnings = maps.check_config(maps.MapConfig(surface="custom", formula=UNSAFE))
    assert (fixed.surface, fixed.formula, fixed.box) == ("quadratic", "", None)
    assert warnings[0].startswith("Your formula was refused: Attributes such as")
    m = maps.compute(c)
    assert maps.map_surface(c).bounds == c.box and m.theory_limit is None
    scene = maps.cell_scene(m, 1, 2)
    assert (scene.surface, scene.formula, scene.box, scene.rates) == (
        "custom", FORMULA, c.box, (float(m.rates[2]),))
