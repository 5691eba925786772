"""Lessons: every file parses, every claim holds, and a false or malformed lesson is caught."""

import re
from dataclasses import replace
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lessons.claims import (
    check_expect,
    check_lesson,
    check_quiz,
    expect_claims,
    fill,
    fill_check,
    quiz_value,
    run_spec,
)
from lessons.loader import Expect, Experiment, Predict, Quiz, Text, load, load_all, parse_text

FIXTURES = Path(__file__).parent / "fixtures" / "lessons"
LESSONS = load_all()
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_the_course_is_complete_and_in_order():
    orders = [lesson.order for lesson in LESSONS if lesson.order < 99]
    assert len(orders) >= 8 and orders == list(range(1, len(orders) + 1))
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
        if "summary" not in lesson.slug:
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
    n = sum(1 for lesson in LESSONS if lesson.order < 99)
    assert f"2 of {n} lessons visited" in at.get("progress")[0].proto.text
    assert any("quiz 1/1" in c.value for c in at.caption)
    next(b for b in at.button if b.label == "Start over").click().run()
    assert f"0 of {n}" in at.get("progress")[0].proto.text


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


def test_slides_hold_every_block_once_in_order_with_at_most_one_experiment_each():
    for lesson in LESSONS:
        slides = lesson.slides
        assert [b for s in slides for b in s.blocks] == [b for s in lesson.sections for b in s.blocks]
        assert all(sum(isinstance(b, Experiment) for b in s.blocks) <= 1 for s in slides), lesson.slug
        assert [s.title for s in slides] == [lesson.sections[s.section].title for s in slides]
        assert [s.section for s in slides] == sorted(s.section for s in slides)
        # an experiment's slide holds nothing else but its prediction (which renders inside it)
        for s in slides:
            if s.experiment is not None:
                assert all(isinstance(b, Experiment | Predict) for b in s.blocks), (lesson.slug, s)


def test_presenter_mode_shows_one_slide_with_navigation():
    lesson = next(lesson for lesson in LESSONS if lesson.order == 2)
    slides = lesson.slides
    k = next(i for i, s in enumerate(slides) if s.section == 1) + 1  # the second section's first
    at = lesson_app(lesson, {"present": "1", "section": str(k)})
    assert not at.exception
    assert [h.value for h in at.header] == [lesson.sections[1].title]
    assert not at.title  # the lesson's title is on the first slide only
    assert {"← Previous", "Next →", "Exit presenter mode"} <= {b.label for b in at.button}
    assert any(f"slide {k} of {len(slides)}" in md.value for md in at.markdown)
    next(b for b in at.button if b.label == "← Previous").click().run()
    assert [h.value for h in at.header] == [lesson.sections[0].title]
    assert at.query_params["section"] in (str(k - 1), [str(k - 1)])
    at = lesson_app(lesson, {"present": "1", "section": "1"})
    assert [t.value for t in at.title] == [lesson.title]


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


# ----------------------------------------------------------------------------
# Format v2 (issue 9): claims, placeholders and quiz answers are checked by machine.
# ----------------------------------------------------------------------------

LESSON_DIR = Path(__file__).resolve().parents[1] / "lessons"


def _lesson(order: int):
    return next(lesson for lesson in LESSONS if lesson.order == order)


@pytest.fixture(scope="module")
def old_failures() -> list[str]:
    """The old lessons' false statements (items 1, 2, 11, 14), written as checkable claims."""
    return check_lesson(load(FIXTURES / "old-claims.md"))


def _steps_pair(failures, claim: str) -> tuple[int, int]:
    f = next(f for f in failures if claim in f)
    m = re.search(r"steps to converge (\d+) steps vs (\d+) steps", f)
    assert m, f
    return int(m[1]), int(m[2])


