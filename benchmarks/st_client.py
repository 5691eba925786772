"""A small Streamlit websocket client: one simulated browser tab per instance, no browser.

It speaks the protocol of Streamlit 1.67's frontend with the protobuf messages that
ship with streamlit (``streamlit.proto``):

1. open ``ws://HOST/<base>/_stcore/stream`` offering the subprotocol ``streamlit``
   (the frontend also packs an XSRF token and a session id to resume into that header;
   a fresh session needs neither);
2. send ``BackMsg(rerun_script=ClientState(query_string, widget_states, page_name,
   page_script_hash, cached_message_hashes, context_info))``: the first one runs the
   page named by the URL path (``page_name`` is its url_path, "" for the default page);
3. read ``ForwardMsg``s: ``new_session`` (a run started), ``navigation`` (with ``st.navigation``: the hash of
   the page that ran, which the next rerun names in ``page_script_hash``),
   ``delta`` (elements and blocks; widgets carry the id the next rerun must use),
   ``page_not_found``, ``page_info_changed`` (the app rewrote the query string),
   ``ref_hash`` (a large element the client said it already has, sent by hash only),
   ``auto_rerun`` (a fragment's ``run_every``), and ``script_finished``, which ends a
   run unless its status is ``FINISHED_EARLY_FOR_RERUN`` (then another run follows).

Like the browser, the client keeps every "cacheable" element by its hash and lists the
hashes in ``cached_message_hashes`` on the next rerun, so an unchanged large element
comes back as a reference (entries unused for ``max_cached_message_age`` runs, from the
server's ``new_session`` config, are dropped as the frontend does).

Widget values: the server keeps each widget's last value in the session, so a rerun
sends the values this client has set (``set_widget``), and a button click once
(``click``). Widgets are found by their user key (the element id ends with ``-<key>``)
or by label.

Errors: an exception element the app drew (``st.exception``, an uncaught exception;
with ``client.showErrorDetails = "type"`` only its type) is reported in
``RerunResult.exceptions``; warnings (``is_warning``) go to ``RerunResult.warnings``.

Written for asyncio so one process can hold hundreds of sessions::

    async with StreamlitClient("http://127.0.0.1:8501", path="/playground",
                               query="lr=0.1") as c:
        first = c.first                      # the run that connect() made
        c.set_widget("lr_num_0", 0.3)
        r = await c.rerun()
        assert r.ok, r.errors
        print(r.latency_s, r.bytes, r.elements_of("plotly_chart"))

Run as a script for a quick check: ``python benchmarks/st_client.py URL [PATH] [QUERY]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState, ContextInfo
from streamlit.proto.Common_pb2 import DoubleArray, StringArray
from streamlit.proto.Element_pb2 import Element
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates

DEFAULT_TIMEOUT_S = 120.0
MAX_FRAME_BYTES = 64 * 2**20

_FINISHED = ForwardMsg.ScriptFinishedStatus
_TERMINAL = {
    _FINISHED.FINISHED_SUCCESSFULLY: "finished",
    _FINISHED.FINISHED_WITH_COMPILE_ERROR: "compile error",
    _FINISHED.FINISHED_FRAGMENT_RUN_SUCCESSFULLY: "fragment finished",
}

# Element type -> how its value travels in a WidgetState (streamlit/elements/widgets/*.py).
_VALUE_FIELD = {
    "number_input": "double_value",
    "slider": "double_array_value",
    "select_slider": "string_array_value",
    "selectbox": "string_value",
    "radio": "string_value",
    "text_input": "string_value",
    "text_area": "string_value",
    "color_picker": "string_value",
    "checkbox": "bool_value",
    "multiselect": "string_array_value",
    "segmented_control": "string_array_value",
    "pills": "string_array_value",
    "button": "trigger_value",
    "download_button": "trigger_value",
    "form_submit_button": "trigger_value",
}


@dataclass
class Widget:
    """A widget the server drew: its element type (e.g. "number_input"), id, label, proto, and
    the fragment that drew it ("" for none): changing it reruns only that fragment."""

    kind: str
    id: str
    label: str
    proto: object
    fragment_id: str = ""

    @property
    def key(self) -> str | None:
        """The user key the app gave it (the id's last part), or None."""
        parts = self.id.split("-", 2)
        return parts[2] if len(parts) == 3 and parts[2] != "None" else None


@dataclass
class RerunResult:
    """What one script run sent back.

    ``latency_s``: from sending the rerun request to the run's final ``script_finished``;
    ``status``: "finished", "compile error", "fragment finished", "timeout" or
    "disconnected"; ``bytes``: protobuf bytes received (after websocket decompression);
    ``elements``: (delta path, Element) of every element drawn, references resolved.
    """

    latency_s: float
    status: str
    deltas: int = 0
    bytes: int = 0
    messages: int = 0
    elements: list[tuple[tuple[int, ...], Element]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    protocol_errors: list[str] = field(default_factory=list)
    page_not_found: str | None = None
    page_script_hash: str = ""
    query_string: str | None = None  # set when the app rewrote the URL's query string
    refs: int = 0  # elements sent by hash only (already in this client's cache)
    runs: int = 0  # script runs seen (more than 1 when the app called st.rerun)
    fragment_id: str = ""  # the fragment this run was confined to ("" for the whole app)

    @property
    def errors(self) -> list[str]:
        """Everything that makes this rerun a failure (empty when it is fine)."""
        status = [] if self.status in ("finished", "fragment finished") else [self.status]
        return status + self.exceptions + self.protocol_errors

    @property
    def ok(self) -> bool:
        return not self.errors

    def elements_of(self, kind: str) -> list[Element]:
        """The drawn elements of one type, e.g. "plotly_chart", "alert", "markdown"."""
        return [e for _, e in self.elements if e.WhichOneof("type") == kind]

    def plotly_specs(self) -> list[str]:
        """The Plotly figures drawn, as the JSON strings the server sent."""
        return [e.plotly_chart.spec for e in self.elements_of("plotly_chart")]

    def texts(self) -> list[str]:
        """The body text of markdown, headings, captions and alerts, in order."""
        out = []
        for _, e in self.elements:
            kind = e.WhichOneof("type")
            if kind in ("markdown", "heading", "alert", "text"):
                out.append(getattr(e, kind).body)
        return out


class ProtocolError(RuntimeError):
    """The server did not answer as a Streamlit server does."""


def stream_url(base_url: str) -> str:
    """``http(s)://host[:port][/base]`` -> ``ws(s)://host[:port][/base]/_stcore/stream``.

    >>> stream_url("http://127.0.0.1:8501")
    'ws://127.0.0.1:8501/_stcore/stream'
    >>> stream_url("https://lab.example.org/app/")
    'wss://lab.example.org/app/_stcore/stream'
    """
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/_stcore/stream"


class StreamlitClient:
    """One Streamlit session over a websocket (see the module's docstring).

    ``base_url``: the server (``http://host:port``, plus a base path if any); ``path``:
    the page's URL path ("/playground"; "/" for the default page); ``query``: the query
    string without "?"; ``headers``: extra HTTP headers for the websocket handshake (e.g. a
    sticky-session cookie; ``Origin`` defaults to the base URL's, as a browser sends it);
    ``compression``: offer permessage-deflate as browsers do (None: do not).
    """

    def __init__(self, base_url: str, path: str = "/", query: str = "", *,
                 headers: dict | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 compression: str | None = "deflate"):
        self.base_url = base_url.rstrip("/")
        self.path = "/" + path.strip("/")
        self.query = query.lstrip("?")
        self.headers = dict(headers or {})
        parts = urlsplit(self.base_url)
        self.headers.setdefault("Origin", f"{parts.scheme}://{parts.netloc}")  # as a browser does
        self.timeout_s = timeout_s
        self.compression = compression
        self.ws = None
        self.first: RerunResult | None = None
        self.page_script_hash = ""
        self.widgets: dict[str, Widget] = {}
        self.auto_reruns: dict[str, float] = {}  # fragment id -> interval (s) the app asked for
        self.max_cached_message_age = 2
        self._states: dict[str, WidgetState] = {}
        self._triggers: dict[str, WidgetState] = {}
        self._pending_scopes: set[str] = set()  # fragments of the widgets changed since the last run
        self._cache: dict[str, tuple[ForwardMsg, int]] = {}  # hash -> (msg, run it was last used)
        self._run_count = 0
        self._queue: asyncio.Queue = asyncio.Queue()
        self._reader: asyncio.Task | None = None
        self._closed_reason: str | None = None

    # -- connection ---------------------------------------------------------------------

    async def connect(self) -> RerunResult:
        """Open the websocket and run the page once (as a browser does on load)."""
        self.ws = await websockets.connect(
            stream_url(self.base_url), subprotocols=["streamlit"],
            additional_headers=self.headers or None, compression=self.compression,
            max_size=MAX_FRAME_BYTES, open_timeout=self.timeout_s, ping_interval=None)
        self._reader = asyncio.create_task(self._read_forever())
        self.first = await self.rerun()
        return self.first

    async def close(self) -> None:
        """Close the websocket (the server then ends the session)."""
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
        self.ws = self._reader = None

    async def __aenter__(self) -> StreamlitClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- widgets ------------------------------------------------------------------------

    def widget(self, key_or_label: str) -> Widget:
        """The widget with this user key (or, failing that, this label) from the last runs."""
        for w in self.widgets.values():
            if w.key == key_or_label:
                return w
        for w in self.widgets.values():
            if w.label == key_or_label:
                return w
        raise KeyError(f"no widget with key or label {key_or_label!r} "
                       f"(known keys: {sorted(filter(None, (w.key for w in self.widgets.values())))})")

    def set_widget(self, key_or_label: str, value) -> None:
        """Give a widget a value for the next rerun (and the ones after, as a browser keeps
        it). The value is what the widget sends: a number for number_input, a number or a pair
        for slider, the option's displayed text for selectbox/radio/select_slider."""
        w = self.widget(key_or_label)
        kind = _VALUE_FIELD.get(w.kind)
        if kind is None or kind == "trigger_value":
            raise TypeError(f"cannot set a {w.kind} (use click() for buttons)")
        self._states[w.id] = widget_state(w.id, kind, value)
        self._pending_scopes.add(w.fragment_id)

    def click(self, key_or_label: str) -> None:
        """Press a button in the next rerun (a trigger: sent once)."""
        w = self.widget(key_or_label)
        self._triggers[w.id] = WidgetState(id=w.id, trigger_value=True)
        self._pending_scopes.add(w.fragment_id)

    # -- runs ---------------------------------------------------------------------------

    async def rerun(self, query: str | None = None, widget_states: list[WidgetState] | None = None,
                    fragment_id: str | None = None) -> RerunResult:
        """Ask for a run (with the widget values set so far, plus ``widget_states``) and wait
        until it is over; never raises for what the server does (see ``RerunResult.errors``).

        As the browser does, when every widget changed since the last run was drawn by one
        fragment, only that fragment reruns (``fragment_id`` forces a scope: "" the whole app)."""
        if self.ws is None:
            raise RuntimeError("not connected")
        if fragment_id is None:
            scopes, self._pending_scopes = self._pending_scopes, set()
            fragment_id = scopes.pop() if len(scopes) == 1 and query is None else ""
        if query is not None:
            self.query = query.lstrip("?")
        self._drain()
        states = {**self._states, **self._triggers, **{s.id: s for s in widget_states or ()}}
        self._triggers.clear()
        page_name = "" if self.path == "/" else self.path.strip("/")
        url = f"{self.base_url}{self.path}" + (f"?{self.query}" if self.query else "")
        msg = BackMsg(rerun_script=ClientState(
            query_string=self.query, page_script_hash=self.page_script_hash, page_name=page_name,
            widget_states=WidgetStates(widgets=list(states.values())), fragment_id=fragment_id,
            cached_message_hashes=list(self._cache),
            context_info=ContextInfo(timezone="UTC", timezone_offset=0, locale="en-US", url=url,
                                     is_embedded=False, color_scheme="light")))
        start = time.perf_counter()
        result = RerunResult(latency_s=0.0, status="timeout", fragment_id=fragment_id)
        if self._closed_reason:
            result.status = self._closed_reason
            return result
        await self.ws.send(msg.SerializeToString())
        deadline = start + self.timeout_s
        while True:
            try:
                item = await asyncio.wait_for(self._queue.get(), max(0.0, deadline - time.perf_counter()))
            except TimeoutError:
                result.status = "timeout"
                break
            if item is None:  # the reader stopped: the websocket closed
                result.status = self._closed_reason or "disconnected"
                break
            fwd, nbytes = item
            if self._take(fwd, nbytes, result):
                break
        result.latency_s = time.perf_counter() - start
        result.page_script_hash = self.page_script_hash
        return result

    def _drain(self) -> None:
        """Drop what arrived between runs (status messages after a run ended)."""
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                self._queue.put_nowait(None)
                return

    def _take(self, msg: ForwardMsg, nbytes: int, r: RerunResult) -> bool:
        """Account one message to run ``r``; True when it ends the run."""
        r.messages += 1
        r.bytes += nbytes
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                r.protocol_errors.append(f"reference to an element not in the cache: {msg.ref_hash}")
                return False
            r.refs += 1
            metadata = msg.metadata
            msg = ForwardMsg()
            msg.CopyFrom(cached[0])
            msg.metadata.CopyFrom(metadata)
            kind = "delta"
        if msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = (msg, self._run_count)
        elif kind == "delta" and msg.hash in self._cache:
            self._cache[msg.hash] = (self._cache[msg.hash][0], self._run_count)
        if kind == "new_session":
            r.runs += 1
            self.page_script_hash = msg.new_session.page_script_hash or self.page_script_hash
            age = msg.new_session.config.max_cached_message_age
            self.max_cached_message_age = age or self.max_cached_message_age
        elif kind == "delta":
            r.deltas += 1
            if msg.delta.WhichOneof("type") == "new_element":
                self._element(tuple(msg.metadata.delta_path), msg.delta.new_element, r,
                              msg.delta.fragment_id)
        elif kind == "navigation":  # st.navigation names the page that ran: rerun that one
            self.page_script_hash = msg.navigation.page_script_hash or self.page_script_hash
        elif kind == "page_not_found":
            r.page_not_found = msg.page_not_found.page_name or "(unnamed)"
        elif kind == "page_info_changed":
            r.query_string = msg.page_info_changed.query_string
            self.query = r.query_string
        elif kind == "auto_rerun":
            self.auto_reruns[msg.auto_rerun.fragment_id] = msg.auto_rerun.interval
        elif kind == "script_finished":
            status = _TERMINAL.get(msg.script_finished)
            if status is not None:
                r.status = status
                self._end_run()
                return True
        return False

    def _element(self, path: tuple[int, ...], e: Element, r: RerunResult, fragment_id: str) -> None:
        r.elements.append((path, e))
        kind = e.WhichOneof("type")
        if kind == "exception":
            text = f"{e.exception.type}: {e.exception.message}".rstrip(": ")
            (r.warnings if e.exception.is_warning else r.exceptions).append(text)
            return
        proto = getattr(e, kind) if kind else None
        wid = getattr(proto, "id", "") if proto is not None else ""
        if kind in _VALUE_FIELD and wid:
            self.widgets[wid] = Widget(kind, wid, getattr(proto, "label", ""), proto, fragment_id)

    def _end_run(self) -> None:
        """Age the element cache as the frontend does after each run."""
        self._run_count += 1
        self._cache = {h: (m, used) for h, (m, used) in self._cache.items()
                       if self._run_count - used <= self.max_cached_message_age}

    async def _read_forever(self) -> None:
        try:
            async for frame in self.ws:
                if isinstance(frame, str):
                    continue  # Streamlit sends only binary frames
                msg = ForwardMsg()
                msg.ParseFromString(frame)
                self._queue.put_nowait((msg, len(frame)))
        except websockets.ConnectionClosed as e:
            self._closed_reason = f"disconnected ({e.rcvd.code if e.rcvd else 'no close frame'})"
        except Exception as e:  # a frame that is not a ForwardMsg
            self._closed_reason = f"protocol error: {type(e).__name__}: {e}"
        else:
            self._closed_reason = "disconnected"
        finally:
            self._queue.put_nowait(None)


def widget_state(widget_id: str, value_field: str, value) -> WidgetState:
    """A WidgetState carrying ``value`` in ``value_field`` (e.g. "double_value").

    >>> widget_state("$$ID-1-x", "double_array_value", 0.5).double_array_value.data
    [0.5]
    """
    s = WidgetState(id=widget_id)
    if value_field == "double_array_value":
        values = value if isinstance(value, (list, tuple)) else [value]
        s.double_array_value.CopyFrom(DoubleArray(data=[float(v) for v in values]))
    elif value_field == "string_array_value":
        values = value if isinstance(value, (list, tuple)) else [value]
        s.string_array_value.CopyFrom(StringArray(data=[str(v) for v in values]))
    elif value_field == "double_value":
        s.double_value = float(value)
    elif value_field == "int_value":
        s.int_value = int(value)
    elif value_field == "bool_value":
        s.bool_value = bool(value)
    elif value_field == "string_value":
        s.string_value = str(value)
    elif value_field == "trigger_value":
        s.trigger_value = bool(value)
    else:
        raise ValueError(f"unsupported value field {value_field!r}")
    return s


async def _main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else "http://127.0.0.1:8501"
    path = argv[2] if len(argv) > 2 else "/playground"
    query = argv[3] if len(argv) > 3 else ""
    async with StreamlitClient(url, path, query) as c:
        for r in (c.first, await c.rerun()):
            print(f"{r.status}: {r.latency_s * 1000:.0f} ms, {r.bytes / 1024:.0f} KiB in "
                  f"{r.messages} messages, {len(r.elements)} elements, {r.refs} by reference, "
                  f"errors: {r.errors or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(_main(sys.argv)))
