"""Render a parsed lesson: text, live experiments, checked claims, predictions, quizzes.

Presenter mode (``?present=1``) hides the sidebar and chrome, enlarges the
type, and shows one section at a time (``&section=N``) with Previous/Next
buttons and the keyboard's arrow keys.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

from charts.networks import finetune_figure
from charts.playground import loss_figure, trajectory_figure
from charts.style import rate_label
from engine.scene import RATE_MAX, RATE_MIN, Scene, run_scene, scene_to_query
from lessons.claims import check_expect, finetune_measures, run_finetune
from lessons.loader import (
    PREDICT_CHOICES,
    Expect,
    Experiment,
    FineTuneSpec,
    Lesson,
    Predict,
    Quiz,
    Text,
)
from ui import progress as prog
from ui.runtime import warm_up
from ui.widgets import regime_badge

PRESENTER_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
.block-container { max-width: 96vw !important; padding-top: 1.5rem !important; }
main:focus, main:focus-visible { outline: none !important; }
.stMarkdown p, .stMarkdown li { font-size: 1.45rem !important; line-height: 1.5 !important; }
h1 { font-size: 3rem !important; } h2 { font-size: 2.3rem !important; }
</style>
"""

ARROW_KEYS_JS = """
<script>
const doc = window.parent.document;
if (!doc.lrlArrows) {
  doc.lrlArrows = true;
  doc.addEventListener('keydown', (e) => {
    const tag = (e.target && e.target.tagName) || '';
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(tag)) return;
    const label = e.key === 'ArrowRight' ? 'Next →' : e.key === 'ArrowLeft' ? '← Previous' : null;
    if (!label) return;
    const btn = Array.from(doc.querySelectorAll('button')).find(b => b.innerText.trim() === label);
    if (btn) { btn.click(); e.preventDefault(); }
  });
}
</script>
"""


@st.cache_data(max_entries=128, show_spinner=False)
def cached_run(scene: Scene):
    return run_scene(scene)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_finetune(spec: FineTuneSpec):
    return run_finetune(spec)


@st.cache_data(max_entries=128, show_spinner=False)
def cached_check(lesson_path: str, expect: Expect) -> list[str]:
    from lessons.loader import load

    return check_expect(load(lesson_path), expect)


def playground_link(scene: Scene) -> str:
    return "/playground?" + urlencode(scene_to_query(scene))


def _key(lesson: Lesson, *parts) -> str:
    return ":".join([lesson.slug, *map(str, parts)])


def render_finetune(lesson: Lesson, exp: Experiment) -> None:
    """An editable fine-tuning run: task-B learning and task-A forgetting per rate, measured."""
    spec = exp.scene
    cols = st.columns(len(spec.rates) + 1, vertical_alignment="bottom")
    rates = [col.number_input(f"rate {i + 1}", RATE_MIN, RATE_MAX, float(lr), format="%.4g",
                              step=None, key=_key(lesson, exp.id, "lr", i))
             for i, (col, lr) in enumerate(zip(cols, spec.rates, strict=False))]
    cols[-1].link_button("Open the Fine-tuning page ↗", "/fine-tuning")
    spec = replace(spec, rates=tuple(float(r) for r in rates))
    with st.spinner("Pre-training a network on digits 0-4 (once), then fine-tuning it on 5-9…"):
        run = cached_finetune(spec)
    st.plotly_chart(finetune_figure(run), key=_key(lesson, exp.id, "finetune"))
    rows = []
    for i, lr in enumerate(spec.rates):
        acc_a, learned = finetune_measures(run, lr)
        rows.append({"rate": f"{lr:g}", "task A before": f"{run.a_acc[i, 0]:.1%}",
                     "task A after": f"{acc_a:.1%}",
                     "steps to learn task B (80%)": "never" if learned == float("inf") else str(learned),
                     "task B after": f"{run.b_acc[i, -1]:.1%}",
                     "diverged at step": "—" if run.diverged_at[i] < 0 else str(run.diverged_at[i])})
    st.dataframe(rows, hide_index=True)
    if exp.caption:
        st.caption(exp.caption)


