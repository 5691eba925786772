"""A lecture hall on this machine: two app processes behind Debian's nginx (deploy/nginx.conf,
sticky by cookie), one PostgreSQL, one instructor and 60 simulated students.

The students are Streamlit websocket clients (benchmarks/st_client.py), each with its own
sticky cookie, so nginx spreads them over both replicas. They join lesson 2 by its room code,
follow the instructor to the slide with the prediction, vote (some change their mind), and
see the run once the instructor reveals it; then the instructor moves on and they follow.
Asserts: every vote is stored exactly once, the instructor's own page counts all 60 votes and
60 students present, and each replica served students. Needs nginx and PostgreSQL: skips
locally without them, fails in CI (``.ci/services.sh`` starts both).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from sqlalchemy import func, select
from test_deploy_nginx import _connects, _missing
from test_store import postgres_url

from lessons.loader import Predict, load_all
from store.classroom import Classroom, votes

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from lrlab_servers import free_port, guarded_server, nginx_binary, run_async, running_nginx  # noqa: E402
from st_client import StreamlitClient  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
STUDENTS = 60
CONCURRENT = 12  # students connecting or rerunning at once (2 cores serve them all)
LESSON = "02-too-large"


def prediction_slide():
    """(lesson, 1-based presenter slide holding its first prediction, that prediction's question id)."""
    lesson = next(x for x in load_all() if x.slug == LESSON)
    predicted = {p.experiment for p in lesson.blocks(Predict)}
    for i, s in enumerate(lesson.slides, start=1):
        if s.experiment is not None and s.experiment.id in predicted:
            return lesson, i, f"{lesson.order}:predict:{s.experiment.id}"
    raise AssertionError(f"{LESSON} has no prediction")


def texts(result) -> str:
    return "\n".join(result.texts())


def heartbeat_fragment(s: StreamlitClient) -> str:
    """The id of the student's follow fragment as last drawn (a fragment's id depends on where
    it is drawn; ``auto_reruns`` is cleared before each full run, so the last one is current)."""
    assert s.auto_reruns, "the student's page never asked for a periodic (follow) rerun"
    return next(reversed(s.auto_reruns))


async def full_run(s: StreamlitClient):
    """A full run of the student's page; the follow fragment it draws becomes the current one
    (the previous one stays known if the run drew none, e.g. when the server merged it)."""
    before = dict(s.auto_reruns)
    s.auto_reruns.clear()
    r = await s.rerun()
    if not s.auto_reruns:
        s.auto_reruns.update(before)
    return r


async def bounded(sem, coro):
    async with sem:
        return await coro


async def lecture(front: str, code: str, token: str):
    """The class (below); every client is closed however it ends, so that no open socket is
    left for a later test to trip over."""
    clients: list[StreamlitClient] = []
    try:
        return await _lecture(front, code, token, clients)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


async def _lecture(front: str, code: str, token: str, clients: list):
    lesson, slide, question = prediction_slide()
    n = len(lesson.slides)
    vote_key = f"vote:{question}"
    origin = {"Origin": front}
    host = StreamlitClient(front, path=f"/{LESSON}",
                           query=f"present=1&section={slide}&room={code}&host={token}",
                           headers={**origin, "Cookie": "lrlab_replica=instructor"}, timeout_s=300)
    clients.append(host)
    first = await host.connect()
    assert first.ok, first.errors
    assert "Reveal the run" in {w.label for w in host.widgets.values()}

    students = [StreamlitClient(front, path=f"/{LESSON}", query=f"room={code}&me=student-{i:02d}",
                                headers={**origin, "Cookie": f"lrlab_replica=student-{i:02d}"},
                                timeout_s=300) for i in range(STUDENTS)]
    clients.extend(students)
    sem = asyncio.Semaphore(CONCURRENT)
    joined = await asyncio.gather(*(bounded(sem, s.connect()) for s in students))
    for r in joined:
        assert r.ok, r.errors
        # following the presenter: a new arrival is taken to the instructor's slide
        assert f"slide {slide} of {n}" in texts(r), texts(r)[-500:]
    options = list(students[0].widget(vote_key).proto.options)
    final = {i: options[i % len(options)] for i in range(STUDENTS)}

    async def vote(i: int, s: StreamlitClient):
        if i % 4 == 0:  # a quarter change their mind before the reveal
            s.set_widget(vote_key, options[(i + 1) % len(options)])
            r = await full_run(s)
            assert r.ok, r.errors
        s.set_widget(vote_key, final[i])
        r = await full_run(s)
        assert r.ok, r.errors
        assert f"Your vote: **{final[i]}**" in texts(r)

    await asyncio.gather(*(bounded(sem, vote(i, s)) for i, s in enumerate(students)))

    async def heartbeat(s: StreamlitClient):
        # what each open page does every 1.5 s on its own: its fragment says "still here"
        fragment = heartbeat_fragment(s)
        r = await s.rerun(fragment_id=fragment)
        assert r.ok, r.errors

    await asyncio.gather(*(bounded(sem, heartbeat(s)) for s in students))
    seen = await host.rerun()
    assert seen.ok, seen.errors
    assert f"**{STUDENTS} votes** · {STUDENTS} students present" in texts(seen), texts(seen)[-800:]
    host.click(f"reveal:{question}")
    revealed = await host.rerun()
    assert revealed.ok, revealed.errors
    assert "diagnosed" in texts(revealed), texts(revealed)[-500:]  # the run, on the slide

    async def sees_the_run(i: int, s: StreamlitClient):
        # the student's heartbeat fragment (run_every) notices the reveal and reruns the page
        fragment = heartbeat_fragment(s)
        r = await s.rerun(fragment_id=fragment)
        assert r.ok, r.errors
        r = r if r.runs > 1 or "diagnosed" in texts(r) else await full_run(s)
        body = texts(r)
        assert "diagnosed" in body and ("Right!" in body or "Not quite" in body), body[-600:]

    await asyncio.gather(*(bounded(sem, sees_the_run(i, s)) for i, s in enumerate(students)))

    host.click("Next →")
    moved = await host.rerun()
    assert moved.ok and f"slide {slide + 1} of {n}" in texts(moved), texts(moved)[-300:]

    async def follows(s: StreamlitClient):
        fragment = heartbeat_fragment(s)
        r = await s.rerun(fragment_id=fragment)
        assert r.ok, r.errors
        assert f"slide {slide + 1} of {n}" in texts(r), texts(r)[-300:]

    await asyncio.gather(*(bounded(sem, follows(s)) for s in students))
    return question, final


def test_sixty_students_on_two_replicas_behind_nginx(tmp_path):
    if nginx_binary() is None:
        _missing("nginx is not installed (apt-get install nginx)")
    url = postgres_url()
    store = Classroom(url)
    room, token = store.create_room()
    env = {**os.environ, "LRLAB_DATABASE_URL": url}
    with contextlib.ExitStack() as stack:
        replicas = [stack.enter_context(guarded_server(ARTIFACTS / f"hall-replica-{i}.log", env=env))[0]
                    for i in (1, 2)]
        front = stack.enter_context(running_nginx(free_port(), [r.removeprefix("http://") for r in replicas],
                                                  tmp_path / "nginx"))
        before = [_connects(r) for r in replicas]
        question, final = run_async(lecture(front, room.code, token))
        served = [_connects(r) - b for r, b in zip(replicas, before, strict=True)]
    assert sum(served) == STUDENTS + 1 and min(served) >= 10, served  # spread over both replicas
    with store.engine.connect() as conn:
        rows = conn.execute(select(votes.c.student, votes.c.choice).where(
            votes.c.room == room.code, votes.c.question == question)).all()
        assert conn.execute(select(func.count()).select_from(votes).where(
            votes.c.room == room.code)).scalar_one() == STUDENTS
    assert {s: c for s, c in rows} == {f"student-{i:02d}": c for i, c in final.items()}
    store.engine.dispose()
