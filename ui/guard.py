"""Server hardening: one student must not stall the class (issue 13).

Streamlit 1.67's server trusts every client. :func:`install` patches it, once per process:

- **Rerun storms.** With ``runner.fastReruns`` every rerun request stops the running
  script and starts a new thread at once; the stopped thread runs on until its next
  Streamlit call, so 200 requests at 50/s (an arrow key held on a slider) left dozens of
  script threads fighting for the GIL, and another student's rerun took 14-32 s. Now a
  session runs one script thread at a time: a request stops the running script as
  before, but the new run starts only once the stopped thread has ended and at least
  ``MIN_RUN_INTERVAL_S`` after the session's previous start; in a storm (3 requests within
  half a second) it waits for a 0.2 s pause in the requests, or at most a second after the
  previous start. Requests that arrive meanwhile are merged into one (the newest values
  win; a button press in a superseded request is kept, as Streamlit's own queue does). The
  first change after a pause starts at once.
- **Clear cache.** The protocol's ``clear_cache`` message emptied every user's
  ``st.cache_data`` and ``st.cache_resource``; it is refused (one log line).
- **Reconnecting after a server restart** (or to another replica). The browser keeps its
  page and widget values and sends them with its first rerun to a new session, whose page
  script then writes the link's (older) values into the widgets' state before the widgets
  exist (``ui.urlstate.restore``/``init`` test ``key in st.session_state``, which is False
  until a widget has been drawn once), so the student's edit was lost. A new session's
  first request that carries widget values (a fresh page load carries none) is now run
  twice: once unseen, which draws the widgets from the link and registers them, then for
  real, where the browser's values, the edit included, win as in any later rerun. And a
  fragment rerun for a fragment the new session has not drawn (Streamlit drops those, and
  the edit with them) runs the whole page instead.
- **Junk frames.** A text frame made Streamlit raise out of its websocket handler (a full
  traceback per frame) and a frame that is not a protobuf logged one too; both now log one
  line and close that connection.

Run the server as ``python -m ui.guard run app.py [streamlit options]`` to install the
patches before the first connection; ``app.py`` also calls :func:`install` (a no-op once
installed), so plain ``streamlit run app.py`` is covered from the first page run on.
``LRLAB_GUARD=off`` in the environment leaves Streamlit as it is (for measuring without it).
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field

MIN_RUN_INTERVAL_S = 0.25  # per session: at most 4 script starts a second
STORM_REQUESTS = 3         # this many requests within STORM_WINDOW_S make a storm
STORM_WINDOW_S = 0.5
STORM_QUIET_S = 0.2        # in a storm, start once the requests pause this long,
STORM_MAX_GAP_S = 1.0      # or at the latest this long after the previous start
POLL_S = 0.02              # how often a deferred start checks whether the stopped run has ended
_MARK = "_lrlab_guard_installed"
_LOG = logging.getLogger("lrlab.guard")


@dataclass
class RerunGate:
    """One session's rerun bookkeeping: the merged request waiting to start, the stopped
    script runners that may still be running, and when the last run started."""

    pending: object | None = None          # ClientState
    stopping: list = field(default_factory=list)
    last_start: float = -math.inf
    timer: object | None = None            # asyncio.TimerHandle
    fresh: bool = True                     # no rerun request seen yet
    recent: deque = field(default_factory=lambda: deque(maxlen=STORM_REQUESTS))  # request times

    def wait_s(self, now: float) -> float:
        """Seconds before the pending request may start (<= 0: now): the rate limit, and in a
        storm (requests closer than STORM_WINDOW_S) a pause in the requests or, at the
        latest, STORM_MAX_GAP_S after the last start, so a held key shows a frame a second."""
        wait = self.last_start + MIN_RUN_INTERVAL_S - now
        if len(self.recent) == STORM_REQUESTS and now - self.recent[0] < STORM_WINDOW_S:
            wait = max(wait, min(self.recent[-1] + STORM_QUIET_S, self.last_start + STORM_MAX_GAP_S) - now)
        return wait


def merge_requests(old, new):
    """The ClientState to run when ``new`` supersedes ``old`` (both ClientState protos):
    ``new``, with any button press only ``old`` carries kept (Streamlit's own rule)."""
    from streamlit.proto.ClientState_pb2 import ClientState
    from streamlit.runtime.scriptrunner_utils.script_requests import _coalesce_widget_states

    if old is None:
        return new
    merged = ClientState()
    merged.CopyFrom(new)
    states = _coalesce_widget_states(old.widget_states, new.widget_states)
    if states is not None:
        merged.widget_states.CopyFrom(states)
    return merged


def _without_fragment(client_state):
    """A copy of a ClientState that asks for a full run instead of a fragment run."""
    from streamlit.proto.ClientState_pb2 import ClientState

    full = ClientState()
    full.CopyFrom(client_state)
    full.fragment_id = ""
    return full


def _alive(runner) -> bool:
    thread = getattr(runner, "_script_thread", None)
    return thread is not None and thread.is_alive()


def _gate(session) -> RerunGate:
    gate = session.__dict__.get("_lrlab_gate")
    if gate is None:
        gate = session.__dict__["_lrlab_gate"] = RerunGate()
    return gate


def _install_rerun_gate(app_session_module) -> None:
    from streamlit import config

    app_session_cls = app_session_module.AppSession
    shutdown = app_session_module.AppSessionState.SHUTDOWN_REQUESTED
    original = app_session_cls.request_rerun

    def try_start(session, gate: RerunGate) -> None:
        """Start the pending run if the session's stopped runs have ended and its rate allows;
        else look again shortly (on the session's event loop)."""
        gate.timer = None
        if gate.pending is None:
            return
        if session._state == shutdown:
            gate.pending = None
            return
        gate.stopping = [r for r in gate.stopping if _alive(r)]
        wait = gate.wait_s(time.monotonic())
        if gate.stopping or wait > 0:
            gate.timer = session._event_loop.call_later(max(wait, POLL_S), try_start, session, gate)
            return
        client_state, gate.pending = gate.pending, None
        gate.last_start = time.monotonic()
        _LOG.debug("start %s", session.id[:8])
        if session._scriptrunner is not None:  # e.g. a fragment run started meanwhile
            gate.stopping.append(session._scriptrunner)
        original(session, client_state)

    def prime(session, gate: RerunGate, client_state) -> None:
        """Run the page once without showing it (its events go nowhere), so that its widgets
        are registered under their keys; the request then runs again, for real."""
        _LOG.info("Session %s starts with %d widget values from the browser (a reconnect): "
                  "drawing its page once unseen before the real run.", getattr(session, "id", "?"),
                  len(client_state.widget_states.widgets))
        original(session, client_state)
        primer, session._scriptrunner = session._scriptrunner, None
        if primer is not None:
            gate.stopping.append(primer)  # not stopped: try_start waits for it to finish
        gate.pending = merge_requests(gate.pending, client_state)
        gate.last_start = -math.inf       # the real run follows as soon as the unseen one ends
        try_start(session, gate)

    def request_rerun(self, client_state) -> None:
        if (client_state is not None and client_state.fragment_id
                and not self.has_fragment(client_state.fragment_id)):
            # A fragment this session never drew (the browser's page is from a session before
            # a restart, or from another replica): Streamlit drops the request, and with it
            # the student's edit; run the whole page with the browser's values instead.
            client_state = _without_fragment(client_state)
        waiting = self.__dict__.get("_lrlab_gate")
        if (client_state is not None and client_state.fragment_id and waiting is not None
                and (waiting.pending is not None or any(_alive(r) for r in waiting.stopping))):
            # a full run is waiting (or an unseen/stopped one still running): never run a
            # fragment beside it; the full run that comes draws the fragment too
            client_state = _without_fragment(client_state)
        if (client_state is None or client_state.fragment_id or self._state == shutdown
                or not config.get_option("runner.fastReruns")):
            return original(self, client_state)
        gate = _gate(self)
        if _LOG.isEnabledFor(logging.DEBUG):
            _LOG.debug("rerun request %s: fresh=%s running=%s pending=%s widgets=%s", self.id[:8],
                       gate.fresh, self._scriptrunner is not None, gate.pending is not None,
                       [(w.id.rsplit("-", 1)[-1], w.WhichOneof("value")) for w in
                        client_state.widget_states.widgets])
        if gate.fresh:
            gate.fresh = False
            # Never run before: no run has started (the first run names its page in the
            # session's client state), e.g. not a session that ran before install() did.
            never_ran = self._scriptrunner is None and not self._client_state.page_script_hash
            if never_ran and client_state.widget_states.widgets:
                return prime(self, gate, client_state)
        gate.recent.append(time.monotonic())
        if self._scriptrunner is not None:  # what fastReruns does, without starting a new thread yet
            self._scriptrunner.request_stop()
            gate.stopping.append(self._scriptrunner)
            self._scriptrunner = None
        gate.pending = merge_requests(gate.pending, client_state)
        if gate.timer is None:
            try_start(self, gate)

    request_rerun.__doc__ = original.__doc__
    app_session_cls.request_rerun = request_rerun


def _install_clear_cache_refusal(app_session_cls) -> None:
    def refuse_clear_cache(self) -> None:
        """Refused: the caches are shared by every user of the process."""
        _LOG.warning("Refused a clear_cache request from session %s (the caches are shared).",
                     getattr(self, "id", "?"))

    app_session_cls._handle_clear_cache_request = refuse_clear_cache


class OneLineFilter(logging.Filter):
    """Drop the traceback from Streamlit's "Error deserializing back message" (a client's junk
    frame, not a server fault): the record keeps one line with the error's type and text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and str(record.msg).startswith("Error deserializing back message"):
            err = record.exc_info[1]
            record.msg = f"{record.msg} ({type(err).__name__}: {str(err)[:200]}); closing the connection"
            record.exc_info = None
            record.exc_text = None
        return True


def _install_text_frame_refusal() -> None:
    from starlette.websockets import WebSocket, WebSocketDisconnect

    original = WebSocket.receive_bytes

    async def receive_bytes(self) -> bytes:
        """Starlette's receive_bytes, except that a text frame is refused with one log line
        and a close (1003, unsupported data) instead of an exception out of the handler."""
        if self.scope.get("path", "").endswith("/_stcore/stream"):
            message = await self.receive()
            self._raise_on_disconnect(message)
            data = message.get("bytes")
            if data is None:
                _LOG.warning("Refused a text frame on the websocket from %s (the protocol is "
                             "binary); closing the connection.", (self.client or ("?",))[0])
                await self.close(code=1003)
                raise WebSocketDisconnect(1003)
            return data
        return await original(self)

    WebSocket.receive_bytes = receive_bytes


def install() -> bool:
    """Patch the running Streamlit server (see the module's docstring); True if this call
    installed the patches, False if they were already in place."""
    from streamlit.runtime import app_session

    if os.environ.get("LRLAB_GUARD", "on").strip().lower() == "off":  # to measure without it
        return False
    if getattr(app_session.AppSession, _MARK, False):
        return False
    setattr(app_session.AppSession, _MARK, True)
    _install_rerun_gate(app_session)
    _install_clear_cache_refusal(app_session.AppSession)
    _install_text_frame_refusal()
    logging.getLogger("streamlit.web.server.starlette.starlette_websocket").addFilter(OneLineFilter())
    if not _LOG.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        _LOG.addHandler(handler)
        _LOG.setLevel(logging.DEBUG if os.environ.get("LRLAB_GUARD_DEBUG") else logging.INFO)
        _LOG.propagate = False
    return True


if __name__ == "__main__":  # python -m ui.guard run app.py ...: the patches, then Streamlit's CLI
    install()
    from streamlit.web.cli import main

    sys.exit(main())
