"""A student's progress through the lessons: pages visited and quiz answers.

Held in session state (survives page switches) and mirrored into the URL as
``seen=1,2`` and ``quiz=1.1-1,2.1-0`` (lesson order . quiz number - right?),
so it survives a reload too. Parsing never raises: junk is ignored.

It is also kept in the browser's local storage (the same query string), so a lesson
or the lesson index opened later without it in the URL (a new tab, a bookmark, a
page reached from the menu after a reload) gets it back: on a session's first run
without progress in the URL, a small script reads the stored progress, merges it
with this page's and reloads the page with it in the URL (once: the URL then has it).

>>> p = Progress.from_query({"seen": "1,3,x", "quiz": "1.1-1,2.1-0,bad"})
>>> sorted(p.seen), p.quiz
([1, 3], {'1.1': True, '2.1': False})
>>> p.to_query()
{'seen': '1,3', 'quiz': '1.1-1,2.1-0'}
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import streamlit as st
import streamlit.components.v1 as components

KEY = "lesson_progress"
RESTORE = KEY + ":restore"
STORAGE_KEY = "lrl-progress"

# Runs in a 0-height iframe on the app's origin. `mode` is "restore" on a session's
# first run when the URL had no progress, else "store". Restore merges the stored
# progress into this page's URL and reloads, only if it adds something.
STORAGE_JS = """
<script>
const mode = %(mode)s, mine = %(query)s, KEY = %(key)s;
const win = window.parent;
let store = null;
try { store = win.localStorage; } catch (e) {}
const parse = (qs) => new URLSearchParams(qs || "");
const list = (v) => (v ? v.split(",").filter(Boolean) : []);
if (store) {
  if (mode === "restore") {
    const saved = parse(store.getItem(KEY)), now = parse(mine);
    const seen = [...new Set([...list(saved.get("seen")), ...list(now.get("seen"))])]
      .sort((a, b) => a - b);
    const quiz = new Map(list(saved.get("quiz")).map(q => [q.split("-")[0], q]));
    list(now.get("quiz")).forEach(q => quiz.set(q.split("-")[0], q));
    const merged = new URLSearchParams(win.location.search);
    if (seen.length) merged.set("seen", seen.join(","));
    if (quiz.size) merged.set("quiz", [...quiz.values()].sort().join(","));
    const adds = list(saved.get("seen")).length + list(saved.get("quiz")).length > 0;
    if (adds) {
      // The iframe's sandbox forbids navigating the page, so the page does it itself.
      const url = win.location.pathname + "?" + merged.toString() + win.location.hash;
      const run = win.document.createElement("script");
      run.textContent = "window.location.replace(" + JSON.stringify(url) + ");";
      win.document.head.appendChild(run);
    } else if (mine) { store.setItem(KEY, mine); }
  } else if (mine) { store.setItem(KEY, mine); } else { store.removeItem(KEY); }
}
</script>
"""


@dataclass
class Progress:
    seen: set[int] = field(default_factory=set)
    quiz: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: dict) -> Progress:
        seen = {int(s) for s in str(query.get("seen", "")).split(",") if s.strip().isdigit()}
        quiz = {}
        for item in str(query.get("quiz", "")).split(","):
            m = re.fullmatch(r"(\d{1,3}\.\d{1,3})-([01])", item.strip())
            if m:
                quiz[m[1]] = m[2] == "1"
        return cls({s for s in seen if s < 1000}, quiz)

    def to_query(self) -> dict[str, str]:
        q = {}
        if self.seen:
            q["seen"] = ",".join(str(s) for s in sorted(self.seen))
        if self.quiz:
            q["quiz"] = ",".join(f"{k}-{int(v)}" for k, v in sorted(self.quiz.items()))
        return q

    def score(self, order: int) -> tuple[int, int]:
        """(right, answered) for one lesson's quizzes."""
        mine = [v for k, v in self.quiz.items() if k.split(".")[0] == str(order)]
        return sum(mine), len(mine)


def current() -> Progress:
    """This session's progress, read from the URL the first time."""
    if KEY not in st.session_state:
        query = {k: st.query_params.get(k) for k in ("seen", "quiz")}
        st.session_state[KEY] = Progress.from_query(query)
        st.session_state[RESTORE] = not any(query.values())
    return st.session_state[KEY]


def save(progress: Progress, extra: dict[str, str] | None = None) -> None:
    """Store progress and mirror it (plus ``extra`` parameters) into the URL."""
    st.session_state[KEY] = progress
    query = {**(extra or {}), **progress.to_query()}
    if {k: st.query_params.get(k) for k in st.query_params} != query:
        st.query_params.from_dict(query)
    sync_browser(progress)


def storage_script(progress: Progress, restore: bool) -> str:
    """The script that keeps ``progress`` in the browser's local storage (see the module doc)."""
    mine = "&".join(f"{k}={v}" for k, v in progress.to_query().items())
    return STORAGE_JS % {"mode": json.dumps("restore" if restore else "store"),
                         "query": json.dumps(mine), "key": json.dumps(STORAGE_KEY)}


def sync_browser(progress: Progress) -> None:
    """Store ``progress`` in the browser, or on a session's first run bring the stored one back."""
    restore = st.session_state.pop(RESTORE, False)
    components.html(storage_script(progress, restore), height=0)


def reset() -> None:
    """Forget everything; the next save() clears the browser's copy too."""
    st.session_state[KEY] = Progress()
    st.session_state.pop(RESTORE, None)
    st.query_params.clear()
