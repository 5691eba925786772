"""Lesson progress survives switching pages within a session."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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


def test_faq_links_open_the_lesson_in_the_same_tab_at_the_experiment():
    lessons = {lesson.slug: lesson for lesson in load_all()}
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["seen"] = "1"
    at.run()
    open_lesson(at, "faq")
    assert not at.exception, [e.value for e in at.exception]
    html = "\n".join(m.value for m in at.markdown if m.proto.allow_html)
    links = re.findall(r'<a href="([^"]+)"([^>]*)>', html)
    assert len(links) >= 10
    for href, attrs in links:
        assert 'target="_self"' in attrs and "_blank" not in attrs
        url = urlsplit(href.replace("&amp;", "&"))
        slug, anchor = url.path.lstrip("/"), url.fragment
        assert slug in lessons, href
        assert anchor in lessons[slug].experiments, href  # lands on a real experiment
        query = parse_qs(url.query)
        assert query["goto"] == [anchor]
        assert query["seen"] == ["1,99"], href  # progress travels with the link
    assert not any("](/" in m.value for m in at.markdown), "a FAQ link left as a new-tab Markdown link"


def test_a_followed_link_scrolls_to_its_experiment_once():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["seen"] = "99"
    at.query_params["goto"] = "across-the-limit"
    at.run()
    open_lesson(at, "02-too-large")
    assert not at.exception, [e.value for e in at.exception]
    scripts = [e.proto.srcdoc for e in at.get("iframe")]
    assert any('"across-the-limit"' in s for s in scripts), scripts
    assert "goto" not in at.query_params and at.query_params["seen"] in ("2,99", ["2,99"])
    at.run()  # a rerun (a click on the page) does not jump back to the experiment
    assert not any('"across-the-limit"' in e.proto.srcdoc for e in at.get("iframe"))


def test_lesson_links_docstring_examples():
    import doctest

    import ui.lesson_links

    result = doctest.testmod(ui.lesson_links)
    assert result.attempted > 0 and result.failed == 0
