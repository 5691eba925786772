"""Part 4 pages in AppTest: Network training and Fine-tuning render, react, and answer bad input."""

import json
import re
from pathlib import Path

import numpy as np
import optax
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from charts.networks import (
    SharpnessSummary,
    noise_sentences,
    sharpness_sentence,
    summarize_noise,
    summarize_sharpness,
)
from engine import data, finetune, mlp, networks

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


def markdown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def all_text(at: AppTest) -> str:
    return " ".join([markdown(at)] + [c.value for c in at.caption] + [i.value for i in at.info])


def shown(table) -> pd.DataFrame:
    """A table (an AppTest dataframe) as the text the browser shows: each number column in
    its column_config printf format, a missing value as the table's placeholder (Streamlit
    shows "None" without one)."""
    config = json.loads(table.proto.columns or "{}")
    placeholder = table.proto.placeholder if table.proto.HasField("placeholder") else "None"
    out = {}
    for col in table.value.columns:
        fmt = config.get(col, {}).get("type_config", {}).get("format")
        out[col] = [placeholder if v is None or (isinstance(v, float) and np.isnan(v))
                    else fmt % v if fmt else str(v) for v in table.value[col]]
    return pd.DataFrame(out)


def cells(at: AppTest) -> list[str]:
    """Every cell of every table on the page, as the text shown."""
    return [v for df in at.dataframe for col in shown(df).columns for v in shown(df)[col]]


def numeric(table, columns) -> None:
    """These columns are number columns (the browser aligns them right and sorts them by
    value) holding numbers or nothing (shown as the placeholder), never text."""
    config = json.loads(table.proto.columns or "{}")
    for col in columns:
        assert config[col]["type_config"]["type"] == "number", (col, config.get(col))
        values = [v for v in table.value[col] if v is not None and not pd.isna(v)]
        assert all(isinstance(v, int | float | np.number) for v in values), (col, values)


def no_junk_cells(at: AppTest) -> None:
    bad = [c for c in cells(at) if c.lower() in ("none", "nan", "inf", "-inf", "<na>")]
    assert not bad, bad


def curve(at: AppTest, chart: int, name: str) -> np.ndarray:
    """The first trace called ``name`` in a chart (e.g. a rate's training-loss line)."""
    trace = next(t for t in specs(at)[chart]["data"] if t.get("name") == name)
    return np.asarray(trace["y"], np.float64)


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
    assert list(at.dataframe[0].value["rate"]) == [0.01, 0.1, 1.0, 10.0]
    rows = shown(at.dataframe[0])
    assert list(rows["diverged at step"]) == ["—", "—", "—", "2"]
    numeric(at.dataframe[0], ["rate", "final training loss", "final validation accuracy (%)",
                              "best validation accuracy (%)", "diverged at step"])
    # Issue 10: no loss or accuracy for the run that diverged at step 2 (it said 88.0%).
    dead = rows.iloc[3]
    assert [dead["final training loss"], dead["final validation accuracy (%)"],
            dead["best validation accuracy (%)"]] == ["—", "—", "—"]
    assert float(rows.iloc[2]["final validation accuracy (%)"]) > 90
    no_junk_cells(at)
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
    said = page_sentences(at, "At lr")
    assert len(said) == 4 and OLD_SHARPNESS_CLAIM not in all_text(at)
    # On digits the run at lr 1 starts above 2/lr and ends below it: the page says so.
    assert "already at or above 2/lr = 2" in said[2] and said[2].endswith("(below 2/lr).")


