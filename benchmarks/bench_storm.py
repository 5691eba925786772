"""A rerun storm from one session, and what it costs another (issue 13).

One websocket session sends ``--n`` reruns at ``--rate`` per second (what a browser sends
while a student holds an arrow key on a slider), each with a new value of one widget;
meanwhile a second session reruns the Schedules page three times. Reported: the second
session's rerun latency without and during the storm, the server's CPU seconds from the
storm's start until it is quiet again, and how long that took. The server is
``python -m ui.guard run app.py``, run once with the guard (default) and once with
``LRLAB_GUARD=off``.

    python benchmarks/bench_storm.py                      # Playground, Steps slider
    python benchmarks/bench_storm.py --page network-training --n 100
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402
from streamlit.proto.ClientState_pb2 import ClientState  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetStates  # noqa: E402

from benchmarks.st_client import StreamlitClient, widget_state  # noqa: E402
from tests.lrlab_servers import free_port, healthy  # noqa: E402

# page -> (widget key, value field, value for request i)
STORMS = {
    "playground": ("steps", "double_array_value", lambda i: 20 + i % 400),
    "network-training": ("nt_seed", "int_value", lambda i: 1 + i),
}


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().split(")")[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _measure(base: str, pid: int, page: str, n: int, per_s: float) -> dict:
    key, kind, value = STORMS[page]
    async with (StreamlitClient(base, path="/schedules", headers={"Origin": base}) as other,
                StreamlitClient(base, path=f"/{page}", headers={"Origin": base}) as storm):
        for _ in range(2):
            await other.rerun()
        quiet = [(await other.rerun()).latency_s for _ in range(3)]
        widget = storm.widget(key)
        t0, cpu0 = time.perf_counter(), _cpu_s(pid)

        async def send():
            for i in range(n):
                msg = BackMsg(rerun_script=ClientState(
                    page_script_hash=storm.page_script_hash, page_name=page,
                    widget_states=WidgetStates(widgets=[widget_state(widget.id, kind, value(i))])))
                await storm.ws.send(msg.SerializeToString())
                await asyncio.sleep(max(0.0, t0 + (i + 1) / per_s - time.perf_counter()))

        task = asyncio.create_task(send())
        await asyncio.sleep(0.3)
        during = [(await other.rerun()).latency_s for _ in range(3)]
        await task
        while True:  # until the server is quiet (< 0.1 CPU-s in a second)
            c = _cpu_s(pid)
            await asyncio.sleep(1.0)
            if _cpu_s(pid) - c < 0.1:
                break
        return {"quiet": quiet, "during": during, "cpu": _cpu_s(pid) - cpu0,
                "settle": time.perf_counter() - t0 - 1.0}


def run(guard: bool, page: str, n: int, per_s: float) -> dict:
    port = free_port()
    env = dict(os.environ, LRLAB_GUARD="on" if guard else "off")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.guard", "run", "app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        while not healthy(f"{base}/_stcore/health"):
            if proc.poll() is not None:
                raise RuntimeError("the server exited")
            time.sleep(0.2)
        return asyncio.run(_measure(base, proc.pid, page, n, per_s))
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", choices=sorted(STORMS), default="playground")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--rate", type=float, default=50.0)
    a = ap.parse_args()
    print(f"storm: {a.n} reruns at {a.rate:g}/s on /{a.page}; the other session reruns /schedules")
    print("| guard | other's rerun, quiet (median) | during the storm (each) | server CPU | quiet after |")
    print("| --- | --- | --- | --- | --- |")
    for guard in (False, True):
        r = run(guard, a.page, a.n, a.rate)
        print(f"| {'on' if guard else 'off'} | {statistics.median(r['quiet']):.2f} s | "
              f"{', '.join(f'{x:.2f}' for x in r['during'])} s | {r['cpu']:.1f} s | {r['settle']:.1f} s |")


if __name__ == "__main__":
    main()
