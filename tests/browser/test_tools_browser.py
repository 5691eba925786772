"""The rate-finding and network pages in a real browser: each draws its charts, and a bad
input gets a visible warning (and a sensible fallback), never an exception.

One page load per page. The network pages compile JAX on their first run, which takes
20-50 s on a busy 2-core machine, so their first load may take up to two minutes.
Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import test_playground_browser as _playground
from test_playground_browser import (
    CHART,
    CONNECTED,
    EXCEPTION,
    IDLE,
    SIDEBAR,
    WAIT_MS,
    expect,
    expect_no_dialog,
    expect_no_exception,
)

js_errors = _playground.js_errors  # the fixture that collects uncaught JS errors and dialogs

FIRST_LOAD_MS = 120_000  # a network page's first load compiles JAX
WARNING = "[data-testid='stAlertContentWarning']"


@dataclass(frozen=True)
class Case:
    path: str
    title: str
    charts: int  # at least this many Plotly charts on the page as it opens
    field: str  # the Streamlit key of the input given a bad value
    bad: str
    warning: str  # a part of the warning the bad value must produce
    slow: bool = False  # trains a network (JAX compiles on the first load)

    def __str__(self) -> str:
        return self.path


CASES = [
    Case("schedules", "Schedules", 3, "sch_lr", "-1", "The peak rate must be positive"),
    Case("grid-search", "Grid search", 3, "grid_lo_surface", "5",
         "The smallest rate (5) must be below the largest (1)"),
    Case("lr-finder", "Learning-rate range test", 1, "lrf_min", "100",
         "The smallest rate (100) must be below the largest (10)", slow=True),
    Case("network-training", "Network training", 2, "nt_hidden_moons", "0",
         "Every hidden layer needs 1 to 256 units", slow=True),
    Case("fine-tuning", "Fine-tuning without forgetting", 1, "ft_units", "0",
         "The network needs at least one hidden unit per layer", slow=True),
]


def open_page(page, url: str, timeout_ms: int) -> None:
    """Go to ``url``; wait until connected, a chart is drawn (or an exception shows) and the
    script is idle; like the Playground tests' open_app, with a longer wait allowed."""
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(f"{CHART} .main-svg").or_(page.locator(EXCEPTION)).first.wait_for(timeout=timeout_ms)
    expect_no_exception(page)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    expect_no_dialog(page)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_page_draws_its_charts_and_warns_on_bad_input(page, app_url, artifacts, js_errors, case):
    timeout = FIRST_LOAD_MS if case.slow else WAIT_MS
    open_page(page, f"{app_url}/{case.path}", timeout)
    expect(page.locator("h1").first).to_have_text(case.title)
    charts = page.locator(f"{CHART}:visible")
    assert charts.count() >= case.charts, f"{charts.count()} charts, expected {case.charts} or more"
    assert page.locator(WARNING).count() == 0, page.locator(WARNING).all_inner_texts()
    page.screenshot(path=str(artifacts / f"tool-{case.path}.png"))

    field = page.locator(SIDEBAR).locator(f".st-key-{case.field} input")
    field.click()
    field.fill(case.bad)
    field.press("Enter")
    warning = page.locator(WARNING, has_text=case.warning)
    expect(warning).to_be_visible(timeout=timeout)
    page.wait_for_selector(IDLE, timeout=timeout)
    expect_no_exception(page)
    expect_no_dialog(page)
    # The page falls back to its defaults and still shows its charts.
    assert page.locator(f"{CHART}:visible").count() >= case.charts
    expect(page.locator(f"{CHART} .main-svg").first).to_be_visible()
    page.screenshot(path=str(artifacts / f"tool-{case.path}-bad-input.png"))
    assert not js_errors, js_errors


def test_network_training_with_adam(page, app_url, artifacts, js_errors):
    """Picking Adam with the mouse: its own rates (0.0001 to 0.1), no momentum slider, a new run."""
    open_page(page, f"{app_url}/network-training", FIRST_LOAD_MS)
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.locator(".st-key-nt_momentum")).to_be_attached()
    combo = sidebar.locator(".st-key-nt_opt input")
    expect(combo).to_have_value("SGD")
    combo.click()
    combo.fill("Adam")  # typing filters the list and keeps it open
    page.get_by_role("option", name="Adam", exact=True).click()
    expect(sidebar.locator(".st-key-nt_rates_adam input")).to_have_value("0.0001, 0.001, 0.01, 0.1",
                                                                       timeout=FIRST_LOAD_MS)
    page.wait_for_selector(IDLE, timeout=FIRST_LOAD_MS)
    expect_no_exception(page)
    expect(sidebar.locator(".st-key-nt_momentum")).to_have_count(0)
    expect(page.get_by_text("The momentum slider is for plain SGD").first).to_be_attached()
    expect(page.locator(".stMarkdownBadge", has_text="lr = 0.0001:")).to_be_visible()
    assert page.locator(f"{CHART}:visible").count() >= 2
    page.screenshot(path=str(artifacts / "tool-network-training-adam.png"))
    assert not js_errors, js_errors
