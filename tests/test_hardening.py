"""One student must not stall the class: bounded text, server settings and protocol hardening.

Issue 13's measurements: a 24 MB string in a rates box cost 13-16 CPU-s per rerun and
1.5 GB; compressed websocket frames inflated 1000x; any client could empty every cache;
a text frame logged a full traceback; rerun storms stalled other sessions; after a restart a
student's first edit was lost. The server tests run ``python -m ui.guard run app.py``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.WidgetStates_pb2 import WidgetStates
from streamlit.testing.v1 import AppTest

from benchmarks.st_client import StreamlitClient, widget_state
from engine import formula as formulas
from engine import maps, networks
from engine.textlimits import MAX_LIST_CHARS, MAX_LIST_ITEMS, list_parts
from tests.lrlab_servers import guarded_server, healthy, run_async

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
    got, warnings = parse(HUGE, default)
    assert tuple(got) == default
    # the length check's own sentence (engine.textlimits checks it before any split), not a
    # per-item warning: not timed here, the machines are noisy (benchmarks/bench_storm.py)
    assert warnings == [w for w in warnings if "24,000,000 characters long; at most 200" in w]
    assert len(warnings) == 1


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


def test_formula_parser_refuses_a_huge_string_at_once(monkeypatch):
    """Refused on its length alone, before any pass over its characters (not timed: the
    machines are noisy; the passes that would read it fail the test if called)."""

    def never(*_args, **_kwargs):
        raise AssertionError("the parser read the huge string")

    monkeypatch.setattr(formulas, "_check_characters", never)
    monkeypatch.setattr(formulas, "_check_brackets", never)
    monkeypatch.setattr(formulas, "_check_numbers", never)
    with pytest.raises(formulas.FormulaError, match="24,000,000 characters long|24000000 characters"):
        formulas.parse("x" * 24_000_000)


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


# ---- a real server with the guard (python -m ui.guard run app.py) ---------------------------

@pytest.fixture(scope="module")
def server():
    with guarded_server(ROOT / "test-artifacts" / "hardening-server.log") as s:
        yield s


def _stream(base: str) -> str:
    return base.replace("http://", "ws://") + "/_stcore/stream"


async def _send_junk(base: str, frame) -> int | None:
    """Send one frame on a fresh websocket; the close code the server answers with."""
    async with websockets.connect(_stream(base), subprotocols=["streamlit"],
                                  origin=websockets.Origin(base)) as ws:
        try:
            await ws.send(frame)
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as e:
            return e.rcvd.code if e.rcvd else None


# ---- 4. junk frames: one log line each ------------------------------------------------------

@pytest.mark.parametrize("frame, code, line", [
    ("hello", 1003, "Refused a text frame on the websocket"),
    (b"\xff\xfe junk that is no protobuf", 1002, "Error deserializing back message"),
    (b"\x00" * 6_000_000, 1009, None),  # over server.maxMessageSize: uvicorn closes, no log needed
])
def test_a_junk_frame_logs_one_line_and_no_traceback(server, frame, code, line):
    base, log = server
    before = log.read_text(errors="replace")
    assert run_async(_send_junk(base, frame)) == code
    deadline = time.monotonic() + 10
    while (line or "\n") not in log.read_text(errors="replace")[len(before):] \
            and time.monotonic() < deadline:
        time.sleep(0.1)  # the server writes its log line after closing
    new = log.read_text(errors="replace")[len(before):]
    if line:
        assert new.count(line) == 1, new
    assert "Traceback" not in new, new
    assert len([ln for ln in new.splitlines() if ln.strip()]) <= 2, new
    assert healthy(f"{base}/_stcore/health")


# ---- 3. clear_cache ---------------------------------------------------------------------------

def test_clear_cache_request_is_refused_and_caches_survive():
    """The patched handler (what a BackMsg clear_cache calls) leaves every cache alone."""
    import streamlit as st
    from streamlit.runtime.app_session import AppSession

    from ui import guard

    guard.install()
    calls = []

    @st.cache_data
    def probe(x):
        calls.append(x)
        return x

    probe(1)
    session = types.SimpleNamespace(id="test", _session_state={"kept": 1})
    AppSession._handle_clear_cache_request(session)
    probe(1)
    assert calls == [1]  # not recomputed: the cache was not emptied
    assert session._session_state == {"kept": 1}


def test_clear_cache_over_the_websocket_is_refused(server):
    base, log = server
    before = log.read_text(errors="replace")

    async def go():
        async with StreamlitClient(base, path="/playground", headers={"Origin": base}) as c:
            assert c.first.ok, c.first.errors
            await c.ws.send(BackMsg(clear_cache=True).SerializeToString())
            r = await c.rerun()  # the session still works
            assert r.ok, r.errors

    run_async(go())
    new = log.read_text(errors="replace")[len(before):]
    assert new.count("Refused a clear_cache request") == 1, new


# ---- 5. rerun storms --------------------------------------------------------------------------

STORM_N = 400  # the storm (200 at 50/s) twice over, so all three timed reruns fall in it


async def _storm(a: StreamlitClient, n: int = 200, per_s: float = 50.0) -> None:
    """What a held arrow key on the Steps slider sends: ``n`` reruns at ``per_s`` per second."""
    steps = a.widget("steps")
    t0 = time.perf_counter()
    for i in range(n):
        msg = BackMsg(rerun_script=ClientState(
            page_script_hash=a.page_script_hash, page_name="playground",
            widget_states=WidgetStates(widgets=[widget_state(steps.id, "double_array_value", 20 + i)])))
        await a.ws.send(msg.SerializeToString())
        await asyncio.sleep(max(0.0, t0 + (i + 1) / per_s - time.perf_counter()))


def test_a_rerun_storm_does_not_stall_another_session(server):
    """Issue 13: 200 reruns at 50/s from one session made another's rerun take 14-32 s."""
    base, _ = server

    async def go():
        async with (StreamlitClient(base, path="/playground", headers={"Origin": base}) as b,
                    StreamlitClient(base, path="/playground", headers={"Origin": base}) as a):
            quiet = []
            for i in range(4):  # the first warms (compiled, cached); the other three: no storm
                b.set_widget("lr_num_0", 0.02 + 0.01 * i)
                r = await b.rerun()
                assert r.ok, r.errors
                quiet.append(r.latency_s)
            a._drain()
            storm = asyncio.create_task(_storm(a, n=STORM_N))
            await asyncio.sleep(0.5)
            during = []
            for i in range(3):
                b.set_widget("lr_num_0", 0.1 + 0.05 * i)
                r = await b.rerun()
                assert r.ok, r.errors
                during.append(r.latency_s)
            assert not storm.done(), f"the storm ended before the timed reruns: {quiet[1:]} {during}"
            await storm
            starts = 0  # runs the storm started, from what the storming client has received
            while not a._queue.empty():
                item = a._queue.get_nowait()
                starts += item is not None and item[0].WhichOneof("type") == "new_session"
            # the storming session still works: one more run
            a.set_widget("steps", 219)
            last = await a.rerun()
            assert last.ok, last.errors
            return quiet[1:], during, starts

    quiet, during, starts = run_async(go())
    print(f"rerun without a storm {quiet}, during a storm {during}; storm runs started {starts}")
    # Under 1 s; on a machine so loaded that a quiet rerun is slow, 3x the quiet median.
    # Before the fix: 14-32 s (20.4 s measured here).
    assert statistics.median(during) < max(1.0, 3 * statistics.median(quiet)), (quiet, during)
    # one script at a time per session; in a storm a run starts after a pause in the requests
    # or a second after the last: 400 requests in 8 s start about 8 runs (before: 400 threads)
    assert 1 <= starts <= STORM_N / 10, starts


