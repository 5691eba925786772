"""The Stability maps page in a real browser: the map draws (its pixels are the regimes'
colours and the diverged hatching), and clicking a cell shows that cell's run below it.

``python tests/browser/test_maps_browser.py`` (from the repo root) writes
docs/stability-map.png from a real server.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from charts.maps import REGIME_COLORS, row_edges  # noqa: E402
from engine import maps  # noqa: E402
from engine.scene import fmt  # noqa: E402

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest's fixtures skip (or fail in CI) with the reason
    expect = None

WAIT_MS = 120_000  # a first map compiles the engine for its shape (seconds on 2 busy cores)
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
CHART = "[data-testid='stPlotlyChart']"
# A small map opens fast; the same settings are computed here to know where each cell is.
CONFIG = maps.MapConfig(n=32, rows=24, steps=100)
QUERY = {k: v for k, v in maps.config_to_query(CONFIG).items()}


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def hex_rgb(h: str) -> np.ndarray:
    return np.array([int(h[k:k + 2], 16) for k in (1, 3, 5)], dtype=np.int16)


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(f"{CHART} .main-svg").or_(page.locator(EXCEPTION)).first.wait_for(timeout=WAIT_MS)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    errors = page.locator(EXCEPTION)
    assert errors.count() == 0, errors.all_inner_texts()


def cell_centre(box: dict, m: maps.StabilityMap, i: int, j: int) -> tuple[float, float]:
    """Page coordinates of cell (row i, column j) inside the map's plot area ``box``."""
    n = len(m.rates)
    edges = row_edges(m.rows, False)
    fy = (m.rows[i] - edges[0]) / (edges[-1] - edges[0])
    return box["x"] + box["width"] * (j + 0.5) / n, box["y"] + box["height"] * (1 - fy)


@pytest.fixture(scope="module")
def expected() -> maps.StabilityMap:
    return maps.compute(CONFIG)


def test_clicking_a_cell_shows_that_run(page, app_url, artifacts, expected):
    m = expected
    open_map(page, f"{app_url}/stability-maps?{urlencode(QUERY)}")
    chart = page.locator(CHART).first
    chart.scroll_into_view_if_needed()
    area = chart.locator(".nsewdrag").first.bounding_box()

    # The pixels are the map: a converged cell and a diverged one, sampled off-centre
    # (the centre of a cell is where its invisible click target sits).
    shot = pixels(chart.screenshot(path=str(artifacts / "stability-map.png")))
    origin = chart.bounding_box()
    found = {}
    for regime in ("converged", "diverged", "slow"):
        cells = np.argwhere(m.regimes == maps.CODE[regime])
        assert len(cells), f"the test map has no {regime} cell"
        i, j = cells[len(cells) // 2]
        x, y = cell_centre(area, m, int(i), int(j))
        px = shot[int(y - origin["y"]), int(x - origin["x"] + 0.3 * area["width"] / len(m.rates))]
        found[regime] = px
    assert np.abs(found["converged"] - hex_rgb(REGIME_COLORS["converged"])).max() < 40, found
    assert np.abs(found["slow"] - hex_rgb(REGIME_COLORS["slow"])).max() < 40, found
    # diverged: its colour or the darker hatching over it, never the converged green
    div = hex_rgb(REGIME_COLORS["diverged"])
    assert (np.abs(found["diverged"] - div).max() < 40 or found["diverged"].sum() < div.sum()), found

    # Click an oscillating-free converged cell that is not the one shown by default.
    cells = [tuple(map(int, c)) for c in np.argwhere(m.regimes == maps.CODE["converged"])]
    target = next(c for c in cells if c != m.best_cell)
    i, j = target
    heading = f"The run at lr = {fmt(m.rates[j])}, β = {fmt(m.rows[i])}"
    assert page.get_by_text(heading).count() == 0
    x, y = cell_centre(area, m, i, j)
    page.mouse.move(x, y)
    page.mouse.click(x, y)
    expect(page.get_by_text(heading)).to_be_visible(timeout=WAIT_MS)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    assert page.locator(EXCEPTION).count() == 0

    # That exact run: its last point is the map's, and the Playground link carries its settings.
    end = m.final_points[i, j]
    expect(page.get_by_text(f"({end[0]:.6g}, {end[1]:.6g})", exact=False)).to_be_visible()
    link = page.get_by_role("link", name="Open this run in the Playground")
    q = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert q["lr"] == [fmt(m.rates[j])] and q["momentum"] == [fmt(m.rows[i])], q
    assert q["steps"] == [str(CONFIG.steps)] and q["b"] == ["100"], q
    assert parse_qs(urlsplit(page.url).query)["cell"] == [f"{i},{j}"]
    # the run's own charts are drawn: path on the surface (with Play) and its loss
    expect(page.locator(CHART).filter(has=page.locator("g.updatemenu-button")).first).to_be_visible()
    page.screenshot(path=str(artifacts / "stability-map-clicked.png"), full_page=True)


def write_docs_screenshot(path: Path = ROOT / "docs" / "stability-map.png") -> None:
    """The default map (128 x 128) with a run below it, for the README."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, serve_app

    with serve_app() as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1900})
        open_map(page, f"{base}/stability-maps")
        page.locator(CHART).first.scroll_into_view_if_needed()
        page.screenshot(path=str(path), full_page=False)
        browser.close()


if __name__ == "__main__":
    write_docs_screenshot()
