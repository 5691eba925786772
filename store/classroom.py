"""Classroom rooms, live polls and "follow the presenter", stored with SQLAlchemy 2.

One database holds every room, so any number of app processes share a class:

- the default is an SQLite file in ``data/`` (git-ignored, WAL mode), no set-up;
- ``LRLAB_DATABASE_URL=postgresql+psycopg://user:pw@host/db`` for several processes.

A room has a 6-character join code from an alphabet without look-alikes (no 0/O, 1/I/L)
and a secret host token, stored only as its SHA-256. Only the token can move the slide,
reveal a question or close the room. A student is a random id per browser; a vote is one
row per (room, question, student), upserted, so it can change until the reveal and is
counted exactly once however many times it is sent.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, func, select

from store.db import ENV_URL, default_url, make_engine, metadata, upsert  # noqa: F401 (re-exported)

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
ROOM_TTL_S = 12 * 3600.0
PRESENT_WINDOW_S = 20.0
MAX_ID = 64
MAX_OPTION = 120
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
rooms = Table(
    "rooms", metadata,
    Column("code", String(CODE_LENGTH), primary_key=True),
    Column("host_hash", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
    Column("closed", Boolean, nullable=False, default=False),
    Column("lesson", String(MAX_ID), nullable=True),
    Column("section", Integer, nullable=False, default=1),
)
reveals = Table(
    "reveals", metadata,
    Column("room", String(CODE_LENGTH), primary_key=True),
    Column("question", String(MAX_ID), primary_key=True),
    Column("revealed_at", Float, nullable=False),
)
votes = Table(
    "votes", metadata,
    Column("room", String(CODE_LENGTH), primary_key=True),
    Column("question", String(MAX_ID), primary_key=True),
    Column("student", String(MAX_ID), primary_key=True),
    Column("choice", String(MAX_OPTION), nullable=False),
    Column("at", Float, nullable=False),
)
presence = Table(
    "presence", metadata,
    Column("room", String(CODE_LENGTH), primary_key=True),
    Column("student", String(MAX_ID), primary_key=True),
    Column("seen_at", Float, nullable=False),
)


class RoomError(LookupError):
    """The code names no open room: unknown, expired or closed."""


class NotHost(PermissionError):
    """Only the room's host token may do this."""


@dataclass(frozen=True)
class Room:
    """What every member of a room sees: where the presenter is and what has been revealed."""

    code: str
    expires_at: float
    lesson: str | None
    section: int
    revealed: frozenset[str]


def normalise_code(text) -> str | None:
    """A typed join code in canonical form, or None if it cannot be one.

    >>> normalise_code(" kq7-m2x "), normalise_code("K0O1IL"), normalise_code("ABC")
    ('KQ7M2X', None, None)
    """
    if not isinstance(text, str) or len(text) > 32:
        return None
    code = re.sub(r"[\s-]", "", text).upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def valid_id(text) -> bool:
    """A student or question id: 1-64 characters of letters, digits and ``_ . : -``."""
    return isinstance(text, str) and _ID.fullmatch(text) is not None


