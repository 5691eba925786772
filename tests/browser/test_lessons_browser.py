"""The course in a real browser: every lesson page, a prediction and a quiz, presenter mode, progress.

Page loads are what costs time here (5-15 s each on a busy 2-core machine), so the
walk through the course follows the sidebar inside one Streamlit session rather than
opening each page afresh; that also exercises the menu and how progress is carried
from page to page. Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import test_playground_browser as _playground
import yaml

# The helpers the Playground's browser tests already use (conftest.py holds the fixtures).
from test_playground_browser import (
    CHART,
    CONNECTED,
    EXCEPTION,
    IDLE,
    SIDEBAR,
    WAIT_MS,
    expect,
    expect_no_dialog,
    expect_no_exception,
    open_app,
    wait_for_content,
)

from lessons.loader import load

js_errors = _playground.js_errors  # the fixture that collects uncaught JS errors and dialogs

ROOT = Path(__file__).resolve().parents[2]
LESSON_DIR = ROOT / "lessons"
ERROR_BOX = "[data-testid='stAlertContentError']"
NAV_LINK = f"{SIDEBAR} [data-testid='stSidebarNavLink']"
NAV_MORE = f"{SIDEBAR} [data-testid='stSidebarNavViewButton']"
PROGRESS = "[data-testid='stProgress']"
LESSON_MS = 120_000  # a lesson may train a network (07 fine-tunes one): JAX compiles on first use


def front_matter(path: Path) -> dict:
    """A lesson file's front matter (read here rather than importing the app's loader)."""
    text = path.read_text(encoding="utf-8")
    m = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert m, f"{path.name} has no front matter"
    return yaml.safe_load(m[1])


def course() -> list[tuple[str, str, int]]:
    """(slug, title, order) for every lesson file, in course order (the FAQ last)."""
    items = [(p.stem, fm["title"], int(fm["order"]))
             for p in LESSON_DIR.glob("*.md") if p.name != "README.md"
             for fm in [front_matter(p)]]
    return sorted(items, key=lambda t: (t[2], t[0]))


COURSE = course()
N_LESSONS = sum(1 for _, _, order in COURSE if order < 99)


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def path_of(page) -> str:
    return urlsplit(page.url).path.rstrip("/")


def key_class(key: str) -> str:
    """The CSS class Streamlit 1.67 gives a widget's container: st-key-<key>, non [A-Za-z0-9_-] -> '-'."""
    return ".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", key.strip())


def expect_no_error_box(page, where: str) -> None:
    boxes = page.locator(ERROR_BOX)
    shown = [boxes.nth(i).inner_text()[:300] for i in range(boxes.count())]
    assert not shown, f"red error boxes on {where}: {shown}"


def expect_title(page, title: str) -> None:
    expect(page.locator("h1").first).to_have_text(title)


def sidebar_go(page, slug: str, content: str = "h1", timeout_ms: int = WAIT_MS) -> None:
    """Follow the sidebar's link to /<slug> (same tab, same Streamlit session) and wait until
    ``content`` shows (or an exception box) and the script is idle."""
    link = page.locator(NAV_LINK).and_(page.locator(f"[href$='/{slug}']"))
    if not link.is_visible() and page.locator(NAV_MORE).filter(has_text="more").count():
        page.locator(NAV_MORE).click()  # the menu shows its first pages, then "View N more"
    link.click()
    expect(page).to_have_url(re.compile(rf"/{re.escape(slug)}(\?|$)"))
    page.locator(content).or_(page.locator(EXCEPTION)).first.wait_for(timeout=timeout_ms)
    expect_no_exception(page)
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    expect_no_dialog(page)


def seen_in_url(orders) -> re.Pattern:
    """A URL whose ``seen`` parameter lists exactly ``orders`` (its commas may be escaped)."""
    return re.compile(r"[?&]seen=" + "(?:,|%2C)".join(map(str, orders)) + "(?:&|$)")


def expect_progress(page, visited: int) -> None:
    expect(page.locator(PROGRESS)).to_contain_text(f"{visited} of {N_LESSONS} lessons visited")


def test_course_has_lessons_and_a_faq():
    assert N_LESSONS >= 8, COURSE
    assert COURSE[-1][0] == "faq", COURSE


