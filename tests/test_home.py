"""Home is a map of the app: every page is linked from it, and presenter mode is offered."""

from pathlib import Path
from urllib.parse import parse_qs

from streamlit.testing.v1 import AppTest

from lessons.loader import load_all

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def home() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_every_page_is_linked_from_home():
    at = home()
    registered = {info["url_pathname"] for info in at._registered_pages.values()}
    assert {"playground", "schedules", "grid-search", "lr-finder", "stability-maps",
            "network-training", "fine-tuning", "lessons"} <= registered
    assert {lesson.slug for lesson in load_all()} <= registered
    linked = {link.proto.page for link in at.get("page_link")}
    missing = registered - linked - {""}  # "" is Home itself
    assert not missing, f"pages not linked from Home: {sorted(missing)}"


def test_home_starts_the_course_and_offers_presenter_mode():
    at = home()
    first = next(lesson for lesson in load_all() if lesson.order == 1)
    links = at.get("page_link")
    start = [link for link in links if link.proto.label.startswith("**Start here")]
    assert [link.proto.page for link in start] == [first.slug]
    present = [link for link in links if parse_qs(link.proto.query_string).get("present") == ["1"]]
    assert [link.proto.page for link in present] == [first.slug]
    headings = {h.value for h in at.header}
    assert {"The course", "Playground", "Find a good rate", "Networks"} <= headings
