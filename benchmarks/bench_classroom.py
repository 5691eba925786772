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

    .venv/bin/python benchmarks/bench_classroom.py [--students 60] [--seconds 12] [--url URL]

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

from store.classroom import Classroom

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite"
    c = Classroom(url)
    print(f"database: {c.engine.dialect.name}\n")
    print("| operation | median |\n|---|---|")
    for name, ms in per_call(c).items():
        print(f"| {name} | {ms:.2f} ms |")
    r = simulated_class(c, args.students, args.seconds)
    print("\n| " + " | ".join(r) + " |\n|" + "---|" * len(r))
    print("| " + " | ".join(f"{v:.3g}" if isinstance(v, float) else str(v) for v in r.values()) + " |")
    assert r["votes counted"] == args.students, "a vote was lost or counted twice"


if __name__ == "__main__":
    main()
