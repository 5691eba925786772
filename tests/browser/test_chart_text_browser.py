"""Chart texts in the browser: on a presenter slide they are read by screen readers but take no
room (the slide's layout is what it was without them), and the digits mosaic of Network training
is light ink on the dark page in the dark theme, its labels readable there.

Screenshots: test-artifacts/chart-text-<what>.png.
"""

from __future__ import annotations

import re

import numpy as np
from conftest import WAIT_MS

IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
SLOW_MS = 150_000  # a network page compiles JAX on its first load

# Per chart text: its element's position, and, when it sits in a column with one chart, the
# column's height against the chart's (equal: the text adds nothing to the slide).
LAYOUT = """() => [...document.querySelectorAll('p.lrl-chart-text')].map(p => {
  const box = p.closest('[data-testid="stElementContainer"]');
  const block = box.parentElement;
  const charts = [...block.children].filter(c => c.querySelector('.js-plotly-plot'));
  return {text: p.textContent, position: getComputedStyle(box).position,
          block: block.getBoundingClientRect().height,
          chart: charts.length === 1 && block.children.length === 2  // a column: the chart, its text
                 ? charts[0].getBoundingClientRect().height : null};
})"""
DIGITS = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  const t = gd.data[0]; if (t.type === 'heatmap' && (gd.layout.annotations || []).length)
    return {scale: t.colorscale.map(s => s[1]), paper: gd._fullLayout.paper_bgcolor,
            colors: [...new Set(gd.layout.annotations.map(a => a.font.color))]}; } }"""


def luminance(color: str) -> float:
    """WCAG relative luminance of '#rrggbb' or 'rgb(r, g, b)'."""
    if color.startswith("#"):
        rgb = [int(color[k: k + 2], 16) for k in (1, 3, 5)]
    else:
        rgb = [int(v) for v in re.findall(r"\d+", color)[:3]]
    c = np.array(rgb) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_presenter_slides_chart_texts_take_no_room(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.set_default_timeout(WAIT_MS)
    try:
        # lesson 6: a surface experiment (two charts in columns) and a rate sweep; lesson 7: fine-tuning
        for slug, section, n in (("06-finding-a-good-rate", 5, 2), ("06-finding-a-good-rate", 8, 1),
                                 ("07-fine-tuning", 6, 1)):
            page = context.new_page()
            try:
                page.goto(f"{app_url}/{slug}?present=1&section={section}")
                page.wait_for_function(
                    f"() => document.querySelectorAll('p.lrl-chart-text').length >= {n} && "
                    f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=SLOW_MS)
                page.wait_for_selector(IDLE, timeout=SLOW_MS)
                assert page.locator(EXCEPTION).count() == 0
                charts = page.locator(".js-plotly-plot").count()
                found = page.evaluate(LAYOUT)
                page.screenshot(path=str(artifacts / f"chart-text-{slug}-{section}.png"))
                print(f"\n{slug} slide {section}: {charts} charts, texts "
                      + "; ".join(f"{f['position']}, block {f['block']:.0f} px, chart {f['chart']}"
                                  for f in found))
                assert charts == len(found) == n, (charts, found)
                for f in found:
                    assert f["position"] == "absolute" and re.search(r"\d", f["text"]), f
                    if f["chart"] is not None:  # in a column: exactly the chart's height
                        assert abs(f["block"] - f["chart"]) < 1, f
            finally:
                page.close()
    finally:
        context.close()


def test_digits_are_light_ink_on_the_dark_page(browser, app_url, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    try:
        page.goto(f"{app_url}/network-training?data=digits")
        page.wait_for_function(f"() => ({DIGITS})() !== undefined", timeout=SLOW_MS)
        page.wait_for_selector(IDLE, timeout=SLOW_MS)
        drawn = page.evaluate(DIGITS)
        mosaic = page.locator(".js-plotly-plot").nth(1)
        mosaic.scroll_into_view_if_needed()
        mosaic.screenshot(path=str(artifacts / "chart-text-digits-dark.png"))
        blank, ink = luminance(drawn["scale"][0]), luminance(drawn["scale"][-1])
        ratios = {c: round(contrast(c, drawn["paper"]), 2) for c in drawn["colors"]}
        print(f"\ndigits, dark theme: background {drawn['paper']}, blank pixel {blank:.3f}, full ink "
              f"{ink:.3f}, label contrast {ratios}")
        assert luminance(drawn["paper"]) < 0.02 and blank < 0.02 < 0.9 < ink, drawn
        assert ratios and min(ratios.values()) >= 4.5, ratios
        text = page.locator("p.lrl-chart-text", has_text="validation digits").inner_text()
        assert re.match(r"40 validation digits with their predicted labels: \d+ right, \d+ wrong", text)
    finally:
        context.close()
