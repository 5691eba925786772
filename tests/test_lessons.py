"""Lessons: every file parses, every claim holds, and a false or malformed lesson is caught."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lessons.claims import check_lesson
from lessons.loader import Expect, Experiment, Predict, Quiz, load, load_all, parse_text

FIXTURES = Path(__file__).parent / "fixtures" / "lessons"
LESSONS = load_all()
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_the_course_is_complete_and_in_order():
    orders = [lesson.order for lesson in LESSONS if lesson.order < 99]
    assert orders == list(range(1, 9))
    assert any(lesson.slug == "faq" for lesson in LESSONS)
    for lesson in LESSONS:
        assert lesson.minutes > 0 and lesson.objectives, lesson.slug


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.slug for lesson in LESSONS])
def test_every_claim_in_every_lesson_holds(lesson):
    assert lesson.errors == []
    assert check_lesson(lesson) == []


def test_every_lesson_has_experiments_claims_and_a_quiz():
    for lesson in LESSONS:
        if lesson.slug == "faq":
            continue
        assert lesson.blocks(Experiment) and lesson.blocks(Expect), lesson.slug
        if lesson.order < 8:
            assert lesson.blocks(Quiz), lesson.slug


def test_a_false_claim_is_caught():
    failures = check_lesson(load(FIXTURES / "broken-claim.md"))
    assert any("claimed 'rate 0.21 → converged' but measured diverged" in f for f in failures)
    assert any("'rate 0.21 is faster than 0.01'" in f for f in failures)
    assert any("'rate 1 keeps more than 0.01'" in f and "task-A accuracy" in f for f in failures)


def test_malformed_lesson_names_file_and_line():
    lesson = load(FIXTURES / "malformed.md")
    messages = [str(e) for e in lesson.errors]
    assert any(m.startswith("malformed.md, line 8:") and "unknown surface 'volcano'" in m
               for m in messages), messages
    assert any("line 14" in m and "outside" in m for m in messages), messages
    assert any("quiz" in m and "YAML" in m for m in messages), messages
    assert any("unknown experiment 'nowhere'" in m for m in messages), messages
    assert any("comparisons" in m and "not regimes" in m for m in messages), messages


@pytest.mark.parametrize("text, fragment", [
    ("no front matter", "front matter"),
    ("---\ntitle: [unclosed\n---\n", "not valid YAML"),
    ("---\ntitle: x\norder: 1\nminutes: 1\n---\n```experiment\nrates: [0.1]\n", "never closed"),
    ("---\ntitle: x\norder: 1\nminutes: 1\n---\n```predict\nrate: 0.1\n```\n", "predict"),
])
def test_parse_errors_never_raise(text, fragment):
    lesson = parse_text(text, "x.md")
    assert any(fragment in str(e) for e in lesson.errors), lesson.errors


def test_predict_may_come_before_its_experiment():
    lesson = next(lesson for lesson in LESSONS if lesson.order == 1)
    assert lesson.blocks(Predict)[0].experiment == "parabola"


def _lesson_script(path: str) -> None:
    from lessons.loader import load
    from ui.lesson_view import render_lesson

    render_lesson(load(path))


def lesson_app(lesson, query: dict | None = None) -> AppTest:
    at = AppTest.from_function(_lesson_script, args=(lesson.path,), default_timeout=120)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.slug for lesson in LESSONS])
def test_every_lesson_page_renders(lesson):
    at = lesson_app(lesson)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == lesson.title
    charts = sum(2 if e.kind == "surface" else 1 for e in lesson.blocks(Experiment)
                 if not any(p.experiment == e.id for p in lesson.blocks(Predict)))
    assert len(at.get("plotly_chart")) == charts


def test_lesson_index_shows_every_lesson_and_progress():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["seen"] = "1,2"
    at.query_params["quiz"] = "1.1-1"
    at.run()
    at.switch_page("app_pages/lessons.py").run()
    assert not at.exception
    assert "2 of 8 lessons visited" in at.get("progress")[0].proto.text
    assert any("quiz 1/1" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Start over").click().run()
    assert "0 of 8" in at.get("progress")[0].proto.text


def test_prediction_then_run_then_feedback():
    lesson = next(lesson for lesson in LESSONS if lesson.order == 2)
    at = lesson_app(lesson)
    charts_before = len(at.get("plotly_chart"))
    at.radio(key=f"{lesson.slug}:predict:three-regimes:choice").set_value("diverge").run()
    next(b for b in at.button if b.label == "Run it").click().run()
    assert not at.exception
    assert any(s.value.startswith("Right!") and "diverged" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == charts_before + 2


def test_quiz_gives_feedback_and_records_score():
    lesson = next(lesson for lesson in LESSONS if lesson.order == 2)
    at = lesson_app(lesson)
    key = f"{lesson.slug}:quiz:limit"
    at.radio(key=key).set_value("0.5").run()
    next(b for b in at.button if b.key == key + ":check").click().run()
    assert any("the answer is '0.08'" in e.value for e in at.error)
    assert at.session_state["lesson_progress"].quiz == {"2.1": False}
    assert at.query_params["quiz"] in ("2.1-0", ["2.1-0"])


def test_presenter_mode_shows_one_section_with_navigation():
    lesson = next(lesson for lesson in LESSONS if lesson.order == 2)
    at = lesson_app(lesson, {"present": "1", "section": "2"})
    assert not at.exception
    assert [h.value for h in at.header] == [lesson.sections[1].title]
    assert {"← Previous", "Next →", "Exit presenter mode"} <= {b.label for b in at.button}
    next(b for b in at.button if b.label == "← Previous").click().run()
    assert [h.value for h in at.header] == [lesson.sections[0].title]


def test_malformed_lesson_page_shows_the_error_not_a_traceback():
    at = lesson_app(load(FIXTURES / "malformed.md"))
    assert not at.exception
    assert any("malformed.md, line 8" in e.value for e in at.error)


def test_the_documented_example_is_a_valid_lesson_whose_claims_hold():
    readme = (Path(__file__).resolve().parents[1] / "lessons" / "README.md").read_text()
    example = readme.split("````markdown\n", 1)[1].split("````", 1)[0]
    lesson = parse_text(example, "example.md")
    assert lesson.errors == []
    assert len(lesson.blocks(Experiment)) == 1 and lesson.blocks(Quiz)
    assert check_lesson(lesson) == []
