"""One student must not stall the class: bounded text, server settings and protocol hardening.

Issue 13's measurements: a 24 MB string in a rates box cost 13-16 CPU-s per rerun and
1.5 GB; compressed websocket frames inflated 1000x; any client could empty every cache;
a text frame logged a full traceback; rerun storms stalled other sessions.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import formula as formulas
from engine import maps, networks
from engine.textlimits import MAX_LIST_CHARS, MAX_LIST_ITEMS, list_parts

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
HUGE = "0.1," * 6_000_000  # 24 MB, what a client can send past max_chars over the websocket


# ---- 1. unbounded text ---------------------------------------------------------------------

@pytest.mark.parametrize("parse, default", [
    (lambda t, d: networks.parse_rates(t, d), (0.01, 0.1)),
    (lambda t, d: networks.parse_hidden(t, d), (16, 16)),
    (lambda t, d: maps.parse_batch_sizes(t, d), (8, 32)),
])
def test_list_parsers_refuse_a_huge_string_at_once(parse, default):
    t0 = time.perf_counter()
    got, warnings = parse(HUGE, default)
    elapsed = time.perf_counter() - t0
    assert tuple(got) == default
    assert len(warnings) == 1
    assert "24,000,000 characters long; at most 200" in warnings[0]
    assert elapsed < 0.05, elapsed  # a length check, not a split of 6 million items


@pytest.mark.parametrize("parse, default", [
    (lambda t, d: networks.parse_rates(t, d), (0.01, 0.1)),
    (lambda t, d: networks.parse_hidden(t, d), (16, 16)),
    (lambda t, d: maps.parse_batch_sizes(t, d), (8, 32)),
])
def test_list_parsers_refuse_too_many_items_in_one_warning(parse, default):
    text = ",".join(["x"] * 90)  # 179 characters: under the length bound, 90 items of junk
    got, warnings = parse(text, default)
    assert tuple(got) == default
    assert warnings == [f"The list has more than {MAX_LIST_ITEMS} items. Using "
                        f"{', '.join(f'{v:g}' for v in default)}."]


def test_list_parts_bounds_and_ordinary_lists():
    assert list_parts(" 1 ; 2,, 3 ", seps=",;") == (["1", "2", "3"], None)
    assert list_parts("1" * MAX_LIST_CHARS)[0] == ["1" * MAX_LIST_CHARS]
    assert list_parts("1" * (MAX_LIST_CHARS + 1))[0] is None
    assert list_parts(",".join("1" * MAX_LIST_ITEMS))[0] == ["1"] * MAX_LIST_ITEMS
    assert list_parts(",".join("1" * (MAX_LIST_ITEMS + 1)))[0] is None
    assert list_parts(None) == ([], None)
    # ordinary input behaves as before
    assert networks.parse_rates("0.1, abc; 1", (0.5,)) == ((0.1, 1.0), ['"abc" is not a number; ignored.'])
    assert maps.parse_batch_sizes("32, 8", (16,)) == ((8, 32), [])


def test_formula_parser_refuses_a_huge_string_at_once():
    t0 = time.perf_counter()
    with pytest.raises(formulas.FormulaError, match="24,000,000 characters long|24000000 characters"):
        formulas.parse("x" * 24_000_000)
    assert time.perf_counter() - t0 < 0.05


def _open(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _text_inputs(at: AppTest) -> dict:
    return {t.label: t for t in at.text_input}


def test_every_text_box_on_the_text_pages_has_max_chars():
    for page, expected in [("app_pages/train_network.py", 2), ("app_pages/finetune.py", 1)]:
        at = _open(page)
        boxes = list(at.text_input)
        assert len(boxes) == expected
        for box in boxes:
            assert box.proto.max_chars == MAX_LIST_CHARS, (page, box.label)


def test_network_training_survives_a_24_mb_rates_string():
    """A client past max_chars (session state is what a websocket value or a link lands in):
    one clear warning, the default rates, no exception, and quickly."""
    at = _open("app_pages/train_network.py")
    at.session_state["nt_rates"] = HUGE
    t0 = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    # Streamlit cuts a widget's value to max_chars (200 characters: 50 items), the parser then
    # refuses the list; without max_chars the parser refuses the 24 MB at once
    assert any(("characters long; at most 200" in w or f"more than {MAX_LIST_ITEMS} items" in w)
               and "Using 0.01, 0.1, 1, 10" in w for w in warnings), warnings
    assert len(warnings) <= 3, warnings
    assert elapsed < 20, elapsed  # was 13-16 CPU-s on a server; here the rerun is a cached run


# ---- 2. websocket compression and message size ----------------------------------------------

def test_effective_server_settings_refuse_compression_and_big_messages():
    """What uvicorn is really given from .streamlit/config.toml (read from the repo root)."""
    code = ("from streamlit import config; config.get_config_options(force_reparse=True);"
            "from streamlit.web.server.starlette import starlette_server as s;"
            "k = s._get_uvicorn_config_kwargs();"
            "print(k['ws_per_message_deflate'], k['ws_max_size'], config.get_option('server.maxUploadSize'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    deflate, max_size, upload = out[-3:]
    assert deflate == "False"
    assert int(max_size) <= 5_000_000
    assert int(upload) <= 1