def test_finetune_page_states_computed_verdict(finetune_page):
    at = finetune_page
    text = " ".join(m.value for m in at.markdown)
    assert "Kept the most of task A: lr = 0.01" in text
    assert "Learned task B fastest: lr = 0.5" in text
    rows = at.dataframe[0].value
    assert list(rows["rate"]) == [0.01, 0.1, 0.5, 1.0]
    numeric(at.dataframe[0], [c for c in rows.columns])
    drop = [float(v) for v in rows["task A drop (points)"]]
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
    # Issue 10: a run that diverged reports its step and no accuracy.
    at.text_input(key="ft_rates").set_value("0.1, 10").run()
    rows = shown(at.dataframe[0])
    assert list(rows["diverged at step"]) == ["—", "3"]
    assert [rows.iloc[1][c] for c in ("task A accuracy (%)", "task A drop (points)",
                                      "task B accuracy (%)", "steps to 80.0% on B")] == ["—"] * 4
    no_junk_cells(at)
    at.text_input(key="ft_rates").set_value("0.01, 0.1, 0.5, 1").run()
    at.multiselect(key="ft_a").set_value([0, 1, 2, 3, 4]).run()
    at.multiselect(key="ft_b").set_value([4, 5, 6]).run()
    assert "share digits [4]" in warnings(at)


def test_finetune_page_freeze_and_option_comparison():
    at = open_page("app_pages/finetune.py")
    at.checkbox(key="ft_freeze").check().run()
    assert not at.exception
    drops = [float(v) for v in at.dataframe[0].value["task A drop (points)"]]
    assert max(drops) == pytest.approx(0.0, abs=1e-6)
    at.toggle(key="ft_compare").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[1].value
    assert list(table["option"]) == ["plain fine-tuning", "frozen lower layers", "lower layers × 0.1",
                                     "warmup 20 steps"]


# ---------------------------------------------------------------------------
# Sentences computed from the runs (issue 9 items 2 and 9)
# ---------------------------------------------------------------------------

OLD_SHARPNESS_CLAIM = "hovers near 2/lr"


def test_sharpness_sentence_says_what_the_numbers_show():
    steps = np.array([0, 10, 20, 30])
    hover = summarize_sharpness(steps, np.array([1.0, 1.9, 2.1, 2.05]), 1.0, -1)
    assert (hover.reached_step, hover.low, hover.high) == (20, 2.05, 2.1)
    assert sharpness_sentence(hover) == ("At lr 1 sharpness reached 2/lr = 2 at step 20, and stayed "
                                         "within 5% of it from then on, ending at 2.05.")
    low = summarize_sharpness(steps, np.array([2.06, 2.5, 2.9, 3.14]), 0.1, -1)
    assert sharpness_sentence(low) == ("At lr 0.1 sharpness rose from 2.06 to 3.14, never reaching "
                                       "2/lr = 20: its peak, 3.14, is 16% of it.")
    wide = summarize_sharpness(steps, np.array([2.06, 1.1, 4.8, 3.2]), 1.0, -1)
    assert "started at 2.06, already at or above 2/lr = 2; over the run it ranged from 1.1 to 4.8" \
        in sharpness_sentence(wide)
    falls = summarize_sharpness(steps, np.array([2.4, 2.9, 1.5, 1.2]), 0.5, -1)
    assert "rose from 2.4 to a peak of 2.9 at step 10, then fell to 1.2" in sharpness_sentence(falls)
    # Frames after divergence are not read (they are frozen copies).
    dead = summarize_sharpness(steps, np.array([2.0, 9.0, 9.0, 9.0]), 10.0, 5)
    assert isinstance(dead, SharpnessSummary) and dead.end_step == 0
    assert "diverged at step 5" in sharpness_sentence(dead)


