"""Browser-test set-up: one real Streamlit server per session and a fresh Chromium tab per test.

The server is started from the repo root on a free port with the project's own
interpreter (its output goes to test-artifacts/streamlit-server.log), and stopped
at the end of the session. Tabs come from Debian's Chromium (Playwright cannot
download its own browsers here) and share one browser context, so plotly.js and
the rest are fetched once; each tab is still its own Streamlit session. When Chromium or
the playwright package is missing, the tests skip with a reason locally and
fail in CI (``CI`` set to anything but 0/false/no), so CI never goes green
without running them.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_TIMEOUT_S = 120
WAIT_MS = 60_000  # generous: 2 cores, possibly shared with benchmarks

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    """Skip locally, fail in CI: a missing browser must never make CI pass silently."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error rather than a skip)",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_tools():
    """The playwright module's sync API, once Chromium and playwright are known to be present."""
    try:
        from playwright import sync_api
    except ImportError:
        _missing("the playwright Python package is not installed "
                 "(pip install -r requirements-dev.txt)")
    if not CHROMIUM.exists():
        _missing(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    return sync_api


def _python() -> Path:
    """The project's venv interpreter (what `make run` uses); this one if there is no venv."""
    venv = ROOT / ".venv" / "bin" / "python"
    return venv if venv.exists() else Path(sys.executable)


def _free_port(preferred: int = 0) -> int:
    """``preferred`` if it is free, else any free port."""
    for port in (preferred, 0) if preferred else (0,):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))
                return s.getsockname()[1]
        except OSError:
            continue
    raise OSError("no free port")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200 and r.read().strip() == b"ok"
    except (urllib.error.URLError, OSError):
        return False


class ServerError(RuntimeError):
    """The app server exited or never became healthy."""


@contextlib.contextmanager
def serve_app(log_path: Path | None = None, timeout_s: float = SERVER_START_TIMEOUT_S,
              port: int | None = None):
    """Run ``streamlit run app.py`` from the repo root on a free port; yield its base URL.

    Polls /_stcore/health until it answers "ok", and terminates the server on exit.
    The server's output goes to ``log_path`` (test-artifacts/streamlit-server.log).
    """
    log_path = log_path or ARTIFACTS / "streamlit-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    port = port or _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(_python()), "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + timeout_s
            while not _healthy(f"{base}/_stcore/health"):
                if proc.poll() is not None:
                    raise ServerError(f"streamlit exited with code {proc.returncode} before it "
                                      f"was healthy:\n{_tail(log_path)}")
                if time.monotonic() > deadline:
                    raise ServerError(f"streamlit was not healthy after {timeout_s:g} s:\n"
                                      f"{_tail(log_path)}")
                time.sleep(0.25)  # polling the health endpoint, not waiting for page state
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def _tail(path: Path, n: int = 3000) -> str:
    return path.read_text(errors="replace")[-n:]


@pytest.fixture(scope="session")
def app_url(browser_tools):
    """Base URL (no trailing slash) of a Streamlit server running app.py for this session."""
    with contextlib.ExitStack() as stack:
        try:
            base = stack.enter_context(serve_app())
        except ServerError as e:
            pytest.fail(str(e), pytrace=False)
        yield base


@pytest.fixture(scope="session")
def browser(browser_tools):
    browser_tools.expect.set_options(timeout=WAIT_MS)
    with browser_tools.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser_context(browser):
    """One context for the session, so its HTTP and code caches keep plotly.js compiled."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def page(browser_context):
    """A fresh 1400x1000 tab: each tab has its own websocket, so its own Streamlit session.
    Cookies are cleared first: the lessons keep progress per browser in a cookie's id, and
    each test starts as a new student."""
    browser_context.clear_cookies()
    pg = browser_context.new_page()
    yield pg
    pg.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