def test_item1_larger_rates_are_not_faster_all_the_way_to_the_limit(old_failures):
    # The old sentence, as a claim, is caught with the measured steps...
    a, b = _steps_pair(old_failures, "'rate 0.195 is faster than 0.18'")
    assert a > 2 * b
    assert any("(no U)" in f for f in old_failures), old_failures
    assert any("the fastest rate is next to theory's 2/L" in f for f in old_failures)
    # ... and lesson 8 now claims the U, next to 2/(L+mu), and the claims hold.
    lesson = _lesson(8)
    sweep = next(e for e in lesson.blocks(Expect) if e.sweep)
    assert dict(sweep.sweep) == {"u_shape": True, "fastest_near": "best_rate",
                                 "diverges_above": "stable_below"}
    assert check_expect(lesson, sweep) == []
    runs = run_spec(lesson.experiments[sweep.experiment].scene)
    assert abs(runs.fastest_rate / (2 / 11) - 1) < 0.05
    # The rise is steep and close to 2/L: a rate 10% below the limit already needs more steps.
    near_limit = runs.steps[(runs.rates > 0.185) & (runs.rates < 0.2)]
    assert len(near_limit) >= 3 and near_limit.max() > 5 * runs.fastest_steps
    assert "larger rates need fewer steps, up to the limit" not in (LESSON_DIR / "08-summary.md").read_text()


def test_item2_a_smaller_rate_is_closer_only_under_noise(old_failures):
    assert any("'rate 0.001 is closer than 0.1'" in f for f in old_failures), old_failures
    lesson = _lesson(3)
    closer = [(lesson.experiments[e.experiment], e) for e in lesson.blocks(Expect)
              if any(rel == "closer than" for _, rel, _ in e.compare)]
    for exp, expect in closer:
        assert check_expect(lesson, expect) == []
        for (_, a), _, (_, b) in expect.compare:
            smaller_first = exp.scene.rates[a] < exp.scene.rates[b]
            # With noise the smaller rate is the closer one; without, the larger (stable) one.
            if exp.scene.noise:
                assert smaller_first, (exp.id, expect.compare)
            elif exp.scene.surface == "quadratic":
                assert not smaller_first, (exp.id, expect.compare)
    assert any(exp.scene.noise and exp.seeds for exp, _ in closer)  # robust over seeds
    assert any(not exp.scene.noise and exp.scene.surface == "quadratic" for exp, _ in closer)
    assert "precise" not in lesson.title


def test_item2_lesson8_table_measures_precision_under_noise():
    from ui.lesson_view import comparison_rows

    lesson = _lesson(8)
    exp = next(e for e in lesson.blocks(Experiment) if e.table)
    assert exp.precision_noise > 0
    runs = run_spec(exp.scene)
    noisy = run_spec(replace(exp.scene, noise=exp.precision_noise))
    rows = comparison_rows(exp.scene.rates, runs, noisy, exp.precision_noise)
    column = next(k for k in rows[0] if k.startswith("precision, noise σ = 1"))
    by_rate = {row["rate"]: row for row in rows}
    assert float(by_rate["0.02"][column]) < float(by_rate["0.18"][column])
    exact = "precision, exact gradients (final distance)"
    assert float(by_rate["0.18"][exact]) < float(by_rate["0.02"][exact])
    noisy_claims = next(e for e in lesson.blocks(Expect) if e.noisy)
    assert check_expect(lesson, noisy_claims) == []


def test_item11_quiz_answers_are_computed_from_the_experiment(old_failures):
    assert any("quiz 'one-step'" in f and "x = 1.8" in f for f in old_failures), old_failures
    assert any("quiz 'gradient'" in f and "gradient_x = 2" in f for f in old_failures)
    lesson = _lesson(1)
    quizzes = lesson.blocks(Quiz)
    assert quizzes and all(q.check is not None for q in quizzes)
    assert all(check_quiz(lesson, q) == [] for q in quizzes)
    values = {q.id: quiz_value(lesson, q.check) for q in quizzes}
    assert values["gradient"] == pytest.approx(2.0) and values["one-step"] == pytest.approx(1.8)
    # A numeric answer without a check is refused.
    old = parse_text("---\ntitle: x\norder: 1\nminutes: 1\n---\n```quiz\nquestion: q\n"
                     'options: ["2.4", "1.6"]\nanswer: "1.6"\nexplanation: e\n```\n', "x.md")
    assert any("is a number or a regime" in str(e) and "line 6" in str(e) for e in old.errors)


