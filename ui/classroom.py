"""Classroom widgets: who this browser is in a class, the join corner, live polls, reveal,
"follow the presenter", and the join QR code.

The URL says who you are in a class: ``room=CODE`` joins it; ``host=TOKEN`` makes you its
instructor (only if the store says the token is this room's: a student link cannot, whatever
it puts there); ``me=ID`` is a student's random id, so one browser has one vote per question
and a reload keeps it. The same values are kept in session state, so a page switch (which
clears the URL) keeps you in the class.

Live parts are fragments that rerun on their own (``st.fragment(run_every=...)``), so the
page does not: the instructor's vote chart every ``POLL_S`` seconds, and each student's
heartbeat, which moves them to the presenter's section and shows a reveal within
``FOLLOW_S`` seconds (plus one page run).
"""

from __future__ import annotations

import io
import time
from collections.abc import Sequence
from dataclasses import dataclass

import segno
import streamlit as st

from charts import describe
from charts.ready import ReadyFigure
from charts.votes import votes_spec
from store.classroom import Classroom, NotHost, Room, RoomError, default_url, new_student_id, valid_id
from ui.widgets import chart_text

POLL_S = 1.5  # the instructor's live chart
FOLLOW_S = 1.5  # a student's heartbeat: the presenter's section, reveals
TOUCH_S = 5.0  # ...which says "present" at most this often (the store counts the last 20 s)
STATE = "classroom"  # session state: {"room", "host", "me"} of this browser's class
LIVE = "classroom_live"  # session state: the presenter's (lesson, section) last seen here
TOUCHED = "classroom_touched"  # session state: when this student last said they are here
VIEW = "classroom_view"  # session state: this run's Membership (None outside a class)
CLASSROOM_PAGE = "app_pages/classroom.py"
CLASSROOM_PATH = "classroom"


@st.cache_resource(show_spinner=False)
def _classroom(url: str) -> Classroom:
    return Classroom(url)


def classroom() -> Classroom:
    """The process's one Classroom (one connection pool) for the configured database."""
    return _classroom(default_url())


@dataclass(frozen=True)
class Membership:
    """This browser in a class: the room as read this run, and who it is there."""

    room: Room
    token: str | None = None  # the host token: only when it is valid for this room
    student: str | None = None  # a student's id: only when not the host

    @property
    def code(self) -> str:
        return self.room.code

    @property
    def host(self) -> bool:
        return self.token is not None

    def query(self) -> dict[str, str]:
        """The URL parameters that keep this browser in the class (the host token only for the host)."""
        return {"room": self.code, **({"host": self.token} if self.host else {"me": self.student})}


def _param(name: str) -> str | None:
    value = st.query_params.get(name)
    return value if isinstance(value, str) and value else None


def membership(show_problems: bool = True) -> Membership | None:
    """Who this browser is in a class, from the URL (else this session's last class), or None.

    A bad, expired or ended code is said on the page (the store's message) and forgotten; an
    instructor key that is not this room's is said too, and the browser joins as a student.
    """
    ss = st.session_state
    kept = ss.get(STATE) or {}
    code = _param("room") or kept.get("room")
    if code is None:
        ss[VIEW] = None
        return None
    try:
        room = classroom().room(code)
    except RoomError as e:
        if show_problems:
            st.warning(f"{e} Ask your instructor for the current code.", icon=":material/groups:")
        ss.pop(STATE, None)
        ss[VIEW] = None
        return None
    same = kept.get("room") == room.code
    token = _param("host") or (kept.get("host") if same else None)
    if token is not None and not classroom().is_host(room.code, token):
        if show_problems and _param("host"):
            st.warning(f"This link's instructor key does not open class {room.code}: you are in it as "
                       "a student.", icon=":material/lock:")
        token = None
    student = None
    if token is None:
        student = _param("me") if valid_id(_param("me")) else None
        student = student or (kept.get("me") if same else None) or new_student_id()
    ss[STATE] = {"room": room.code, "host": token, "me": student}
    m = Membership(room, token, student)
    ss[VIEW] = m
    return m


def current() -> Membership | None:
    """The membership :func:`membership` found in this run (None outside a class)."""
    return st.session_state.get(VIEW)


def leave() -> None:
    """Forget this browser's class."""
    st.session_state.pop(STATE, None)
    st.session_state[VIEW] = None
    st.session_state.pop(LIVE, None)


# links and the join corner -------------------------------------------------------------------

def base_url() -> str:
    """The app's address as the browser sees it (scheme, host, port, base path), no page path."""
    url = (st.context.url or "http://localhost:8501").rstrip("/")
    head, _, last = url.rpartition("/")
    if "://" in head and last in {CLASSROOM_PATH, *_lesson_paths()}:
        url = head
    return url


