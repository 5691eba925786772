"""On a phone (390x844, a phone's User-Agent) the Playground's and Network training's controls
are in a Settings expander in the page, above the chart, and work there: a rate typed into the
expander reruns the runs (the Playground's rate entries are drawn by its fragment into slots
inside the expander), and the link follows, as it does from the sidebar on a desktop."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import WAIT_MS

CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
EXCEPTION = "[data-testid='stException']"
CHART = "[data-testid='stPlotlyChart'] .main-svg"
MAIN = "[data-testid='stMain']"
SLOW_MS = 150_000
PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, user_agent=PHONE_UA)
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


def open_settings(page, url: str, timeout_ms: int):
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    page.locator(CHART).first.wait_for(timeout=timeout_ms)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()
    expander = page.locator(f"{MAIN} [data-testid='stExpander']").filter(has_text="Settings").first
    expander.locator("summary").click()
    return expander


def test_playground_rate_typed_in_the_phone_settings_reruns_the_runs(phone, app_url, artifacts):
    page = phone.new_page()
    try:
        settings = open_settings(page, f"{app_url}/playground", WAIT_MS)
        entry = settings.locator(".st-key-lr_num_0 input")
        entry.wait_for()
        assert entry.input_value() == "0.01"
        entry.fill("0.25")
        entry.press("Enter")
        # 0.25 > 2/L = 0.2 on the default bowl: the badge above the chart says so.
        page.locator(".stMarkdownBadge", has_text="lr = 0.25: diverged").wait_for(timeout=WAIT_MS)
        page.wait_for_selector(IDLE, timeout=WAIT_MS)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()
        assert parse_qs(urlsplit(page.url).query)["lr"] == ["0.25,0.1,0.19"], page.url
        assert page.locator("[data-testid='stSidebar'] .st-key-lr_num_0").count() == 0
        page.screenshot(path=str(artifacts / "phone-playground-settings.png"), full_page=True)
    finally:
        page.close()


def test_network_training_rates_typed_in_the_phone_settings_retrain(phone, app_url, artifacts):
    page = phone.new_page()
    try:
        settings = open_settings(page, f"{app_url}/network-training", SLOW_MS)
        rates = settings.locator(".st-key-nt_rates input")
        rates.fill("0.1, 0.5")
        rates.press("Enter")
        page.locator(".stMarkdownBadge", has_text="lr = 0.5:").wait_for(timeout=SLOW_MS)
        page.wait_for_selector(IDLE, timeout=SLOW_MS)
        assert page.locator(EXCEPTION).count() == 0, page.locator(EXCEPTION).all_inner_texts()
        assert page.locator(".stMarkdownBadge", has_text="lr = 10:").count() == 0
        assert parse_qs(urlsplit(page.url).query)["lr"] == ["0.1,0.5"], page.url
        page.screenshot(path=str(artifacts / "phone-network-training-settings.png"))
    finally:
        page.close()
