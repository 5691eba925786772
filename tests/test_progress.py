"""Lesson progress survives switching pages within a session."""

from pathlib import Path

from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from lessons.loader import load_all

APP = str(Path(__file__).resolve().parents[1] / "app.py")
N = sum(1 for lesson in load_all() if lesson.order < 99)


def visited(at) -> str:
    return at.get("progress")[0].proto.text


def open_lesson(at, slug: str) -> None:
    """Open a lesson page (a callable page: AppTest.switch_page wants a file)."""
    at._page_hash = calc_hash(slug)  # st.Page hashes its url_path
    at.run()
    assert at.title and at.title[0].value == next(x.title for x in load_all() if x.slug == slug)


def test_progress_survives_a_page_switch():
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("app_pages/lessons.py").run()
    assert f"0 of {N} lessons visited" in visited(at)
    lesson1 = next(lesson for lesson in load_all() if lesson.order == 1)
    open_lesson(at, lesson1.slug)
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("app_pages/playground.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("app_pages/lessons.py").run()
    assert f"1 of {N} lessons visited" in visited(at)