def render_experiment(lesson: Lesson, exp: Experiment, presenting: bool) -> None:
    """An editable scene: rate entries, the animated surface, loss curves, regime badges."""
    st.markdown(f'<a id="{exp.id}"></a>', unsafe_allow_html=True)
    if isinstance(exp.scene, FineTuneSpec):
        render_finetune(lesson, exp)
        return
    predict = next((p for p in lesson.blocks(Predict) if p.experiment == exp.id), None)
    if predict is not None and not render_predict(lesson, predict, exp):
        return
    cols = st.columns(len(exp.scene.rates) + 1, vertical_alignment="bottom")
    rates = []
    for i, (col, lr) in enumerate(zip(cols, exp.scene.rates, strict=False)):
        rates.append(col.number_input(f"rate {i + 1}", RATE_MIN, RATE_MAX, float(lr),
                                      format="%.4g", step=None, key=_key(lesson, exp.id, "lr", i)))
    scene = replace(exp.scene, rates=tuple(float(r) for r in rates))
    cols[-1].link_button("Open in Playground ↗", playground_link(scene))
    warm_up(scene.surface)
    surface, sweep, diagnoses = cached_run(scene)
    badge_cols = st.columns(len(rates))
    for col, lr, d in zip(badge_cols, rates, diagnoses, strict=True):
        with col:
            regime_badge(d.regime.value, label=f"{rate_label(lr)}: ")
    left, right = st.columns([3, 2])
    left.plotly_chart(trajectory_figure(surface, sweep, height=500 if presenting else 430),
                      key=_key(lesson, exp.id, "traj"))
    right.plotly_chart(loss_figure(surface, sweep), key=_key(lesson, exp.id, "loss"))
    if exp.caption:
        st.caption(exp.caption)
    if exp.table:
        st.dataframe(comparison_rows(rates, sweep, diagnoses), hide_index=True)
        st.caption("Every cell is measured from the runs above: training time = steps until within "
                   "the convergence radius; precision = distance to the nearest minimum at the end.")


def comparison_rows(rates, sweep, diagnoses) -> list[dict]:
    """Small-vs-large comparison, one row per rate, every cell from the runs."""
    rows = []
    for lr, t, d in zip(rates, sweep, diagnoses, strict=True):
        rows.append({
            "rate": f"{lr:g}",
            "training time (steps to converge)": str(d.steps_to_converge) if d.steps_to_converge
            is not None else f"not within {t.steps}",
            "convergence": d.regime.value,
            "risk of overshooting (overshoots)": str(d.overshoots),
            "diverged at step": "—" if t.diverged_at is None else str(t.diverged_at),
            "precision (final distance)": "diverged" if t.diverged_at else f"{d.final_distance:.2g}",
            "largest step": f"{float(t.step_sizes[: t.diverged_at or None].max()):.3g}",
        })
    return rows


def render_expect(lesson: Lesson, expect: Expect) -> None:
    """The claims as the lesson states them, each checked against the unedited experiment."""
    exp = lesson.experiments[expect.experiment]
    predict = next((p for p in lesson.blocks(Predict) if p.experiment == exp.id), None)
    if predict is not None and st.session_state.get(_key(lesson, "predict", exp.id)) is None:
        st.caption("What this experiment shows appears after your prediction.")
        return
    failures = cached_check(lesson.path, expect)
    lines = []
    if isinstance(exp.scene, FineTuneSpec):
        run = cached_finetune(exp.scene)
        for a, relation, b in expect.compare:
            (acc_a, learn_a), (acc_b, learn_b) = (finetune_measures(run, r) for r in (a, b))
            shown = (f"task A kept {acc_a:.1%} vs {acc_b:.1%}" if relation == "keeps more than"
                     else f"{learn_a} vs {learn_b} steps to 80% on task B")
            lines.append(f"- rate **{a:g}** {relation} **{b:g}** (measured: {shown})")
        _claims_box(lines, failures)
        return
    _, sweep, diagnoses = cached_run(exp.scene)
    for rate, regime in expect.regimes:
        i = exp.scene.rates.index(rate)
        d = diagnoses[i]
        steps = f", converged in {d.steps_to_converge} steps" if d.steps_to_converge else ""
        lines.append(f"- rate **{rate:g}** → **{regime}** (measured: {d.regime.value}{steps})")
    for a, relation, b in expect.compare:
        da, db = (diagnoses[exp.scene.rates.index(r)] for r in (a, b))
        fmt = lambda d: "never" if d.steps_to_converge is None else f"{d.steps_to_converge} steps"  # noqa: E731
        lines.append(f"- rate **{a:g}** is {relation} **{b:g}** (measured: {fmt(da)} vs {fmt(db)})")
    _claims_box(lines, failures)


def _claims_box(lines: list[str], failures: list[str]) -> None:
    box = st.success if not failures else st.error
    box("**What this experiment shows** (checked on every run of the test suite):\n"
        + "\n".join(lines) + ("" if not failures else "\n\n" + "\n".join(failures)))