def _lesson_paths() -> frozenset[str]:
    from ui.lesson_pages import lesson_slugs

    return lesson_slugs()


def join_url(code: str) -> str:
    """The students' link: the Classroom page with the code (never the host token)."""
    return f"{base_url()}/{CLASSROOM_PATH}?room={code}"


def host_url(code: str, token: str) -> str:
    """The instructor's own link back to the class dashboard (keep it private)."""
    return f"{base_url()}/{CLASSROOM_PATH}?room={code}&host={token}"


def qr_png(url: str, scale: int = 14) -> bytes:
    """The link as a QR code PNG: medium error correction, a 4-module quiet zone, black on white,
    ``scale`` pixels per module (a 29-module code at 14 px is 518 px wide)."""
    buf = io.BytesIO()
    segno.make(url, error="m", micro=False).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()


def join_corner(m: Membership) -> None:
    """The join code pinned to the top-right corner of every slide (the host's), or the class
    a student is in (small)."""
    if m.host:
        where = base_url().split("://", 1)[-1]
        html = (f"<div class='lrl-join' style='position:fixed;top:0.6rem;right:1rem;z-index:999990;"
                f"background:#fff;color:#111;border:2px solid #0072B2;border-radius:0.6rem;"
                f"padding:0.35rem 0.9rem;text-align:center;box-shadow:0 2px 8px rgba(0,0,0,.15)'>"
                f"<div style='font-size:0.95rem'>Join at {where}/{CLASSROOM_PATH}</div>"
                f"<div style='font-size:2.2rem;font-weight:700;letter-spacing:0.18em;"
                f"font-family:monospace'>{m.code}</div></div>"
                # keep the slide clear of the corner, so the code never covers it
                "<style>.block-container { padding-right: 17rem !important; }</style>")
    else:
        html = (f"<div class='lrl-join' style='position:fixed;top:0.85rem;right:3.2rem;z-index:999991;"
                f"background:#fff;color:#111;border:1px solid #0072B2;border-radius:0.5rem;"
                f"padding:0.1rem 0.6rem;font-size:0.9rem'>Class <b style='font-family:monospace'>"
                f"{m.code}</b></div>")
    st.markdown(html, unsafe_allow_html=True)


def big_code(code: str) -> None:
    st.markdown(f"<div style='font-size:4.5rem;font-weight:700;letter-spacing:0.25em;"
                f"font-family:monospace;line-height:1.1'>{code}</div>", unsafe_allow_html=True)


# polls ---------------------------------------------------------------------------------------

def question_id(order: int, kind: str, name: str) -> str:
    """A question's id in the store: "<lesson order>:<predict|quiz>:<id>" (at most 64 characters)."""
    return f"{order}:{kind}:{name}"[:64]


@st.fragment(run_every=POLL_S)
def live_votes(code: str, question: str, options: Sequence[str], labels: Sequence[str] | None = None,
               show_votes: bool = True, height: int | None = None) -> None:
    """The instructor's live view of a question: the votes as bars (or, with ``show_votes`` off,
    only how many answered) and how many students are here. Reruns every ``POLL_S`` s alone."""
    try:
        tally = classroom().tally(code, question)
        here = classroom().present(code)
    except RoomError as e:
        st.warning(str(e))
        return
    n = sum(tally.get(o, 0) for o in options)
    if show_votes:
        st.plotly_chart(ReadyFigure(votes_spec(options, tally, labels=labels, height=height)),
                        key=f"live:{question}", config={"displayModeBar": False},
                        alt="Bar chart of the votes so far (the counts follow)")
        chart_text(describe.votes_text(options, tally, labels, what="Votes so far"))
    st.markdown(f"**{n} vote{'s' * (n != 1)}** · {here} student{'s' * (here != 1)} present",
                help="Students count as present while their page is open (seen in the last 20 s).")


@st.fragment(run_every=POLL_S)
def present_count(code: str) -> None:
    """How many students have the class open now (refreshed every ``POLL_S`` s)."""
    try:
        here = classroom().present(code)
    except RoomError as e:
        st.warning(str(e))
        return
    st.metric("Students present", here, help="Students whose page is open (seen in the last 20 s).")


def _reveal(code: str, token: str, question: str) -> None:
    try:
        classroom().reveal(code, token, question)
    except (NotHost, RoomError) as e:
        st.session_state[f"reveal-error:{question}"] = str(e)


def reveal_button(m: Membership, question: str, label: str = "Reveal") -> None:
    """The instructor's Reveal: closes the vote and shows the answer on every screen. A callback,
    so the store has it before the page reruns (students see it sooner)."""
    st.button(label, key=f"reveal:{question}", icon=":material/visibility:",
              on_click=_reveal, args=(m.code, m.token, question))
    problem = st.session_state.pop(f"reveal-error:{question}", None)
    if problem:
        st.error(problem)


