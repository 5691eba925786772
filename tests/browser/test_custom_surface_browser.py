"""Your own formula on the Playground in a real browser (issue 12): type it, run it, see its
minima and the paths; an unsafe formula is refused in words; the GIF and the CSVs download and
decode; and Plotly's own "Download plot as a png" works in headless Chromium with the surface
drawn.

Screenshots and downloads land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import numpy as np
import test_playground_browser as _playground
from PIL import Image
from test_playground_browser import (
    ALERT,
    CHART,
    IDLE,
    PLAY,
    SIDEBAR,
    WAIT_MS,
    expect,
    expect_no_exception,
    legend_texts,
    open_app,
    trajectory_chart,
    wait_for_content,
)

js_errors = _playground.js_errors  # the fixture that collects uncaught JS errors and dialogs

FORMULA = "(1-x)**2 + 5*(y-x**2)**2"
UNSAFE = "__import__('os').system('id')"
FIRST_RUN_MS = 180_000  # a new formula compiles its minima search and its runs (2 busy cores)
MINIMUM = "at (1, 1) the largest curvature is"
MODEBAR_PNG = ".modebar-btn[data-title='Download plot as a png' i]"  # plotly.js: "PNG"


def choose_own_formula(page) -> None:
    combo = page.locator(SIDEBAR).locator(".st-key-surface input")
    combo.click()
    combo.fill("Your own")
    page.get_by_role("option", name="Your own formula f(x, y)", exact=True).click()
    expect(page.locator(SIDEBAR).locator(".st-key-formula input")).to_be_visible()
    page.wait_for_selector(IDLE, timeout=FIRST_RUN_MS)


def type_formula(page, text: str) -> None:
    entry = page.locator(SIDEBAR).locator(".st-key-formula input")
    entry.click()
    entry.fill(text)
    entry.press("Enter")


def download(page, selector: str, artifacts, name: str) -> bytes:
    with page.expect_download(timeout=WAIT_MS) as info:
        page.locator(selector).click()
    path = artifacts / name
    info.value.save_as(str(path))
    assert info.value.suggested_filename.endswith(name.rsplit(".", 1)[1])
    return path.read_bytes()


def test_type_a_formula_run_it_refuse_an_unsafe_one_and_download(page, app_url, artifacts,
                                                                   js_errors):
    open_app(page, f"{app_url}/playground?lr=0.01,0.03&steps=120", f"{CHART} {PLAY}")
    choose_own_formula(page)
    type_formula(page, FORMULA)

    # Its minimum, with its curvature and own 2/L, and the "found numerically" note.
    minimum = page.get_by_text(MINIMUM).first
    minimum.wait_for(timeout=FIRST_RUN_MS)
    page.wait_for_selector(IDLE, timeout=FIRST_RUN_MS)
    expect_no_exception(page)
    text = minimum.inner_text()
    assert re.search(r"largest curvature is [\d.]+, so rates above 0\.0388 cannot stay", text), text
    expect(page.get_by_text("Found numerically, so they may miss some").first).to_be_visible()
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["surface"] == "custom" and query["f"] == FORMULA, page.url

    # The paths: both runs in the legend and drawn on the chart.
    chart = trajectory_chart(page)
    chart.scroll_into_view_if_needed()
    expect(chart.locator("g.legend text.legendtext", has_text="lr = 0.03").first).to_be_attached()
    legend = legend_texts(chart)
    assert {"lr = 0.01", "lr = 0.03"} <= set(legend), legend
    paths = chart.locator("g.scatterlayer g.trace path.js-line")
    assert paths.count() >= 3  # contour lines plus the two runs' paths
    expect(page.locator(".stMarkdownBadge", has_text="lr = 0.01:")).to_be_visible()
    chart.screenshot(path=str(artifacts / "custom-surface-chart.png"))

    # The downloads: a GIF that decodes with Pillow, and CSVs that parse back.
    gif = download(page, ".st-key-download_gif button", artifacts, "custom-surface.gif")
    im = Image.open(io.BytesIO(gif))
    assert im.format == "GIF" and im.n_frames == 100, (im.format, im.n_frames)
    im.seek(im.n_frames // 2)
    middle = np.asarray(im.convert("RGB"))
    assert len(np.unique(middle.reshape(-1, 3), axis=0)) > 50  # the surface is drawn
    runs = list(csv.DictReader(io.StringIO(
        download(page, ".st-key-download_runs button", artifacts, "custom-runs.csv").decode())))
    assert len(runs) == 2 * 121 and {r["label"] for r in runs} == {"lr = 0.01", "lr = 0.03"}
    assert float(runs[0]["x"]) == -2.4 and float(runs[0]["y"]) == 1.8  # the box's default start
    first = [r for r in runs if r["run"] == "1"]
    assert [int(r["step"]) for r in first] == list(range(121))
    table = list(csv.DictReader(io.StringIO(
        download(page, ".st-key-download_table button", artifacts, "custom-table.csv").decode())))
    assert [r["run"] for r in table] == ["lr = 0.01", "lr = 0.03"]
    assert {"regime", "steps to converge", "final distance"} <= set(table[0])

    # Plotly's own toolbar: "Download plot as a png" gives a PNG with the surface in it.
    chart.hover()
    button = chart.locator(MODEBAR_PNG)
    expect(button).to_be_attached()
    with page.expect_download(timeout=WAIT_MS) as info:
        button.click(force=True)  # the modebar fades in on hover; force skips the animation
    png_path = artifacts / "custom-surface-plotly.png"
    info.value.save_as(str(png_path))
    png = Image.open(png_path)
    assert png.format == "PNG" and png.width >= 600, (png.format, png.size)
    rgb = np.asarray(png.convert("RGB"))
    colours = len(np.unique(rgb.reshape(-1, 3), axis=0))
    r, g, b = (rgb[..., k].astype(int) for k in range(3))
    bluish = float(((b - r >= 12) & (b >= 70) & ~((r > 245) & (g > 245) & (b > 245))).mean())
    assert colours > 200 and bluish > 0.2, (colours, bluish)  # not blank: the surface is in it

    # An unsafe formula: refused in words, with its column; the page keeps running.
    type_formula(page, UNSAFE)
    refusal = page.locator(SIDEBAR).locator(ALERT, has_text="Refused")
    expect(refusal).to_be_visible()
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    said = refusal.inner_text()
    assert "Attributes such as '.system' at column 17 are not allowed." in said, said
    expect(page.locator(SIDEBAR).get_by_text("^ column 17")).to_be_visible()
    expect(page.get_by_text("Still running the last formula that worked").first).to_be_visible()
    assert parse_qs(urlsplit(page.url).query)["f"] == [FORMULA], page.url
    expect(trajectory_chart(page)).to_be_visible()
    page.screenshot(path=str(artifacts / "custom-surface-refused.png"))
    assert not js_errors, js_errors


def test_a_refused_formula_in_a_link_warns_in_plain_words(page, app_url, js_errors):
    query = "surface=custom&f=x**2+%3C+y%5B'%24y%24+%3Ared%5Bz%5D'%5D&lr=0.05"  # x**2 < y['$y$ :red[z]']
    open_app(page, f"{app_url}/playground?{query}", f"{CHART} {PLAY}")
    warning = page.locator(ALERT, has_text="The formula in the link was refused").first
    expect(warning).to_be_visible()
    said = warning.inner_text()
    # the escaped Markdown shows the text as typed: no bold, no LaTeX, no colour directive
    assert "Not allowed: comparisons at column 1 ('x**2 < y['$y$ :red[z]']')" in said, said
    expect(page.locator(SIDEBAR).locator(".st-key-surface input")).to_have_value("Quadratic bowl")
    wait_for_content(page, f"{CHART} {PLAY}")
    assert not js_errors, js_errors
