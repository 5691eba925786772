"""A student's progress through the lessons: pages visited, quiz results and answers.

Held in session state (survives page switches), mirrored into the URL as ``seen=1,2`` and
``quiz=1.1-1,2.1-0`` (lesson order . quiz number - right?), and stored per browser
(``store.progress``, keyed by a random id in the ``lrlab_browser`` cookie), so it survives
a reload, a new tab and a shared link alike. The stored copy also keeps the answers
themselves (a prediction made, a quiz checked), which come back after a reload. Parsing
never raises: junk is ignored.

>>> p = Progress.from_query({"seen": "1,3,x", "quiz": "1.1-1,2.1-0,bad"})
>>> sorted(p.seen), p.quiz
([1, 3], {'1.1': True, '2.1': False})
>>> p.to_query()
{'seen': '1,3', 'quiz': '1.1-1,2.1-0'}
>>> q = Progress.from_dict({"seen": [2, "x"], "quiz": {"2.1": 1}, "answers": {"a:predict:b": "diverge"}})
>>> sorted(p.merged(q).seen), p.merged(q).quiz["2.1"], q.answers  # p answered 2.1 first: it wins
([1, 2, 3], False, {'a:predict:b': 'diverge'})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import streamlit as st
import streamlit.components.v1 as components

from store.classroom import new_student_id, valid_id
from store.progress import ProgressStore

KEY = "lesson_progress"
SAVED = "lesson_progress_saved"
BROWSER = "lesson_progress_browser"
COOKIE = "lrlab_browser"
# session-state keys of answers worth keeping: a prediction made ("<slug>:predict:<exp>")
# and a quiz answer checked ("<slug>:quiz:<id>:checked")
ANSWER_KEY = re.compile(r"[\w.-]{1,64}:(predict:[\w.-]{1,64}|quiz:[\w.-]{1,64}:checked)")
MAX_ANSWERS = 300


@dataclass
class Progress:
    seen: set[int] = field(default_factory=set)
    quiz: dict[str, bool] = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query: dict) -> Progress:
        seen = {int(s) for s in str(query.get("seen", "")).split(",") if s.strip().isdigit()}
        quiz = {}
        for item in str(query.get("quiz", "")).split(","):
            m = re.fullmatch(r"(\d{1,3}\.\d{1,3})-([01])", item.strip())
            if m:
                quiz[m[1]] = m[2] == "1"
        return cls({s for s in seen if s < 1000}, quiz)

    @classmethod
    def from_dict(cls, data: dict) -> Progress:
        """From the stored JSON; anything malformed is dropped."""
        seen = {s for s in data.get("seen", []) if isinstance(s, int) and 0 <= s < 1000}
        quiz = {k: bool(v) for k, v in dict(data.get("quiz") or {}).items()
                if isinstance(k, str) and re.fullmatch(r"\d{1,3}\.\d{1,3}", k)}
        answers = {k: v for k, v in dict(data.get("answers") or {}).items()
                   if isinstance(k, str) and ANSWER_KEY.fullmatch(k) and isinstance(v, str)
                   and len(v) <= 120}
        return cls(seen, quiz, dict(list(answers.items())[:MAX_ANSWERS]))

    def to_dict(self) -> dict:
        return {"seen": sorted(self.seen), "quiz": dict(sorted(self.quiz.items())),
                "answers": dict(sorted(self.answers.items()))}

    def to_query(self) -> dict[str, str]:
        q = {}
        if self.seen:
            q["seen"] = ",".join(str(s) for s in sorted(self.seen))
        if self.quiz:
            q["quiz"] = ",".join(f"{k}-{int(v)}" for k, v in sorted(self.quiz.items()))
        return q

    def merged(self, other: Progress) -> Progress:
        """Both together; where both answered a quiz, ``self`` wins."""
        return Progress(self.seen | other.seen, {**other.quiz, **self.quiz},
                        {**other.answers, **self.answers})

    def score(self, order: int) -> tuple[int, int]:
        """(right, answered) for one lesson's quizzes."""
        mine = [v for k, v in self.quiz.items() if k.split(".")[0] == str(order)]
        return sum(mine), len(mine)


@st.cache_resource(show_spinner=False)
def _store() -> ProgressStore:
    return ProgressStore()


def browser_id() -> str:
    """This browser's id: from its cookie, else a new one, set as a cookie (for a year) by a
    zero-height script on this page, so the next session of this browser finds it."""
    ss = st.session_state
    if BROWSER not in ss:
        cookie = st.context.cookies.get(COOKIE)
        ss[BROWSER] = (cookie, True) if valid_id(cookie) else (new_student_id(), False)
    browser, known = ss[BROWSER]
    if not known:
        components.html(f"<script>window.parent.document.cookie = '{COOKIE}={browser}; path=/; "
                        "max-age=31536000; SameSite=Lax';</script>", height=0)
        ss[BROWSER] = (browser, True)
    return browser


def current() -> Progress:
    """This session's progress: the first time, the URL's and this browser's stored progress
    together, with the stored answers put back into session state."""
    ss = st.session_state
    if KEY not in ss:
        stored = Progress.from_dict(_store().load(browser_id()))
        p = Progress.from_query({k: st.query_params.get(k) for k in ("seen", "quiz")}).merged(stored)
        for key, value in p.answers.items():
            ss.setdefault(key, value)
        ss[KEY] = p
        ss[SAVED] = stored.to_dict()
    return ss[KEY]


def save(progress: Progress, extra: dict[str, str] | None = None) -> None:
    """Store progress (with the answers now in session state) for this browser, and mirror it
    (plus ``extra`` parameters) into the URL."""
    ss = st.session_state
    for key in list(ss):
        if isinstance(key, str) and ANSWER_KEY.fullmatch(key) and isinstance(ss[key], str) \
                and len(progress.answers) < MAX_ANSWERS:
            progress.answers[key] = ss[key]
    ss[KEY] = progress
    data = progress.to_dict()
    if ss.get(SAVED) != data and _store().save(browser_id(), data):
        ss[SAVED] = data
    query = {**(extra or {}), **progress.to_query()}
    if {k: st.query_params.get(k) for k in st.query_params} != query:
        st.query_params.from_dict(query)


def reset() -> None:
    """Forget this browser's progress and answers, here and in the store."""
    ss = st.session_state
    for key in [k for k in ss if isinstance(k, str) and ANSWER_KEY.fullmatch(k)]:
        del ss[key]
    ss[KEY] = Progress()
    _store().save(browser_id(), Progress().to_dict())
    ss[SAVED] = Progress().to_dict()
    st.query_params.clear()
