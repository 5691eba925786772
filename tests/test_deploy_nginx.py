"""deploy/nginx.conf for real: Debian's nginx with that file (its "test:" lines filled in) in
front of two app processes on loopback ports (python -m ui.guard run app.py, as the Docker
image runs). Checks that the app loads through it, that it serves only what the browser needs,
that it refuses websockets without a same-site Origin, and that a browser sticks to one replica.

Locally the module skips with a reason when nginx is missing; in CI (CI set) it fails.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import websockets

from benchmarks.st_client import StreamlitClient
from tests.lrlab_servers import (
    NGINX_CONF,
    check_nginx_conf,
    free_port,
    guarded_server,
    nginx_binary,
    render_nginx_conf,
    run_async,
    running_nginx,
)

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
PAGE = "schedules"  # a page with Plotly charts (their script chunk comes through nginx too)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _missing(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so this is an error rather than a skip)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """(nginx URL, [replica URLs]): two guarded app processes behind nginx."""
    if nginx_binary() is None:
        _missing("nginx is not installed (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("nginx")
    with contextlib.ExitStack() as stack:
        replicas = [stack.enter_context(guarded_server(ARTIFACTS / f"nginx-replica-{i}.log"))[0]
                    for i in (1, 2)]
        front = stack.enter_context(running_nginx(
            free_port(), [r.removeprefix("http://") for r in replicas], folder))
        yield front, replicas


def _get(url: str, method: str = "GET", headers: dict | None = None):
    """(status, headers, body) without raising for 4xx/5xx."""
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def _connects(replica: str) -> int:
    """Websocket sessions a replica has accepted so far (from its own metrics, on loopback)."""
    _, _, body = _get(f"{replica}/_stcore/metrics")
    m = re.search(rb'session_events_total\{type="connect"\} (\d+)', body)
    assert m, body[:500]
    return int(m.group(1))


async def _open_ws(front: str, origin: str | None, cookie: str | None = None):
    """Open the app's websocket through nginx; "open", or the HTTP status it was refused with."""
    headers = {"Cookie": f"lrlab_replica={cookie}"} if cookie else None
    try:
        async with websockets.connect(
                front.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                origin=websockets.Origin(origin) if origin else None, additional_headers=headers,
                open_timeout=30):
            return "open"
    except websockets.InvalidStatus as e:
        return e.response.status_code


def test_the_rendered_config_is_the_deployment_file_with_only_test_lines_changed(tmp_path):
    if nginx_binary() is None:
        _missing("nginx is not installed (apt-get install nginx)")
    text = render_nginx_conf(18080, ["127.0.0.1:1", "127.0.0.1:2"], tmp_path)
    original = NGINX_CONF.read_text().splitlines()
    kept = [ln for ln in original if "# test:" not in ln]
    assert [ln for ln in text.splitlines() if ln in kept] == kept
    assert "server 127.0.0.1:1 max_fails=1" in text and "server 127.0.0.1:2 max_fails=1" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    checked = check_nginx_conf(conf, tmp_path)
    assert checked.returncode == 0, checked.stderr


def test_nginx_serves_only_what_the_app_needs(deployment):
    front, _ = deployment
    status, headers, body = _get(f"{front}/_stcore/health")
    assert (status, body.strip()) == (200, b"ok")
    assert _get(f"{front}/_stcore/host-config")[0] == 200  # the frontend cannot connect without it
    status, headers, body = _get(f"{front}/playground")
    assert status == 200 and b"<div id=\"root\"" in body
    assert "lrlab_replica=" in (headers.get("Set-Cookie") or "")
    for refused in ("/_stcore/metrics", "/_stcore/script-health-check", "/_stcore/agent/openapi.json",
                    "/_stcore/agent/mcp", "/_stcore/upload_file/x/y", "/_stcore/bidi-components/x",
                    "/auth/login", "/oauth2callback", "/app/static/x", "/component/x/index.html"):
        assert _get(f"{front}{refused}")[0] == 404, refused
    assert _get(f"{front}/", method="POST")[0] == 403
    # the replicas themselves still have metrics: only nginx hides them
    assert _get(f"{deployment[1][0]}/_stcore/metrics")[0] == 200


def test_a_websocket_needs_a_same_site_origin(deployment):
    front, _ = deployment
    assert run_async(_open_ws(front, None)) == 403
    assert run_async(_open_ws(front, "http://evil.example")) == 403
    assert run_async(_open_ws(front, f"{front}.evil.example")) == 403
    assert run_async(_open_ws(front, "https://share.streamlit.io")) == 403  # Streamlit allows it
    assert run_async(_open_ws(front, front)) == "open"


def test_the_app_runs_through_nginx_over_the_websocket(deployment):
    front, _ = deployment

    async def go():
        async with StreamlitClient(front, path=f"/{PAGE}", headers={"Origin": front}) as c:
            assert c.first.ok, c.first.errors
            assert c.first.elements_of("plotly_chart")
            r = await c.rerun()
            assert r.ok, r.errors

    run_async(go())


def test_one_browser_sticks_to_one_replica_and_browsers_spread(deployment):
    front, replicas = deployment

    def counts():
        return [_connects(r) for r in replicas]

    before = counts()
    for _ in range(6):
        assert run_async(_open_ws(front, front, cookie="one-student")) == "open"
    after = counts()
    grown = [a - b for a, b in zip(after, before, strict=True)]
    assert sorted(grown) == [0, 6], grown  # every connection (and reconnection) on one replica

    before = after
    for i in range(16):  # 16 browsers: all on one replica has odds 2 in 65,536
        assert run_async(_open_ws(front, front, cookie=f"student-{i}")) == "open"
    grown = [a - b for a, b in zip(counts(), before, strict=True)]
    assert sum(grown) == 16 and min(grown) >= 1, grown


def _load_in_chromium(sync_playwright, front: str) -> tuple[set[str], list[tuple[int, str]]]:
    """Open PAGE through nginx in Chromium: (cookie names, [(status, url) of failed responses])."""
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"]
    failed = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            page.on("response", lambda r: failed.append((r.status, r.url)) if r.status >= 400 else None)
            page.goto(f"{front}/{PAGE}")
            page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']")
            page.locator(".js-plotly-plot").first.wait_for()
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']")
            cookies = {c["name"] for c in page.context.cookies()}
        finally:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "nginx-page.png"))
            browser.close()
    return cookies, failed


def test_the_page_loads_through_nginx_in_chromium(deployment):
    """A real browser: the page, its assets, host-config and the websocket, all via nginx."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package is not installed")
    if not Path("/usr/bin/chromium").exists():
        _missing("Chromium not found at /usr/bin/chromium")
    front, _ = deployment
    # On a thread of its own: the browser tests' Playwright may still be open on this one.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        cookies, failed = pool.submit(_load_in_chromium, sync_playwright, front).result()
    assert "lrlab_replica" in cookies
    # The frontend first probes <page>/_stcore/{health,host-config} (a base path guess) and
    # falls back to /_stcore/...: those 404s are its own; nothing else may fail.
    real = [(s, u) for s, u in failed if not re.search(rf"/{PAGE}/_stcore/(health|host-config)$", u)]
    assert not real, real
