"""Shared links (issue 10) for Schedules, Grid search and the range test, in AppTest: change
several controls, open a fresh session on the URL the page wrote, and it shows the same
settings (every widget) and the same results (tables, metrics, text, figures); junk in a
link gives a warning sentence and the default, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120
WIDGETS = ("selectbox", "number_input", "radio", "slider", "select_slider", "text_input", "checkbox")


def open_page(name: str, query: dict | None = None) -> AppTest:
    """A fresh session (Home first: AppTest switches pages only after a run) on the page with
    this query."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page(f"app_pages/{name}.py").run()
    ok(at)
    return at


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def query_of(at: AppTest) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def widgets(at: AppTest) -> dict:
    """Every keyed widget's value on the page (buttons aside)."""
    return {w.key: w.value for kind in WIDGETS for w in getattr(at, kind) if w.key}


def shown(at: AppTest) -> dict:
    """What the page shows as results: tables, metrics, text and every figure's data."""
    return {"tables": [df.value.to_dict() for df in at.dataframe],
            "metrics": [(m.label, m.value) for m in at.metric],
            "text": [m.value for m in at.markdown], "success": [s.value for s in at.success],
            "info": [i.value for i in at.info], "captions": [c.value for c in at.caption],
            "figures": [json.loads(c.proto.spec)["data"] for c in at.get("plotly_chart")]}


def link_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if w.value.startswith("In the link")]


def same_in_a_new_session(at: AppTest, name: str) -> AppTest:
    """Open the URL ``at`` wrote in a new session: no warning, the same URL, every widget and
    every result the same."""
    again = open_page(name, query_of(at))
    assert not again.warning, [w.value for w in again.warning]
    assert query_of(again) == query_of(at)
    assert widgets(again) == widgets(at)
    mine, theirs = shown(at), shown(again)
    for part in mine:
        assert theirs[part] == mine[part], part
    return again


# ---------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------


def test_schedules_link_restores_every_setting_and_the_runs():
    at = open_page("schedules")
    assert query_of(at) == {"surface": "himmelblau"} and not at.warning  # defaults: a short link
    default = shown(at)
    at.selectbox(key="sch_surface").set_value("rosenbrock").run()
    at.selectbox(key="sch_name").set_value("warmup_cosine").run()
    at.number_input(key="sch_warmup_cosine_warmup_steps").set_value(20.0).run()
    at.number_input(key="sch_warmup_cosine_final_fraction").set_value(0.1).run()
    at.number_input(key="sch_lr").set_value(0.002).run()
    at.number_input(key="sch_steps").set_value(150).run()
    ok(at)
    assert query_of(at) == {"surface": "rosenbrock", "schedule": "warmup_cosine", "lr": "0.002",
                            "steps": "150", "final_fraction": "0.1", "warmup_steps": "20"}
    assert list(at.dataframe[0].value["run"]) == ["constant 0.002", at.dataframe[0].value["run"][1]]
    again = same_in_a_new_session(at, "schedules")
    assert again.number_input(key="sch_warmup_cosine_warmup_steps").value == 20.0
    assert shown(again)["figures"] != default["figures"]  # the link carried the changes


def test_schedules_link_on_the_network_and_your_own_formula():
    at = open_page("schedules")
    at.radio(key="sch_target").set_value("network").run()
    at.selectbox(key="sch_data").set_value("circles").run()
    at.selectbox(key="sch_name").set_value("step").run()
    at.number_input(key="sch_step_factor").set_value(0.3).run()
    at.number_input(key="sch_steps").set_value(100).run()
    ok(at)
    assert query_of(at) == {"on": "network", "data": "circles", "schedule": "step", "steps": "100",
                            "factor": "0.3"}
    same_in_a_new_session(at, "schedules")
    # your own formula and its box go into the link too
    at = open_page("schedules")
    at.selectbox(key="sch_surface").set_value("custom").run()
    at.text_input(key="sch_formula").set_value("x**2 + 4*y**2").run()
    at.number_input(key="sch_box_xmax").set_value(2.0).run()
    at.selectbox(key="sch_name").set_value("exponential").run()
    ok(at)
    q = query_of(at)
    assert (q["surface"], q["f"], q["xmax"], q["schedule"]) == ("custom", "x**2 + 4*y**2", "2",
                                                                "exponential")
    again = same_in_a_new_session(at, "schedules")
    assert again.text_input(key="sch_formula").value == "x**2 + 4*y**2"


def test_schedules_junk_link_warns_and_uses_defaults():
    at = open_page("schedules", {"lr": "nan", "steps": "1e99", "schedule": "bogus", "on": "<b>",
                                 "surface": "nope"})
    text = " ".join(link_warnings(at))
    for part in ("Unknown surface `nope`", "`lr=nan` is not a finite number; using 0.025",
                 "`steps=1e99` is outside 0 to 1000; using 1000", "`schedule=bogus` is not one of",
                 "`on=<b>` is not one of surface, network; using surface"):
        assert part in text, (part, text)
    assert at.selectbox(key="sch_name").value == "cosine"
    assert at.selectbox(key="sch_surface").value == "himmelblau"
    assert at.number_input(key="sch_lr").value == 0.025 and at.number_input(key="sch_steps").value == 1000
    assert query_of(at) == {"surface": "himmelblau", "steps": "1000"}
    # a number the page cannot train with: the page's own warning and its default
    at = open_page("schedules", {"lr": "-1", "final_fraction": "7"})
    ok(at)
    text = " ".join(w.value for w in at.warning)
    assert "The peak rate must be positive; -1 cannot train. Using 0.025." in text
    assert "Using this schedule's default settings instead" in text
    # the link's warnings go once a setting is changed
    at.number_input(key="sch_lr").set_value(0.01).run()
    assert not link_warnings(at)