@st.fragment
def vote_radio(m: Membership, question: str, options: Sequence[str], label: str,
               labels: Sequence[str] | None = None, horizontal: bool = True) -> str | None:
    """A student's vote, stored on every change (until the reveal); returns it. A fragment: a
    click reruns only the vote, not the page (a class votes at once)."""
    key = f"vote:{question}"
    mine = classroom().my_vote(m.code, m.student, question)
    if key not in st.session_state and mine in options:
        st.session_state[key] = mine
    names = dict(zip(options, labels or options, strict=True))
    choice = st.radio(label, list(options), index=None, key=key, horizontal=horizontal,
                      format_func=names.get)
    if choice is not None and choice != mine:
        try:
            if not classroom().vote(m.code, m.student, question, choice, options):
                st.warning("Votes on this question are closed: the instructor has revealed it.")
                return mine
        except (RoomError, ValueError) as e:
            st.warning(str(e))
            return mine
        mine = choice
    if mine is not None:
        st.caption(f"Your vote: **{names[mine]}**. You can change it until the instructor reveals.")
    return mine


# following the presenter ------------------------------------------------------------------------

@dataclass(frozen=True)
class Move:
    """Where a student should go: a lesson (its URL path) and section."""

    lesson: str
    section: int


def follow_move(here: tuple[str | None, int], live: tuple[str | None, int],
                seen: tuple[str | None, int] | None) -> Move | None:
    """Where following the presenter takes a student, or None to stay.

    ``here``: the student's (lesson, section); ``live``: the presenter's; ``seen``: the
    presenter's position when this student last looked. A student goes along when the
    presenter moves, unless they had stepped away from where the presenter was (then a
    "Back to live" button brings them back); a new arrival is taken to the presenter.

    >>> follow_move(("a", 1), ("a", 2), ("a", 1))
    Move(lesson='a', section=2)
    >>> follow_move(("a", 1), ("a", 3), ("a", 2)) is None  # stepped back: stays
    True
    >>> follow_move((None, 1), ("b", 2), None)
    Move(lesson='b', section=2)
    """
    if live[0] is None or live in (here, seen):
        return None
    if seen is None or seen[0] is None or here == seen:
        return Move(*live)
    return None


def go(m: Membership, move: Move, here_lesson: str | None) -> None:
    """Take the student to ``move`` (same lesson: a new section; else that lesson's page)."""
    query = {**m.query(), "section": str(move.section)}
    if move.lesson == here_lesson:
        st.query_params["section"] = str(move.section)
        st.rerun(scope="app")
    from ui.lesson_pages import lesson_pages

    page = next((p for p in lesson_pages() if p.url_path == move.lesson), None)
    if page is not None:
        st.switch_page(page, query_params=query)


@st.fragment(run_every=FOLLOW_S)
def follow(code: str, student: str, lesson: str | None, section: int,
           waiting: frozenset[str] = frozenset()) -> None:
    """A student's heartbeat: says they are here, follows the presenter's section, and reruns
    the page as soon as a question in ``waiting`` (on the page, not yet revealed) is revealed."""
    try:
        now = time.monotonic()
        if now - st.session_state.get(TOUCHED, -TOUCH_S) >= TOUCH_S:
            classroom().touch(code, student)
            st.session_state[TOUCHED] = now
        room = classroom().room(code)
    except RoomError:
        leave()  # the page's next run says why (the code in the URL no longer opens a class)
        st.rerun(scope="app")
    live = (room.lesson, room.section)
    seen = st.session_state.get(LIVE)
    st.session_state[LIVE] = live
    m = Membership(room, None, student)
    move = follow_move((lesson, section), live, seen)
    if move is not None:
        go(m, move, lesson)
    if waiting & room.revealed:
        st.rerun(scope="app")
    if room.lesson is None:
        st.caption("Waiting for the instructor to start a lesson…")
    elif live != (lesson, section):
        where = (f"slide {room.section}" if room.lesson == lesson
                 else f"{_lesson_title(room.lesson)}, slide {room.section}")
        if st.button(f"Back to live ({where})", key="back-to-live", icon=":material/cast:"):
            go(m, Move(*live), lesson)
    else:
        st.caption(f"Following the presenter in class {code}.")


def _lesson_title(slug: str) -> str:
    from ui.lesson_pages import lesson_pages

    return next((p.title for p in lesson_pages() if p.url_path == slug), slug)


def set_live(m: Membership, lesson: str, section: int) -> None:
    """The host is showing ``section`` of ``lesson``: tell the room (only if it changed)."""
    if not m.host or (m.room.lesson, m.room.section) == (lesson, section):
        return
    try:
        classroom().set_slide(m.code, m.token, lesson, section)
    except (NotHost, RoomError, ValueError) as e:
        st.error(str(e))
