"""benchmarks/st_client.py against real Streamlit servers: the app's Playground, junk, and an
app that raises (its exception must come back as an error)."""

from __future__ import annotations

import asyncio
import contextlib
import doctest
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from benchmarks import st_client
from benchmarks.st_client import StreamlitClient
from tests.browser.conftest import ARTIFACTS, ServerError, _free_port, _healthy, _python, serve_app
from tests.lrlab_servers import run_async

RAISING_APP = textwrap.dedent("""
    import streamlit as st
    st.title("raiser")
    n = st.number_input("n", 0, 10, key="n")
    if n == 3:
        raise ZeroDivisionError("three")
    st.write(f"n is {n}")
""")


@pytest.fixture(scope="module")
def app_base():
    """The project's app (app.py) on a free port, as the browser tests start it."""
    try:
        with serve_app(log_path=ARTIFACTS / "st-client-server.log") as base:
            yield base
    except ServerError as e:
        pytest.fail(str(e), pytrace=False)


@contextlib.contextmanager
def serve_script(script: Path, log_path: Path):
    """``streamlit run script`` on a free port (for an app other than app.py)."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [str(_python()), "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=script.parent, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not _healthy(f"{base}/_stcore/health"):
                assert proc.poll() is None, log_path.read_text(errors="replace")[-2000:]
                assert time.monotonic() < deadline, "the test app never became healthy"
                time.sleep(0.25)  # polling the health endpoint
            yield base, proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=15)


def run(coro):
    return run_async(coro)


def test_doctests():
    assert doctest.testmod(st_client).failed == 0


def test_playground_chart_rate_change_and_cached_reference(app_base):
    async def scenario():
        async with StreamlitClient(app_base, "/playground", "lr=0.3") as c:
            first = c.first
            assert first.ok, first.errors
            charts = first.plotly_specs()
            assert len(charts) == 3
            assert "lr = 0.3" in charts[0]  # the trajectory figure names the URL's rate
            assert "Playground" in first.texts()
            c.set_widget("lr_num_0", 0.05)
            changed = await c.rerun()
            assert changed.ok, changed.errors
            assert "lr=0.05" in (changed.query_string or "")
            assert any("lr = 0.05" in f for f in changed.plotly_specs())
            # the rate entry is in the page's fragment: only the runs' part is redrawn
            assert changed.fragment_id and changed.status == "fragment finished"
            kinds = {e.WhichOneof("type") for _, e in changed.elements}
            assert "selectbox" not in kinds and "metric" not in kinds  # surface picker, theory
            assert len(changed.elements) < len(first.elements) / 2
            same = await c.rerun()  # nothing changed: the large figure comes back by its hash
            assert same.ok, same.errors
            assert same.refs >= 1
            assert same.bytes < changed.bytes
            assert any("lr = 0.05" in f for f in same.plotly_specs())
    run(scenario())


def test_a_button_in_the_fragment_that_changes_other_controls_reruns_the_page(app_base):
    """'Use the best heavy ball' sits in the Playground's fragment but also sets the momentum
    (a control outside it): the click must end in a full run showing the new momentum."""
    async def scenario():
        async with StreamlitClient(app_base, "/playground", "lr=0.05") as c:
            c.set_widget("momentum", 0.5)
            full = await c.rerun()
            assert full.ok and not full.fragment_id, full.errors
            button = next(w for w in c.widgets.values() if w.label.startswith("Use the best heavy"))
            assert button.fragment_id  # drawn by the fragment
            c.click(button.label)
            r = await c.rerun()
            assert r.ok, r.errors
            assert r.runs >= 1 and r.status == "finished"  # ended in a full run
            momentum = next(e.slider for _, e in r.elements
                            if e.WhichOneof("type") == "slider" and e.slider.id.endswith("-momentum"))
            assert len(momentum.value) == 1 and momentum.value[0] != 0.5  # the best β, not 0.5
            assert "momentum=" in (r.query_string or c.query)
    run(scenario())


def test_junk_query_and_unknown_page_give_no_exception(app_base):
    async def scenario():
        async with StreamlitClient(app_base, "/playground", "lr=banana&steps=-5&surface=%00") as c:
            assert c.first.ok, c.first.errors
            assert not c.first.exceptions
            warnings = [a.alert.body for a in c.first.elements_of("alert")]
            assert any("banana" in w for w in warnings), warnings
            assert len(c.first.elements_of("plotly_chart")) == 3  # the default scene
        async with StreamlitClient(app_base, "/no-such-page", "x=%ff%fe") as c:
            assert c.first.ok, c.first.errors
            assert c.first.page_not_found is not None
    run(scenario())


def test_an_exception_the_app_raises_is_an_error(tmp_path):
    script = tmp_path / "raiser.py"
    script.write_text(RAISING_APP)

    async def scenario(base):
        async with StreamlitClient(base, "/") as c:
            assert c.first.ok, c.first.errors
            assert "n is 0" in c.first.texts()
            c.set_widget("n", 3)
            bad = await c.rerun()
            assert not bad.ok
            assert any("ZeroDivisionError" in e for e in bad.exceptions), bad.exceptions
            c.set_widget("n", 4)
            good = await c.rerun()
            assert good.ok, good.errors
            assert "n is 4" in good.texts()

    with serve_script(script, ARTIFACTS / "st-client-raiser.log") as (base, _):
        run(scenario(base))


def test_many_sessions_in_one_event_loop(app_base):
    """Sessions are independent: each sees its own rate, concurrently."""
    rates = [0.01, 0.02, 0.04, 0.08]

    async def one(lr):
        async with StreamlitClient(app_base, "/playground", f"lr={lr}") as c:
            assert c.first.ok, c.first.errors
            return c.first.plotly_specs()[0]

    async def scenario():
        return await asyncio.gather(*(one(lr) for lr in rates))

    specs = run(scenario())
    for lr, spec in zip(rates, specs, strict=True):
        assert f"lr = {lr:g}" in spec


def test_closed_server_is_reported_not_raised(tmp_path):
    script = tmp_path / "tiny.py"
    script.write_text("import streamlit as st\nst.write('hi')\n")

    async def scenario(base, proc):
        c = StreamlitClient(base, "/", timeout_s=30)
        await c.connect()
        assert c.first.ok, c.first.errors
        proc.terminate()
        proc.wait(timeout=15)
        r = await c.rerun()
        assert not r.ok
        assert r.status.startswith("disconnected"), r.status
        await c.close()

    with serve_script(script, ARTIFACTS / "st-client-tiny.log") as (base, proc):
        run(scenario(base, proc))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