def test_item14_never_against_never_is_rejected_and_closer_shows_distances(old_failures):
    assert any("never vs never" in f and "proves nothing" in f for f in old_failures), old_failures
    lesson = _lesson(3)
    banana = next(e for e in lesson.blocks(Expect) if e.experiment == "banana")
    claims = expect_claims(lesson, banana)
    closer = next(c for c in claims if "closer than" in c.text)
    assert closer.ok and "distance" in closer.measured and "never" not in closer.measured


def test_lesson2_with_a_wrong_quiz_answer_or_a_literal_limit_fails():
    text = (LESSON_DIR / "02-too-large.md").read_text(encoding="utf-8")
    wrong = text.replace('answer: "0.08"', 'answer: "0.5"')
    assert wrong != text
    failures = check_lesson(parse_text(wrong, "02-too-large.md"))
    assert any("quiz 'limit'" in f and "stable_below = 0.08" in f for f in failures), failures
    literal = text.replace("2/L = {across-the-limit.theory.stable_below}", "2/L = 0.5")
    assert literal != text
    errors = [str(e) for e in parse_text(literal, "02-too-large.md").errors]
    assert any("'2/L = 0.5' writes a theory value as a literal number" in e for e in errors), errors


PLACEHOLDERS = """---
title: P
order: 1
minutes: 1
---
## Limit

The limit is 2/L = {bowl.theory.stable_below}; 0.1 took {bowl.steps[0.1]} steps.

```experiment
id: bowl
surface: quadratic
params: {a: 1, b: CURVATURE}
rates: [0.1]
steps: 300
```
"""


@pytest.mark.parametrize("b, limit", [(10, "0.2"), (4, "0.5")])
def test_placeholders_fill_in_theory_and_measured_values(b, limit):
    lesson = parse_text(PLACEHOLDERS.replace("CURVATURE", str(b)), "p.md")
    assert lesson.errors == [] and check_lesson(lesson) == []
    text = lesson.blocks(Text)[0]
    assert [p.line for p in text.placeholders] == [8, 8]
    steps = run_spec(lesson.experiments["bowl"].scene).steps(0)
    assert fill(text.markdown, lesson) == f"The limit is 2/L = {limit}; 0.1 took {int(steps)} steps."
    hidden = fill(text.markdown, lesson, hidden=frozenset({"bowl"}))
    assert hidden == f"The limit is 2/L = {limit}; 0.1 took ▢ steps."  # before a prediction


def test_a_placeholder_naming_an_unknown_run_is_a_file_line_error():
    text = PLACEHOLDERS.replace("CURVATURE", "10").replace(
        "steps.\n", "steps.\nAt 0.3: {bowl.steps[0.3]}; {nowhere.steps[0.1]}; {bowl.speed[0.1]}.\n")
    messages = [str(e) for e in parse_text(text, "p.md").errors]
    assert any(m.startswith("p.md, line 9: placeholder {bowl.steps[0.3]}: experiment 'bowl' has "
                            "no run '0.3'") for m in messages), messages
    assert any("line 9" in m and "unknown experiment 'nowhere'" in m for m in messages), messages
    assert any("line 9" in m and "unknown measure 'speed'" in m for m in messages), messages


