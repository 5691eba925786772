"""Links that restore a page (issue 10): the shared URL fields (engine.urlstate) and the two
network pages that use them. Junk in a link gives a visible warning and the default, never
silence and never a traceback; a page's link restores what it showed."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine import urlstate
from engine.urlstate import Choice, Flag, Number, Numbers, parse, to_query

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 300
NETWORK = "app_pages/train_network.py"
FINETUNE = "app_pages/finetune.py"

FIELDS = (
    Choice("data", "moons", ("digits", "moons", "circles")),
    Numbers("hidden", lambda v: (32,) if v["data"] == "digits" else (16, 16), lo=1, hi=256,
            integer=True, max_items=3, unique=False),
    Choice("opt", "sgd", ("sgd", "adam")),
    Numbers("lr", lambda v: (0.01, 0.1) if v["opt"] == "sgd" else (0.001,), lo=1e-4, hi=10.0,
            max_items=4),
    Number("steps", 300, integer=True, choices=(50, 100, 300)),
    Number("momentum", 0.0, lo=0.0, hi=0.95, step=0.05),
    Number("scale", 1.0, choices=(1.0, 0.3, 0.1)),
    Number("show", lambda v: min(1, len(v["lr"]) - 1), lo=0, hi=lambda v: len(v["lr"]) - 1,
           integer=True),
    Flag("sharp", False),
)
DEFAULTS = {"data": "moons", "hidden": (16, 16), "opt": "sgd", "lr": (0.01, 0.1), "steps": 300,
            "momentum": 0.0, "scale": 1.0, "show": 1, "sharp": False}


def test_no_query_gives_the_defaults_and_no_warning():
    assert parse({}, FIELDS) == (DEFAULTS, [])


def test_good_values_round_trip():
    values = {"data": "digits", "hidden": (8, 8, 4), "opt": "adam", "lr": (0.003, 0.0123456789),
              "steps": 50, "momentum": 0.35, "scale": 0.3, "show": 0, "sharp": True}
    query = to_query(values, FIELDS)
    assert query == {"data": "digits", "hidden": "8,8,4", "opt": "adam", "lr": "0.003,0.0123456789",
                     "steps": "50", "momentum": "0.35", "scale": "0.3", "show": "0", "sharp": "1"}
    assert parse(query, FIELDS) == (values, [])


@pytest.mark.parametrize("key, raw, value, says", [
    ("lr", "nan", (0.01, 0.1), ["`lr=nan` is not a finite number; dropping it.",
                                "`lr=nan` has no usable value; using 0.01,0.1."]),
    ("lr", "0.5,abc,1e9,-1,0.5", (0.5,), ["`lr=abc` is not a number", "`lr=1e9` is outside",
                                          "`lr=-1` is outside"]),
    ("lr", "1,2,3,4,5", (1.0, 2.0, 3.0, 4.0), ["`lr` takes at most 4; keeping the first 4."]),
    ("steps", "250", 300, ["`steps=250` is not one of 50, 100, 300; using 300."]),
    ("steps", "1e400", 300, ["`steps=1e400` is not a finite number; using 300."]),
    ("momentum", "2", 0.95, ["`momentum=2` is outside 0 to 0.95; using 0.95."]),
    ("momentum", "0.33", 0.35, ["`momentum=0.33` is not a multiple of 0.05; using 0.35."]),
    ("scale", "0.5", 1.0, ["`scale=0.5` is not one of 1, 0.3, 0.1; using 1."]),
    ("data", "<script>alert(1)</script>", "moons", ["`data=<script>alert(1)</script>` is not one"]),
    ("hidden", "0,x", (16, 16), ["`hidden=0` is outside 1 to 256", "`hidden=x` is not a number",
                                 "`hidden=0,x` has no usable value; using 16,16."]),
    ("hidden", "2.5", (16, 16), ["`hidden=2.5` is not a whole number; dropping it."]),
    ("sharp", "maybe", False, ["`sharp=maybe` is not 1 or 0; using 0."]),
    ("show", "3", 1, ["`show=3` is outside 0 to 1; using 1."]),
])
def test_junk_gets_a_warning_and_a_safe_value(key, raw, value, says):
    values, warnings = parse({key: raw}, FIELDS)
    assert values[key] == value
    assert all(v == DEFAULTS[k] for k, v in values.items() if k not in (key, "show"))
    text = " ".join(warnings)
    for part in says:
        assert part in text, (part, warnings)


def test_a_default_follows_the_fields_before_it():
    assert parse({"opt": "adam"}, FIELDS)[0]["lr"] == (0.001,)
    assert parse({"data": "digits"}, FIELDS)[0]["hidden"] == (32,)
    assert parse({"lr": "0.1"}, FIELDS)[0]["show"] == 0  # one rate: the only one to show


def test_warnings_are_safe_markdown_code():
    raw = "`rm -rf`\n" + "x" * 100
    (w,) = parse({"data": raw}, FIELDS)[1]
    assert w.startswith("`data='rm -rf' xxx") and w.count("`") == 2 and len(w) < 120
    assert urlstate.literal(raw) == "'rm -rf' " + "x" * 31


def test_repeated_keys_take_the_last_value():
    assert parse({"steps": ["50", "100"]}, FIELDS)[0]["steps"] == 100


def test_fuzzed_queries_never_raise_and_always_round_trip():
    rng = random.Random(10)
    atoms = ["", "0", "-0", "1", "-1", "0.05", "1e-5", "1e308", "1e999", "nan", "inf", "-inf",
             "abc", " 3 ", "0x10", "1_000", "٣", "None", "true", ",", ",,", "100", "50", "digits",
             "adam", "<b>", "`", "\n", "0.35"]
    for _ in range(2000):
        query = {f.key: ",".join(rng.choice(atoms) for _ in range(rng.randint(1, 4)))
                 for f in FIELDS if rng.random() < 0.6}
        values, warnings = parse(query, FIELDS)
        assert all(isinstance(w, str) and w for w in warnings)
        again = parse(to_query(values, FIELDS), FIELDS)
        assert again == (values, []), (query, values, again)
        for k in ("lr", "hidden"):
            assert all(math.isfinite(v) for v in values[k])


def test_conditional_fields_and_sparse_links_round_trip():
    """A field with ``when`` applies only after the values it depends on; a sparse link leaves
    out the values at their defaults and parses back to the same values."""
    fields = (Choice("on", "surface", ("surface", "network")),
              Choice("data", "digits", ("digits", "moons"), when=lambda v: v["on"] == "network"),
              Number("n", lambda v: 128 if v["on"] == "surface" else 8, lo=0, hi=256, integer=True))
    assert parse({"data": "moons"}, fields) == ({"on": "surface", "n": 128}, [])
    values = {"on": "network", "data": "digits", "n": 8}
    assert to_query(values, fields, sparse=True) == {"on": "network"}
    assert parse(to_query(values, fields, sparse=True), fields) == (values, [])
    assert to_query(values, fields) == {"on": "network", "data": "digits", "n": "8"}
    assert to_query({"on": "surface", "n": 128}, fields) == {"on": "surface", "n": "128"}


def test_sparse_links_of_fuzzed_values_round_trip():
    rng = random.Random(11)
    for _ in range(500):
        query = {"data": rng.choice(["digits", "moons", "x"]), "opt": rng.choice(["sgd", "adam"]),
                 "lr": rng.choice(["0.01,0.1", "0.001", "5", "nan"]),
                 "steps": rng.choice(["50", "300", "7"]), "show": rng.choice(["0", "1", "9"])}
        values, _ = parse(query, FIELDS)
        sparse = to_query(values, FIELDS, sparse=True)
        assert parse(sparse, FIELDS) == (values, [])
        assert set(sparse) <= set(to_query(values, FIELDS))
        assert all(to_query(values, FIELDS)[k] == v for k, v in sparse.items())


# ---------------------------------------------------------------------------
# The pages: Network training and Fine-tuning keep their settings in the URL
# ---------------------------------------------------------------------------


def open_page(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()  # Home first: AppTest switches pages only after a run
    for k, v in query.items():
        at.query_params[k] = v
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query_of(at: AppTest) -> dict:
    return {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def link_warnings(at: AppTest) -> str:
    return " ".join(w.value for w in at.warning if w.value.startswith("In the link"))


NET_LINK = {"data": "circles", "hidden": "8,8", "opt": "sgd", "lr": "0.05,0.5", "steps": "50",
            "batch": "32", "momentum": "0.5", "act": "relu", "seed": "3", "sharp": "0",
            "show": "0"}


def test_network_page_link_round_trip():
    at = open_page(NETWORK, NET_LINK)
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="nt_data").value == "circles"
    assert at.text_input(key="nt_hidden_circles").value == "8, 8"
    assert at.text_input(key="nt_rates").value == "0.05, 0.5"
    assert at.select_slider(key="nt_steps").value == 50
    assert at.selectbox(key="nt_batch").value == "32"
    assert at.slider(key="nt_momentum").value == pytest.approx(0.5)
    assert at.radio(key="nt_act").value == "relu"
    assert at.number_input(key="nt_seed").value == 3
    assert list(at.dataframe[0].value["rate"]) == [0.05, 0.5]
    assert query_of(at) == NET_LINK  # the address bar is the link, unchanged
    first = at.dataframe[0].value
    # A change goes into the URL; a new session on that URL shows the same runs.
    at.select_slider(key="nt_steps").set_value(100).run()
    assert query_of(at) == {**NET_LINK, "steps": "100"}
    again = open_page(NETWORK, query_of(at))
    assert not again.warning and query_of(again) == query_of(at)
    np.testing.assert_array_equal(again.dataframe[0].value["final training loss"],
                                  at.dataframe[0].value["final training loss"])
    assert not np.array_equal(first["final training loss"], again.dataframe[0].value[
        "final training loss"])  # 100 steps, not 50: the link carried the change


def test_network_page_junk_link_warns_and_uses_defaults():
    at = open_page(NETWORK, {"lr": "nan", "steps": "abc", "data": "<script>", "batch": "7",
                             "momentum": "2", "sharp": "maybe", "opt": "sgd"})
    text = link_warnings(at)
    for part in ("`lr=nan`", "`steps=abc`", "`data=<script>`", "`batch=7`", "`momentum=2`",
                 "`sharp=maybe`"):
        assert part in text, (part, text)
    assert list(at.dataframe[0].value["rate"]) == [0.01, 0.1, 1.0, 10.0]  # the defaults
    assert at.selectbox(key="nt_data").value == "moons"
    q = query_of(at)
    assert (q["lr"], q["steps"], q["data"], q["momentum"]) == ("0.01,0.1,1,10", "300", "moons",
                                                              "0.95")
    # The link's warnings stay while the page shows what the link gave, then go.
    at.run()
    assert "`lr=nan`" in link_warnings(at)
    at.radio(key="nt_act").set_value("relu").run()
    assert not link_warnings(at) and query_of(at)["act"] == "relu"


FT_LINK = {"a": "0,1,2", "b": "7,8,9", "units": "16", "head": "new", "opt": "adam",
           "lr": "0.001,0.01", "steps": "50", "freeze": "0", "scale": "0.3", "warmup": "10",
           "batch": "full", "seed": "2", "compare": "0"}


def test_finetune_page_link_round_trip():
    at = open_page(FINETUNE, FT_LINK)
    assert not at.warning, [w.value for w in at.warning]
    assert at.multiselect(key="ft_a").value == [0, 1, 2]
    assert at.multiselect(key="ft_b").value == [7, 8, 9]
    assert at.number_input(key="ft_units").value == 16
    assert at.selectbox(key="ft_opt").value == "adam"
    assert at.text_input(key="ft_rates_adam").value == "0.001, 0.01"
    assert at.select_slider(key="ft_scale").value == 0.3
    assert at.slider(key="ft_warmup").value == 10
    assert list(at.dataframe[0].value["rate"]) == [0.001, 0.01]
    assert query_of(at) == FT_LINK
    at.checkbox(key="ft_freeze").check().run()
    assert query_of(at) == {**FT_LINK, "freeze": "1"}
    again = open_page(FINETUNE, query_of(at))
    assert again.checkbox(key="ft_freeze").value is True and not again.warning
    np.testing.assert_array_equal(again.dataframe[0].value["task B accuracy (%)"],
                                  at.dataframe[0].value["task B accuracy (%)"])


def test_finetune_page_junk_link_warns_and_uses_defaults():
    at = open_page(FINETUNE, {"lr": "nan", "a": "x,12", "units": "-3", "warmup": "7",
                              "scale": "0.5", "head": "both", "steps": "1e9"})
    text = link_warnings(at)
    for part in ("`lr=nan`", "`a=x`", "`a=12`", "`units=-3`", "`warmup=7`", "`scale=0.5`",
                 "`head=both`", "`steps=1e9`"):
        assert part in text, (part, text)
    assert list(at.dataframe[0].value["rate"]) == [0.01, 0.1, 0.5, 1.0]
    q = query_of(at)
    assert (q["lr"], q["a"], q["units"], q["warmup"], q["scale"], q["head"], q["steps"]) == (
        "0.01,0.1,0.5,1", "0,1,2,3,4", "1", "5", "1", "new", "200")


def test_network_page_keeps_its_settings_across_a_visit_to_another_page():
    at = open_page(NETWORK, NET_LINK)
    at.text_input(key="nt_rates").set_value("0.02, 0.2").run()
    at.switch_page("app_pages/home.py").run()
    for k in list(at.query_params):  # as the browser does on a page switch
        del at.query_params[k]
    at.switch_page(NETWORK).run()
    assert not at.exception and not at.warning
    assert list(at.dataframe[0].value["rate"]) == [0.02, 0.2]
    assert query_of(at) == {**NET_LINK, "lr": "0.02,0.2"}