def test_noise_sentences_follow_the_numbers():
    t = np.arange(101, dtype=np.float64)
    full = np.stack([1 / (1 + 0.01 * t), 1 / (1 + 0.1 * t), 1 / (1 + t)])
    wiggle = np.where(t % 2 == 0, 1.0, -1.0)
    mini = full + np.stack([0.0 * wiggle, 0.01 * (1 + wiggle), 0.05 * (1 + wiggle)])
    m = summarize_noise(mini, full, [0.01, 0.1, 1.0], [-1, -1, -1], [-1, -1, -1])
    assert m.tail == 20 and m.live == (0, 1, 2)
    assert m.excess[0] == pytest.approx(0) and m.excess[1] < m.excess[2]
    text = " ".join(noise_sentences(m, mini, 32))
    assert "The larger the rate, the higher this noise floor" in text
    assert f"went up on {m.rises[2]} of those 20 steps, against 0 at lr 0.01" in text
    assert "Yet lr 1 is faster" in text
    # Reverse the noise: the sentence must not claim what the numbers no longer show.
    m2 = summarize_noise(mini[::-1], full[::-1], [0.01, 0.1, 1.0], [-1] * 3, [-1] * 3)
    text2 = " ".join(noise_sentences(m2, mini[::-1], 32))
    assert "the higher this noise floor" not in text2 and "is not higher at the larger rate" in text2


def page_sentences(at: AppTest, start: str) -> list[str]:
    """The page's sentences that start with ``start`` (e.g. one per rate); the charts' hidden
    text alternatives (their own sentences, in HTML) are left out."""
    prose = " ".join(m.value for m in at.markdown if "lrl-chart-text" not in m.value)
    return [s.strip() for s in re.split(r"(?<=\.) (?=[A-Z])", prose) if s.startswith(start)]


def test_network_page_sharpness_sentences_come_from_the_run():
    """Issue 9 item 9: no 'hovers near 2/lr' claim; each rate's sentence is computed from the
    sharpness the page drew, which the test recomputes with the engine."""
    at = open_page("app_pages/train_network.py")
    at.checkbox(key="nt_sharp").check().run()
    assert not at.exception, [e.value for e in at.exception]
    assert OLD_SHARPNESS_CLAIM not in all_text(at)
    d = data.load("moons", 0)
    p0 = mlp.init((d.n_features, 16, 16, d.n_classes), 0)
    rates = [0.01, 0.1, 1.0, 10.0]
    snaps = networks.train_snapshots(p0, d.x_train, d.y_train, rates, 300, n_frames=40, seed=0)
    sharp = networks.sharpness_track(snaps, d.x_train, d.y_train)
    expected = [sharpness_sentence(summarize_sharpness(snaps.steps, sharp[i], lr, int(snaps.diverged_at[i])))
                for i, lr in enumerate(rates)]
    assert page_sentences(at, "At lr") == expected
    # The numbers in them, checked against the arrays directly.
    assert f"rose from {sharp[1, 0]:.3g} to {sharp[1, -1]:.3g}, never reaching 2/lr = 20" in expected[1]
    assert np.max(sharp[1]) < 20
    above = np.nonzero(sharp[2] >= 2.0)[0]
    assert len(above) and f"{sharp[2].min():.3g} to {sharp[2].max():.3g}" in expected[2]
    assert "diverged at step 2" in expected[3]


def test_network_page_noise_floor_with_mini_batches():
    """Issue 9 item 2: with mini-batches the page measures, against full batches at the same
    rates, what noise adds at each rate, and claims a trend only where the numbers have it."""
    at = open_page("app_pages/train_network.py")
    assert "Pick a mini-batch size" in all_text(at)
    at.selectbox(key="nt_batch").set_value("32").run()
    assert not at.exception, [e.value for e in at.exception]
    d = data.load("moons", 0)
    p0 = mlp.init((d.n_features, 16, 16, d.n_classes), 0)
    rates = [0.01, 0.1, 1.0, 10.0]
    mini = mlp.train(p0, d.x_train, d.y_train, rates, 300, batch_size=32, seed=0)
    full = mlp.train(p0, d.x_train, d.y_train, rates, 300, seed=0)
    m = summarize_noise(mini.train_loss, full.train_loss, rates, mini.diverged_at, full.diverged_at)
    assert " ".join(noise_sentences(m, mini.train_loss, 32)) in markdown(at)
    # Independently: the tail means and the claim the page makes about them.
    excess = [float(np.mean(mini.train_loss[i, -60:].astype(np.float64))
                    - np.mean(full.train_loss[i, -60:].astype(np.float64))) for i in range(3)]
    for e, lr in zip(excess, rates, strict=False):
        assert f"{e:+.2g} at lr {lr:g}".replace("-", "−") in markdown(at)
    assert excess[0] < excess[1] < excess[2]
    assert "The larger the rate, the higher this noise floor" in markdown(at)
    level = float(np.mean(mini.train_loss[0, -60:]))
    fast = int(np.argmax(mini.train_loss[2] <= level))
    slow = int(np.argmax(mini.train_loss[0] <= level))
    assert fast < slow and f"at step {fast}, lr 0.01 only at step {slow}" in markdown(at)


