"""Classroom pages with AppTest: start a class, join by code, bad codes, votes, reveal, following
the presenter, and the host-only actions refused for any student link."""

from __future__ import annotations

import doctest
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from streamlit.testing.v1 import AppTest

import charts.votes
import ui.classroom
from charts.votes import votes_figure
from lessons.loader import Quiz, load_all
from store.classroom import ENV_URL, Classroom

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LESSON1 = next(lesson for lesson in load_all() if lesson.order == 1)
PREDICT = "1:predict:parabola"  # lesson 1's prediction, as the store knows it
QUIZ = "1:quiz:gradient"  # lesson 1's first quiz
# presenter slides (1-based) of lesson 1: the predicted experiment's, and the second section's first
PREDICT_SLIDE = next(i + 1 for i, s in enumerate(LESSON1.slides)
                     if s.experiment is not None and s.experiment.id == PREDICT.split(":")[-1])
SECTION2_SLIDE = next(i + 1 for i, s in enumerate(LESSON1.slides) if s.section == 1)


@pytest.fixture(autouse=True)
def database(tmp_path, monkeypatch) -> Classroom:
    """Each test on its own SQLite file, which the app's pages use too (via $LRLAB_DATABASE_URL)."""
    url = f"sqlite:///{tmp_path / 'classroom.sqlite'}"
    monkeypatch.setenv(ENV_URL, url)
    return Classroom(url)


