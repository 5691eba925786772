"""Shared links (issue 10) in a real browser: on each of the five pages that keep their settings
in the URL, change one control, wait for the address bar to carry it, open that address in a
new tab (a new Streamlit session) and find the control showing the changed value.

The network pages compile JAX on their first load (20-50 s on a busy 2-core machine), so their
waits are long. Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
import test_playground_browser as _playground
from test_playground_browser import CHART, CONNECTED, EXCEPTION, IDLE, SIDEBAR, WAIT_MS, expect

js_errors = _playground.js_errors  # the fixture that collects uncaught JS errors and dialogs

SLOW_MS = 150_000  # a network page's first load compiles JAX
WARNING = "[data-testid='stAlertContentWarning']"


@dataclass(frozen=True)
class Case:
    path: str
    key: str  # the Streamlit key of a number input in the sidebar
    typed: str  # what is typed into it
    param: str  # the URL key that carries it
    shown: str  # how the input shows it (and the URL writes it)
    slow: bool = False

    def __str__(self) -> str:
        return self.path


CASES = [
    Case("schedules", "sch_lr", "0.05", "lr", "0.05"),
    Case("grid-search", "grid_steps_surface", "150", "steps", "150"),
    Case("lr-finder", "lrf_seeds", "2", "seeds", "2", slow=True),
    Case("network-training", "nt_seed", "3", "seed", "3", slow=True),
    Case("fine-tuning", "ft_seed", "4", "seed", "4", slow=True),
]


def loaded(page, url: str, timeout_ms: int) -> None:
    """Go to ``url``; wait for the connection, a drawn chart and an idle script; no exception."""
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(f"{CHART} .main-svg").or_(page.locator(EXCEPTION)).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()


def query(url: str) -> dict:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_changed_control_survives_in_a_new_session(page, browser_context, app_url, artifacts,
                                                     js_errors, case):
    timeout = SLOW_MS if case.slow else WAIT_MS
    loaded(page, f"{app_url}/{case.path}", timeout)
    field = page.locator(SIDEBAR).locator(f".st-key-{case.key} input")
    assert field.input_value() != case.shown
    before = query(page.url)
    assert before.get(case.param) != case.shown
    field.click()
    field.fill(case.typed)
    field.press("Enter")
    # the address bar carries the change (Streamlit writes it with the history API)
    page.wait_for_function(
        "([k, v]) => new URLSearchParams(window.location.search).get(k) === v",
        arg=[case.param, case.shown], timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)
    link = page.url
    assert query(link) == {**before, case.param: case.shown}, (before, link)
    # a new tab is a new Streamlit session: it starts from the link alone
    fresh = browser_context.new_page()
    try:
        loaded(fresh, link, timeout)
        expect(fresh.locator(SIDEBAR).locator(f".st-key-{case.key} input")).to_have_value(case.shown)
        assert query(fresh.url) == query(link)  # the new session keeps the link as it was
        assert fresh.locator(WARNING).count() == 0, fresh.locator(WARNING).all_inner_texts()
        fresh.screenshot(path=str(artifacts / f"shared-link-{case.path}.png"))
    finally:
        fresh.close()
    assert not js_errors, js_errors
