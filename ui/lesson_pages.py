"""One Streamlit page per lesson file, built from lessons/*.md."""

from __future__ import annotations

import streamlit as st

from lessons.loader import LESSON_DIR, load, load_all


def _page_function(path: str, name: str):
    def show() -> None:
        from ui.lesson_links import goto_target, scroll_to
        from ui.lesson_view import render_lesson

        goto = goto_target()  # before the lesson rewrites the URL
        render_lesson(load(path))
        scroll_to(goto)

    show.__name__ = show.__qualname__ = name
    return show


@st.cache_resource(show_spinner=False)
def _lesson_index() -> list[tuple[str, str, int, str]]:
    return [(lesson.path, lesson.slug, lesson.order, lesson.title) for lesson in load_all(LESSON_DIR)]


def lesson_slugs() -> frozenset[str]:
    """The URL path of every lesson page (the FAQ too)."""
    return frozenset(slug for _, slug, _, _ in _lesson_index())


def lesson_pages() -> list:
    """st.Page objects for every lesson, in course order (the FAQ last)."""
    return [page for _, page in numbered_lesson_pages()]


def numbered_lesson_pages() -> list[tuple[int, object]]:
    """(order, st.Page) for every lesson, in course order; order >= 99 is not a lesson (the FAQ)."""
    pages = []
    for path, slug, order, title in _lesson_index():
        label = title if order >= 99 else f"{order}. {title}"
        icon = ":material/help:" if order >= 99 else ":material/school:"
        pages.append((order, st.Page(_page_function(path, "lesson_" + slug.replace("-", "_")),
                                     title=label, url_path=slug, icon=icon)))
    return pages
