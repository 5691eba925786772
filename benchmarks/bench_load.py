"""Load test: N simulated students, each rerunning the Playground with a new rate every few seconds.

Every student is a :class:`st_client.StreamlitClient` (a real Streamlit session over the
websocket, no browser) in this one asyncio process. A student opens the page at a random
moment of the first interval, then every ``--interval`` seconds (± ``--jitter``, as a
fraction) types a new rate into the first rate entry (``lr_num_0``, a random rate
log-uniform in 0.001..0.3, so every rerun is a new scene: no cache hit) and waits for the
run to finish. A rerun that takes longer than the interval is followed by the next at
once (one request at a time per student, as a browser tab sends them).

Per level (number of students) the table reports, over a measured window that starts
once every student has connected and had one interval to settle:

- rerun latency p50 / p95 / max: from sending the rerun to its ``script_finished``;
- errors: reruns that timed out, lost their connection, or drew an exception (must be 0);
- server CPU-s per rerun: the server processes' user + system CPU (``/proc/<pid>/stat``)
  over the window, divided by the runs in it; "cores": that CPU over the window's length;
- RSS: before the students arrive, at the end of the window, per session
  ((peak - before) / N), and 5 s after every student closed. A closed session stays in
  Streamlit's reconnect store for 2 minutes; ``--settle`` waits that out at the end and
  reports RSS once more.

Against a server it starts itself (``--serve DIR``: ``streamlit run app.py`` in DIR with
this venv's Python, e.g. a ``git worktree`` of an older commit for a before/after), or an
existing one (``--url``; give ``--pids`` of its processes for the CPU and memory columns,
e.g. the two replicas behind nginx, whose base URL then is nginx's)::

    .venv/bin/python benchmarks/bench_load.py --serve . --students 1,25,60,120
    .venv/bin/python benchmarks/bench_load.py --url http://127.0.0.1:8080 --pids 1234,1235

The load generator shares the machine's cores with the server: its own CPU is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from st_client import StreamlitClient  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") / 1024
RATE_LO, RATE_HI = 1e-3, 0.3


@dataclass
class Level:
    students: int
    reruns: int
    p50_s: float
    p95_s: float
    max_s: float
    errors: int
    error_kinds: dict
    connect_p95_s: float
    cpu_s_per_rerun: float | None
    server_cores: float | None
    rss_before_mb: float | None
    rss_peak_mb: float | None
    rss_per_session_mb: float | None
    rss_after_close_mb: float | None
    kib_per_rerun: float
    client_cpu_s: float


def cpu_seconds(pids: list[int]) -> float | None:
    """User + system CPU seconds of the processes (and their reaped children), or None."""
    if not pids:
        return None
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
    return total / TICKS


def rss_mb(pids: list[int]) -> float | None:
    """Resident memory of the processes in MB (1e6 bytes), or None."""
    if not pids:
        return None
    pages = sum(int(Path(f"/proc/{pid}/statm").read_text().split()[1]) for pid in pids)
    return pages * PAGE_KB * 1024 / 1e6


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) of ``values``; NaN for none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def new_rate(rng: random.Random) -> float:
    """A rate log-uniform in RATE_LO..RATE_HI, 4 significant digits (a typed rate)."""
    return float(f"{math.exp(rng.uniform(math.log(RATE_LO), math.log(RATE_HI))):.4g}")


async def student(i: int, url: str, path: str, widget: str, t0: float, ramp: float,
                  interval: float, jitter: float, stop_at: float, log: list, connects: list,
                  clients: list, timeout_s: float) -> None:
    """One student: connect at a random moment of the ramp, then rerun with a new rate
    every interval until ``stop_at``; every run goes to ``log`` as (sent, latency, errors)."""
    rng = random.Random(1000 + i)
    await asyncio.sleep(max(0.0, t0 + rng.uniform(0, ramp) - time.perf_counter()))
    c = StreamlitClient(url, path, f"lr={new_rate(rng)}", timeout_s=timeout_s)
    clients.append(c)
    sent = time.perf_counter()
    try:
        first = await c.connect()
    except Exception as e:  # refused, handshake timeout: an error, not a crash of the generator
        connects.append((sent, time.perf_counter() - sent, [f"connect: {type(e).__name__}"]))
        return
    connects.append((sent, first.latency_s, first.errors))
    if not first.ok:
        return
    next_at = sent + interval * (1 + rng.uniform(-jitter, jitter))
    while True:
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        if time.perf_counter() >= stop_at:
            return
        c.set_widget(widget, new_rate(rng))
        sent = time.perf_counter()
        r = await c.rerun()
        log.append((sent, r.latency_s, r.errors, r.bytes))
        if r.status not in ("finished", "fragment finished"):
            return  # the session is gone (timeout, disconnected): counted, stop this student
        next_at = sent + interval * (1 + rng.uniform(-jitter, jitter))


async def run_level(n: int, args, pids: list[int]) -> Level:
    url, interval = args.url, args.interval
    ramp = interval
    t0 = time.perf_counter() + 0.5
    w0 = t0 + ramp + interval  # every student connected and had one interval
    w1 = w0 + args.duration
    log, connects, clients = [], [], []
    rss_before = rss_mb(pids)
    client_cpu0 = time.process_time()
    tasks = [asyncio.create_task(student(i, url, args.path, args.widget, t0, ramp, interval,
                                         args.jitter, w1, log, connects, clients, args.timeout))
             for i in range(n)]
    await asyncio.sleep(max(0.0, w0 - time.perf_counter()))
    cpu0 = cpu_seconds(pids)
    await asyncio.sleep(max(0.0, w1 - time.perf_counter()))
    cpu1 = cpu_seconds(pids)
    rss_peak = rss_mb(pids)
    await asyncio.gather(*tasks)  # each finishes its running rerun, then stops
    client_cpu = time.process_time() - client_cpu0
    for c in clients:
        with contextlib.suppress(Exception):
            await c.close()
    await asyncio.sleep(5)
    rss_after = rss_mb(pids)

    in_window = [e for e in log if w0 <= e[0] < w1]
    connects_in_window = [e for e in connects if w0 <= e[0] < w1]
    latencies = [e[1] for e in in_window]
    kinds: dict[str, int] = {}
    for _, _, errors, *_ in log + connects:
        for err in errors:
            kinds[err.split(":")[0]] = kinds.get(err.split(":")[0], 0) + 1
    runs = len(in_window) + len(connects_in_window)
    cpu = None if cpu0 is None else cpu1 - cpu0
    return Level(
        students=n, reruns=len(in_window),
        p50_s=percentile(latencies, 50), p95_s=percentile(latencies, 95),
        max_s=max(latencies, default=math.nan),
        errors=sum(1 for e in log + connects if e[2]) + (n - len(connects)), error_kinds=kinds,
        connect_p95_s=percentile([e[1] for e in connects], 95),
        cpu_s_per_rerun=None if cpu is None or not runs else cpu / runs,
        server_cores=None if cpu is None else cpu / (w1 - w0),
        rss_before_mb=rss_before, rss_peak_mb=rss_peak,
        rss_per_session_mb=None if rss_peak is None else (rss_peak - rss_before) / n,
        rss_after_close_mb=rss_after,
        kib_per_rerun=statistics.fmean(e[3] for e in in_window) / 1024 if in_window else math.nan,
        client_cpu_s=client_cpu)


@contextlib.contextmanager
def serve(repo: Path, log_path: Path, port: int, extra: tuple = ()):
    """``streamlit run app.py`` in ``repo`` with this venv's Python (and ``extra`` options);
    yields (base URL, pid)."""
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
             "--server.port", str(port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *extra],
            cwd=repo, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError), \
                        urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"server did not start; see {log_path}")
                time.sleep(0.25)  # polling the health endpoint
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)


def pid_serving(port: int) -> int:
    """The process whose command line has ``--server.port PORT`` (a replica started here)."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                argv = (proc / "cmdline").read_bytes().split(b"\0")
                if b"--server.port" in argv and argv[argv.index(b"--server.port") + 1] == b"%d" % port:
                    return int(proc.name)
    raise RuntimeError(f"no server process on port {port}")


