"""Every Plotly chart on every page has a text alternative, computed from the run it draws.

Each page is opened once in AppTest (lessons in reading and presenter mode too) and walked
through the settings that show its other charts; on every run the number of charts must equal
the number of chart texts (ui.widgets.chart_text), and each text must carry the numbers of the
run the page shows (its rates, its step counts), read from the page's own widgets and text.
Also: the digits mosaic on a dark page is light ink on the page's dark background, with labels
at least 4.5:1 against it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from charts.networks import DIGIT_LABELS, digits_figure
from charts.style import DARK_PAGE
from lessons.loader import Experiment, RateSweepSpec, load_all
from store.classroom import ENV_URL, Classroom

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "app_pages"
MARK = 'class="lrl-chart-text"'
LESSONS = {lesson.order: lesson for lesson in load_all()}
TIMEOUT = 240


def chart_texts(at: AppTest) -> list[str]:
    """The page's chart texts, as a screen reader reads them (no <style> rules, no tags)."""
    return [html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<style>.*?</style>", "", m.value, flags=re.S)))
            for m in at.markdown if MARK in m.value]


def one_per_chart(at: AppTest, where: str) -> list[str]:
    """The chart texts, after checking the run went through and there is one per chart."""
    assert not at.exception, (where, [e.value for e in at.exception])
    texts = chart_texts(at)
    n = len(at.get("plotly_chart"))
    assert n > 0, where
    assert n == len(texts), (where, n, texts)
    return texts