def render_predict(lesson: Lesson, predict: Predict, exp: Experiment) -> bool:
    """Ask first; True once the student has predicted (then the run is shown)."""
    key = _key(lesson, "predict", exp.id)
    answered = st.session_state.get(key)
    _, _, diagnoses = cached_run(exp.scene)
    actual = diagnoses[exp.scene.rates.index(predict.rate)]
    if answered is None:
        with st.container(border=True):
            st.markdown(f"**Predict before you run it:** {predict.question}")
            choice = st.radio("Your prediction", list(PREDICT_CHOICES), index=None, horizontal=True,
                              key=key + ":choice")
            if st.button("Run it", key=key + ":go", disabled=choice is None):
                st.session_state[key] = choice
                st.rerun()
        return False
    right = actual.regime.value in PREDICT_CHOICES[answered]
    why = (f"The run at rate {predict.rate:g} was diagnosed **{actual.regime.value}**"
           + (f" after {actual.steps_to_converge} steps" if actual.steps_to_converge else "")
           + f", with {actual.overshoots} overshoots.")
    (st.success if right else st.warning)(
        ("Right! " if right else f"Not quite: you said '{answered}'. ") + why)
    return True


def render_quiz(lesson: Lesson, quiz: Quiz, number: int) -> None:
    key = _key(lesson, "quiz", quiz.id)
    with st.container(border=True):
        st.markdown(f"**Quiz:** {quiz.question}")
        choice = st.radio("Your answer", quiz.options, index=None, key=key)
        if st.button("Check", key=key + ":check", disabled=choice is None):
            p = prog.current()
            p.quiz[f"{lesson.order}.{number}"] = quiz.options.index(choice) == quiz.answer
            st.session_state[key + ":checked"] = choice
        checked = st.session_state.get(key + ":checked")
        if checked is not None:
            right = quiz.options.index(checked) == quiz.answer
            link = f" [See the experiment that shows it](#{quiz.experiment})" if quiz.experiment else ""
            (st.success if right else st.error)(
                ("Correct. " if right else f"Not quite: the answer is '{quiz.options[quiz.answer]}'. ")
                + quiz.explanation + link)


def render_block(lesson: Lesson, block, quiz_numbers: dict, presenting: bool) -> None:
    if isinstance(block, Text):
        st.markdown(block.markdown)
    elif isinstance(block, Experiment):
        render_experiment(lesson, block, presenting)
    elif isinstance(block, Expect):
        render_expect(lesson, block)
    elif isinstance(block, Quiz):
        render_quiz(lesson, block, quiz_numbers[block.id])
    # Predict blocks render inside their experiment, before its run.


def render_lesson(lesson: Lesson) -> None:
    """The whole lesson page, in reading or presenter mode."""
    presenting = st.query_params.get("present") == "1"
    p = prog.current()
    p.seen.add(lesson.order)
    quiz_numbers = {q.id: i + 1 for i, q in enumerate(lesson.blocks(Quiz))}
    n = len(lesson.sections)
    try:
        section = min(max(int(st.query_params.get("section", "1")), 1), n) if n else 1
    except ValueError:
        section = 1
    extra = {"present": "1", "section": str(section)} if presenting else {}

    if presenting:
        st.markdown(PRESENTER_CSS, unsafe_allow_html=True)
        components.html(ARROW_KEYS_JS, height=0)
    st.title(lesson.title)
    for error in lesson.errors:
        st.error(f"**This lesson file has a problem** — {error}", icon="🛠️")
    if not presenting:
        st.caption(f"{lesson.minutes} minutes")
        if lesson.objectives:
            st.markdown("**You will be able to:**\n" + "\n".join(f"- {o}" for o in lesson.objectives))
        if st.toggle("Presenter mode", key=_key(lesson, "present"), value=False):
            prog.save(p, {"present": "1", "section": "1"})
            st.rerun()
    if lesson.needs:
        st.info(lesson.needs, icon="🚧")

    shown = [lesson.sections[section - 1]] if presenting and n else lesson.sections
    for s in shown:
        if s.title and s.title != lesson.title:
            st.header(s.title)
        for block in s.blocks:
            render_block(lesson, block, quiz_numbers, presenting)

    if presenting:
        prev_col, mid, next_col, exit_col = st.columns([1, 2, 1, 1])
        if prev_col.button("← Previous", disabled=section <= 1, use_container_width=True):
            extra["section"] = str(section - 1)
            prog.save(p, extra)
            st.rerun()
        mid.markdown(f"<div style='text-align:center'>section {section} of {n}</div>",
                     unsafe_allow_html=True)
        if next_col.button("Next →", disabled=section >= n, use_container_width=True):
            extra["section"] = str(section + 1)
            prog.save(p, extra)
            st.rerun()
        if exit_col.button("Exit presenter mode", use_container_width=True):
            st.session_state[_key(lesson, "present")] = False
            prog.save(p, {})
            st.rerun()
    prog.save(p, extra)
