"""The one database behind every store: its URL, its engine and a portable upsert."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import MetaData, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
ENV_URL = "LRLAB_DATABASE_URL"
metadata = MetaData()


def default_url() -> str:
    """$LRLAB_DATABASE_URL, else an SQLite file in data/ (created on first use)."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    DATA_DIR.mkdir(exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'classroom.sqlite'}"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode and a busy timeout, so concurrent writers wait."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def upsert(engine: Engine, table: Table, values: dict, keys: Sequence[str], update: Sequence[str]):
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET update: one row per key, in one statement,
    on SQLite and PostgreSQL alike (so a repeated or concurrent write is stored once)."""
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**values)
    return stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={k: stmt.excluded[k] for k in update})