def page(name: str, query: dict | None = None) -> AppTest:
    at = AppTest.from_file(str(PAGES / name), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def badge_labels(at: AppTest) -> list[str]:
    """The run names of the page's regime badges ("lr = 0.1: converged" -> "lr = 0.1")."""
    bodies = [b.proto.body for b in at.get("markdown") if "badge[" in b.proto.body]
    return [m.group(1) for b in bodies if (m := re.search(r"badge\[(lr = [^:\]]+):", b))]


def all_of(texts: list[str], needles: list[str], where: str) -> None:
    assert needles, where
    for t in texts:
        for x in needles:
            assert x in t, (where, x, t)


def test_playground_step_size_and_every_chart_name_each_run():
    at = page("playground.py")
    texts = one_per_chart(at, "playground")
    assert len(texts) == 3
    all_of(texts, badge_labels(at), "playground")
    steps = int(at.slider(key="steps").value)
    step_text = next(t for t in texts if t.startswith("Step size"))
    assert f"3 runs over {steps} steps" in step_text, step_text


def test_stability_maps_run_charts_and_steps_chart():
    # the batch map first, small (its network runs compile once); then the other two maps
    at = page("stability_maps.py", dict(map="batch", n="4", steps="30", bs="64", seeds="1", lo="0.1",
                                        hi="10"))
    texts = one_per_chart(at, "batch map")
    rate = re.search(r"The runs at lr = ([^,]+),", " ".join(s.value for s in at.subheader)).group(1)
    assert any(t.startswith(f"Training loss at rate {float(rate):.4g}, batch size 64, 1 run over 30 steps")
               for t in texts), texts
    for kind in ("momentum", "condition"):
        at.radio(key="maps_kind").set_value(kind).run()
        texts = one_per_chart(at, kind)
        rate = re.search(r"The run at lr = ([^,]+),", " ".join(s.value for s in at.subheader)).group(1)
        runs = [t for t in texts if t.startswith(("Paths of 1 run", "Loss above the lowest"))]
        assert len(runs) == 2, texts
        all_of(runs, [f"lr = {rate}"], kind)
    steps = next(t for t in texts if t.startswith("Steps to converge against condition number"))
    said = next(m.value for m in at.markdown if m.value.startswith("At 2/(L+μ) the runs took"))
    kappa_hi = re.search(r"as κ grew from \S+ to (\S+);", said).group(1)
    assert f"κ = {kappa_hi}" in steps, (steps, said)


def test_grid_search_run_chart_names_the_picked_rate():
    at = page("grid_search.py")
    texts = one_per_chart(at, "grid surface")
    picked = at.select_slider(key="grid_pick").value
    label = f"{at.select_slider(key='grid_pick').format_func(picked)}"
    run = next(t for t in texts if t.startswith("Paths of 1 run"))
    assert f"lr = {label}" in run, (label, run)
    said = next(m.value for m in at.markdown if m.value.startswith(f"At **{label}** the run"))
    step = re.search(r"converged at step (\d+)|diverged at step (\d+)", said)
    if step:
        assert (step.group(1) or step.group(2)) in run, (said, run)


def test_grid_search_network_loss_curves():
    at = page("grid_search.py", {"on": "network", "n": "3", "steps": "30", "seeds": "1"})
    texts = one_per_chart(at, "grid network")
    label = at.select_slider(key="grid_pick").format_func(at.select_slider(key="grid_pick").value)
    assert any(t.startswith(f"Training loss at rate {label}, 1 run over 30 steps: seed 0")
               for t in texts), texts


def test_network_training_regions_digits_and_sharpness():
    at = page("train_network.py", {"sharp": "1", "steps": "50"})
    texts = one_per_chart(at, "moons")
    labels = badge_labels(at)
    regions = next(t for t in texts if t.startswith("Decision regions of "))
    assert "lr = 0.1" in labels and regions.startswith("Decision regions of lr = 0.1 at 40 recorded steps")
    assert "to 50, with" in regions
    all_of([next(t for t in texts if t.startswith("Sharpness"))], labels, "sharpness")
    at.checkbox(key="nt_sharp").uncheck()  # sharpness on digits is slow; it was checked above
    at.selectbox(key="nt_data").set_value("digits").run()
    texts = one_per_chart(at, "digits")
    digits = next(t for t in texts if "validation digits" in t)
    said = " ".join(c.value for c in at.caption)
    wrong = re.search(r"(\d+) of these 40 validation images are misclassified", said)
    if wrong:
        assert f"40 validation digits with their predicted labels: {40 - int(wrong.group(1))} right, " \
               f"{wrong.group(1)} wrong" in digits, (digits, said)


def test_finetune_pretraining_chart():
    at = page("finetune.py")
    texts = one_per_chart(at, "finetune")
    said = " ".join(c.value for c in at.caption)
    steps = re.search(r"(\d+) full-batch steps of plain SGD", said).group(1)
    assert any(t.startswith(f"Task A accuracy over {steps} pre-training steps, 1 run: task A ended at ")
               for t in texts), texts


def _lesson_script(path: str) -> None:
    from lessons.loader import load
    from ui.lesson_view import render_lesson

    render_lesson(load(path))


def lesson_app(order: int, query: dict | None = None) -> AppTest:
    at = AppTest.from_function(_lesson_script, args=(LESSONS[order].path,), default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def rates_typed(at: AppTest) -> list[str]:
    """The rates in the lesson's rate boxes, as the charts' legends name them."""
    return [f"lr = {n.value:.4g}" for n in at.number_input if str(n.key).split(":")[-2:-1] == ["lr"]]


def check_sweep(texts: list[str], at: AppTest, where: str) -> int:
    """A rate sweep's text says what the caption under it measured: rate range and fastest.
    Returns how many sweeps it checked."""
    measured = [c.value for c in at.caption if c.value.startswith("Measured: ")]
    for said in measured:
        m = re.match(r"Measured: (\d+) rates from (\S+) to (\S+) .*?fastest: (\S+)", said)
        n, lo, hi, fastest = m.groups()
        assert any(f"for {n} rates from {lo} to {hi}" in t and f"fastest {float(fastest):.3g} " in t
                   for t in texts), (where, said, texts)
    return len(measured)


@pytest.mark.parametrize("order", [6, 7])
def test_lesson_charts_in_reading_and_presenter_mode(order):
    lesson = LESSONS[order]
    at = lesson_app(order)
    texts = one_per_chart(at, f"lesson {order}")
    for t in texts:
        assert t.startswith("Steps to converge (top)") or re.search(r"lr = \d", t), t
    sweeps = sum(isinstance(e.scene, RateSweepSpec) for e in lesson.blocks(Experiment))
    assert check_sweep(texts, at, f"lesson {order}") == sweeps
    slides = {s.experiment.kind: i + 1 for i, s in reversed(list(enumerate(lesson.slides)))
              if isinstance(s.experiment, Experiment)}
    at = lesson_app(order, {"present": "1", "section": str(min(slides.values()))})
    for kind, section in sorted(slides.items(), key=lambda kv: kv[1]):
        at.query_params["section"] = str(section)
        at.run()
        texts = one_per_chart(at, f"lesson {order} slide {section} ({kind})")
        typed = rates_typed(at)
        if kind == "rate_sweep":
            assert check_sweep(texts, at, f"slide {section}") == 1
        else:
            all_of(texts, typed, f"slide {section}")


def test_class_votes_live_and_revealed(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'classroom.sqlite'}"
    monkeypatch.setenv(ENV_URL, url)
    store = Classroom(url)
    lesson = LESSONS[1]
    question = "1:predict:parabola"
    slide = next(i + 1 for i, s in enumerate(lesson.slides)
                 if s.experiment is not None and s.experiment.id == "parabola")
    room, token = store.create_room()
    for i, choice in enumerate(["converge", "converge", "diverge"]):
        store.vote(room.code, f"student{i}", question, choice, ["converge", "diverge"])
    at = lesson_app(1, {"present": "1", "section": str(slide), "room": room.code, "host": token})
    texts = one_per_chart(at, "live votes")
    assert texts[0].startswith("Votes so far: 2 of 3 for 'converge', "), texts
    assert "1 of 3 for 'diverge'" in texts[0]
    next(b for b in at.button if b.label == "Reveal the run").click().run()
    texts = one_per_chart(at, "revealed")
    answers = next(t for t in texts if t.startswith("The class's answers: "))
    assert "2 of 3 for 'converge'" in answers and "1 of 3 for 'diverge'" in answers
    assert answers.count("(right)") >= 1


def luminance(hex_color: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    c = np.array([int(hex_color[k: k + 2], 16) for k in (1, 3, 5)]) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_digits_on_a_dark_page_are_light_ink_on_dark_with_readable_labels():
    from engine import data

    d = data.load("digits", 0)
    labels = d.y_val[:20]
    predicted = labels.copy()
    predicted[:3] = (predicted[:3] + 1) % 10  # three wrong
    for dark, page_bg in ((False, "#ffffff"), (True, DARK_PAGE)):
        fig = digits_figure(d.x_val[:20], labels, predicted, dark=dark)
        heat = fig.data[0]
        scale = [c for _, c in heat.colorscale]
        low, high = scale[0], scale[-1]  # the colour of a blank pixel, then of full ink
        rgb = [tuple(int(v) for v in re.findall(r"\d+", c)[:3]) for c in (low, high)]
        blank, ink = (float(np.mean(v)) for v in rgb)
        if dark:
            assert blank < 40 < 200 < ink, scale  # a black background, white ink
            assert fig.layout.paper_bgcolor == DARK_PAGE == fig.layout.plot_bgcolor
        else:
            assert blank > 200 > 40 > ink, scale  # white paper, black ink (unchanged)
        colours = {a.font.color for a in fig.layout.annotations}
        assert colours == set(DIGIT_LABELS[dark].values())
        for c in colours:
            assert contrast(c, page_bg) >= 4.5, (dark, c, contrast(c, page_bg))
        if dark:
            assert contrast(DIGIT_LABELS[True]["right"], "#000000") >= 4.5
        wrong = [a for a in fig.layout.annotations if "✗" in a.text]
        assert len(wrong) == 3 and {a.font.color for a in wrong} == {DIGIT_LABELS[dark]["wrong"]}

