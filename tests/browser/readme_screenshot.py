"""Refresh docs/playground.png, the README's picture of the Playground at its defaults.

    .venv/bin/python tests/browser/readme_screenshot.py [--out docs/playground.png]

With ``--optimizers`` it takes docs/playground-optimizers.png instead: SGD, SGD +
momentum and Adam on the Rosenbrock valley, each near its own best rate
(``OPTIMIZERS_QUERY``). ``--query`` shoots any other scene.

Starts the app on a free port (like the browser tests), opens /playground at
1400 px wide, grows the window to the page's full height (Streamlit scrolls
inside its own container, so Playwright's full_page alone shows one screen),
waits for the charts to settle and saves an optimised PNG. Not a test: pytest
does not collect this file.
"""

from __future__ import annotations

import argparse
import io
import sys

from conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    CONNECTED,
    IDLE,
    ROOT,
    WAIT_MS,
    _free_port,
    serve_app,
)
from PIL import Image
from playwright.sync_api import sync_playwright

WIDTH = 1400
CHARTS_SETTLED = """() => {
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")];
  return charts.length >= 3 && charts.every(c => {
    const svg = c.querySelector("svg.main-svg");
    return svg && Math.abs(svg.getBoundingClientRect().width
                           - c.getBoundingClientRect().width) < 2;
  });
}"""
FULL_HEIGHT = """() => Math.max(
  document.querySelector("[data-testid='stMain']").scrollHeight,
  document.querySelector("[data-testid='stSidebarContent']").scrollHeight)"""


# Each optimizer near its own best rate on the Rosenbrock valley, 1,000 steps from its start:
# SGD at 0.002 (its measured limit is about 0.00205), SGD + momentum (beta 0.9) at 0.0015, Adam
# at 0.1. Measured when chosen: SGD ends 0.034 from the minimum, momentum converges at step 826,
# Adam at 932.
OPTIMIZERS_QUERY = "surface=rosenbrock&lr=0.002,0.0015,0.1&opt=sgd,momentum,adam&steps=1000"


def shoot(base: str, out, query: str = "") -> int:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": 1000})
        page.set_default_timeout(WAIT_MS)
        page.goto(f"{base}/playground" + (f"?{query}" if query else ""))
        page.wait_for_selector(CONNECTED)
        page.locator("[data-testid='stDataFrame']").first.wait_for()
        page.wait_for_selector(IDLE)
        height = int(page.evaluate(FULL_HEIGHT))
        page.set_viewport_size({"width": WIDTH, "height": height})
        page.wait_for_function(CHARTS_SETTLED)
        page.wait_for_selector(IDLE)
        # Park the mouse on empty page: no hover labels, chart toolbars or sidebar buttons.
        page.mouse.move(WIDTH - 10, height - 10)
        errors = page.locator("[data-testid='stException']").count()
        png = page.screenshot()
        browser.close()
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.save(out, format="PNG", optimize=True)
    print(f"saved {out} ({img.width}x{img.height}); exception boxes on the page: {errors}")
    return 1 if errors else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "playground.png"))
    ap.add_argument("--url", help="use an app already served at this base URL")
    ap.add_argument("--query", default="", help="the scene's query string (without '?')")
    ap.add_argument("--optimizers", action="store_true",
                    help="shoot docs/playground-optimizers.png (SGD, momentum, Adam)")
    args = ap.parse_args()
    query, out = args.query, args.out
    if args.optimizers:
        query = query or OPTIMIZERS_QUERY
        if out == ap.get_default("out"):
            out = str(ROOT / "docs" / "playground-optimizers.png")
    if args.url:
        return shoot(args.url.rstrip("/"), out, query)
    # Port 8501 (as `make run` uses) and "localhost", so the picture's share link looks usual.
    with serve_app(port=_free_port(8501)) as base:
        return shoot(base.replace("127.0.0.1", "localhost"), out, query)


if __name__ == "__main__":
    sys.exit(main())