@contextlib.contextmanager
def behind_nginx(n: int, no_post_script_gc: bool = False):
    """``n`` guarded replicas of this checkout behind nginx (tests/lrlab_servers.py); yields
    (nginx's base URL, the replicas' pids, the replicas' own URLs)."""
    sys.path.insert(0, str(ROOT))
    from tests.lrlab_servers import free_port, guarded_server, running_nginx

    env = dict(os.environ)
    if no_post_script_gc:
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "false"
    with contextlib.ExitStack() as stack:
        ports = [free_port() for _ in range(n)]
        for port in ports:
            stack.enter_context(guarded_server(Path(f"/tmp/bench_load_replica_{port}.log"), port,
                                               env=env))
        base = stack.enter_context(running_nginx(free_port(), [f"127.0.0.1:{p}" for p in ports],
                                                 Path(f"/tmp/bench_load_nginx_{ports[0]}")))
        yield base, [pid_serving(p) for p in ports], [f"http://127.0.0.1:{p}" for p in ports]


async def warm(url: str, path: str) -> None:
    """One session first, so the engine's compile and the first page load are not measured."""
    async with StreamlitClient(url, path, "lr=0.05") as c:
        if not c.first.ok:
            raise RuntimeError(f"warm-up run failed: {c.first.errors}")
        c.set_widget("lr_num_0", 0.07)
        await c.rerun()


