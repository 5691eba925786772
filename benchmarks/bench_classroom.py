"""The classroom's store under a class: what each poll costs, and how soon a reveal is seen.

a) One call of each store operation a page makes (median of many): the student heartbeat
   (``room`` every poll, ``touch`` every 5 s), a vote, the instructor's ``tally`` and
   ``present``, ``is_host``.
b) A simulated class: N student threads poll like ``ui.classroom.follow`` (``room`` every
   1.5 s, ``touch`` every 5 s, one vote each), one instructor thread polls like
   ``ui.classroom.live_votes`` (``tally`` + ``present`` every 1.5 s) and reveals after the
   votes are in. Reports the poll latency under that load (p50/p95), whether every vote was
   counted exactly once, and the delay from ``reveal`` to each student's next poll seeing it
   (the store's share of "the run appears within 3 s"; the page then reruns once).

c) With ``--serve``: the same over Streamlit's websocket, against ``streamlit run app.py``
   started here (``st_client.StreamlitClient`` sessions, no browser): N students open
   lesson 1 in the room and rerun their heartbeat fragment every 1.5 s as the browser
   does for ``run_every``; the instructor (through the store) presents and reveals. Reports
   the fragment's latency p50/p95, the server's CPU per heartbeat, errors, and the delay
   from the reveal to each student's page having drawn the class's answers (the poll wait
   plus the page run it triggers; what a browser then spends drawing is not included).

    .venv/bin/python benchmarks/bench_classroom.py [--students 60] [--seconds 12] [--url URL]
        [--serve] [--ws-students 10,30,60]

Without ``--url`` it uses a fresh SQLite file (WAL) in a temporary folder; give
``postgresql+psycopg://...`` to measure PostgreSQL.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time

from common import ROOT  # noqa: F401 (puts the repo on sys.path)

from store.classroom import ENV_URL, Classroom

POLL_S = 1.5
TOUCH_S = 5.0
OPTIONS = ("converge", "oscillate", "diverge", "crawl")


def per_call(c: Classroom, repeats: int = 200) -> dict[str, float]:
    """Median ms of each operation, on a room with 60 students and their votes."""
    room, token = c.create_room()
    for i in range(60):
        c.touch(room.code, f"s{i}")
        c.vote(room.code, f"s{i}", "q", OPTIONS[i % 4], OPTIONS)
    calls = {
        "room (every student poll)": lambda: c.room(room.code),
        "touch (student, every 5 s)": lambda: c.touch(room.code, "s1"),
        "vote (change)": lambda: c.vote(room.code, "s2", "q", "diverge", OPTIONS),
        "tally (instructor poll)": lambda: c.tally(room.code, "q"),
        "present (instructor poll)": lambda: c.present(room.code),
        "is_host (each host page run)": lambda: c.is_host(room.code, token),
    }
    out = {}
    for name, call in calls.items():
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            call()
            times.append(time.perf_counter() - t)
        out[name] = statistics.median(times) * 1e3
    return out


def simulated_class(c: Classroom, students: int, seconds: float) -> dict:
    room, token = c.create_room()
    code = room.code
    stop = threading.Event()
    revealed_at: list[float] = []
    seen_at: dict[int, float] = {}
    polls: list[float] = []
    lock = threading.Lock()

    def student(i: int) -> None:
        time.sleep(POLL_S * i / students)  # spread out, as real pages are
        touched = -TOUCH_S
        voted = False
        while not stop.is_set():
            t = time.perf_counter()
            if t - touched >= TOUCH_S:
                c.touch(code, f"s{i}")
                touched = t
            r = c.room(code)
            dt = time.perf_counter() - t
            with lock:
                polls.append(dt)
            if not voted:
                voted = c.vote(code, f"s{i}", "q", OPTIONS[i % 4], OPTIONS)
            if "q" in r.revealed and i not in seen_at:
                seen_at[i] = time.time()
            time.sleep(POLL_S)

    def instructor() -> None:
        while not stop.is_set():
            n = sum(c.tally(code, "q").values())
            c.present(code)
            if n == students and not revealed_at:
                c.reveal(code, token, "q")
                revealed_at.append(time.time())
            time.sleep(POLL_S)

    threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
    threads.append(threading.Thread(target=instructor))
    cpu = time.process_time()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    cpu = time.process_time() - cpu
    polls.sort()
    delays = sorted(seen_at[i] - revealed_at[0] for i in seen_at) if revealed_at else []
    return {
        "students": students, "polls": len(polls),
        "poll p50 ms": polls[len(polls) // 2] * 1e3, "poll p95 ms": polls[int(len(polls) * 0.95)] * 1e3,
        "votes counted": sum(c.tally(code, "q").values()), "present": c.present(code),
        "saw reveal": len(delays),
        "reveal -> seen p50 s": delays[len(delays) // 2] if delays else float("nan"),
        "reveal -> seen max s": delays[-1] if delays else float("nan"),
        "CPU s per student-minute": cpu / seconds * 60 / students,
    }


async def websocket_class(base: str, pid: int, c: Classroom, students: int, seconds: float) -> dict:
    """c): N students' heartbeats over the websocket, then a reveal."""
    import asyncio

    from bench_load import cpu_seconds, percentile
    from st_client import StreamlitClient

    from lessons.loader import load_all

    lesson = next(x for x in load_all() if x.order == 1)
    room, token = c.create_room()
    c.set_slide(room.code, token, lesson.slug, 1)
    clients = [StreamlitClient(base, "/" + lesson.slug, f"room={room.code}&me=bench{i}")
               for i in range(students)]
    errors: list[str] = []
    for client in clients:  # one at a time: the first runs are not what is measured
        first = await client.connect()
        errors += first.errors
    beats: list[float] = []
    seen: dict[int, float] = {}
    revealed: list[float] = []
    stop = asyncio.Event()

    async def heartbeat(i: int, client: StreamlitClient) -> None:
        await asyncio.sleep(POLL_S * i / students)
        while not stop.is_set():
            fragment = next(iter(client.auto_reruns), "")
            t = time.perf_counter()
            r = await client.rerun(fragment_id=fragment)
            if r.runs <= 1:
                beats.append(time.perf_counter() - t)
            errors.extend(r.errors)
            if revealed and i not in seen and any(x.startswith("**The class:**") for x in r.texts()):
                seen[i] = time.time() - revealed[0]
            await asyncio.sleep(max(0.0, POLL_S - (time.perf_counter() - t)))

    tasks = [asyncio.create_task(heartbeat(i, client)) for i, client in enumerate(clients)]
    await asyncio.sleep(POLL_S)
    cpu0, n0 = cpu_seconds([pid]), len(beats)
    await asyncio.sleep(seconds)
    cpu = cpu_seconds([pid]) - cpu0
    n = len(beats) - n0
    window = beats[n0:n0 + n]  # heartbeats before the reveal (after it, page reruns queue too)
    c.reveal(room.code, token, "1:predict:parabola")
    revealed.append(time.time())
    deadline = time.monotonic() + 15
    while len(seen) < students and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # waiting for the students' own loops to see it
    stop.set()
    await asyncio.gather(*tasks)
    for client in clients:
        await client.close()
    delays = sorted(seen.values())
    return {"students": students, "heartbeats": n,
            "heartbeat p50 ms": percentile(window, 50) * 1e3,
            "heartbeat p95 ms": percentile(window, 95) * 1e3,
            "server CPU ms per heartbeat": cpu / max(n, 1) * 1e3,
            "server cores": cpu / seconds, "errors": len(errors),
            "saw reveal": len(delays), "reveal -> drawn p50 s": percentile(delays, 50),
            "reveal -> drawn max s": delays[-1] if delays else float("nan")}


def print_row(r: dict) -> None:
    print("\n| " + " | ".join(r) + " |\n|" + "---|" * len(r))
    print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--serve", action="store_true", help="also c): a real server over the websocket")
    ap.add_argument("--ws-students", default="10,30,60", help="class sizes for c)")
    args = ap.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    c = Classroom(url)
    print(f"database: {c.engine.dialect.name}\n")
    print("| operation | median |\n|---|---|")
    for name, ms in per_call(c).items():
        print(f"| {name} | {ms:.2f} ms |")
    r = simulated_class(c, args.students, args.seconds)
    print_row(r)
    assert r["votes counted"] == args.students, "a vote was lost or counted twice"
    if args.serve:
        import asyncio
        import os

        from bench_load import serve
        from common import ROOT as repo

        from tests.browser.conftest import _free_port

        os.environ[ENV_URL] = url  # the server shares this database
        log = repo / "test-artifacts" / "bench-classroom-server.log"
        log.parent.mkdir(exist_ok=True)
        with serve(repo, log, _free_port()) as (base, pid):
            for n in (int(x) for x in args.ws_students.split(",")):
                print_row(asyncio.run(websocket_class(base, pid, c, n, args.seconds)))


if __name__ == "__main__":
    main()