# ---- 6. a reconnect to a new session keeps the browser's values -----------------------------

def test_a_new_session_whose_first_rerun_carries_widget_values_keeps_them(server):
    """What a browser sends after a server restart: its URL and its widgets' values, the
    student's edit among them, as the first rerun of a new session. The page's link restore
    used to overwrite them (the edit was lost); the browser test shows it end to end."""
    base, log = server

    async def go():
        async with StreamlitClient(base, path="/network-training", headers={"Origin": base}) as c1:
            c1.set_widget("nt_seed", 3)
            r1 = await c1.rerun()
            assert r1.ok and "seed=3" in (r1.query_string or ""), (r1.errors, r1.query_string)
            # the "restarted" browser: a new websocket (a new session), same page and URL
            c2 = StreamlitClient(base, path="/network-training", query=c1.query,
                                 headers={"Origin": base})
            c2.ws = await websockets.connect(_stream(base), subprotocols=["streamlit"],
                                             additional_headers={"Origin": base})
            c2._reader = asyncio.create_task(c2._read_forever())
            try:
                c2.page_script_hash, c2.widgets = c1.page_script_hash, dict(c1.widgets)
                c2.set_widget("nt_seed", 5)  # the edit made on the old page
                r2 = await c2.rerun()
                assert r2.ok, r2.errors
                return r2.query_string
            finally:
                await c2.close()

    query = run_async(go())
    assert query is not None and "seed=5" in query, query
    assert "drawing its page once unseen" in log.read_text(errors="replace")


def test_the_server_declines_websocket_compression(server):
    """A browser offers permessage-deflate; the server must not take it (a 190 KB compressed
    frame inflated to 190 MB before Streamlit's size check)."""
    base, _ = server

    async def extensions():
        async with websockets.connect(_stream(base), subprotocols=["streamlit"], compression="deflate",
                                      origin=websockets.Origin(base)) as ws:
            return [type(e).__name__ for e in ws.protocol.extensions]

    assert run_async(extensions()) == []


def test_a_superseded_request_keeps_its_button_press():
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from ui.guard import merge_requests

    old = ClientState(page_name="playground", widget_states=WidgetStates(widgets=[
        WidgetState(id="$$ID-1-preset", trigger_value=True), widget_state("$$ID-2-x", "double_value", 1)]))
    new = ClientState(page_name="playground", widget_states=WidgetStates(widgets=[
        widget_state("$$ID-2-x", "double_value", 2)]))
    merged = {w.id: w for w in merge_requests(old, new).widget_states.widgets}
    assert merged["$$ID-2-x"].double_value == 2          # the newest value wins
    assert merged["$$ID-1-preset"].trigger_value is True  # the press is not lost
    assert merge_requests(None, new) is new


def test_the_gate_waits_for_a_pause_in_a_storm_but_not_for_a_single_change():
    from ui.guard import MIN_RUN_INTERVAL_S, STORM_MAX_GAP_S, STORM_QUIET_S, RerunGate

    gate = RerunGate()
    assert gate.wait_s(100.0) < 0                          # idle: start at once
    gate.last_start = 100.0
    assert gate.wait_s(100.1) == pytest.approx(MIN_RUN_INTERVAL_S - 0.1)  # the rate limit
    gate.recent.extend([100.20, 100.22, 100.24])          # 50 requests a second
    assert gate.wait_s(100.25) == pytest.approx(100.24 + STORM_QUIET_S - 100.25)  # for a pause
    assert gate.wait_s(100.45) < 0                         # paused 0.21 s: start
    gate.recent.extend([100.9, 100.92, 100.94])           # still holding the key ...
    assert gate.wait_s(100.95) == pytest.approx(100.0 + STORM_MAX_GAP_S - 100.95)  # a frame a second
