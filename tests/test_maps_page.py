"""The Stability maps page in AppTest: it draws the map with theory's agreement computed from the
runs, shows the exact run of the picked cell, keeps its settings in the URL, and answers junk
with a warning and the default."""

import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
from streamlit.testing.v1 import AppTest

from engine import maps
from engine.scene import fmt

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180
PAGE = "app_pages/stability_maps.py"
# Small maps keep the page quick; the defaults are the engine tests' business.
SMALL = {"map": "momentum", "n": "24", "rows": "16", "steps": "100"}


def open_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # Home first: AppTest switches pages only after a run
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(PAGE).run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def query(at: AppTest) -> dict:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def shown_run(at: AppTest) -> tuple[str, tuple[float, float]]:
    """The heading of the run shown below the map and the last point its text reports."""
    heading = next(h.value for h in at.subheader if h.value.startswith("The run"))
    found = re.search(r"cell exactly: \(([-0-9.e+]+), ([-0-9.e+]+)\)", text(at))
    assert found, text(at)
    return heading, (float(found.group(1)), float(found.group(2)))


def expected(query: dict) -> maps.StabilityMap:
    return maps.compute(maps.config_from_query(query)[0])


def test_default_map_renders_with_theory_agreement_from_the_runs():
    at = open_page()
    m = expected({})
    assert at.title[0].value == "Stability maps"
    assert not at.warning
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["type"] == "heatmap"
    assert len(at.get("plotly_chart")) >= 3  # the map, the run's path and its loss
    a = maps.agreement(m)
    assert a.boundary_ok >= 0.95 * 128
    assert (f"The measured divergence boundary is within one grid cell of theory's 2(1+β)/L on "
            f"{a.boundary_ok} of 128 rows.") in text(at)
    # the cell shown by default is the measured best, and its numbers are that run's
    i, j = m.best_cell
    heading, end = shown_run(at)
    assert heading == f"The run at lr = {fmt(m.rates[j])}, β = {fmt(m.rows[i])}"
    np.testing.assert_allclose(end, m.final_points[i, j], rtol=1e-5, atol=1e-8)
    q = query(at)
    assert q["map"] == "momentum" and q["cell"] == f"{i},{j}" and q["n"] == "128"


def test_picking_a_cell_shows_that_exact_run_and_its_playground_link():
    at = open_page(SMALL)
    m = expected(SMALL)
    for i, j in [(3, 20), (15, 2)]:
        at.number_input(key="maps_row").set_value(i)
        at.number_input(key="maps_col").set_value(j).run()
        ok(at)
        heading, end = shown_run(at)
        assert heading == f"The run at lr = {fmt(m.rates[j])}, β = {fmt(m.rows[i])}"
        np.testing.assert_allclose(end, m.final_points[i, j], rtol=1e-5, atol=1e-8)
        assert query(at)["cell"] == f"{i},{j}"
        link = at.get("link_button")[0].proto.url
        q = parse_qs(urlsplit(link).query)
        assert link.startswith("/playground?")
        assert q["lr"] == [fmt(m.rates[j])] and q["momentum"] == [fmt(m.rows[i])]
        assert f"on the map: {m.regime(i, j)}" in " ".join(b.proto.body for b in at.markdown)
    # the map outlines the shown cell
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    marked = next(t for t in spec["data"] if t.get("name") == "the run shown below")
    assert marked["x"] == [float(j)]
    # recolouring the map keeps the cell (and runs nothing new: the map is cached without it)
    at.radio(key="maps_color").set_value("loss").run()
    ok(at)
    assert shown_run(at)[0] == heading and query(at)["color"] == "loss"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["colorscale"] == "Viridis" or spec["data"][0].get("zmax") == 250


def test_a_link_restores_the_map_and_its_cell():
    at = open_page({**SMALL, "cell": "5,7", "surface": "ravine", "condition": "40"})
    m = expected({**SMALL, "surface": "ravine", "condition": "40"})
    heading, end = shown_run(at)
    assert heading == f"The run at lr = {fmt(m.rates[7])}, β = {fmt(m.rows[5])}"
    np.testing.assert_allclose(end, m.final_points[5, 7], rtol=1e-5, atol=1e-8)
    assert at.selectbox(key="maps_surface").value == "ravine"
    assert at.number_input(key="maps_p_ravine_condition").value == 40.0
    assert not at.warning


def test_junk_in_the_link_gets_warnings_and_defaults():
    at = open_page({"map": "momentum", "n": "many", "rows": "16", "steps": "100", "lo": "5",
                    "hi": "0.1", "surface": "volcano", "cell": "99,99"})
    w = warnings(at)
    assert "`n=many` is not a number" in w
    assert "smallest rate (5) must be below the largest (0.1)" in w
    assert "Unknown surface `volcano`" in w
    assert "`cell=99,99` is not a cell" in w
    assert at.number_input(key="maps_n_momentum").value == 128
    assert at.selectbox(key="maps_surface").value == "quadratic"
    assert len(at.get("plotly_chart")) >= 3


def test_bad_inputs_get_messages_and_a_change_of_range_reruns():
    at = open_page(SMALL)
    at.number_input(key="maps_lo_momentum").set_value(0.5).run()
    ok(at)
    assert "The rates must run from a smaller to a larger number" in warnings(at)
    at.number_input(key="maps_lo_momentum").set_value(1e-3)
    at.number_input(key="maps_n_momentum").set_value(0).run()
    ok(at)
    assert "The map needs 2 to 128 rates (got 0); using 128." in warnings(at)
    at.number_input(key="maps_n_momentum").set_value(20).run()
    ok(at)
    assert not at.warning
    q = query(at)
    assert q["lo"] == "0.001" and q["n"] == "20"
    assert "400 runs of 100 steps" in text(at) or "320 runs of 100 steps" in text(at)


def test_condition_map_shows_steps_against_theory():
    at = open_page({"map": "condition", "n": "64", "rows": "12", "steps": "400", "color": "steps"})
    body = text(at)
    assert re.search(r"within one cell of 2/L = 0\.2 on 1[12] of 12 rows", body), body
    assert "best rate (fewest steps to converge) is within one cell of 2/(L+μ)" in body
    assert "At 2/(L+μ) the runs took" in body
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "")
              for c in at.get("plotly_chart")]
    assert "Steps to converge against condition number" in titles
    heading, _ = shown_run(at)
    assert "κ = " in heading
    assert at.radio(key="maps_color").value == "steps"


def test_batch_map_trains_the_network_and_shows_the_seeds():
    at = open_page({"map": "batch", "n": "4", "lo": "0.1", "hi": "100", "bs": "16,256",
                    "seeds": "1", "steps": "30"})
    assert "Largest rate with no seed diverging" in text(at)
    heading = next(h.value for h in at.subheader if h.value.startswith("The runs"))
    assert "batch size" in heading
    assert at.text_input(key="maps_bs").value == "16, 256"