# ---------------------------------------------------------------------------
# Grid search
# ---------------------------------------------------------------------------


def test_grid_link_restores_every_setting_the_grid_and_the_run_shown():
    at = open_page("grid_search")
    assert query_of(at) == {"surface": "quadratic"}
    at.selectbox(key="grid_surface").set_value("himmelblau").run()
    at.radio(key="grid_criterion").set_value("steps to converge").run()
    at.number_input(key="grid_lo_surface").set_value(0.002).run()
    at.number_input(key="grid_hi_surface").set_value(0.5).run()
    at.number_input(key="grid_n_surface").set_value(24).run()
    at.number_input(key="grid_steps_surface").set_value(150).run()
    at.select_slider(key="grid_pick").set_value(5).run()
    ok(at)
    assert query_of(at) == {"surface": "himmelblau", "criterion": "steps to converge", "lo": "0.002",
                            "hi": "0.5", "n": "24", "steps": "150", "show": "5"}
    again = same_in_a_new_session(at, "grid_search")
    assert again.select_slider(key="grid_pick").value == 5


def test_grid_link_on_the_network():
    at = open_page("grid_search")
    at.radio(key="grid_target").set_value("network").run()
    at.selectbox(key="grid_data").set_value("moons").run()
    at.number_input(key="grid_n_network").set_value(4).run()
    at.number_input(key="grid_steps_network").set_value(50).run()
    at.number_input(key="grid_seeds").set_value(1).run()
    ok(at)
    assert query_of(at) == {"on": "network", "data": "moons", "n": "4", "steps": "50", "seeds": "1"}
    same_in_a_new_session(at, "grid_search")


def test_grid_junk_link_warns_and_uses_defaults():
    at = open_page("grid_search", {"lo": "nan", "hi": "abc", "n": "1e99", "steps": "-5",
                                   "criterion": "fastest", "show": "999"})
    text = " ".join(link_warnings(at))
    for part in ("`lo=nan` is not a finite number; using 0.001", "`hi=abc` is not a number; using 1",
                 "`n=1e99` is outside 0 to 256; using 256", "`steps=-5` is outside 0 to 1000; using 0",
                 "`criterion=fastest` is not one of", "`show=999` is outside"):
        assert part in text, (part, text)
    assert "A run needs at least one step. Using 100." in " ".join(w.value for w in at.warning)
    assert at.number_input(key="grid_n_surface").value == 256
    assert at.radio(key="grid_criterion").value == "final loss"
    assert "Best rate in the grid" in " ".join(m.value for m in at.markdown)


# ---------------------------------------------------------------------------
# The range test
# ---------------------------------------------------------------------------


def test_range_test_link_restores_every_setting_and_the_check():
    at = open_page("lr_finder")
    assert query_of(at) == {}
    at.selectbox(key="lrf_data").set_value("moons").run()
    at.selectbox(key="lrf_opt").set_value("adam").run()
    at.number_input(key="lrf_seeds").set_value(2).run()
    at.number_input(key="lrf_steps").set_value(150).run()
    at.number_input(key="lrf_batch").set_value(32).run()
    at.slider(key="lrf_beta").set_value(0.9).run()
    at.slider(key="lrf_stop").set_value(5.0).run()
    at.slider(key="lrf_skip").set_value(0.2).run()
    at.number_input(key="lrf_max").set_value(5.0).run()
    at.button(key="lrf_check").click().run()
    ok(at)
    assert query_of(at) == {"data": "moons", "opt": "adam", "max": "5", "steps": "150", "seeds": "2",
                            "batch": "32", "beta": "0.9", "stop": "5", "skip": "0.2", "check": "1"}
    assert len(at.get("plotly_chart")) == 2  # the curve and the check
    again = same_in_a_new_session(at, "lr_finder")
    assert len(again.get("plotly_chart")) == 2


def test_range_test_junk_link_warns_and_uses_defaults():
    at = open_page("lr_finder", {"min": "nan", "steps": "1e99", "opt": "bogus", "beta": "0.333",
                                 "seeds": "x", "check": "maybe", "data": "<script>"})
    text = " ".join(link_warnings(at))
    for part in ("`min=nan` is not a finite number; using 1e-06", "`steps=1e99` is outside 0 to 1000",
                 "`opt=bogus` is not one of", "`beta=0.333` is not a multiple of 0.01; using 0.33",
                 "`seeds=x` is not a number; using 3", "`check=maybe` is not 1 or 0; using 0",
                 "`data=<script>` is not one of"):
        assert part in text, (part, text)
    assert at.selectbox(key="lrf_opt").value == "sgd" and at.selectbox(key="lrf_data").value == "digits"
    assert at.slider(key="lrf_beta").value == pytest.approx(0.33) and at.metric
    assert len(at.get("plotly_chart")) == 1  # no check asked for


@pytest.mark.parametrize("name, key, value, param", [
    ("schedules", "sch_lr", 0.05, "lr"), ("grid_search", "grid_steps_surface", 150, "steps"),
    ("lr_finder", "lrf_steps", 150, "steps")])
def test_back_from_another_page_keeps_the_settings(name, key, value, param):
    """Streamlit's page switch clears the query; coming back, the page restores the settings
    this session last had there (and writes them to the URL again), not its defaults."""
    at = open_page(name)
    at.number_input(key=key).set_value(value).run()
    link = query_of(at)
    assert link[param] == str(value)
    at.switch_page("app_pages/home.py").run()
    at.query_params.clear()  # what the browser's page switch does
    at.switch_page(f"app_pages/{name}.py").run()
    ok(at)
    assert at.number_input(key=key).value == value and query_of(at) == link and not at.warning