# ---------------------------------------------------------------------------
# Optimizers (issue 8, section 4)
# ---------------------------------------------------------------------------


def test_network_page_trains_with_adam():
    at = open_page("app_pages/train_network.py")
    assert [s.key for s in at.slider] == ["nt_momentum"]
    sgd_curve = curve(at, 0, "lr = 0.1")
    at.selectbox(key="nt_opt").set_value("adam").run()
    assert not at.exception, [e.value for e in at.exception]
    # Adam's own default rates, and no momentum slider (the trainers refuse both).
    assert list(at.dataframe[0].value["rate"]) == [0.0001, 0.001, 0.01, 0.1]
    assert "nt_momentum" not in [s.key for s in at.slider]
    assert "momentum slider is for plain SGD" in all_text(at)
    no_junk_cells(at)
    adam_curve = curve(at, 0, "lr = 0.1")
    d = data.load("moons", 0)
    p0 = mlp.init((d.n_features, 16, 16, d.n_classes), 0)
    ref = mlp.train(p0, d.x_train, d.y_train, [0.0001, 0.001, 0.01, 0.1], 300, optimizer=optax.adam,
                    seed=0).train_loss[3]
    np.testing.assert_allclose(adam_curve, ref, atol=2e-4)  # the chart rounds to 4 decimals
    assert np.max(np.abs(adam_curve - sgd_curve)) > 0.05  # the same rate, another optimizer
    # Back to SGD: its own rates and the momentum slider return.
    at.selectbox(key="nt_opt").set_value("sgd").run()
    assert list(at.dataframe[0].value["rate"]) == [0.01, 0.1, 1.0, 10.0]
    np.testing.assert_allclose(curve(at, 0, "lr = 0.1"), sgd_curve)


def test_finetune_page_with_adam():
    at = open_page("app_pages/finetune.py")
    at.text_input(key="ft_rates").set_value("0.01, 0.1").run()
    sgd_b = curve(at, 0, "lr = 0.01")
    at.selectbox(key="ft_opt").set_value("adam").run()
    assert not at.exception, [e.value for e in at.exception]
    assert list(at.dataframe[0].value["rate"]) == [0.0001, 0.001, 0.01, 0.1]
    at.text_input(key="ft_rates_adam").set_value("0.01, 0.1").run()
    rows = shown(at.dataframe[0])
    pre = finetune.pretrain(finetune.DEFAULT_A, finetune.DEFAULT_B, finetune.DEFAULT_HIDDEN, 0)
    ref = finetune.finetune(pre, (0.01, 0.1), 200, optimizer=optax.adam)
    assert list(rows["task B accuracy (%)"]) == [f"{100 * v:.1f}" for v in ref.b_acc[:, -1]]
    assert list(rows["task A drop (points)"]) == [f"{100 * v:.1f}" for v in ref.a_drop()]
    adam_b = curve(at, 0, "lr = 0.01")
    np.testing.assert_allclose(adam_b, 100 * ref.b_acc[0], atol=1e-3)
    assert np.max(np.abs(adam_b - sgd_b)) > 5  # percentage points: Adam at 0.01 is not SGD at 0.01
    no_junk_cells(at)
