"""A student's progress through the lessons: pages visited and quiz answers.

Held in session state (survives page switches) and mirrored into the URL as
``seen=1,2`` and ``quiz=1.1-1,2.1-0`` (lesson order . quiz number - right?),
so it survives a reload too. Parsing never raises: junk is ignored.

>>> p = Progress.from_query({"seen": "1,3,x", "quiz": "1.1-1,2.1-0,bad"})
>>> sorted(p.seen), p.quiz
([1, 3], {'1.1': True, '2.1': False})
>>> p.to_query()
{'seen': '1,3', 'quiz': '1.1-1,2.1-0'}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import streamlit as st

KEY = "lesson_progress"


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
        st.session_state[KEY] = Progress.from_query(
            {k: st.query_params.get(k) for k in ("seen", "quiz")})
    return st.session_state[KEY]


def save(progress: Progress, extra: dict[str, str] | None = None) -> None:
    """Store progress and mirror it (plus ``extra`` parameters) into the URL."""
    st.session_state[KEY] = progress
    query = {**(extra or {}), **progress.to_query()}
    if {k: st.query_params.get(k) for k in st.query_params} != query:
        st.query_params.from_dict(query)


def reset() -> None:
    st.session_state[KEY] = Progress()
    st.query_params.clear()
