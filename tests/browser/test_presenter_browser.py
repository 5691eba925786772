"""Presenter mode on a projector: each experiment's slide fits the screen.

At 1280x720 and 1920x1080, in Chromium, a sample of experiment slides (a prediction, surfaces
with Play, schedules, a rate sweep, fine-tuning, several optimizers) is opened in presenter
mode (the prediction made first, as the instructor would); measured and printed: where the
charts, Plotly's Play button and the navigation bar sit, and the smallest body and chart
text. Asserted: every chart and the Play button end above the navigation bar, Previous and
Next are inside the screen, body text is at least 24 px and chart text at least 20 px, and
no run's text ("diverged at step N") runs past its chart's edge.
Screenshots go to test-artifacts/ (to docs/presenter-1280x720.png with
``LRLAB_DOCS_SCREENSHOTS=1``).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lessons.loader import load_all
from tests.browser.conftest import ARTIFACTS, IDLE, WAIT_MS

ROOT = Path(__file__).resolve().parents[2]
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
EXCEPTION = "[data-testid='stException']"
SLOW_MS = 180_000  # fine-tuning pre-trains a network on its first load
BODY_PX, CHART_PX = 24, 20
LESSONS = {lesson.slug: lesson for lesson in load_all()}
# (lesson, 1-based slide): every kind of experiment slide, the lessons the issue measured
SLIDES = [("02-too-large", 2), ("02-too-large", 5), ("05-schedules", 2), ("05-schedules", 10),
          ("06-finding-a-good-rate", 8), ("07-fine-tuning", 6), ("09-adaptive-optimizers", 21)]
SIZES = {"1280x720": (1280, 720), "1920x1080": (1920, 1080)}
CASES = [(s, n, "1280x720") for s, n in SLIDES] + [("02-too-large", 2, "1920x1080"),
                                                    ("09-adaptive-optimizers", 21, "1920x1080")]

MEASURE = """() => {
  const box = e => {
    const b = e.getBoundingClientRect();
    return {top: Math.round(b.top), bottom: Math.round(b.bottom)};
  };
  const shown = e => e.getBoundingClientRect().height > 0;
  const main = document.querySelector("[data-testid='stMain']");
  const nav = document.querySelector(".st-key-lrl-slide-nav");
  const buttons = [...nav.querySelectorAll('button')].filter(b => /Previous|Next/.test(b.innerText)).map(box);
  const charts = [...main.querySelectorAll("[data-testid='stPlotlyChart']")].filter(shown).map(box);
  const play = [...main.querySelectorAll('g.updatemenu-button')].filter(shown).map(box);
  const text = [...main.querySelectorAll("[data-testid='stMarkdownContainer'] p")].filter(shown)
    .map(e => parseFloat(getComputedStyle(e).fontSize));
  const chartText = [...main.querySelectorAll('.js-plotly-plot .main-svg text')]
    .filter(e => e.textContent.trim() && shown(e)).map(e => parseFloat(getComputedStyle(e).fontSize));
  // a run's text ("diverged at step N") that runs past its chart's edge, where Plotly cuts it
  // (the end-of-path name tags are annotations: not checked, see the issue 10 note)
  const cut = [...main.querySelectorAll('.js-plotly-plot')].flatMap(plot => {
    const edge = plot.getBoundingClientRect();
    return [...plot.querySelectorAll('.main-svg .scatterlayer text')]
      .filter(t => t.textContent.trim() && shown(t))
      .filter(t => { const b = t.getBoundingClientRect();
                     return b.right > edge.right + 1 || b.left < edge.left - 1; })
      .map(t => t.textContent.trim().slice(0, 40));
  });
  return {vh: window.innerHeight, nav: box(nav), buttons, charts, play, cut,
          body: Math.min(...text), chart: Math.min(...chartText)};
}"""


def spans(boxes) -> list[str]:
    return [f"{b['top']}-{b['bottom']}" for b in boxes]


@pytest.fixture(scope="module")
def projectors(browser):
    contexts = {}
    for name, (w, h) in SIZES.items():
        contexts[name] = browser.new_context(viewport={"width": w, "height": h})
        contexts[name].set_default_timeout(WAIT_MS)
    yield contexts
    for context in contexts.values():
        context.close()


def open_slide(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(".st-key-lrl-slide-nav").or_(page.locator(EXCEPTION)).first.wait_for(timeout=SLOW_MS)
    page.wait_for_selector(IDLE, timeout=SLOW_MS)
    run_it = page.get_by_role("button", name="Run it")
    chart = page.locator("[data-testid='stPlotlyChart'] .main-svg").or_(page.locator(EXCEPTION)).first
    # the slide's first content: its prediction (then a run) or its chart; the navigation bar
    # and an idle script alone can come before them
    run_it.or_(chart).first.wait_for(timeout=SLOW_MS)
    for _ in range(4):  # a prediction comes first: make one, as the instructor would
        if not run_it.count():
            break
        page.locator("[data-testid='stRadio'] [role='radiogroup'] label").first.click()
        page.wait_for_selector("button:has-text('Run it'):not([disabled])")
        page.wait_for_selector(IDLE, timeout=SLOW_MS)
        run_it.click()
        try:  # a click that lands while a rerun starts can be lost: then click again
            chart.wait_for(timeout=30_000)
            break
        except Exception:  # Playwright's TimeoutError (its module is imported lazily here)
            page.screenshot(path=str(ARTIFACTS / "presenter-retry.png"))
    chart.wait_for(timeout=SLOW_MS)
    page.wait_for_selector(IDLE, timeout=SLOW_MS)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()


@pytest.mark.parametrize("slug,slide,size", CASES, ids=[f"{s}-{n}-{z}" for s, n, z in CASES])
def test_an_experiment_slide_fits_the_projector(projectors, app_url, artifacts, slug, slide, size,
                                                measured):
    lesson = LESSONS[slug]
    assert LESSONS[slug].slides[slide - 1].experiment is not None, "not an experiment's slide"
    page = projectors[size].new_page()
    try:
        open_slide(page, f"{app_url}/{slug}?present=1&section={slide}")
        m = page.evaluate(MEASURE)
        shot = f"presenter-{slug}-{slide}-{size}.png"
        page.screenshot(path=str(artifacts / shot))
        if (slug, slide, size) == ("02-too-large", 2, "1280x720") and os.environ.get(
                "LRLAB_DOCS_SCREENSHOTS", "") not in ("", "0"):
            page.screenshot(path=str(ROOT / "docs" / "presenter-1280x720.png"))
    finally:
        page.close()
    measured(f"presenter {slug} slide {slide}/{len(lesson.slides)} at {size}: charts y {spans(m['charts'])}, "
             f"Play y {spans(m['play'])}, navigation bar y {m['nav']['top']}-{m['nav']['bottom']}; "
             f"smallest body text {m['body']} px, chart text {m['chart']} px")
    problems = []
    if not m["charts"]:
        problems.append("no chart drawn")
    for c in m["charts"]:
        if c["top"] < 0 or c["bottom"] > m["nav"]["top"] + 2:
            problems.append(f"a chart spans y={c['top']}..{c['bottom']}, "
                            f"not above the navigation bar at {m['nav']['top']}")
    for p in m["play"]:
        if p["bottom"] > m["nav"]["top"]:
            problems.append(f"Play/Pause at y={p['top']}..{p['bottom']} is under the navigation bar")
    if len(m["buttons"]) != 2 or any(b["top"] < 0 or b["bottom"] > m["vh"] for b in m["buttons"]):
        problems.append(f"Previous/Next not both on screen: {m['buttons']}")
    if m["cut"]:
        problems.append(f"chart text cut off at the chart's edge: {m['cut']}")
    if m["body"] < BODY_PX:
        problems.append(f"body text {m['body']} px (at least {BODY_PX})")
    if m["chart"] < CHART_PX:
        problems.append(f"chart text {m['chart']} px (at least {CHART_PX})")
    assert not problems, f"{slug} slide {slide} at {size}: " + "; ".join(problems)
