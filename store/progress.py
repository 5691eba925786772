"""Lesson progress per browser (visits, quiz results, predictions), kept across reloads.

A browser is a random id in a cookie; its progress is one small JSON row. Input is bounded
(at most ``MAX_BYTES`` of JSON, ids as in ``store.classroom.valid_id``), so a client can
store nothing large. Rows not written for ``KEEP_S`` are deleted by ``purge``.
"""

from __future__ import annotations

import json
import time

from sqlalchemy import Column, Float, String, Table, select

from store.classroom import valid_id
from store.db import default_url, make_engine, metadata, upsert

MAX_BYTES = 16_384
KEEP_S = 180 * 24 * 3600.0

progress = Table(
    "progress", metadata,
    Column("browser", String(64), primary_key=True),
    Column("data", String(MAX_BYTES), nullable=False),
    Column("updated_at", Float, nullable=False),
)


class ProgressStore:
    """``load(browser) -> dict`` and ``save(browser, dict)``; a bad id or oversized data is refused."""

    def __init__(self, url: str | None = None, clock=time.time):
        self.engine = make_engine(url or default_url())
        self.clock = clock
        metadata.create_all(self.engine, tables=[progress])

    def load(self, browser: str) -> dict:
        """The stored progress of ``browser`` ({} if none, or if the id is not valid)."""
        if not valid_id(browser):
            return {}
        with self.engine.connect() as conn:
            raw = conn.execute(select(progress.c.data).where(progress.c.browser == browser)).scalar()
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def save(self, browser: str, data: dict) -> bool:
        """Store ``data`` for ``browser``; False (nothing stored) if the id or size is not valid."""
        raw = json.dumps(data, separators=(",", ":"), sort_keys=True)
        if not valid_id(browser) or len(raw) > MAX_BYTES:
            return False
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, progress, {"browser": browser, "data": raw,
                                                        "updated_at": self.clock()},
                                ("browser",), ("data", "updated_at")))
        return True

    def purge(self) -> int:
        """Forget browsers not seen for ``KEEP_S``; returns how many."""
        with self.engine.begin() as conn:
            return conn.execute(progress.delete().where(
                progress.c.updated_at < self.clock() - KEEP_S)).rowcount