def test_walk_the_course_from_the_sidebar(page, app_url, artifacts, js_errors):
    """Every lesson, the FAQ and the index load without an exception or a red box, show their
    title, and the index counts every lesson visited on the way."""
    first_slug, first_title, _ = COURSE[0]
    open_app(page, f"{app_url}/{first_slug}", "h1")
    expect_title(page, first_title)
    expect_no_error_box(page, first_slug)
    assert query(page).get("seen") == "1", page.url
    page.screenshot(path=str(artifacts / "lesson-01.png"), full_page=True)
    for slug, title, order in COURSE[1:]:
        sidebar_go(page, slug, timeout_ms=LESSON_MS)
        expect_title(page, title)
        # Wait until the page is drawn (its first experiment's charts, if it has any).
        text = (LESSON_DIR / f"{slug}.md").read_text(encoding="utf-8")
        if "```experiment" in text and "```predict" not in text:
            expect(page.locator(CHART).first).to_be_visible(timeout=LESSON_MS)
        page.wait_for_selector(IDLE, timeout=LESSON_MS)
        expect_no_exception(page)
        expect_no_error_box(page, slug)
        if order < 99:  # the URL carries every lesson seen so far in this session
            expect(page).to_have_url(seen_in_url(range(1, order + 1)))
    page.screenshot(path=str(artifacts / "lesson-faq.png"), full_page=True)

    sidebar_go(page, "lessons", PROGRESS)
    expect_title(page, "Lessons")
    expect_no_error_box(page, "/lessons")
    expect_progress(page, N_LESSONS)
    # Each lesson on the index is a link to its page, marked as visited.
    for slug, title, order in COURSE:
        label = title if order >= 99 else f"{order}. {title}"
        link = page.locator("[data-testid='stMain'] [data-testid='stPageLink'] a", has_text=label)
        expect(link).to_have_count(1)
        href = urljoin(page.url, link.get_attribute("href"))
        assert urlsplit(href).path.rstrip("/") == f"/{slug}", href
    page.screenshot(path=str(artifacts / "lessons-index.png"), full_page=True)
    assert not js_errors, js_errors


def test_prediction_quiz_and_progress_survive_a_reload(page, app_url, artifacts, js_errors):
    """On lesson 2: predict, run, get told; answer the quiz wrongly, get told. The index
    then counts lesson 1 (from the link) and lesson 2, with the quiz, also after a reload."""
    slug = "02-too-large"
    predict = key_class(f"{slug}:predict:three-regimes:choice")
    quiz = key_class(f"{slug}:quiz:limit")
    # A link that already says lesson 1 was visited, as a reload of a lesson page would.
    open_app(page, f"{app_url}/{slug}?seen=1", predict)
    expect_no_error_box(page, slug)
    # Until the prediction, only the second experiment (across the limit) is drawn.
    expect(page.locator(CHART)).to_have_count(2)
    run_it = page.get_by_role("button", name="Run it")
    expect(run_it).to_be_disabled()
    page.locator(predict).get_by_text("diverge", exact=True).click()
    expect(run_it).to_be_enabled()
    run_it.click()

    right = page.locator("[data-testid='stAlertContentSuccess']", has_text="Right!")
    expect(right).to_contain_text("diagnosed diverged")
    expect(page.locator(predict)).to_have_count(0)
    expect(page.locator(CHART)).to_have_count(4)  # the three-regimes run: surface and loss
    expect(page.locator(".stMarkdownBadge", has_text="lr = 2.1:")).to_have_text("lr = 2.1: diverged")
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    expect_no_error_box(page, f"{slug} after the prediction")

    check = page.locator(key_class(f"{slug}:quiz:limit:check")).get_by_role("button", name="Check")
    page.locator(quiz).scroll_into_view_if_needed()
    page.locator(quiz).get_by_text("0.5", exact=True).click()
    check.click()
    wrong = page.locator(ERROR_BOX, has_text="Not quite")
    expect(wrong).to_contain_text("the answer is '0.08'")
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    page.screenshot(path=str(artifacts / "lesson-02-answered.png"), full_page=True)
    expect(page).to_have_url(re.compile(r"quiz=2\.1-0"))
    assert query(page).get("seen") == "1,2", page.url

    # The sidebar's link to the index drops the query, but the session remembers.
    sidebar_go(page, "lessons", PROGRESS)
    expect_progress(page, 2)
    expect(page.locator("[data-testid='stCaptionContainer']", has_text="quiz 0/1")).to_have_count(1)
    assert query(page) == {"seen": "1,2", "quiz": "2.1-0"}, page.url

    # A reload is a new session: the progress comes back from the URL.
    page.reload()
    page.wait_for_selector(CONNECTED, timeout=WAIT_MS)
    wait_for_content(page, PROGRESS)
    expect_progress(page, 2)
    expect(page.locator("[data-testid='stCaptionContainer']", has_text="quiz 0/1")).to_have_count(1)

    # A new session with no progress in its URL (a bookmark, a new tab): the browser's
    # cookie brings back the visits, the quiz result and the answers themselves.
    open_app(page, f"{app_url}/lessons", PROGRESS)
    expect_progress(page, 2)
    expect(page.locator("[data-testid='stCaptionContainer']", has_text="quiz 0/1")).to_have_count(1)
    open_app(page, f"{app_url}/{slug}", CHART)
    expect(page.locator("[data-testid='stAlertContentSuccess']", has_text="Right!")).to_have_count(1)
    expect(page.locator(predict)).to_have_count(0)
    expect(page.locator(ERROR_BOX, has_text="Not quite")).to_contain_text("the answer is '0.08'")
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    assert not js_errors, js_errors