def new_student_id() -> str:
    """A random per-browser id (128 bits)."""
    return secrets.token_urlsafe(16)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Classroom:
    """Rooms, votes and presence in one database. Every method is one short transaction."""

    def __init__(self, url: str | None = None, clock=time.time):
        self.url = url or default_url()
        self.engine = make_engine(self.url)
        self.clock = clock
        metadata.create_all(self.engine)

    # rooms -------------------------------------------------------------------------------

    def create_room(self, ttl_s: float = ROOM_TTL_S) -> tuple[Room, str]:
        """A new open room and its host token (shown once: only its hash is kept)."""
        now = self.clock()
        token = secrets.token_urlsafe(24)
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            with self.engine.begin() as conn:
                row = conn.execute(select(rooms.c.expires_at, rooms.c.closed)
                                   .where(rooms.c.code == code)).first()
                if row is not None and row.expires_at > now and not row.closed:
                    continue  # taken (1 in 887 million per try)
                if row is not None:
                    self._forget(conn, code)
                conn.execute(rooms.insert().values(code=code, host_hash=_hash(token), created_at=now,
                                                   expires_at=now + ttl_s, closed=False, section=1))
            return self.room(code), token
        raise RuntimeError("no free room code after 20 tries")

    def room(self, code) -> Room:
        """The open room with this code; RoomError if there is none (unknown, expired, closed)."""
        code = normalise_code(code)
        if code is None:
            raise RoomError("A join code is 6 letters and digits, like K7M2QX.")
        with self.engine.connect() as conn:
            row = conn.execute(select(rooms).where(rooms.c.code == code)).first()
            if row is None:
                raise RoomError(f"There is no class with the code {code}.")
            if row.closed:
                raise RoomError(f"The class {code} has ended.")
            if row.expires_at <= self.clock():
                raise RoomError(f"The class {code} has expired.")
            shown = conn.execute(select(reveals.c.question).where(reveals.c.room == code)).scalars()
            return Room(code, row.expires_at, row.lesson, row.section, frozenset(shown))

    def is_host(self, code, token) -> bool:
        """True if ``token`` is this open room's host token (compared in constant time)."""
        code = normalise_code(code)
        if code is None or not isinstance(token, str) or not token or len(token) > 100:
            return False
        with self.engine.connect() as conn:
            row = conn.execute(select(rooms.c.host_hash, rooms.c.closed, rooms.c.expires_at)
                               .where(rooms.c.code == code)).first()
        return (row is not None and not row.closed and row.expires_at > self.clock()
                and hmac.compare_digest(row.host_hash, _hash(token)))

    def _host(self, code, token) -> str:
        self.room(code)  # RoomError first: "ended" says more than "not the host"
        if not self.is_host(code, token):
            raise NotHost("Only the instructor's link can do this.")
        return normalise_code(code)

    def set_slide(self, code, token, lesson: str, section: int) -> None:
        """The presenter is on ``lesson`` (its slug), section ``section`` (1-based)."""
        code = self._host(code, token)
        if not valid_id(lesson) or not isinstance(section, int) or not 1 <= section <= 1000:
            raise ValueError("bad slide")
        with self.engine.begin() as conn:
            conn.execute(rooms.update().where(rooms.c.code == code)
                         .values(lesson=lesson, section=section))

    def reveal(self, code, token, question: str) -> None:
        """Show ``question``'s run and votes to everyone; votes on it are closed."""
        code = self._host(code, token)
        if not valid_id(question):
            raise ValueError("bad question id")
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, reveals, {"room": code, "question": question,
                                                "revealed_at": self.clock()},
                                      ("room", "question"), ("revealed_at",)))

    def close_room(self, code, token) -> None:
        """End the class: its code stops working at once."""
        code = self._host(code, token)
        with self.engine.begin() as conn:
            conn.execute(rooms.update().where(rooms.c.code == code).values(closed=True))

    def _forget(self, conn, code: str) -> None:
        for table in (votes, reveals, presence):
            conn.execute(table.delete().where(table.c.room == code))
        conn.execute(rooms.delete().where(rooms.c.code == code))

    def purge_expired(self) -> int:
        """Delete rooms that expired or closed more than a day ago; returns how many."""
        cutoff = self.clock() - 24 * 3600
        with self.engine.begin() as conn:
            old = conn.execute(select(rooms.c.code).where(rooms.c.expires_at < cutoff)).scalars().all()
            for code in old:
                self._forget(conn, code)
        return len(old)

    # students ----------------------------------------------------------------------------

    def _student(self, code, student) -> str:
        room = self.room(code)
        if not valid_id(student):
            raise ValueError("bad student id")
        return room.code

    def touch(self, code, student) -> None:
        """The student is here now (a heartbeat); ``present`` counts recent ones."""
        code = self._student(code, student)
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, presence, {"room": code, "student": student,
                                                 "seen_at": self.clock()},
                                      ("room", "student"), ("seen_at",)))

    def present(self, code, window_s: float = PRESENT_WINDOW_S) -> int:
        """How many students were seen in the last ``window_s`` seconds."""
        code = self.room(code).code
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(presence).where(
                presence.c.room == code, presence.c.seen_at >= self.clock() - window_s)).scalar_one()

    def vote(self, code, student, question: str, choice: str, options: Sequence[str]) -> bool:
        """Record (or change) a vote; False once the question is revealed. Only ``options``
        are accepted (ValueError otherwise), so a student can store nothing else."""
        code = self._student(code, student)
        if not valid_id(question):
            raise ValueError("bad question id")
        if choice not in options or len(choice) > MAX_OPTION:
            raise ValueError("not one of the options")
        with self.engine.begin() as conn:
            shown = conn.execute(select(reveals.c.question).where(
                reveals.c.room == code, reveals.c.question == question)).first()
            if shown is not None:
                return False
            conn.execute(upsert(self.engine, votes, {"room": code, "question": question, "student": student,
                                              "choice": choice, "at": self.clock()},
                                      ("room", "question", "student"), ("choice", "at")))
        return True

    def my_vote(self, code, student, question: str) -> str | None:
        """This student's vote on ``question``, if any."""
        code = normalise_code(code)
        with self.engine.connect() as conn:
            return conn.execute(select(votes.c.choice).where(
                votes.c.room == code, votes.c.question == question,
                votes.c.student == student)).scalar_one_or_none()

    def tally(self, code, question: str) -> dict[str, int]:
        """Votes per choice on ``question`` (only choices someone picked)."""
        code = self.room(code).code
        with self.engine.connect() as conn:
            rows = conn.execute(select(votes.c.choice, func.count()).where(
                votes.c.room == code, votes.c.question == question).group_by(votes.c.choice)).all()
        return {choice: n for choice, n in rows}
