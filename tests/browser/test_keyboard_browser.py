"""Keyboard only: Tab reaches Play without passing through the chart toolbars, Enter plays the
animation, and the step slider (just before Play in the tab order) moves one frame per arrow
key (ui/keyboard.py).

Runs on the Playground and the Schedules page (their path charts have Play/Pause and a step
slider; ui/keyboard.py is installed for every page by app.py).
"""

from __future__ import annotations

import pytest
from test_playground_browser import CHART, IDLE, PLAY, WAIT_MS, expect, open_app

MAX_TABS = 120  # far more than the page's controls: Tab must reach Play well before this

ACTIVE = """() => { const a = document.activeElement;
  return {tag: a.tagName, cls: a.getAttribute('class') || '', role: a.getAttribute('role'),
          label: a.getAttribute('aria-label') || '', now: a.getAttribute('aria-valuenow'),
          text: a.getAttribute('aria-valuetext')}; }"""


def slider_active(chart) -> int:
    return chart.evaluate("el => el.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active")


def tab_until(page, wanted) -> list[dict]:
    """Press Tab until ``wanted(focused)``; return every element focused on the way."""
    seen = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(ACTIVE))
        if wanted(seen[-1]):
            return seen
    raise AssertionError(f"not reached in {MAX_TABS} tabs; focused: {seen}")


@pytest.mark.parametrize("where", ["playground", "schedules"])
def test_play_and_step_slider_by_keyboard(page, app_url, artifacts, where):
    open_app(page, f"{app_url}/{where}", f"{CHART} {PLAY}")
    page.wait_for_selector("g.updatemenu-button[tabindex='0'][role='button']", timeout=WAIT_MS)
    chart = page.locator(CHART).filter(has=page.locator(PLAY)).first
    assert slider_active(chart) == 0

    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # from the top
    path = tab_until(page, lambda a: a["role"] == "button" and a["label"] == "Play")
    toolbar = [a for a in path if "modebar-btn" in a["cls"]]
    assert not toolbar, f"Tab went through {len(toolbar)} chart-toolbar buttons before Play"
    page.screenshot(path=str(artifacts / f"keyboard-play-focused-{where}.png"))

    page.keyboard.press("Enter")
    page.wait_for_function(
        "el => el.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active > 0",
        arg=chart.element_handle(), timeout=WAIT_MS)

    # Pause is next; the slider comes just before Play (Plotly draws it first in the chart):
    # Home goes to the first frame, each arrow one frame on
    page.keyboard.press("Tab")
    assert page.evaluate(ACTIVE)["label"] == "Pause"
    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    focused = page.evaluate(ACTIVE)
    assert focused["role"] == "slider", focused
    page.keyboard.press("Home")
    page.wait_for_function("el => el.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active === 0",
                           arg=chart.element_handle(), timeout=WAIT_MS)
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.querySelector('.js-plotly-plot')._fullLayout.sliders[0].active === 2",
                           arg=chart.element_handle(), timeout=WAIT_MS)
    expect(page.locator("g.slider-container[role='slider']").first).to_have_attribute(
        "aria-valuenow", "2", timeout=WAIT_MS)
    label = page.locator(f"{CHART} g.slider-group > text.slider-label").first.text_content()
    assert label.strip().endswith(page.evaluate(ACTIVE)["text"].split()[-1]), label
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