def test_runs_are_named_by_optimizer_at_rate_when_they_share_a_rate():
    head = "---\ntitle: x\norder: 1\nminutes: 1\n---\n"
    exp = ("```experiment\nid: e\nrates: [0.1, 0.1]\noptimizers: [sgd, adam]\nsteps: 200\n```\n"
           "SGD: {e.regime[sgd@0.1]}, Adam: {e.regime[adam@0.1]}.\n")
    lesson = parse_text(head + exp + "```expect\nregimes:\n  0.1: converged\n```\n", "x.md")
    assert any("shared by runs sgd@0.1 and adam@0.1" in str(e) for e in lesson.errors)
    lesson = parse_text(head + exp + "```expect\ncompare:\n  - sgd@0.1 faster than adam@0.1\n```\n",
                        "x.md")
    assert lesson.errors == []
    runs = run_spec(lesson.experiments["e"].scene)
    assert fill(lesson.blocks(Text)[0].markdown, lesson) == f"SGD: {runs.regime(0)}, Adam: {runs.regime(1)}."


def test_claims_must_hold_from_every_extra_start():
    lesson = parse_text("---\ntitle: x\norder: 1\nminutes: 1\n---\n```experiment\nid: e\n"
                        "rates: [0.01]\nsteps: 300\nstart: [0.01, 0.01]\nstarts: [[-1.6, 1.2]]\n```\n"
                        "```expect\nregimes:\n  0.01: converged\n```\n", "x.md")
    failures = check_lesson(lesson)
    assert len(failures) == 1 and "from start [-1.6, 1.2]" in failures[0], failures
    assert "measured slow" in failures[0]


@pytest.mark.parametrize("answer, ok", [("0.06", True), ("0.04", False)])
def test_quiz_relation_above_and_pick(answer, ok):
    head = "---\ntitle: x\norder: 1\nminutes: 1\n---\n"
    quiz = (f'```quiz\nquestion: Curvature 40. Which rate cannot stay?\noptions: ["0.01", "0.04", "0.06"]\n'
            f'answer: "{answer}"\nexplanation: 2/40 = {{check}}.\n'
            "check: {theory: stable_below, params: {a: 40, b: 40}, relation: above}\n```\n")
    lesson = parse_text(head + quiz, "x.md")
    assert lesson.errors == [] and (check_lesson(lesson) == []) == ok
    assert fill_check(lesson.blocks(Quiz)[0].explanation, lesson, lesson.blocks(Quiz)[0]) == "2/40 = 0.05."
    pick = ("```experiment\nid: e\nrates: [0.1, 0.01]\nsteps: 1000\nnoise: 1\n```\n"
            f'```quiz\nquestion: Which is closer?\noptions: ["0.1", "0.01", "Equal"]\n'
            f'answer: "{"0.01" if ok else "0.1"}"\nexplanation: e\n'
            "check: {experiment: e, measure: distance, pick: smallest}\n```\n")
    lesson = parse_text(head + pick, "x.md")
    assert lesson.errors == [] and (check_lesson(lesson) == []) == ok


def test_rate_sweep_chart_marks_theory_and_the_measured_fastest():
    from charts.rate_sweep import rate_sweep_figure

    lesson = _lesson(8)
    exp = next(e for e in lesson.blocks(Experiment) if e.kind == "rate_sweep")
    runs = run_spec(exp.scene)
    assert len(runs.rates) == exp.scene.n and runs.diverged[-1] and not runs.diverged[0]
    fig = rate_sweep_figure(runs.rates, runs.steps, runs.distance, runs.regimes,
                            marks={"2/(L+μ)": 2 / 11, "2/L": 0.2}, fastest=runs.fastest_rate)
    xs = {round(s.x0, 4) for s in fig.layout.shapes if s.type == "line"}
    assert {round(2 / 11, 4), 0.2, round(runs.fastest_rate, 4)} <= xs
    # Both rows are shaded by regime, the converged span included (Plotly skips shapes on a
    # subplot that has no trace yet unless told not to).
    rects = [(s.yref, s.fillcolor) for s in fig.layout.shapes if s.type == "rect"]
    assert {yref for yref, _ in rects} == {"y domain", "y2 domain"}
    assert sum(1 for _, c in rects if c.startswith("rgba(57, 211, 83")) == 2
    names = {t.name for t in fig.data}
    assert "steps to converge" in names and "diverged" in names


