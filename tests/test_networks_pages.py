"""Part 4 pages in AppTest: Network training and Fine-tuning render, react, and answer bad input."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 300


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at: AppTest) -> list[dict]:
    def no_nan(token):
        raise AssertionError(f"{token} in a chart")
    return [json.loads(c.proto.spec, parse_constant=no_nan) for c in at.get("plotly_chart")]


def badges(at: AppTest) -> list[str]:
    return [b.proto.body for b in at.get("markdown") if "badge" in b.proto.body]


def warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning)


@pytest.fixture(scope="module")
def network_page():
    return open_page("app_pages/train_network.py")


@pytest.fixture(scope="module")
def finetune_page():
    return open_page("app_pages/finetune.py")


def test_network_page_defaults(network_page):
    at = network_page
    assert "Network training" in at.title[0].value
    b = badges(at)
    assert len(b) == 4 and "diverged" in b[3] and "diverged" not in b[1]
    rows = at.dataframe[0].value
    assert list(rows["rate"]) == [0.01, 0.1, 1.0, 10.0]
    assert rows["diverged at step"].notna().tolist() == [False, False, False, True]
    charts = specs(at)  # parse_constant fails on NaN / Infinity
    assert len(charts) == 2
    boundary = charts[1]
    assert 2 <= len(boundary["frames"]) <= 40
    assert set(boundary["frames"][0]["data"][0]) <= {"marker", "type"}  # only what changes
    assert not any(t["type"] in ("heatmap", "contour") for t in boundary["data"])
    assert not at.warning


def test_network_page_bad_inputs_get_messages(network_page):
    at = network_page
    at.text_input(key="nt_hidden_moons").set_value("0").run()
    at.text_input(key="nt_rates").set_value("abc, 1e9, -3").run()
    assert not at.exception
    text = warnings(at)
    assert "1 to 256 units" in text and "not a number" in text and "outside" in text
    assert "using the defaults" in text
    assert len(badges(at)) == 4
    specs(at)
    at.text_input(key="nt_hidden_moons").set_value("16, 16").run()
    at.text_input(key="nt_rates").set_value("0.01, 0.1, 1, 10").run()


def test_network_page_digits_and_sharpness(network_page):
    at = network_page
    at.selectbox(key="nt_data").set_value("digits").run()
    at.checkbox(key="nt_sharp").check().run()
    assert not at.exception, [e.value for e in at.exception]
    charts = specs(at)
    assert len(charts) == 3  # curves, digit images, sharpness
    assert any("misclassified" in c.value for c in at.caption)
    sharp = charts[2]
    assert any(t["name"].startswith("2/lr") for t in sharp["data"])
    assert any("Final sharpness" in c.value for c in at.caption)


def test_finetune_page_states_computed_verdict(finetune_page):
    at = finetune_page
    text = " ".join(m.value for m in at.markdown)
    assert "Kept the most of task A: lr = 0.01" in text
    assert "Learned task B fastest: lr = 0.5" in text
    rows = at.dataframe[0].value
    assert list(rows["rate"]) == [0.01, 0.1, 0.5, 1.0]
    drop = list(rows["task A drop (points)"])
    assert drop[-1] - drop[0] > 25
    assert len(specs(at)) >= 1
    assert not at.warning


def test_finetune_page_bad_inputs_get_messages(finetune_page):
    at = finetune_page
    at.multiselect(key="ft_a").set_value([]).run()
    at.number_input(key="ft_units").set_value(0).run()
    at.text_input(key="ft_rates").set_value("1e6, nan, 0.1").run()
    assert not at.exception, [e.value for e in at.exception]
    text = warnings(at)
    assert "at least two digit classes" in text and "default split" in text
    assert "at least one hidden unit" in text
    assert "outside" in text
    assert list(at.dataframe[0].value["rate"]) == [0.1]
    specs(at)
    at.multiselect(key="ft_a").set_value([0, 1, 2, 3, 4]).run()
    at.multiselect(key="ft_b").set_value([4, 5, 6]).run()
    assert "share digits [4]" in warnings(at)


def test_finetune_page_freeze_and_option_comparison():
    at = open_page("app_pages/finetune.py")
    at.checkbox(key="ft_freeze").check().run()
    assert not at.exception
    drops = list(at.dataframe[0].value["task A drop (points)"])
    assert max(drops) == pytest.approx(0.0, abs=1e-6)
    at.toggle(key="ft_compare").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[1].value
    assert list(table["option"]) == ["plain fine-tuning", "frozen lower layers", "lower layers × 0.1",
                                     "warmup 20 steps"]
