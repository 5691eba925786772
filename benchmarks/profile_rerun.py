"""Where a Playground rerun's server CPU goes: per server thread, and per function in the script.

Starts ``streamlit run app.py`` in a child process with two probes: cProfile around every
script run (in Streamlit's script thread; ``ScriptRunner._run_script`` is wrapped), and
nothing else changed. This process then drives the page with :mod:`st_client`: one
session, a warm-up, then ``--reruns`` reruns each with a new rate in the first rate entry
(new scenes: no cache hits), or ``--same`` to rerun the same scene. It reads every server
thread's CPU time (``/proc/<pid>/task/*/stat``) before and after, and prints:

- CPU-ms per rerun per thread (script thread, the event loop that sends, JAX's threads);
- the profile of the script thread's runs: the top functions by cumulative time, per rerun.

    .venv/bin/python benchmarks/profile_rerun.py [--reruns 30] [--same] [--top 40] [--serve DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import io
import math
import os
import pstats
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

TICKS = os.sysconf("SC_CLK_TCK")
STATS_FILE = Path("/tmp/profile_rerun.pstats")
NAMES_FILE = Path("/tmp/profile_rerun.threads")


def server_main(port: int, profile: bool = True, post_script_gc: bool = True) -> None:
    """In the child: profile every script run, dump the stats on SIGUSR1, run streamlit."""
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web import cli

    profiler = cProfile.Profile(time.thread_time)  # CPU time of the script thread, not wall
    lock = threading.Lock()
    original = script_runner.ScriptRunner._run_script

    def profiled(self, rerun_data):
        with lock:
            profiler.enable()
            try:
                return original(self, rerun_data)
            finally:
                profiler.disable()

    def dump(*_):
        NAMES_FILE.write_text("\n".join(f"{t.native_id} {t.name}" for t in threading.enumerate()))
        with lock:
            profiler.dump_stats(STATS_FILE)
            profiler.clear()

    if profile:
        script_runner.ScriptRunner._run_script = profiled
    signal.signal(signal.SIGUSR1, dump)
    signal.signal(signal.SIGUSR2, lambda *_: profiler.clear())
    sys.argv = ["streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
                str(port), "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none",
                "--runner.postScriptGC", str(post_script_gc).lower()]
    cli.main()


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds per living thread (by name and id), and the whole process's ("total", which
    includes threads that have exited: Streamlit starts a script thread per run)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    out: dict[str, float] = defaultdict(float)
    out["total"] = (int(fields[11]) + int(fields[12])) / TICKS
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            name = f"{(task / 'comm').read_text().strip()} {task.name}"
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            out[name] += (int(fields[11]) + int(fields[12])) / TICKS
    return out


async def drive(url: str, pid: int, reruns: int, same: bool, idle: int = 0) -> tuple[dict, float, list]:
    from st_client import StreamlitClient

    others = []
    for k in range(idle):  # sessions that stay open (and idle) while one session reruns
        others.append(StreamlitClient(url, "/playground", f"lr={0.001 * (k + 1):g}"))
        await others[-1].connect()

    rates = [float(f"{math.exp(math.log(1e-3) + k * 0.173):.4g}") for k in range(reruns + 2)]
    async with StreamlitClient(url, "/playground", "lr=0.05") as c:
        assert c.first.ok, c.first.errors
        for lr in (0.06, 0.07):
            c.set_widget("lr_num_0", lr)
            await c.rerun()
        os.kill(pid, signal.SIGUSR2)  # forget the warm-up runs
        await asyncio.sleep(0.5)
        before, wall0 = thread_cpu(pid), time.perf_counter()
        results = []
        for k in range(reruns):
            if not same:
                c.set_widget("lr_num_0", rates[k])
            r = await c.rerun()
            assert r.ok, r.errors
            results.append(r)
        await asyncio.sleep(0.3)
        after = thread_cpu(pid)
        wall = time.perf_counter() - wall0
    for c in others:
        await c.close()
    per = {k: (after.get(k, 0) - before.get(k, 0)) / reruns for k in after}
    return per, wall / reruns, results


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--server-port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--serve", type=Path, default=Path(__file__).resolve().parents[1])
    p.add_argument("--port", type=int, default=8660)
    p.add_argument("--reruns", type=int, default=30)
    p.add_argument("--same", action="store_true", help="rerun one scene (nothing changed)")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("--idle-sessions", type=int, default=0,
                   help="open this many other Playground sessions first (they stay idle)")
    p.add_argument("--cpu-only", action="store_true",
                   help="no cProfile (its overhead inflates Python-heavy code): CPU per thread only")
    p.add_argument("--no-profile-server", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-post-script-gc", action="store_true",
                   help="run the server with runner.postScriptGC false")
    args = p.parse_args(argv)
    if args.server_port:
        server_main(args.server_port, profile=not args.no_profile_server,
                    post_script_gc=not args.no_post_script_gc)
        return 0
    url = f"http://127.0.0.1:{args.port}"
    log = open(f"/tmp/profile_rerun_{args.port}.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--server-port",
                             str(args.port)] + ["--no-profile-server"] * args.cpu_only
                            + ["--no-post-script-gc"] * args.no_post_script_gc,
                            cwd=args.serve, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(OSError), \
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.25)  # polling the health endpoint
        per, wall, results = asyncio.run(drive(url, proc.pid, args.reruns, args.same,
                                               args.idle_sessions))
        STATS_FILE.unlink(missing_ok=True)
        os.kill(proc.pid, signal.SIGUSR1)
        while not STATS_FILE.exists():
            time.sleep(0.1)  # the server writes the file on the signal
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()
    total = per.pop("total")
    living = sum(per.values())
    print(f"# {args.reruns} reruns ({'same scene' if args.same else 'a new rate each'}) "
          f"with {args.idle_sessions} other sessions open, "
          f"wall {wall * 1000:.0f} ms per rerun, load average {os.getloadavg()[0]:.1f}; "
          f"payload {sum(r.bytes for r in results) / len(results) / 1024:.0f} KiB per rerun")
    print(f"server CPU per rerun: {total * 1000:.1f} ms, of which threads that ended (the "
          f"script threads) {(total - living) * 1000:.1f} ms and living threads:")
    names = dict(line.split(" ", 1) for line in NAMES_FILE.read_text().splitlines())
    for name, v in sorted(per.items(), key=lambda kv: -kv[1]):
        if v > 0.0005:
            tid = name.rsplit(" ", 1)[1]
            print(f"  {names.get(tid, 'native (JAX/XLA, ...) ' + tid):40s} {v * 1000:7.1f} ms")
    if args.cpu_only:
        return 0
    out = io.StringIO()
    stats = pstats.Stats(str(STATS_FILE), stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(f"script thread profile, CPU time (totals over {args.reruns} reruns; divide by it):")
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