def test_predict_choices_do_not_call_a_local_minimum_wrong():
    from engine import surfaces
    from lessons.claims import predict_choices, prediction_right

    assert "converge" in predict_choices(surfaces.quadratic())
    several = predict_choices(surfaces.sharp_wide())
    assert "converge" not in several and "settle in the nearest (local) minimum" in several
    lesson = _lesson(2)
    runs = run_spec(lesson.experiments["three-regimes"].scene)
    i = lesson.experiments["three-regimes"].run_index(1.5)  # zig-zags in, and gets there
    assert prediction_right("oscillate", runs, i) and prediction_right("converge", runs, i)
    assert not prediction_right("diverge", runs, i)


def test_compare_across_experiments_and_rate_at_converge():
    head = "---\ntitle: x\norder: 1\nminutes: 1\n---\n"
    body = ("```experiment\nid: constant\nrates: [0.19]\nsteps: 300\n```\n"
            "```experiment\nid: cosine\nrates: [0.19]\nsteps: 300\nschedule: cosine\n```\n"
            "It converged at rate {cosine.rate_at_converge[0.19]}.\n"
            "```expect\ncompare:\n  - CLAIM\n```\n")
    runs = {k: run_spec(parse_text(head + body.replace("CLAIM", "0.19 faster than 0.19"), "x.md")
                        .experiments[k].scene) for k in ("constant", "cosine")}
    faster = "0.19 faster than constant:0.19" if runs["cosine"].steps(0) < runs["constant"].steps(0) \
        else "constant:0.19 faster than 0.19"
    lesson = parse_text(head + body.replace("CLAIM", faster), "x.md")
    assert lesson.errors == [] and check_lesson(lesson) == []
    wrong = faster.replace("faster", "slower")
    failures = check_lesson(parse_text(head + body.replace("CLAIM", wrong), "x.md"))
    assert len(failures) == 1 and "constant:0.19" in failures[0], failures
    s = int(runs["cosine"].steps(0))
    expected = runs["cosine"].sweep.lrs[0, s - 1]
    assert fill(lesson.blocks(Text)[0].markdown, lesson) == f"It converged at rate {expected:.3g}."
    assert expected < 0.19  # the cosine schedule had decayed by then
    unknown = parse_text(head + body.replace("CLAIM", "nowhere:0.19 faster than 0.19"), "x.md")
    assert any("unknown experiment 'nowhere'" in str(e) for e in unknown.errors)


def test_a_paragraph_citing_a_hidden_run_waits_for_the_prediction():
    lesson = _lesson(1)
    cites = next(b for b in lesson.blocks(Text)
                 if any(p.experiment == "parabola" and p.measure == "steps" for p in b.placeholders))
    steps = str(int(run_spec(lesson.experiments["parabola"].scene).steps(1)))
    at = lesson_app(lesson)
    shown = " ".join(m.value for m in at.markdown)
    assert cites.markdown.split("{")[0] not in shown  # "Both rates get there: 0.5 within ..."
    at.radio(key=f"{lesson.slug}:predict:parabola:choice").set_value("converge").run()
    next(b for b in at.button if b.label == "Run it").click().run()
    assert not at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert f"0.5 within {steps} steps" in shown


def test_mixed_optimizer_charts_name_each_runs_optimizer():
    """Lesson 9 runs SGD and Adam at the same rate: every legend names each run's optimizer."""
    import json

    lesson = next(lesson for lesson in LESSONS if lesson.slug.startswith("09"))
    at = lesson_app(lesson)
    checked = 0
    for chart in at.get("plotly_chart"):
        runs = [t["name"] for t in json.loads(chart.proto.spec)["data"]
                if "lr = " in str(t.get("name")) and t.get("showlegend", True)]
        if any(not name.startswith("lr = ") for name in runs):  # a mixed-optimizer chart
            checked += 1
            assert not any(name.startswith("lr = ") for name in runs), runs
            assert len(set(runs)) == len(runs), runs
    assert checked >= 4
