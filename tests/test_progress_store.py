"""Progress per browser in the store: kept across sessions, bounded, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from test_store import Clock, url  # noqa: F401 - the sqlite/postgresql fixture

from store.progress import KEEP_S, MAX_BYTES, ProgressStore
from ui.progress import Progress


def test_progress_round_trips_per_browser(url):  # noqa: F811
    store = ProgressStore(url)
    p = Progress({1, 2}, {"2.1": False}, {"02-too-large:predict:three-regimes": "diverge"})
    assert store.save("browser-a", p.to_dict())
    assert store.load("browser-b") == {}
    again = ProgressStore(url)  # another process
    assert Progress.from_dict(again.load("browser-a")) == p
    p.seen.add(3)
    assert again.save("browser-a", p.to_dict())  # one row per browser, replaced
    assert Progress.from_dict(store.load("browser-a")).seen == {1, 2, 3}
    for s in (store, again):
        s.engine.dispose()


@pytest.mark.parametrize("browser", ["", "x" * 65, "a b", None, "'; DROP TABLE progress; --"])
def test_a_bad_browser_id_stores_and_loads_nothing(tmp_path, browser):
    store = ProgressStore(f"sqlite:///{tmp_path / 'p.sqlite'}")
    assert not store.save(browser, {"seen": [1]})
    assert store.load(browser) == {}


def test_oversized_or_junk_progress_is_refused_or_dropped(tmp_path):
    store = ProgressStore(f"sqlite:///{tmp_path / 'p.sqlite'}")
    assert not store.save("b", {"answers": {"k": "x" * MAX_BYTES}})
    junk = {"seen": [1, "2", -1, 10**9], "quiz": {"1.1": True, "bad": 1},
            "answers": {"x:predict:e": "ok", "not an answer key": "v", "y:predict:e": 5}}
    assert store.save("b", junk)
    p = Progress.from_dict(store.load("b"))
    assert (p.seen, p.quiz, p.answers) == ({1}, {"1.1": True}, {"x:predict:e": "ok"})


def test_old_progress_is_purged(tmp_path):
    clock = Clock()
    store = ProgressStore(f"sqlite:///{tmp_path / 'p.sqlite'}", clock=clock)
    store.save("old", {"seen": [1]})
    clock.t += KEEP_S / 2
    store.save("recent", {"seen": [2]})
    clock.t += KEEP_S / 2 + 1
    assert store.purge() == 1
    assert store.load("old") == {} and store.load("recent")["seen"] == [2]
