"""A live class in real browsers: one instructor and three students, each in their own browser
context (own cookies, own Streamlit session), on the test server.

The instructor starts a class, the students join by its link, everyone lands on the lesson the
instructor presents, the students vote and the instructor's chart shows the three votes; a
student link with a forged or another room's instructor key can neither reveal nor move the
class; the instructor reveals and the run appears on every student's page (the delay is
measured in each student's page and written to test-artifacts/classroom-latency.txt); the
instructor's Next moves the students along, and a student may step back and return with
"Back to live". Screenshots: the class dashboard and presenter mode with live votes
(1280x720), and a student's phone (390x844), in test-artifacts/; with
``LRLAB_DOCS_SCREENSHOTS=1`` in docs/ (classroom-*.png), which is how the docs' pictures are
refreshed:

    LRLAB_DOCS_SCREENSHOTS=1 .venv/bin/python -m pytest -q tests/browser/test_classroom_browser.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from lessons.loader import load_all
from tests.browser.conftest import IDLE, WAIT_MS

LESSON1 = next(lesson for lesson in load_all() if lesson.order == 1)
N = len(LESSON1.slides)
# the slide of lesson 1's predicted experiment (1-based); the instructor starts on slide 1
P = next(i + 1 for i, s in enumerate(LESSON1.slides)
         if s.experiment is not None and s.experiment.id == "parabola")

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PRESENTER = {"width": 1280, "height": 720}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1000, "height": 800}
REVEAL_BOUND_S = 10.0  # the issue asks for 3 s; generous here, as the machine is shared
# Records (in the page, by its own clock) when ``text`` first appears, so a delay can be
# measured without polling from the test.
WATCH = """(text) => {
  window.__lrlSeen = null;
  const check = () => {
    if (window.__lrlSeen === null && document.body.innerText.includes(text)) window.__lrlSeen = Date.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
  check();
}"""


@pytest.fixture
def contexts(browser):
    made = []

    def new(viewport):
        context = browser.new_context(viewport=viewport)
        context.set_default_timeout(WAIT_MS)
        made.append(context)
        return context.new_page()

    yield new
    for context in made:
        context.close()


def idle(page):
    page.wait_for_selector(IDLE)


def params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def revealed_at(code: str, question: str) -> float:
    """When the store recorded the reveal (server clock, s since the epoch; same machine)."""
    from sqlalchemy import select

    from store.classroom import Classroom, reveals

    with Classroom().engine.connect() as conn:
        return conn.execute(select(reveals.c.revealed_at).where(
            reveals.c.room == code, reveals.c.question == question)).scalar_one()


def start_class(page, app_url: str, browser_tools) -> tuple[str, str, str]:
    """Start a class on the Classroom page; (code, host token, join link as shown)."""
    expect = browser_tools.expect
    page.goto(f"{app_url}/classroom")
    expect(page.get_by_role("button", name="Start a class")).to_be_visible()
    idle(page)
    page.get_by_role("button", name="Start a class").click()
    expect(page.get_by_text("Students join at")).to_be_visible()
    expect(page.locator("[data-testid='stImage'] img")).to_be_visible()  # the QR code
    expect(page.locator("[data-testid='stCode']").filter(has_text="host=")).to_be_visible()
    idle(page)
    code, token = params(page)["room"], params(page)["host"]
    shown = [c.strip() for c in page.locator("[data-testid='stCode']").all_inner_texts()]
    join = next(c for c in shown if "room=" in c and "host=" not in c)
    return code, token, join


def test_a_class_votes_follows_and_sees_the_reveal(contexts, app_url, browser_tools, artifacts):
    expect = browser_tools.expect
    shots = DOCS if os.environ.get("LRLAB_DOCS_SCREENSHOTS", "") not in ("", "0") else artifacts
    host = contexts(PRESENTER)
    code, token, join = start_class(host, app_url, browser_tools)
    assert parse_qs(urlsplit(join).query) == {"room": [code]}  # the join link has no host key
    join_path = urlsplit(join).path + "?" + urlsplit(join).query
    host.screenshot(path=shots / "classroom-dashboard.png")

    students = [contexts(PHONE), contexts(LAPTOP), contexts(LAPTOP)]
    for s in students:
        s.goto(app_url + join_path)
        expect(s.get_by_text(f"You are in class {code}")).to_be_visible()

    # the instructor presents lesson 1 and goes to its prediction: every student is taken along
    host.get_by_role("link", name=re.compile("Start presenting")).click()
    expect(host.get_by_text(f"slide 1 of {N}")).to_be_visible()
    for _ in range(P - 1):
        idle(host)
        host.get_by_role("button", name="Next →").click()
    expect(host.get_by_role("button", name="Reveal the run")).to_be_visible()
    assert params(host)["present"] == "1" and params(host)["host"] == token
    expect(host.get_by_text(code, exact=True)).to_be_visible()  # the join code in the corner
    for s in students:
        expect(s.get_by_text("Your vote", exact=True)).to_be_visible()
        assert params(s)["room"] == code and "host" not in params(s) and params(s)["me"]
    ids = {params(s)["me"] for s in students}
    assert len(ids) == 3  # one id per browser

    for s, choice in zip(students, ["converge", "oscillate", "converge"], strict=True):
        s.get_by_text(choice, exact=True).click()
        expect(s.get_by_text(re.compile(f"Your vote: {choice}"))).to_be_visible()
    expect(host.get_by_text(re.compile(r"3 votes · 3 students present"))).to_be_visible()
    chart = host.locator("[data-testid='stPlotlyChart']").first
    expect(chart.get_by_text("2 (67%)")).to_be_visible()
    expect(chart.get_by_text("1 (33%)")).to_be_visible()
    reveal = host.get_by_role("button", name="Reveal the run")
    reveal.evaluate("e => e.scrollIntoView({block: 'end'})")
    host.mouse.move(5, 700)
    idle(host)
    host.screenshot(path=shots / "classroom-presenter.png")

    # a student link cannot reveal or move the class, whatever host key it carries
    intruder = contexts(LAPTOP)
    other_code, other_token, _ = start_class(intruder, app_url, browser_tools)
    lesson = urlsplit(host.url).path
    for forged in ("garbage", other_token):
        intruder.goto(f"{app_url}{lesson}?present=1&section={P + 1}&room={code}&host={forged}")
        expect(intruder.get_by_text("instructor key does not open")).to_be_visible()
        expect(intruder.get_by_text("Your vote", exact=True)).to_be_visible()
        idle(intruder)
        assert intruder.get_by_role("button", name="Reveal the run").count() == 0
        assert "host" not in params(intruder)
        # the Classroom page with the forged key: a student, taken to the live lesson
        intruder.goto(f"{app_url}/classroom?room={code}&host={forged}")
        expect(intruder.get_by_text("Your vote", exact=True)).to_be_visible()
        idle(intruder)
        assert intruder.get_by_role("button", name="End the class").count() == 0
        assert intruder.get_by_role("button", name="Reveal the run").count() == 0
        assert "host" not in params(intruder) and params(intruder)["room"] == code
    assert other_code != code
    for s in students:  # nobody was moved on by the forged links
        expect(s.get_by_text(f"slide {P} of {N}")).to_be_visible()
        assert params(s)["section"] == str(P)

    # the reveal reaches every student
    for s in students:
        s.evaluate(WATCH, "The class:")
    clicked = host.evaluate("Date.now()")
    host.get_by_role("button", name="Reveal the run").click()
    for s in students:
        expect(s.get_by_text("The class:")).to_be_visible()
    delays = [(s.evaluate("window.__lrlSeen") - clicked) / 1000 for s in students]
    stored = revealed_at(code, "1:predict:parabola") * 1000 - clicked  # ms: click -> in the store
    expect(students[0].get_by_text(re.compile("^Right!"))).to_be_visible()
    expect(students[1].get_by_text(re.compile("^Not quite: you said 'oscillate'"))).to_be_visible()
    # on the instructor's slide the votes fold into an expander named by the result
    expect(host.get_by_text("The class's votes: 2 of 3 answers right")).to_be_visible()
    phone = students[0]
    phone.get_by_text("Predict before you run it").evaluate("e => e.scrollIntoView({block: 'center'})")
    expect(phone.get_by_text("2 of 3 answers right")).to_be_visible()
    expect(phone.locator("[data-testid='stPlotlyChart'] .main-svg").first).to_be_visible()
    idle(phone)
    phone.screenshot(path=shots / "classroom-student-phone.png")

    # the instructor moves on; the students follow; one steps back and returns
    after = f"slide {P + 1} of {N}"
    for s in students:
        s.evaluate(WATCH, after)
    moved = host.evaluate("Date.now()")
    host.get_by_role("button", name="Next →").click()
    for s in students:
        expect(s.get_by_text(after)).to_be_visible()
    follows = [(s.evaluate("window.__lrlSeen") - moved) / 1000 for s in students]
    laptop = students[1]
    laptop.get_by_role("button", name="← Previous").click()
    expect(laptop.get_by_text(f"slide {P} of {N}")).to_be_visible()
    laptop.get_by_role("button", name=f"Back to live (slide {P + 1})").click()
    expect(laptop.get_by_text(after)).to_be_visible()
    assert params(laptop)["section"] == str(P + 1)

    (artifacts / "classroom-latency.txt").write_text(
        "reveal click -> 'The class:' on each student's page (s): "
        + ", ".join(f"{d:.2f}" for d in delays) + f" (click -> stored: {stored / 1000:.2f})"
        + f"\nNext click -> '{after}' on each student's page (s): "
        + ", ".join(f"{d:.2f}" for d in follows) + "\n")
    assert max(delays) < REVEAL_BOUND_S, delays