def test_a_new_browser_starts_with_no_progress(page, app_url):
    """Progress is per browser: a browser without the cookie (here: cookies cleared by the
    fixture) sees none of another test's visits."""
    open_app(page, f"{app_url}/lessons", PROGRESS)
    expect_progress(page, 0)


def test_presenter_mode_one_slide_at_a_time(page, app_url, artifacts, js_errors):
    slug = "03-smaller-rates"
    lesson = load(LESSON_DIR / f"{slug}.md")
    n = len(lesson.sections)
    slides = lesson.slides
    assert n >= 2 and slides[1].experiment is not None
    toggle = page.locator(key_class(f"{slug}:present"))
    open_app(page, f"{app_url}/{slug}", f"{CHART}")
    expect(page.locator(SIDEBAR)).to_be_visible()
    headers = page.locator("[data-testid='stMain'] h2")
    expect(headers).to_have_count(n)
    expect(toggle).to_contain_text("Presenter mode")
    page.screenshot(path=str(artifacts / "lesson-03-reading.png"), full_page=True)

    toggle.get_by_text("Presenter mode").click()
    position = page.get_by_text(re.compile(r"^slide \d+ of \d+$"))
    expect(position).to_have_text(f"slide 1 of {len(slides)}")
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect_no_exception(page)
    expect(page.locator(SIDEBAR)).to_be_hidden()
    expect(toggle).to_have_count(0)
    expect(headers).to_have_count(1)
    expect(headers.first).to_have_text(slides[0].title)
    assert query(page).get("present") == "1" and query(page).get("section") == "1", page.url
    expect(page.get_by_role("button", name="← Previous")).to_be_disabled()
    expect(page.locator(CHART)).to_have_count(0)  # slide 1 is prose: the chart has its own slide
    page.screenshot(path=str(artifacts / "lesson-03-presenter-1.png"))

    page.locator("[data-testid='stMain'] h1").click()  # focus the page, not a widget
    page.keyboard.press("ArrowRight")
    expect(position).to_have_text(f"slide 2 of {len(slides)}")
    expect(page).to_have_url(re.compile(r"section=2"))
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    expect(headers).to_have_count(1)
    expect(headers.first).to_have_text(slides[1].title)
    expect(page.locator(CHART).first).to_be_visible()
    expect_no_exception(page)
    expect_no_error_box(page, f"{slug} in presenter mode")
    page.screenshot(path=str(artifacts / "lesson-03-presenter-2.png"))

    page.keyboard.press("ArrowLeft")
    expect(position).to_have_text(f"slide 1 of {len(slides)}")
    expect(page).to_have_url(re.compile(r"section=1"))
    page.wait_for_selector(IDLE, timeout=WAIT_MS)

    page.get_by_role("button", name="Exit presenter mode").click()
    expect(page.locator(SIDEBAR)).to_be_visible()
    expect(position).to_have_count(0)
    expect(headers).to_have_count(n)
    expect(toggle).to_be_visible()
    page.wait_for_selector(IDLE, timeout=WAIT_MS)
    assert "present" not in query(page) and "section" not in query(page), page.url
    expect_no_exception(page)
    assert not js_errors, js_errors

