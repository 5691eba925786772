"""The three "find a good rate" pages in AppTest: they render, react, and answer bad input with a message."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(f"app_pages/{name}.py").run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


def text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def test_schedules_page_compares_with_a_constant_rate():
    at = page("schedules")
    rows = at.dataframe[0].value
    assert list(rows["run"]) == ["constant 0.025", "cosine decay (to 1%)"]
    assert rows["final loss"][1] < rows["final loss"][0]  # on Himmelblau the decay settles
    assert at.success and "ended lower" in at.success[0].value
    assert len(at.get("plotly_chart")) == 3
    assert not at.warning


def test_schedules_page_bad_inputs_get_messages():
    at = page("schedules")
    at.selectbox(key="sch_name").set_value("warmup_cosine").run()
    at.number_input(key="sch_warmup_cosine_warmup_steps").set_value(400.0).run()
    ok(at)
    assert "must be shorter than the run" in warnings(at)
    at.number_input(key="sch_lr").set_value(-0.5).run()
    at.number_input(key="sch_steps").set_value(0).run()
    ok(at)
    assert "must be positive" in warnings(at) and "at least one step" in warnings(at)
    assert len(at.get("plotly_chart")) == 3


def test_schedules_page_reduce_on_plateau_cuts_the_rate():
    at = page("schedules")
    at.selectbox(key="sch_name").set_value("reduce_on_plateau").run()
    at.number_input(key="sch_reduce_on_plateau_factor").set_value(2.0).run()
    ok(at)
    assert "plateau factor" in warnings(at)
    at.number_input(key="sch_reduce_on_plateau_factor").set_value(0.5).run()
    ok(at)
    assert any("Reduce on plateau cut the rate" in c.value for c in at.caption)


# ---------------------------------------------------------------------------
# Grid search
# ---------------------------------------------------------------------------


def test_grid_page_finds_theory_best_on_the_quadratic():
    at = page("grid_search")
    assert "Best rate in the grid" in text(at) and "2/(L+μ) = 0.1818" in text(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name", "") for t in spec["data"]]
    assert any(n.startswith("best in grid") for n in names)
    assert any("2/L" in n for n in names)
    best = at.select_slider(key="grid_pick").value
    at.select_slider(key="grid_pick").set_value(0).run()
    ok(at)
    assert at.select_slider(key="grid_pick").value == 0 != best
    assert "the run is **slow**" in text(at)


def test_grid_page_bad_inputs_get_messages():
    at = page("grid_search")
    at.number_input(key="grid_lo_surface").set_value(5.0).run()
    at.number_input(key="grid_n_surface").set_value(0).run()
    at.number_input(key="grid_steps_surface").set_value(0).run()
    ok(at)
    w = warnings(at)
    assert "must be below the largest" in w and "at least 2 rates" in w and "at least one step" in w
    assert "Best rate in the grid" in text(at)


def test_grid_page_on_the_network_with_seeds():
    at = page("grid_search")
    at.radio(key="grid_target").set_value("network").run()
    at.selectbox(key="grid_data").set_value("moons").run()
    at.number_input(key="grid_seeds").set_value(0).run()
    ok(at)
    assert "at least one seed" in warnings(at)
    assert "median final training loss over 2 seed(s)" in text(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any("spread over 2 seeds" in t.get("name", "") for t in spec["data"])


# ---------------------------------------------------------------------------
# The range test
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finder():
    return page("lr_finder")


def test_range_test_page_suggests_and_checks(finder):
    at = finder
    labels = [m.label for m in at.metric]
    assert labels[0].startswith("Steepest descent") and labels[1].startswith("Minimum / 10")
    assert "Across 3 seeds the suggestion ranges" in text(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert any(t.get("name", "").startswith("steepest descent") for t in spec["data"])
    at.button(key="lrf_check").click().run()
    ok(at)
    assert "The suggestion won" in text(at)
    assert len(at.get("plotly_chart")) == 2


def test_range_test_page_bad_inputs_get_messages(finder):
    at = finder
    at.number_input(key="lrf_min").set_value(100.0).run()
    at.number_input(key="lrf_steps").set_value(0).run()
    at.number_input(key="lrf_seeds").set_value(0).run()
    ok(at)
    w = warnings(at)
    assert "must be below the largest" in w and "at least 2 steps" in w and "at least one seed" in w
    assert at.metric  # the defaults ran instead
