"""A server restart keeps the student's scene and their next edit (issue 13).

Chromium keeps the page open while the app process is restarted on the same port; the page
reconnects to a new session. Before ui/guard.py, the new session's page wrote the link's
values into the widgets' state before the widgets existed, and the student's first edit
after the restart was lost (measured: Seed 3 -> restart -> typed 5 -> the page kept 3).
The server is ``python -m ui.guard run app.py``, as in deploy/Dockerfile.
"""

from __future__ import annotations

from tests.browser.conftest import ARTIFACTS, CONNECTED, IDLE, VIEWPORT, WAIT_MS
from tests.lrlab_servers import free_port, guarded_server

PAGE = "network-training"  # its settings live in the link (ui.urlstate.restore and init)


def _seed(page):
    return page.locator("input[aria-label='Seed']").first


def _type_seed(page, value: int) -> None:
    _seed(page).fill(str(value))
    _seed(page).press("Enter")


def test_a_restart_keeps_the_scene_and_the_next_edit(browser):
    port = free_port()
    log = ARTIFACTS / "restart-server.log"
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS * 2)
    page = context.new_page()
    try:
        with guarded_server(log, port) as (base, _):
            page.goto(f"{base}/{PAGE}")
            page.wait_for_selector(CONNECTED)
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_selector(IDLE)
            _type_seed(page, 3)
            page.wait_for_function("location.search.includes('seed=3')")
            page.wait_for_selector(IDLE)
        # the process is gone; the page stays open and reconnects to the new one
        with guarded_server(log, port):
            page.wait_for_selector(CONNECTED)
            page.wait_for_selector(IDLE)
            assert "seed=3" in page.url and _seed(page).input_value() == "3"  # the scene
            _type_seed(page, 5)
            page.wait_for_function("location.search.includes('seed=5')")  # the edit: kept
            page.wait_for_selector(IDLE)
            assert _seed(page).input_value() == "5"
            page.screenshot(path=str(ARTIFACTS / "restart-kept-edit.png"))
    finally:
        context.close()
