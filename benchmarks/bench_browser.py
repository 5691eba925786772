"""Playground latency in a real browser: type a rate, press Enter, wait for the chart.

Run from the repo root (about 40 s; needs Debian's Chromium and playwright):

    .venv/bin/python benchmarks/bench_browser.py [--json out.json] [--repeats N] [--port 8599]

Starts ``streamlit run app.py`` on ``--port`` (it must be free), opens
/playground in headless Chromium, then, for several new values, types the value
into the first rate's number entry, presses Enter and measures until the first
Plotly chart's legend shows ``lr = <value>`` *and* the app is idle
(``data-test-script-state="notRunning"``). The check runs in the page on every
animation frame, so the wait adds at most a frame. The server is stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import common  # first: puts the repo root on sys.path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 1000}
TIMEOUT_MS = 120_000
TARGET_S = 1.5
CONNECTED = "[data-testid='stApp'][data-test-connection-state='CONNECTED']"
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"
CHART = "[data-testid='stPlotlyChart']"
RATE_ENTRY = "[data-testid='stSidebar'] .st-key-lr_num_0 input"

# A legend entry names the rate `label` ("lr = 0.05", maybe after an optimizer's label,
# "Adam, lr = 0.05"), not a longer number that starts the same ("lr = 0.051").
SHOWS = """const shows = (text, label) => {
    const i = text.indexOf(label);
    return i >= 0 && !/[0-9.e]/.test(text.charAt(i + label.length));
};"""

# True once a legend entry of the first chart names `label` and the script has finished.
SHOWN = """label => {
    """ + SHOWS + """
    const chart = document.querySelector("[data-testid='stPlotlyChart']");
    const app = document.querySelector("[data-testid='stApp']");
    if (!chart || !app) return false;
    const texts = Array.from(chart.querySelectorAll("g.legend text.legendtext"),
                             t => t.textContent.trim());
    return texts.some(t => shows(t, label))
        && app.getAttribute("data-test-script-state") === "notRunning";
}"""


# Records, in the page, when (ms after it is installed) the script starts running, when it
# is idle again, and when the legend first shows `label`; for the breakdown only.
WATCH = """label => {
    """ + SHOWS + """
    const app = document.querySelector("[data-testid='stApp']");
    const b = window.__bench = {t0: performance.now(), running: null, idle: null, legend: null};
    const has = () => {
        const chart = document.querySelector("[data-testid='stPlotlyChart']");
        return !!chart && Array.from(chart.querySelectorAll("g.legend text.legendtext"),
                                     t => t.textContent.trim()).some(t => shows(t, label));
    };
    const note = () => {
        const now = performance.now() - b.t0, state = app.getAttribute("data-test-script-state");
        if (state === "running" && b.running === null) b.running = now;
        if (b.running !== null && state === "notRunning" && b.idle === null) b.idle = now;
        if (b.legend === null && has()) b.legend = now;
        if (b.idle !== null && b.legend !== null) obs.disconnect();
    };
    const obs = new MutationObserver(note);
    obs.observe(document.body, {attributes: true, childList: true, subtree: true,
                                characterData: true});
}"""


def python() -> str:
    venv = common.ROOT / ".venv" / "bin" / "python"
    return str(venv if venv.exists() else Path(sys.executable))


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    base = f"http://127.0.0.1:{port}"
    if healthy(f"{base}/_stcore/health"):
        raise RuntimeError(f"port {port} is already serving something; pass --port")
    log = open(log_path, "wb")  # noqa: SIM115 (the server owns it until it exits)
    proc = subprocess.Popen(
        [python(), "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=common.ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while not healthy(f"{base}/_stcore/health"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            raise RuntimeError("streamlit did not start:\n" +
                               log_path.read_text(errors="replace")[-2000:])
        time.sleep(0.2)
    return proc


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def open_playground(page, url: str) -> float:
    """Seconds from navigation until connected, the chart drawn and the script idle."""
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(CONNECTED, timeout=TIMEOUT_MS)
    page.locator(f"{CHART} g.legend text.legendtext").first.wait_for(timeout=TIMEOUT_MS)
    page.wait_for_selector(IDLE, timeout=TIMEOUT_MS)
    return time.perf_counter() - t0


def dialog_text(page) -> str:
    """Text of an open modal dialog (it makes the page inert), or ''."""
    dialogs = page.locator("[role='dialog']")
    return " ".join(dialogs.nth(i).inner_text() for i in range(dialogs.count())).strip()


def type_rate(page, value: float) -> tuple[float, dict]:
    """Seconds from Enter until the chart's legend shows the new rate and the app is idle,
    and the in-page breakdown (ms after Enter: script running, legend drawn, idle)."""
    label = f"lr = {value:.4g}"
    entry = page.locator(RATE_ENTRY)
    entry.click()
    entry.fill(f"{value:g}")
    page.evaluate(WATCH, label)
    t0 = time.perf_counter()
    entry.press("Enter")
    page.wait_for_function(SHOWN, arg=label, polling="raf", timeout=TIMEOUT_MS)
    took = time.perf_counter() - t0
    return took, page.evaluate("() => window.__bench")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", help="write the result rows here (for run_all.py)")
    p.add_argument("--repeats", type=int, default=8)
    p.add_argument("--port", type=int, default=8599)
    args = p.parse_args(argv)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is None or not CHROMIUM.exists():
        why = "playwright not installed" if sync_playwright is None else f"no {CHROMIUM}"
        print(f"skipped: {why}")
        common.write_json(args.json, [common.row("browser: type a rate -> chart redrawn",
                                                 f"skipped ({why})", target="<= 1.5 s")])
        return 0
    print(f"machine: {json.dumps(common.machine())}")
    url = f"http://127.0.0.1:{args.port}/playground"
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as tmp:
        server = start_server(args.port, Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                try:
                    # The first session on a fresh server (the cold load) is not reused:
                    # on Streamlit 1.67 it can come up with a "Page not found" dialog.
                    ctx = browser.new_context(viewport=VIEWPORT)
                    page = ctx.new_page()
                    cold = open_playground(page, url)
                    cold_dialog = dialog_text(page)
                    ctx.close()
                    ctx = browser.new_context(viewport=VIEWPORT)
                    page = ctx.new_page()
                    warm_load = open_playground(page, url)
                    warm_dialog = dialog_text(page)
                    if warm_dialog:
                        page.keyboard.press("Escape")
                    values = [round(0.0123 + 0.0111 * i, 4) for i in range(args.repeats + 1)]
                    measured = [type_rate(page, v) for v in values]
                    errors = page.locator("[data-testid='stException']").count()
                finally:
                    browser.close()
        finally:
            stop_server(server)
    times = [m[0] for m in measured]
    first, rest = times[0], common.timing(times[1:])
    marks = {k: common.timing([m[1][k] / 1e3 for m in measured[1:] if m[1].get(k) is not None])
             for k in ("running", "legend", "idle")}
    print(f"first page load (fresh server, includes compile/warm-up): {cold:.2f} s")
    print(f"second page load (new session): {warm_load:.2f} s")
    print(f"type a rate + Enter -> legend shows it and app idle: first {first:.3f} s; then "
          f"{rest.n} times: {rest.s()}; all: {[round(t, 3) for t in times]}")
    print("   in the page, ms after Enter (median): script starts "
          f"{marks['running'].median * 1e3:.0f}, legend drawn {marks['legend'].median * 1e3:.0f}, "
          f"script idle {marks['idle'].median * 1e3:.0f}")
    if errors:
        print(f"WARNING: {errors} exception box(es) on the page")
    for when, text in (("first", cold_dialog), ("second", warm_dialog)):
        if text:
            print(f"NOTE: the {when} session opened with a dialog: {text[:120]!r}")
    rows = [
        common.row("browser: type a rate + Enter until the chart shows it and the app is idle "
                   "(headless Chromium)", rest.s(), target="<= 1.5 s",
                   met=rest.median <= TARGET_S and not errors),
        common.row("browser: open /playground (fresh server / second session)",
                   f"{cold:.2f} s / {warm_load:.2f} s",
                   ratio="first session showed a 'Page not found' dialog"
                   if "not found" in cold_dialog.lower() else "—"),
    ]
    print()
    print(common.markdown_table(rows))
    common.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
