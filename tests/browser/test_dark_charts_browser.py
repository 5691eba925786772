"""Surfaces, stability maps and decision regions in the browser's dark theme: deeper than in
the light theme (no glaring pale square on a dark page).

Streamlit follows the browser's prefers-color-scheme (Playwright's ``color_scheme``); each
page passes ``dark=ui.widgets.dark_page()`` to its chart builders. Per page and theme this
reads the colours the chart was actually drawn with (the Plotly figure in the page: the
surface's PNG, the map's or the regions' colour scale), prints the lightest colour's
luminance, and asserts the dark one is well below the light one. Screenshots:
test-artifacts/dark-charts-<page>-<theme>.png.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from conftest import VIEWPORT, WAIT_MS

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
SLOW_MS = 150_000  # a network page compiles JAX on its first load
THEMES = ("light", "dark")

# Per page: JS returning what the chart was drawn with, from the Plotly figures in the page.
SURFACE = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  const img = (gd.layout.images || [])[0]; if (img && img.source) return {png: img.source}; } }"""
MAP = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  const t = gd.data[0]; if (t.type === 'heatmap' && t.name === 'regimes')
    return {colors: t.colorscale.map(s => s[1])}; } }"""
REGIONS = """() => { for (const gd of document.querySelectorAll('.js-plotly-plot')) {
  const t = gd.data[0]; if ((gd.layout.sliders || []).length && t.marker && t.marker.colorscale)
    return {colors: t.marker.colorscale.map(s => s[1])}; } }"""
PAGES = [("playground", SURFACE, False), ("stability-maps", MAP, True),
         ("network-training", REGIONS, True)]


def luminance(rgb) -> np.ndarray:
    """WCAG relative luminance of RGB values 0-255 (any leading shape)."""
    c = np.asarray(rgb, np.float64) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ [0.2126, 0.7152, 0.0722]


def lightest(drawn: dict) -> float:
    """The lightest luminance of what a chart was drawn with: a PNG's opaque pixels or a
    colour scale's '#rrggbb' colours."""
    if "png" in drawn:
        from PIL import Image

        raw = base64.b64decode(drawn["png"].split(",", 1)[1])
        rgba = np.asarray(Image.open(io.BytesIO(raw)).convert("RGBA"))
        return float(luminance(rgba[rgba[..., 3] == 255][:, :3]).max())
    return float(max(luminance([int(c[k: k + 2], 16) for k in (1, 3, 5)]) for c in drawn["colors"]))


@pytest.fixture(scope="module")
def themed(browser):
    contexts = {}
    for theme in THEMES:
        context = browser.new_context(viewport=VIEWPORT, color_scheme=theme)
        context.set_default_timeout(WAIT_MS)
        contexts[theme] = context
    yield contexts
    for context in contexts.values():
        context.close()


@pytest.mark.parametrize("path,script,slow", PAGES, ids=[p for p, _, _ in PAGES])
def test_charts_are_deeper_in_the_dark_theme(themed, app_url, artifacts, path, script, slow):
    found = {}
    for theme in THEMES:
        page = themed[theme].new_page()
        try:
            page.goto(f"{app_url}/{path}")
            page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
            timeout = SLOW_MS if slow else WAIT_MS
            page.wait_for_function(f"() => ({script})() !== undefined", timeout=timeout)
            page.wait_for_selector(IDLE, timeout=timeout)
            assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()
            found[theme] = lightest(page.evaluate(script))
            page.screenshot(path=str(artifacts / f"dark-charts-{path}-{theme}.png"))
        finally:
            page.close()
    print(f"\n{path}: lightest colour's luminance, light theme {found['light']:.3f}, "
          f"dark theme {found['dark']:.3f}")
    assert found["dark"] < 0.6 * found["light"], found
