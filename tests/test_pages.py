"""Pages in Streamlit's AppTest: they render, react to widgets, and survive junk URLs."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def playground(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/playground.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def spec(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def badges(at: AppTest) -> list[str]:
    return [b.proto.body for b in at.get("markdown") if "badge" in b.proto.body]


def test_home_renders_with_link_to_playground():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "Learning Rate Lab" in at.title[0].value
    links = [e.proto.page for e in at.get("page_link")]
    assert any("playground" in p for p in links)


def test_playground_defaults_show_three_regimes_and_theory():
    at = playground()
    rows = at.dataframe[0].value
    assert list(rows["regime"]) == ["slow", "converged", "oscillating"]
    assert len(at.get("plotly_chart")) == 3
    assert any("2/L" in m.label for m in at.metric)
    assert float(at.metric[0].value) == pytest.approx(0.2)


def test_changing_a_rate_changes_the_run():
    at = playground()
    before = spec(at)["data"][2]["x"]
    at.number_input(key="lr_num_0").set_value(0.25).run()
    assert not at.exception
    assert at.dataframe[0].value["regime"][0] == "diverged"
    assert at.select_slider(key="lr_sl_0").value == pytest.approx(0.251, rel=0.01)
    assert spec(at)["data"][2]["x"] != before
    lr = at.query_params["lr"]
    assert (lr if isinstance(lr, str) else lr[0]).startswith("0.25,")


def test_slider_moves_the_number_entry():
    at = playground()
    at.select_slider(key="lr_sl_1").set_value(0.0501).run()
    assert at.number_input(key="lr_num_1").value == pytest.approx(0.0501)


def test_default_figure_payload_is_small():
    at = playground()
    payload = len(at.get("plotly_chart")[0].proto.spec)
    assert payload < 300_000, payload
    assert len(spec(at)["frames"]) <= 100


def test_share_link_restores_the_scene():
    at = playground({"surface": "ravine", "condition": "40", "angle": "10", "lr": "0.02,0.05",
                     "steps": "300", "x0": "-1.5", "y0": "0.25", "momentum": "0.5"})
    assert at.selectbox(key="surface").value == "ravine"
    assert at.number_input(key="p_ravine_condition").value == 40
    assert [at.number_input(key=f"lr_num_{i}").value for i in range(2)] == [0.02, 0.05]
    assert at.slider(key="steps").value == 300
    assert at.slider(key="momentum").value == 0.5
    assert (at.number_input(key="x0").value, at.number_input(key="y0").value) == (-1.5, 0.25)
    assert not at.warning


def test_junk_url_gives_warnings_and_defaults_not_tracebacks():
    at = playground({"surface": "<b>evil</b>", "lr": "abc,-5,nan", "steps": "1e9",
                     "momentum": "7", "x0": "zz"})
    text = " ".join(w.value for w in at.warning)
    assert "Unknown surface" in text and "not a number" in text and "outside" in text
    assert "`<b>evil</b>`" in text  # verbatim inside a code span, never rendered as HTML
    assert at.selectbox(key="surface").value == "quadratic"
    assert at.slider(key="steps").value == 1000
    assert at.slider(key="momentum").value == 0.99
    assert len(at.get("plotly_chart")) == 3


def test_preset_stuck_in_local_minimum():
    at = playground()
    next(b for b in at.button if b.label == "Stuck in a local minimum").click().run()
    assert not at.exception
    rows = at.dataframe[0].value
    assert at.selectbox(key="surface").value == "sharp_wide"
    assert list(rows["regime"]) == ["local minimum", "converged"]


@pytest.mark.parametrize("name", ["Too small", "Just right", "Oscillating", "Diverging"])
def test_quadratic_presets_show_their_regime(name):
    expected = {"Too small": "slow", "Just right": "converged", "Oscillating": "oscillating",
                "Diverging": "diverged"}[name]
    at = playground()
    next(b for b in at.button if b.label == name).click().run()
    assert list(at.dataframe[0].value["regime"]) == [expected]


def test_every_surface_renders():
    at = playground()
    for name in at.selectbox(key="surface").options:
        at.selectbox(key="surface").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert len(at.get("plotly_chart")) == 3