def fmt(v, spec: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else format(v, spec)


def table(levels: list[Level]) -> str:
    head = ("| students | reruns | p50 | p95 | max | errors | server CPU-s / rerun | server cores "
            "| RSS before | RSS at peak | RSS / session | RSS 5 s after close | KiB / rerun |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for lv in levels:
        rows.append(
            f"| {lv.students} | {lv.reruns} | {fmt(lv.p50_s, '.2f')} s | {fmt(lv.p95_s, '.2f')} s "
            f"| {fmt(lv.max_s, '.2f')} s | {lv.errors} | {fmt(lv.cpu_s_per_rerun, '.3f')} "
            f"| {fmt(lv.server_cores, '.2f')} | {fmt(lv.rss_before_mb, '.0f')} MB "
            f"| {fmt(lv.rss_peak_mb, '.0f')} MB | {fmt(lv.rss_per_session_mb, '.1f')} MB "
            f"| {fmt(lv.rss_after_close_mb, '.0f')} MB | {fmt(lv.kib_per_rerun, '.0f')} |")
    return "\n".join(rows)


async def main_async(args) -> list[Level]:
    pids = [int(p) for p in args.pids.split(",")] if args.pids else []
    for url in getattr(args, "warm_urls", None) or [args.url]:  # every replica, directly
        await warm(url, args.path)
    levels = []
    for n in [int(v) for v in args.students.split(",")]:
        lv = await run_level(n, args, pids)
        levels.append(lv)
        print(table([lv]).splitlines()[-1], f"(client CPU {lv.client_cpu_s:.1f} s; "
              f"connect p95 {lv.connect_p95_s:.2f} s; errors {lv.error_kinds or 'none'})",
              flush=True)
    if args.settle and pids:
        await asyncio.sleep(args.settle)
        async with StreamlitClient(args.url, "/", timeout_s=args.timeout):
            pass  # one access to the session store evicts the expired sessions
        await asyncio.sleep(2)
        print(f"RSS {args.settle:g} s after the last close: {rss_mb(pids):.0f} MB", flush=True)
    return levels


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = p.add_mutually_exclusive_group()
    where.add_argument("--serve", type=Path, help="start `streamlit run app.py` in this folder")
    where.add_argument("--url", help="base URL of a running server (or of nginx in front)")
    p.add_argument("--pids", default="", help="server process ids for CPU and RSS (with --url)")
    p.add_argument("--port", type=int, default=8650)
    p.add_argument("--students", default="1,25,60,120")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between a student's reruns")
    p.add_argument("--jitter", type=float, default=0.2, help="± fraction of the interval")
    p.add_argument("--duration", type=float, default=60.0, help="measured window per level, s")
    p.add_argument("--path", default="/playground")
    p.add_argument("--widget", default="lr_num_0", help="key of the number entry to change")
    p.add_argument("--timeout", type=float, default=60.0, help="a rerun slower than this is an error")
    p.add_argument("--settle", type=float, default=0.0,
                   help="at the end, wait this long (130: past the reconnect store's 2 min) and "
                        "report RSS again")
    p.add_argument("--json", type=Path)
    p.add_argument("--nginx", type=int, default=0, metavar="N",
                   help="instead of --serve/--url: N replicas (python -m ui.guard run app.py, as "
                        "deploy/Dockerfile runs) behind Debian's nginx with deploy/nginx.conf")
    p.add_argument("--no-post-script-gc", action="store_true",
                   help="with --serve: run the server with runner.postScriptGC false")
    args = p.parse_args(argv)
    if not (args.serve or args.url or args.nginx):
        p.error("one of --serve, --url or --nginx is required")
    with contextlib.ExitStack() as stack:
        if args.nginx:
            args.url, pids, args.warm_urls = stack.enter_context(
                behind_nginx(args.nginx, args.no_post_script_gc))
            args.pids = ",".join(map(str, pids))
        elif args.serve:
            args.url, pid = stack.enter_context(
                serve(args.serve.resolve(), Path("/tmp") / f"bench_load_{args.port}.log", args.port,
                      ("--runner.postScriptGC", "false") if args.no_post_script_gc else ()))
            args.pids = str(pid)
        print(f"# {args.url}{args.path}: students {args.students}, every {args.interval:g} s "
              f"± {args.jitter:.0%}, window {args.duration:g} s; load average "
              f"{os.getloadavg()[0]:.1f}", flush=True)
        levels = asyncio.run(main_async(args))
    print(table(levels))
    if args.json:
        args.json.write_text(json.dumps([asdict(lv) for lv in levels], indent=1))
    return 0 if all(lv.errors == 0 for lv in levels) else 1


if __name__ == "__main__":
    sys.exit(main())
