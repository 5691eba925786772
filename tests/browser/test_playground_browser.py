"""The app in a real browser: what a person sees and does on Home and the Playground.

Each test opens its own page (its own Streamlit session) on the session's
server. Waits are always for a state: connected, then the content expected,
then the script idle. Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import numpy as np
import pytest
from PIL import Image

try:
    from playwright.sync_api import expect
except ImportError:  # the conftest's fixtures skip (or fail in CI) with the reason
    expect = None

WAIT_MS = 60_000  # generous: 2 cores, possibly shared with benchmarks
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
ALERT = "[data-testid='stAlert']"
DIALOG = "[role='dialog']"
CHART = "[data-testid='stPlotlyChart']"
PLAY = "g.updatemenu-button"
SIDEBAR = "[data-testid='stSidebar']"
# Streamlit puts a widget's key into its container's class: st-key-<key>.
RATE_ENTRY = ".st-key-lr_num_{i} input"  # the exact number beside the "Rate i+1" slider
SLIDER_VALUE = "g.slider-group > text.slider-label"  # Plotly slider's "step N" text


def expect_no_dialog(page) -> None:
    """No modal is open: e.g. Streamlit's "Page not found" on a first visit to a deep link
    (what a folder named pages/ next to st.navigation causes in Streamlit 1.67)."""
    dialogs = page.locator(f"{DIALOG}:visible")
    shown = [dialogs.nth(i).inner_text()[:300] for i in range(dialogs.count())]
    assert not shown, f"a dialog is open over the page: {shown}"


def wait_for_content(page, content: str) -> None:
    """Wait until ``content`` is visible (or an exception box: then fail with its text), then
    until the script is idle."""
    page.locator(content).or_(page.locator(EXCEPTION)).first.wait_for(timeout=WAIT_MS)
    expect_no_exception(page)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_dialog(page)


def open_app(page, url: str, content: str) -> None:
    """Go to ``url``; wait until connected, ``content`` is shown and the script is idle."""
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    wait_for_content(page, content)


def trajectory_chart(page):
    """The first Plotly chart: the surface with the paths and the Play button."""
    return page.locator(CHART).filter(has=page.locator(PLAY)).first


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def legend_texts(chart) -> list[str]:
    return chart.locator("g.legend text.legendtext").all_text_contents()


def expect_no_exception(page) -> None:
    errors = page.locator(EXCEPTION)
    shown = [errors.nth(i).inner_text()[:300] for i in range(errors.count())]
    assert not shown, f"exception boxes on the page: {shown}"


@pytest.fixture
def js_errors(page):
    """Uncaught JavaScript errors and dialogs (alert() would mean injected script ran)."""
    seen: list[str] = []
    page.on("pageerror", lambda e: seen.append(f"pageerror: {e}"))

    def on_dialog(dialog):
        seen.append(f"dialog: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


def test_typing_a_rate_reruns_and_redraws_the_chart(page, app_url, artifacts, js_errors):
    open_app(page, f"{app_url}/playground", f"{CHART} {PLAY}")
    chart = trajectory_chart(page)
    chart.scroll_into_view_if_needed()
    before_legend = legend_texts(chart)
    assert "lr = 0.01" in before_legend, before_legend
    assert not any("0.25" in t for t in before_legend), before_legend
    before = chart.screenshot(path=str(artifacts / "rate-before.png"))

    entry = page.locator(SIDEBAR).locator(RATE_ENTRY.format(i=0))
    expect(entry).to_have_value("0.01")
    entry.click()
    entry.fill("0.25")
    entry.press("Enter")

    # 0.25 > 2/L = 0.2 on the default bowl (a=1, b=10): the badge and the legend must say so.
    badge = page.locator(".stMarkdownBadge", has_text="lr = 0.25:")
    expect(badge).to_have_text("lr = 0.25: diverged", timeout=WAIT_MS)
    expect(chart.locator("g.legend text.legendtext", has_text="lr = 0.25").first).to_be_attached(
        timeout=WAIT_MS)
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    assert not js_errors, js_errors

    after_legend = legend_texts(chart)
    assert "lr = 0.25" in after_legend and "lr = 0.01" not in after_legend, after_legend
    expect(entry).to_have_value("0.25")
    assert parse_qs(urlsplit(page.url).query)["lr"] == ["0.25,0.1,0.19"], page.url
    # The diverged run is marked on the surface.
    expect(chart.get_by_text(re.compile(r"left at step \d+")).first).to_be_attached()

    after = chart.screenshot(path=str(artifacts / "rate-after.png"))
    a, b = pixels(before), pixels(after)
    if a.shape == b.shape:  # (a chart that changed size has changed too)
        changed = np.mean(np.any(np.abs(a - b) > 24, axis=-1))
        assert changed > 0.005, f"only {changed:.2%} of the chart's pixels changed"


def test_surface_is_still_drawn_mid_play(page, app_url, artifacts, js_errors):
    open_app(page, f"{app_url}/playground", f"{CHART} {PLAY}")
    chart = trajectory_chart(page)
    chart.scroll_into_view_if_needed()
    slider_value = chart.locator(SLIDER_VALUE).first
    expect(slider_value).to_have_text("step 0")
    # The last trace is the last rate's animated head; its last point is the head marker.
    head = chart.locator("g.scatterlayer g.trace").last.locator("path.point").last
    head_before = head.get_attribute("transform")

    chart.locator(PLAY, has_text="Play").first.click()
    page.wait_for_timeout(700)  # let the animation advance a few frames (70 ms each)
    expect(slider_value).to_have_text(re.compile(r"^step [1-9]\d*$"), timeout=10_000)
    png = chart.screenshot(path=str(artifacts / "mid-play.png"))
    step = int(slider_value.text_content().split()[1])
    head_after = head.get_attribute("transform")
    assert step > 0
    assert head_after != head_before, "the last rate's head marker did not move"

    # Crop the screenshot to the plot area (Plotly's drag rectangle) and look at its colours.
    box, plot = chart.bounding_box(), chart.locator("rect.nsewdrag").first.bounding_box()
    img = pixels(png)
    x0, y0 = round(plot["x"] - box["x"]), round(plot["y"] - box["y"])
    area = img[y0 + 2: y0 + round(plot["height"]) - 2, x0 + 2: x0 + round(plot["width"]) - 2]
    assert area.size, (box, plot, img.shape)
    r, g, b = area[..., 0], area[..., 1], area[..., 2]
    # Surface colours run #0b1d51 .. #eef5fb: blue well above red, and not the white page.
    bluish = (b - r >= 12) & (b >= 70) & ~((r > 245) & (g > 245) & (b > 245))
    frac = float(bluish.mean())
    assert frac > 0.30, f"only {frac:.0%} of the plot area is surface-blue at step {step}"
    assert not js_errors, js_errors


def test_junk_in_the_link_warns_and_falls_back(page, app_url, artifacts, js_errors):
    query = urlencode({"surface": "<script>alert(1)</script>", "lr": "abc,-5,nan",
                       "steps": "1e9", "a": "NaN", "momentum": "7"})
    open_app(page, f"{app_url}/playground?{query}", f"{CHART} {PLAY}")
    alerts = page.locator(ALERT)
    expect(alerts.first).to_be_visible()
    text = "\n".join(alerts.all_inner_texts())
    for bad in ("script", "a=NaN", "lr=abc", "lr=nan", "lr=-5", "steps=1e9", "momentum=7"):
        assert bad in text, f"no warning mentions {bad!r}:\n{text}"
    # The bad surface name is shown as typed (inert text in a code span), not as entities.
    assert "Unknown surface <script>alert(1)</script>" in text, text
    assert "&lt;" not in text, text
    page.screenshot(path=str(artifacts / "junk-link.png"))

    # The page still works, on the default surface with its default curvatures.
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.locator(".st-key-surface input")).to_have_value("Quadratic bowl")
    expect(sidebar.locator(".st-key-p_quadratic_a input")).to_have_value("1")
    expect(sidebar.locator(".st-key-p_quadratic_b input")).to_have_value("10")
    expect(trajectory_chart(page)).to_be_visible()
    assert page.locator("script", has_text="alert(1)").count() == 0
    query = parse_qs(urlsplit(page.url).query)
    assert query["surface"] == ["quadratic"], page.url
    assert not js_errors, js_errors  # in particular no alert() dialog


def test_home_links_to_the_playground(page, app_url, js_errors):
    open_app(page, f"{app_url}/", "h1")
    expect(page.locator("h1")).to_have_text("Learning Rate Lab")
    link = page.locator("[data-testid='stPageLink'] a", has_text="Playground")
    expect(link).to_be_visible()
    href = urljoin(page.url, link.get_attribute("href"))
    assert urlsplit(href).path.rstrip("/") == "/playground", href
    link.click()
    # Following the link is enough to check here (the other tests cover the Playground itself),
    # so this waits for its title rather than for its charts to finish drawing.
    expect(page).to_have_url(re.compile(r"/playground(\?|$)"))
    expect(page.locator("h1")).to_have_text("Playground")
    expect_no_exception(page)
    expect_no_dialog(page)
    assert not js_errors, js_errors


def test_share_link_round_trip(page, app_url, js_errors):
    params = {"surface": "ravine", "condition": "40", "angle": "10", "lr": "0.02,0.05",
              "steps": "300"}
    open_app(page, f"{app_url}/playground?{urlencode(params)}", f"{CHART} {PLAY}")
    assert page.locator(ALERT).count() == 0, page.locator(ALERT).all_inner_texts()
    sidebar = page.locator(SIDEBAR)
    expect(sidebar.locator(".st-key-surface input")).to_have_value("Narrow ravine")
    expect(sidebar.locator(".st-key-n_rates input")).to_have_value("2")
    expect(sidebar.locator(RATE_ENTRY.format(i=0))).to_have_value("0.02")
    expect(sidebar.locator(RATE_ENTRY.format(i=1))).to_have_value("0.05")
    expect(sidebar.locator(".st-key-p_ravine_condition input")).to_have_value("40")
    expect(sidebar.locator(".st-key-p_ravine_angle input")).to_have_value("10")
    legend = legend_texts(trajectory_chart(page))
    assert {"lr = 0.02", "lr = 0.05"} <= set(legend), legend

    # After the run the address bar (and the page's share link) still carry the scene.
    in_url = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert params.items() <= in_url.items(), page.url
    share = page.locator("[data-testid='stCode']").filter(has_text="/playground?").first
    shared = {k: v[0] for k, v in parse_qs(urlsplit(share.inner_text().strip()).query).items()}
    assert params.items() <= shared.items(), shared
    assert not js_errors, js_errors


def test_choosing_an_optimizer_renames_and_reruns_the_run(page, app_url, artifacts, js_errors):
    """Adam at 0.1 against SGD at 0.1, chosen with the mouse: one scene, two labelled runs."""
    open_app(page, f"{app_url}/playground?lr=0.1,0.1", f"{CHART} {PLAY}")
    chart = trajectory_chart(page)
    assert {"lr = 0.1"} == {t for t in legend_texts(chart) if t.startswith("lr")}
    before = chart.screenshot()

    box = page.locator(SIDEBAR).locator(".st-key-opt_0")
    expect(box.locator("input")).to_have_value("SGD")
    combo = box.locator("input")  # the combobox (the box's middle is its label's help icon)
    combo.click()
    combo.fill("Adam")  # typing filters the list and keeps it open (a click that scrolls may not)
    page.get_by_role("option", name="Adam", exact=True).click()

    expect(page.locator(".stMarkdownBadge", has_text="Adam, lr = 0.1:")).to_be_visible()
    expect(page.locator(".stMarkdownBadge", has_text="SGD, lr = 0.1:")).to_be_visible()
    expect(chart.locator("g.legend text.legendtext", has_text="Adam, lr = 0.1").first
           ).to_be_attached()
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    legend = legend_texts(chart)
    assert "Adam, lr = 0.1" in legend and "SGD, lr = 0.1" in legend, legend
    assert parse_qs(urlsplit(page.url).query)["opt"] == ["adam,sgd"], page.url
    # The measured limits say plainly that no 2/L applies to Adam.
    expect(page.get_by_text("No 2/L limit applies to Adam").first).to_be_attached()
    after = chart.screenshot(path=str(artifacts / "optimizer-adam.png"))
    a, b = pixels(before), pixels(after)
    if a.shape == b.shape:
        changed = np.mean(np.any(np.abs(a - b) > 24, axis=-1))
        assert changed > 0.002, f"only {changed:.2%} of the chart's pixels changed"
    assert not js_errors, js_errors
