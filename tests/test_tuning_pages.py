"""The three "find a good rate" pages in AppTest: they render, react, and answer bad input with a message."""

import json
from pathlib import Path

import optax
import pytest
from streamlit.testing.v1 import AppTest

from engine import descent, diagnose, lr_finder, schedule_runs, surfaces

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


def no_junk_cells(at: AppTest) -> None:
    """No table shows None, nan or inf (issue 10): a dash where there is no number."""
    cells = [str(v) for df in at.dataframe for col in df.value.columns for v in df.value[col]]
    bad = [c for c in cells if c.lower() in ("none", "nan", "inf", "-inf", "<na>")]
    assert not bad, bad


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def test_schedules_page_compares_with_a_constant_rate():
    at = page("schedules")
    rows = at.dataframe[0].value
    assert list(rows["run"]) == ["constant 0.025", "cosine decay (to 1%)"]
    assert float(rows["final loss"][1]) < float(rows["final loss"][0])  # on Himmelblau the decay settles
    assert at.success and "ended lower" in at.success[0].value
    assert len(at.get("plotly_chart")) == 3
    assert not at.warning
    no_junk_cells(at)


def test_schedules_table_says_oscillating_and_converged_in_one_cell():
    """Issue 9 item 15: the table showed cosine as 'oscillating' beside 'steps to converge 57'.
    Now one phrase from one diagnosis says both, and agrees with the run the engine gives."""
    at = page("schedules")
    rows = at.dataframe[0].value
    assert "regime" not in rows.columns and "steps to converge" not in rows.columns
    did = list(rows["what the run did"])
    s = surfaces.get("himmelblau")
    sw, _ = schedule_runs.on_surface(s, "cosine", 0.025, 300)
    expected = [schedule_runs.what_it_did(diagnose.diagnose(s, t), t.diverged_at, 300) for t in sw]
    assert did == expected
    assert did[1].startswith("oscillating, converged at step")
    # Switch to a schedule whose peak blows up: the row says where, with no final loss.
    at.selectbox(key="sch_surface").set_value("quadratic").run()
    at.number_input(key="sch_lr").set_value(0.5).run()
    ok(at)
    rows = at.dataframe[0].value
    q = surfaces.get("quadratic")
    const = descent.run(q, 0.5, 300)
    assert const.diverged_at is not None
    assert rows["what the run did"][0] == f"diverged at step {const.diverged_at}"
    assert rows["final loss"][0] == "—"
    no_junk_cells(at)


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
    assert "the run is **slow**" in text(at) and "not converged in 100 steps" in text(at)
    # The largest rate (1.0 > 2/L = 0.2) blew up: the page names the step, not a final loss.
    at.select_slider(key="grid_pick").set_value(127).run()
    ok(at)
    t = descent.run(surfaces.get("quadratic"), 1.0, 100)
    assert f"the run **diverged at step {t.diverged_at}**" in text(at)
    assert "final loss" not in text(at).split("At **1**")[-1]


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


def test_range_test_page_with_adam():
    """The range test trains with the chosen optimizer: Adam's suggestion is its own (the engine's,
    with optax.adam) and an order of magnitude below SGD's."""
    at = page("lr_finder")
    sgd = float(at.metric[2].value)
    at.selectbox(key="lrf_opt").set_value("adam").run()
    ok(at)
    adam = float(at.metric[2].value)
    res = lr_finder.range_tests("digits", seeds=(0, 1, 2), batch_size=64, optimizer=optax.adam)
    assert at.metric[2].value == f"{res.spread('suggestion')[0]:.3g}"
    assert adam < sgd / 5
    assert "with Adam for 300 steps" in text(at)
    at.button(key="lrf_check").click().run()
    ok(at)
    assert len(at.get("plotly_chart")) == 2
    no_junk_cells(at)


def test_range_test_page_bad_inputs_get_messages(finder):
    at = finder
    at.number_input(key="lrf_min").set_value(100.0).run()
    at.number_input(key="lrf_steps").set_value(0).run()
    at.number_input(key="lrf_seeds").set_value(0).run()
    ok(at)
    w = warnings(at)
    assert "must be below the largest" in w and "at least 2 steps" in w and "at least one seed" in w
    assert at.metric  # the defaults ran instead
