"""Each tool page at a desktop (1400x1000), a projector (1280x720) and a phone (390x844).

Measured in Chromium, one load per page and viewport, printed into the test output:
where the page's main chart sits against the first screen, whether the page scrolls
sideways, and the touch targets below 44 px in the page's main area. The test asserts:
the main chart's top is inside the first screen at every size and the whole chart is at
1400x1000; the phone never scrolls sideways; on the phone, the page's own buttons and
links (the ones a page draws with st.button, st.page_link, st.download_button,
st.link_button) are at least 44 px tall, no chart toolbar covers a legend, and (pages in
CONTROLS_IN_PAGE) the controls sit in a Settings expander above the chart; and (pages in
PLAY_FITS) at every size no animated chart's Play/Pause buttons overlap its step slider. Streamlit's
own chrome (the header's menu and the sidebar toggle) is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from conftest import WAIT_MS

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
CHART = "[data-testid='stPlotlyChart']"
SLOW_MS = 150_000  # a network page compiles JAX on its first load
MIN_TARGET = 44  # px: WCAG 2.5.5 / Apple and Google's touch-target size


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    phone: bool = False

    def __str__(self) -> str:
        return self.name


SIZES = [Size("desktop", 1400, 1000), Size("projector", 1280, 720), Size("phone", 390, 844, phone=True)]
# A phone's browser says so in its User-Agent (Playwright's is_mobile alone does not change it).
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
# Pages whose controls sit in the page, next to the chart, on a phone (ui.widgets.controls).
CONTROLS_IN_PAGE = ("schedules", "grid-search", "lr-finder", "playground", "network-training",
                    "fine-tuning", "stability-maps")
# Pages whose animated charts keep Play/Pause clear of the step slider at every size (on a phone
# charts.playground.trajectory_figure(narrow=True)); the others' overlaps are printed only.
PLAY_FITS = ("playground", "stability-maps", "schedules", "grid-search")
TOOLS = [("playground", False), ("schedules", False), ("grid-search", False), ("lr-finder", True),
         ("stability-maps", True), ("network-training", True), ("fine-tuning", True)]

MEASURE = """() => {
  const vw = window.innerWidth, vh = window.innerHeight;
  const chart = [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .find(c => c.getBoundingClientRect().height > 0);
  const box = chart ? chart.getBoundingClientRect() : null;
  const main = document.querySelector("[data-testid='stMain']") || document.body;
  const ours = [...main.querySelectorAll(
      "[data-testid='stBaseButton-secondary'], [data-testid='stBaseButton-primary'], " +
      "[data-testid='stPageLink-NavLink'], [data-testid='stDownloadButton'] button, " +
      "[data-testid='stLinkButton'] a")]
    .filter(e => e.getBoundingClientRect().height > 0)
    .map(e => ({text: (e.innerText || '').trim().slice(0, 30), w: Math.round(e.getBoundingClientRect().width),
                h: Math.round(e.getBoundingClientRect().height)}));
  const toolbars = [...document.querySelectorAll('.js-plotly-plot .modebar-container')]
    .filter(e => e.getBoundingClientRect().height > 0).length;
  const settings = [...main.querySelectorAll("[data-testid='stExpander'] summary")]
    .filter(e => /Settings/.test(e.innerText)).map(e => Math.round(e.getBoundingClientRect().top));
  // Play/Pause against the step slider in every animated chart: boxes that overlap.
  const rect = e => { const r = e.getBoundingClientRect();
                      return {l: r.left, r: r.right, t: r.top, b: r.bottom, w: r.width, h: r.height}; };
  const hit = (a, b) => a.l < b.r && b.l < a.r && a.t < b.b && b.t < a.b;
  const overlaps = [];
  for (const plot of document.querySelectorAll('.js-plotly-plot')) {
    const buttons = [...plot.querySelectorAll('.updatemenu-button')].map(rect).filter(r => r.w > 0);
    const slider = [...plot.querySelectorAll('.slider-rail-rect, .slider-grip-rect, .slider-current-value')]
      .map(rect).filter(r => r.w > 0);
    for (const a of buttons) for (const b of slider) if (hit(a, b))
      overlaps.push({button: [Math.round(a.l), Math.round(a.t), Math.round(a.r), Math.round(a.b)],
                     slider: [Math.round(b.l), Math.round(b.t), Math.round(b.r), Math.round(b.b)]});
  }
  return {vw, vh, scrollWidth: document.scrollingElement.scrollWidth, toolbars, settings, overlaps,
          chart: box && {top: Math.round(box.top), bottom: Math.round(box.bottom),
                         left: Math.round(box.left), right: Math.round(box.right)},
          small: ours.filter(t => t.h < MIN)};
}""".replace("MIN", str(MIN_TARGET))


@pytest.fixture(scope="module")
def sized_contexts(browser):
    contexts = {}
    for size in SIZES:
        context = browser.new_context(viewport={"width": size.width, "height": size.height},
                                      is_mobile=size.phone, has_touch=size.phone,
                                      **({"user_agent": PHONE_UA} if size.phone else {}))
        context.set_default_timeout(WAIT_MS)
        contexts[size.name] = context
    yield contexts
    for context in contexts.values():
        context.close()


def open_tool(page, url: str, timeout_ms: int) -> None:
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(f"{CHART} .main-svg").or_(page.locator(EXCEPTION)).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()
    page.evaluate("() => window.scrollTo(0, 0)")


@pytest.mark.parametrize("size", SIZES, ids=str)
@pytest.mark.parametrize("tool,slow", TOOLS, ids=[t for t, _ in TOOLS])
def test_main_chart_in_first_screen_and_no_sideways_scroll(sized_contexts, app_url, artifacts,
                                                           tool, slow, size, measured):
    page = sized_contexts[size.name].new_page()
    try:
        open_tool(page, f"{app_url}/{tool}", SLOW_MS if slow else WAIT_MS)
        m = page.evaluate(MEASURE)
        page.screenshot(path=str(artifacts / f"viewport-{tool}-{size}.png"))
        if size.phone:  # the whole main chart, below the first screen too (Play/Pause, slider)
            page.locator(f"{CHART} .main-svg").first.locator("xpath=ancestor::*[@data-testid="
                                                             "'stPlotlyChart']").screenshot(
                path=str(artifacts / f"viewport-{tool}-{size}-chart.png"))
    finally:
        page.close()
    c = m["chart"]
    line = (f"viewport {tool} {size} {m['vw']}x{m['vh']}: main chart top {c and c['top']} bottom "
            f"{c and c['bottom']} (x {c and c['left']}-{c and c['right']}); scrollWidth {m['scrollWidth']}; "
            f"targets under {MIN_TARGET} px: {m['small']}; chart toolbars shown: {m['toolbars']}; "
            f"Settings expander at y={m['settings']}; Play/Pause over the slider: {m['overlaps']}")
    print("\n" + line)
    measured(line)
    assert c is not None, f"{tool} at {size}: no chart drawn"
    problems = []
    if not 0 <= c["top"] < m["vh"]:
        problems.append(f"the main chart starts at y={c['top']}, below the first screen ({m['vh']} px)")
    if size.name == "desktop" and c["bottom"] > m["vh"]:
        problems.append(f"the main chart ends at y={c['bottom']}, below the first screen ({m['vh']} px)")
    if size.phone and m["scrollWidth"] > m["vw"]:
        problems.append(f"the page scrolls sideways: {m['scrollWidth']} px wide in {m['vw']}")
    if size.phone and m["toolbars"]:
        problems.append(f"{m['toolbars']} chart toolbars shown (they cover the legends on a phone)")
    if size.phone and tool in CONTROLS_IN_PAGE and not (m["settings"] and m["settings"][0] < c["top"]):
        problems.append(f"no Settings expander above the chart (controls in the drawer): {m['settings']}")
    if tool in PLAY_FITS and m["overlaps"]:
        problems.append(f"Play/Pause overlap the step slider: {m['overlaps']}")
    if size.phone and m["small"]:
        problems.append(f"touch targets under {MIN_TARGET} px: {m['small']}")
    assert not problems, f"{tool} at {size}: " + "; ".join(problems)