def classroom_page(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/classroom.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _lesson_script(path: str) -> None:
    from lessons.loader import load
    from ui.lesson_view import render_lesson

    render_lesson(load(path))


def lesson_page(query: dict) -> AppTest:
    at = AppTest.from_function(_lesson_script, args=(LESSON1.path,), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query(at: AppTest) -> dict[str, str]:
    return {k: v[0] if isinstance(v, list) else v for k, v in at.query_params.items()}


def texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "success", "warning", "error", "info")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def buttons(at: AppTest) -> set[str]:
    return {b.label for b in at.button}


def test_docstring_examples():
    for module in (charts.votes, ui.classroom):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__


def test_votes_chart_counts_every_option_in_order_and_marks_the_right_one():
    fig = votes_figure(["a", "b", "c"], {"c": 3, "a": 1, "junk": 9}, right={"c"})
    bar = fig.data[0]
    assert list(bar.x) == [1, 0, 3]  # "b" drawn at 0, "junk" ignored
    assert list(bar.text) == ["1 (25%)", "0 (0%)", "3 (75%) ✓"]
    assert bar.marker.color[2] != bar.marker.color[0]
    empty = votes_figure(["a", "b"], {})
    assert list(empty.data[0].text) == ["0 (0%)", "0 (0%)"]


def test_start_a_class_shows_code_join_link_qr_and_a_private_host_link(database):
    at = classroom_page()
    next(b for b in at.button if b.label == "Start a class").click().run()
    assert not at.exception
    q = query(at)
    code, token = q["room"], q["host"]
    assert len(code) == 6 and database.is_host(code, token)
    assert code in texts(at)
    links = [c.value for c in at.code]
    join = next(u for u in links if "host=" not in u)
    assert parse_qs(urlsplit(join).query) == {"room": [code]}  # the join link never carries the token
    assert urlsplit(join).path == "/classroom"
    assert any(parse_qs(urlsplit(u).query).get("host") == [token] for u in links)
    assert len(at.get("image")) == 1  # the QR code
    assert "End the class" in buttons(at)
    starts = [link for link in at.get("page_link") if "Start presenting" in link.proto.label]
    assert len(starts) == 1
    start = parse_qs(starts[0].proto.query_string)
    assert start["present"] == ["1"] and start["room"] == [code] and start["host"] == [token]


def test_qr_code_is_a_large_png_of_the_join_link():
    png = ui.classroom.qr_png("http://192.168.1.20:8501/classroom?room=K7M2QX")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 400  # scale 14 px per module, quiet zone included


def test_join_by_typed_code(database):
    room, _ = database.create_room()
    at = classroom_page()
    at.text_input[0].input(f" {room.code[:3].lower()} {room.code[3:].lower()} ")
    next(b for b in at.button if b.label == "Join").click().run()
    assert not at.exception
    q = query(at)
    assert q["room"] == room.code and "host" not in q
    assert f"You are in class **{room.code}**" in texts(at)
    assert "End the class" not in buttons(at)


@pytest.mark.parametrize("typed, message", [
    ("hello", "A join code is 6 letters and digits"),
    ("ZZZZZZ", "There is no class with the code ZZZZZZ."),
])
def test_a_bad_code_gets_a_clear_message(typed, message):
    at = classroom_page()
    at.text_input[0].input(typed)
    next(b for b in at.button if b.label == "Join").click().run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert "room" not in query(at)


def test_an_expired_or_ended_class_link_says_so(database):
    yesterday = Classroom(database.url, clock=lambda: time.time() - 13 * 3600)
    expired, _ = yesterday.create_room()  # 12 h rooms: this one expired an hour ago
    at = classroom_page({"room": expired.code})
    assert f"The class {expired.code} has expired." in texts(at)
    ended, token = database.create_room()
    database.close_room(ended.code, token)
    at = lesson_page({"room": ended.code})
    assert f"The class {ended.code} has ended." in texts(at)
    assert at.title[0].value == LESSON1.title  # the lesson still works, alone


def test_end_the_class(database):
    room, token = database.create_room()
    at = classroom_page({"room": room.code, "host": token})
    end = next(b for b in at.button if b.label == "End the class")
    assert end.disabled  # a checkbox confirms first
    at.checkbox(key="classroom_end_ok").check().run()
    next(b for b in at.button if b.label == "End the class").click().run()
    assert f"The class {room.code} has ended." in texts(at)
    assert "room" not in query(at)
    with pytest.raises(LookupError, match="has ended"):
        database.room(room.code)


def test_student_votes_change_until_the_reveal_then_see_the_run(database):
    room, token = database.create_room()
    at = lesson_page({"room": room.code, "section": str(PREDICT_SLIDE)})
    me = query(at)["me"]  # a student id is made and kept in the URL
    assert query(at)["room"] == room.code and "host" not in query(at)
    at.radio(key=f"vote:{PREDICT}").set_value("diverge").run()
    assert database.tally(room.code, PREDICT) == {"diverge": 1}
    at.radio(key=f"vote:{PREDICT}").set_value("converge").run()
    assert database.tally(room.code, PREDICT) == {"converge": 1}  # changed, still one vote
    assert query(at)["me"] == me
    charts_before = len(at.get("plotly_chart"))
    database.reveal(room.code, token, PREDICT)
    at.run()
    assert not at.exception
    assert any(s.value.startswith("Right!") and "converged" in s.value for s in at.success)
    assert "1 of 1 answer right" in texts(at)
    assert len(at.get("plotly_chart")) > charts_before  # the run (and the class's votes) appear
    assert not database.vote(room.code, me, PREDICT, "diverge", ["diverge", "converge"])


def test_reload_keeps_the_students_vote(database):
    room, _ = database.create_room()
    at = lesson_page({"room": room.code, "section": str(PREDICT_SLIDE)})
    at.radio(key=f"vote:{PREDICT}").set_value("oscillate").run()
    # a reload: a new session
    again = lesson_page({"room": room.code, "section": str(PREDICT_SLIDE), "me": query(at)["me"]})
    assert again.radio(key=f"vote:{PREDICT}").value == "oscillate"


def test_host_sees_live_votes_reveals_and_moves_the_class(database):
    room, token = database.create_room()
    for i, choice in enumerate(["converge", "converge", "diverge"]):
        database.vote(room.code, f"student{i}", PREDICT, choice, ["converge", "diverge"])
        database.touch(room.code, f"student{i}")
    at = lesson_page({"present": "1", "section": str(PREDICT_SLIDE), "room": room.code, "host": token})
    assert database.room(room.code).lesson == LESSON1.slug  # presenting tells the room
    assert "3 votes** · 3 students present" in texts(at)
    assert room.code in texts(at)  # the join code in the corner
    charts_before = len(at.get("plotly_chart"))
    next(b for b in at.button if b.label == "Reveal the run").click().run()
    assert not at.exception
    assert PREDICT in database.room(room.code).revealed
    assert "2 of 3 answers right" in texts(at)
    assert len(at.get("plotly_chart")) >= charts_before + 2  # the run's two charts
    next(b for b in at.button if b.label == "Next →").click().run()
    assert database.room(room.code).section == PREDICT_SLIDE + 1
    assert query(at)["host"] == token


def test_quiz_answers_are_shown_as_shares_after_the_reveal(database):
    room, token = database.create_room()
    quiz = LESSON1.blocks(Quiz)[0]
    section = next(i + 1 for i, s in enumerate(LESSON1.slides) if quiz in s.blocks)
    student = lesson_page({"room": room.code, "section": str(section)})
    database.set_slide(room.code, token, LESSON1.slug, section)
    student.run()
    student.radio(key=f"vote:{QUIZ}").set_value(str(quiz.answer)).run()
    assert database.tally(room.code, QUIZ) == {str(quiz.answer): 1}
    host = lesson_page({"present": "1", "section": str(section), "room": room.code, "host": token})
    assert "1 vote**" in texts(host) and "Reveal the answers" in buttons(host)
    next(b for b in host.button if b.label == "Reveal the answers").click().run()
    assert "1 of 1 answer right" in texts(host)
    student.run()
    assert any(s.value.startswith("Correct.") for s in student.success)
    assert student.session_state["lesson_progress"].quiz == {"1.1": True}


def test_a_student_follows_the_presenter_and_may_step_back(database):
    room, token = database.create_room()
    live = SECTION2_SLIDE
    database.set_slide(room.code, token, LESSON1.slug, live - 1)
    at = lesson_page({"room": room.code})
    assert [h.value for h in at.header] == [LESSON1.slides[live - 2].title]
    assert query(at)["section"] == str(live - 1)
    assert next(b for b in at.button if b.label == "Next →").disabled  # not past the presenter
    database.set_slide(room.code, token, LESSON1.slug, live)
    at.run()  # the heartbeat sees the presenter move and takes the student along
    assert not at.exception
    assert [h.value for h in at.header] == [LESSON1.sections[1].title]
    assert query(at)["section"] == str(live)
    next(b for b in at.button if b.label == "← Previous").click().run()
    assert [h.value for h in at.header] == [LESSON1.sections[0].title]  # stepped back: stays
    assert query(at)["section"] == str(live - 1)
    back = next(b for b in at.button if b.label.startswith("Back to live"))
    back.click().run()
    assert [h.value for h in at.header] == [LESSON1.sections[1].title]


@pytest.mark.parametrize("forged", ["garbage", "other-room", ""])
def test_a_student_link_cannot_advance_reveal_or_close(database, forged):
    room, token = database.create_room()
    other, other_token = database.create_room()
    fake = {"garbage": "garbage", "other-room": other_token, "": "x" * 500}[forged]
    at = lesson_page({"present": "1", "section": "2", "room": room.code, "host": fake})
    assert "Reveal the run" not in buttons(at)
    assert "you are in it as a student" in texts(at)
    assert database.room(room.code).lesson is None and database.room(room.code).section == 1
    assert "host" not in query(at) and "me" in query(at)  # the forged key is dropped
    dash = classroom_page({"room": room.code, "host": fake})
    assert "End the class" not in buttons(dash)
    assert not [c for c in dash.code if "host=" in c.value]
    assert PREDICT not in database.room(room.code).revealed
    assert database.room(other.code).lesson is None


def test_a_student_is_taken_to_the_lesson_the_presenter_opens(database):
    room, token = database.create_room()
    second = next(lesson for lesson in load_all() if lesson.order == 2)
    at = classroom_page({"room": room.code})
    assert "Waiting for the instructor to start a lesson" in texts(at)
    database.set_slide(room.code, token, second.slug, 2)
    at.run()  # the heartbeat switches pages
    assert not at.exception
    assert at.title[0].value == second.title
    assert [h.value for h in at.header] == [second.slides[1].title]
    assert query(at)["room"] == room.code and query(at)["section"] == "2"
    at._page_hash = ""  # AppTest would rerun the page it was switched to; a browser stays here
    database.set_slide(room.code, token, LESSON1.slug, 1)
    at.run()  # from one lesson to another
    assert not at.exception
    assert at.title[0].value == LESSON1.title
    assert query(at)["section"] == "1" and query(at)["me"]


@pytest.mark.parametrize("junk", [{"room": "hello"}, {"room": "<b>x</b>" * 20}, {"me": "../../etc"},
                                  {"me": "x" * 500}])
def test_junk_in_the_url_gets_a_message_or_a_safe_default(database, junk):
    room, _ = database.create_room()
    at = lesson_page({"room": room.code, "section": str(PREDICT_SLIDE), **junk})
    assert not at.exception
    if "room" in junk:  # not in a class: the whole lesson
        assert at.title[0].value == LESSON1.title
        assert "A join code is 6 letters and digits" in texts(at)
        assert "room" not in query(at)
    else:
        assert [h.value for h in at.header] == [LESSON1.slides[PREDICT_SLIDE - 1].title]
        me = query(at)["me"]
        assert me != junk["me"] and len(me) < 64  # a fresh id instead
        at.radio(key=f"vote:{PREDICT}").set_value("diverge").run()
        assert database.tally(room.code, PREDICT) == {"diverge": 1}
