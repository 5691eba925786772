"""Render a parsed lesson: text, live experiments, checked claims, predictions, quizzes.

Presenter mode (``?present=1``) hides the sidebar and chrome, enlarges the
type, and shows one section at a time (``&section=N``) with Previous/Next
buttons and the keyboard's arrow keys.

In a class (``?room=CODE``, see :mod:`ui.classroom`) the instructor's presenter mode shows
the join code in a corner, each prediction as a live vote chart with a Reveal button, and
moves the class along with its Previous/Next. A student sees one section at a time, follows
the presenter (stepping back freely, "Back to live" to return), votes on each prediction and
quiz, and sees the run and the class's answers once the instructor reveals them.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

from charts import describe
from charts.networks import finetune_figure
from charts.playground import for_projector, loss_spec, trajectory_spec
from charts.rate_sweep import rate_sweep_figure
from charts.ready import ReadyFigure, larger_text
from charts.votes import votes_spec
from engine import optimizers as optimizer_set
from engine.scene import RATE_MAX, RATE_MIN, Scene, scene_to_query
from lessons.claims import (
    check_expect,
    expect_claims,
    fill,
    fill_check,
    finetune_measures,
    fmt_value,
    predict_choices,
    prediction_right,
    run_spec,
    theory_of,
    theory_value,
)
from lessons.loader import Expect, Experiment, Lesson, Predict, Quiz, Text
from ui import classroom as cls
from ui import progress as prog
from ui.heap import freeze_after_warm_up
from ui.lesson_links import render_markdown
from ui.runtime import warm_up
from ui.widgets import chart_text, dark_page, rate_problem, rate_text, regime_badge

PRESENTER_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
.block-container { max-width: 98vw !important; padding-top: 0.8rem !important;
                   padding-bottom: 5.5rem !important; }
main:focus, main:focus-visible { outline: none !important; }
[data-testid="stMain"] [data-testid="stMarkdownContainer"] :is(p, li, td, p span, li span),
[data-testid="stMain"] [data-testid="stWidgetLabel"] p, [data-testid="stMain"] button p,
[data-testid="stMain"] [data-testid="stCaptionContainer"], [data-testid="stMain"] input
  { font-size: BODYpx !important; line-height: 1.4 !important; }
h1 { font-size: 2.4rem !important; padding: 0.2rem 0 !important; }
h2 { font-size: 2rem !important; padding: 0.2rem 0 0.4rem !important; }
.st-key-lrl-slide-nav { position: fixed; left: 0; right: 0; bottom: 0; z-index: 999989;
  padding: 0.45rem 2vw; background: NAVBG; border-top: 1px solid rgba(128, 128, 128, 0.45); }
</style>
"""
PRESENTER_BODY_PX = 24  # body text on a projector; chart text PRESENTER_CHART_PX
PRESENTER_CHART_PX = 20
PRESENTER_CHART_HEIGHT = 470  # px: a slide's chart fits a 1280x720 projector under its title


def presenter_css(dark: bool) -> str:
    return (PRESENTER_CSS.replace("BODY", str(PRESENTER_BODY_PX))
            .replace("NAVBG", "#0e1117" if dark else "#ffffff"))


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


def spec_key(spec) -> str:
    """A spec's cache key: its type and repr (every field; cheaper than Streamlit hashing the
    dataclass, which a page does a dozen times per run)."""
    return f"{type(spec).__name__}:{spec!r}"


@st.cache_data(max_entries=256, show_spinner=False)
def _cached_spec(key: str, _spec):
    return run_spec(_spec)


def cached_spec(spec):
    """One experiment spec's runs (surface, rate sweep or fine-tuning), cached per process."""
    return _cached_spec(spec_key(spec), spec)


@st.cache_data(max_entries=128, show_spinner=False)
def _experiment_specs(key: str, labels: tuple[str, ...], height: int, text_px: int | None,
                      dark: bool, _scene: Scene) -> tuple[dict, dict]:
    surface, sweep, _ = cached_run(_scene)
    specs = (trajectory_spec(surface, sweep, height, list(labels), dark=dark),
             loss_spec(surface, sweep, list(labels)))
    if text_px is None:
        return specs
    trajectory, loss = specs
    return (larger_text(for_projector(trajectory), text_px, height),
            larger_text(loss, text_px, height))


def experiment_figures(scene: Scene, labels: list[str], height: int,
                       text_px: int | None = None, dark: bool = False) -> tuple[ReadyFigure, ReadyFigure]:
    """The trajectory and loss figures of a scene, built once per scene (per process) as plain
    specs (charts.ready): a class's reveal reruns every student's page at once. ``text_px``:
    every text at least that large, and both charts ``height`` tall (presenter mode); ``dark``: the
    surface and the animation controls drawn for a dark page."""
    return tuple(map(ReadyFigure, _experiment_specs(spec_key(scene), tuple(labels), height, text_px,
                                                    bool(dark), scene)))


def cached_run(scene: Scene):
    """(surface, sweep, diagnoses) of a surface scene."""
    runs = cached_spec(scene)
    return runs.surface, runs.sweep, runs.diagnoses


@st.cache_data(max_entries=128, show_spinner=False)
def cached_check(lesson_path: str, expect: Expect) -> list[str]:
    from lessons.loader import load

    return check_expect(load(lesson_path), expect, cached_spec)


def playground_link(scene: Scene) -> str:
    return "/playground?" + urlencode(scene_to_query(scene))


def _key(lesson: Lesson, *parts) -> str:
    return ":".join([lesson.slug, *map(str, parts)])


def _predicted(lesson: Lesson, exp_id: str) -> bool:
    m = cls.current()
    if m is not None:  # in a class the run shows once the instructor reveals it
        return cls.question_id(lesson.order, "predict", exp_id) in m.room.revealed
    return st.session_state.get(_key(lesson, "predict", exp_id)) is not None


def hidden_experiments(lesson: Lesson) -> frozenset:
    """Experiments whose numbers stay hidden: a prediction about them is not made yet."""
    return frozenset(p.experiment for p in lesson.blocks(Predict) if not _predicted(lesson, p.experiment))


def filled(lesson: Lesson, text: str) -> str:
    """``text`` with its placeholders replaced by the measured values."""
    if "{" not in text:
        return text
    return fill(text, lesson, cached_spec, hidden_experiments(lesson))


def render_finetune(lesson: Lesson, exp: Experiment, presenting: bool = False) -> None:
    """An editable fine-tuning run: task-B learning and task-A forgetting per rate, measured."""
    spec = exp.scene
    if presenting:  # the rates beside the chart, so that it fits the screen
        side, chart_col = st.columns([1, 5])
        cols = [side] * len(spec.rates)
    else:
        cols = st.columns(len(spec.rates) + 1, vertical_alignment="bottom")
        chart_col = st.container()
    rates = [col.number_input(f"rate {i + 1}", RATE_MIN, RATE_MAX, float(lr), format="%.4g",
                              step=None, key=_key(lesson, exp.id, "lr", i))
             for i, (col, lr) in enumerate(zip(cols, spec.rates, strict=False))]
    if not presenting:
        cols[-1].link_button("Open the Fine-tuning page ↗", "/fine-tuning")
    spec = replace(spec, rates=tuple(float(r) for r in rates))
    with st.spinner("Pre-training a network on digits 0-4 (once), then fine-tuning it on 5-9…"):
        run = cached_spec(spec).result
    fig = finetune_figure(run)
    if presenting:
        fig = ReadyFigure(larger_text(fig.to_dict(), PRESENTER_CHART_PX, PRESENTER_CHART_HEIGHT))
    chart_col.plotly_chart(fig, key=_key(lesson, exp.id, "finetune"))
    with chart_col:
        chart_text(describe.finetune_text_of(run, [rate_text(lr) for lr in spec.rates]))
    rows = []
    for i, lr in enumerate(spec.rates):
        acc_a, learned = finetune_measures(run, i)
        rows.append({"rate": f"{lr:g}", "task A before": f"{run.a_acc[i, 0]:.1%}",
                     "task A after": f"{acc_a:.1%}",
                     "steps to learn task B (80%)": "never" if learned == float("inf") else str(learned),
                     "task B after": f"{run.b_acc[i, -1]:.1%}",
                     "diverged at step": "—" if run.diverged_at[i] < 0 else str(run.diverged_at[i])})
    st.dataframe(rows, hide_index=True)
    if exp.caption:
        st.caption(filled(lesson, exp.caption))


def render_rate_sweep(lesson: Lesson, exp: Experiment, presenting: bool) -> None:
    """A rate sweep: steps to converge and distance against many log-spaced rates, theory marked."""
    spec = exp.scene
    with st.spinner(f"Running {spec.n} rates in one call…"):
        runs = cached_spec(spec)
    th = theory_of(spec)
    marks = {}
    if th is not None and spec.optimizer == "sgd":
        if not spec.momentum:
            marks["2/(L+μ)"] = th.best_rate
        marks["2/L" if not spec.momentum else "2(1+β)/L"] = theory_value(th, "stable_below", spec.momentum)
    fig = rate_sweep_figure(runs.rates, runs.steps, runs.distance, runs.regimes, marks=marks,
                            fastest=runs.fastest_rate, budget=spec.steps, noise=spec.noise,
                            log_x=spec.spacing == "log", height=520)
    if presenting:
        fig = ReadyFigure(larger_text(fig.to_dict(), PRESENTER_CHART_PX, PRESENTER_CHART_HEIGHT))
    st.plotly_chart(fig, key=_key(lesson, exp.id, "sweep"))
    chart_text(describe.rate_sweep_text(runs.rates, runs.steps, runs.distance, runs.regimes,
                                        runs.fastest_index, spec.steps, marks))
    facts = [f"{spec.n} rates from {spec.lo:g} to {spec.hi:g} ({spec.spacing} spacing), "
             f"{spec.steps} steps each",
             f"fastest: {fmt_value('fastest_rate', runs.fastest_rate)} "
             f"({fmt_value('steps', runs.fastest_steps)} steps)",
             f"largest rate that did not diverge: {fmt_value('largest_stable', runs.largest_stable)}"]
    st.caption("Measured: " + "; ".join(facts) + "."
               + (f" Gradient noise σ = {spec.noise:g} (seed {spec.seed})." if spec.noise else ""))
    if exp.caption:
        st.caption(filled(lesson, exp.caption))


def _run_label(scene: Scene, i: int, lr: float) -> str:
    """"lr = 0.1" when every run is SGD, else with the optimizer: "Adam, lr = 0.1", "SGD, lr = 1";
    a scheduled run by its schedule and peak rate: "cosine, peak lr = 0.1"."""
    rate = rate_text(lr, scene.schedule)
    if all(k == "sgd" for k in scene.run_optimizers):
        return rate
    return f"{optimizer_set.get(scene.optimizer_of(i)).label}, {rate}"


def render_experiment(lesson: Lesson, exp: Experiment, presenting: bool) -> None:
    """An editable scene: rate entries, the animated surface, loss curves, regime badges."""
    st.markdown(f'<a id="{exp.id}"></a>', unsafe_allow_html=True)
    if exp.kind == "finetune":
        render_finetune(lesson, exp, presenting)
        return
    if exp.kind == "rate_sweep":
        render_rate_sweep(lesson, exp, presenting)
        return
    predict = next((p for p in lesson.blocks(Predict) if p.experiment == exp.id), None)
    if predict is not None and not render_predict(lesson, predict, exp):
        return
    # on a slide the boxes and badges sit in a narrow column: each box right above its run's
    # badge, which names the run only when the rate alone does not (several optimizers)
    compact = presenting and all(k == "sgd" for k in exp.scene.run_optimizers)
    if presenting:  # one row: the rates and badges beside the two charts, all in one screen
        side, traj_col, loss_col = st.columns([1, 3.1, 2])
        cols = [side.container() for _ in exp.scene.rates]  # each run's box, then its badge
    else:
        cols = st.columns(len(exp.scene.rates) + 1, vertical_alignment="bottom")
    rates = []
    for i, (col, lr) in enumerate(zip(cols, exp.scene.rates, strict=False)):
        key = exp.scene.optimizer_of(i)
        label = f"rate {i + 1}" if key == "sgd" else f"{optimizer_set.get(key).label} rate"
        # no min/max on the entry (the browser would refuse silently, the reason only on
        # hover): an unusable rate is said in words under it and the lesson's rate is used
        typed = col.number_input(label, value=float(lr), format="%.4g", step=None,
                                 key=_key(lesson, exp.id, "lr", i),
                                 help=f"A rate from {RATE_MIN:g} to {RATE_MAX:g}.",
                                 label_visibility="collapsed" if compact else "visible")
        problem = rate_problem(typed)
        if problem is not None:
            col.markdown(f":red[:material/error: {problem} Using the lesson's {lr:g}.]")
            typed = lr
        rates.append(typed)
    scene = replace(exp.scene, rates=tuple(float(r) for r in rates))
    if not presenting:
        cols[-1].link_button("Open in Playground ↗", playground_link(scene))
    warm_up(scene.surface)
    surface, sweep, diagnoses = cached_run(scene)
    badge_cols = cols if presenting else st.columns(len(rates))
    for i, (col, lr, d) in enumerate(zip(badge_cols, rates, diagnoses, strict=True)):
        with col:
            regime_badge(d.regime.value, label="" if compact else f"{_run_label(scene, i, lr)}: ")
    # name runs as the badges do: by optimizer when they differ in it (two "lr = 1" lines
    # otherwise), by schedule and peak rate when scheduled (the first rate may be 0)
    labels = [_run_label(scene, i, lr) for i, lr in enumerate(rates)]
    if presenting:
        trajectory, loss = experiment_figures(scene, labels, PRESENTER_CHART_HEIGHT, PRESENTER_CHART_PX,
                                              dark=dark_page())
        left, right = traj_col, loss_col
    else:
        left, right = st.columns([3, 2])
        trajectory, loss = experiment_figures(scene, labels, 430, dark=dark_page())
    left.plotly_chart(trajectory, key=_key(lesson, exp.id, "traj"))
    with left:
        chart_text(describe.paths_text_of(surface, sweep, diagnoses, labels))
    right.plotly_chart(loss, key=_key(lesson, exp.id, "loss"))
    with right:
        chart_text(describe.curves_text("Loss above the minimum against step", labels,
                                        sweep.losses - surface.global_value,
                                        [None if d < 0 else int(d) for d in sweep.diverged_at]))
    if scene.noise:
        st.caption(f"Gradient noise σ = {scene.noise:g} (seed {scene.seed}): every step adds the same "
                   "random noise to each run's gradient, as a mini-batch would.")
    if exp.caption:
        st.caption(filled(lesson, exp.caption))
    if exp.table:
        noisy = cached_spec(replace(scene, noise=exp.precision_noise)) if exp.precision_noise else None
        st.dataframe(comparison_rows(rates, cached_spec(scene), noisy, exp.precision_noise),
                     hide_index=True)
        st.caption("Every cell is measured from the runs above: training time = steps until within "
                   "the convergence radius; precision, exact gradients = distance to the nearest "
                   "minimum at the end"
                   + (f"; precision with noise = mean distance to it over the last quarter of the same "
                      f"runs with gradient noise σ = {exp.precision_noise:g} (seed {scene.seed}), "
                      "as mini-batches give" if exp.precision_noise else "") + ".")


def comparison_rows(rates, runs, noisy=None, noise: float = 0.0) -> list[dict]:
    """Small-vs-large comparison, one row per rate, every cell from the runs (and, if given,
    the same runs with gradient noise for the precision that matters in practice)."""
    rows = []
    for i, (lr, t, d) in enumerate(zip(rates, runs.sweep, runs.diagnoses, strict=True)):
        row = {
            "rate": f"{lr:g}",
            "training time (steps to converge)": str(d.steps_to_converge) if d.steps_to_converge
            is not None and t.diverged_at is None else f"not within {t.steps}",
            "convergence": d.regime.value,
            "risk of overshooting (overshoots)": str(d.overshoots),
            "diverged at step": "—" if t.diverged_at is None else str(t.diverged_at),
            "precision, exact gradients (final distance)":
                "diverged" if t.diverged_at is not None else f"{d.final_distance:.2g}",
        }
        if noisy is not None:
            v = noisy.distance(i)
            row[f"precision, noise σ = {noise:g} (mean distance)"] = (
                "diverged" if v == float("inf") else f"{v:.2g}")
        row["largest step"] = f"{float(t.step_sizes[: t.diverged_at or None].max()):.3g}"
        rows.append(row)
    return rows


def render_expect(lesson: Lesson, expect: Expect) -> None:
    """The claims as the lesson states them, each checked against the unedited experiment."""
    exp = lesson.experiments[expect.experiment]
    if exp.kind == "surface" and expect.experiment in hidden_experiments(lesson):
        st.caption("What this experiment shows appears after your prediction.")
        return
    failures = cached_check(lesson.path, expect)
    claims = expect_claims(lesson, expect, cached_spec)
    lines = [f"- {c.text} (measured: {c.measured})" for c in claims]
    starts = len(exp.starts)
    seeds = len(exp.seeds) if (getattr(exp.scene, "noise", 0.0) or expect.noisy) else 0
    note = ""
    if expect.noisy:
        note += f" These claims are about the same runs with gradient noise σ = {exp.precision_noise:g}."
    extra = [f"from {starts} other start{'s' * (starts > 1)}"] * bool(starts) + [
        f"with {seeds} other noise seed{'s' * (seeds > 1)}"] * bool(seeds)
    if extra:
        note += " Each claim also holds " + " and ".join(extra) + "."
    _claims_box(lines, failures, note)


def _claims_box(lines: list[str], failures: list[str], note: str = "") -> None:
    box = st.success if not failures else st.error
    box("**What this experiment shows** (checked on every run of the test suite):" + note + "\n"
        + "\n".join(lines) + ("" if not failures else "\n\n" + "\n".join(failures)))


def render_predict(lesson: Lesson, predict: Predict, exp: Experiment) -> bool:
    """Ask first; True once the student has predicted (then the run is shown)."""
    m = cls.current()
    if m is not None:
        return render_class_predict(lesson, predict, exp, m)
    key = _key(lesson, "predict", exp.id)
    answered = st.session_state.get(key)
    runs = cached_spec(exp.scene)
    choices = predict_choices(runs.surface)
    if answered is None:
        with st.container(border=True):
            st.markdown(f"**Predict before you run it:** {predict.question}")
            choice = st.radio("Your prediction", list(choices), index=None, horizontal=True,
                              key=key + ":choice")
            if st.button("Run it", key=key + ":go", disabled=choice is None):
                st.session_state[key] = choice
                st.rerun()
        return False
    i = predict.run
    actual = runs.diagnoses[i]
    right = prediction_right(answered, runs, i)
    steps = runs.steps(i)
    why = (f"The run at rate {exp.run_labels[i]} was diagnosed **{actual.regime.value}**"
           + (f" (within the convergence radius from step {int(steps)})" if steps != float("inf") else "")
           + f", with {actual.overshoots} overshoots.")
    (st.success if right else st.warning)(
        ("Right! " if right else f"Not quite: you said '{answered}'. ") + why)
    return True


def _right_of(tally: dict, options, right: set) -> str:
    """"2 of 3 answers right" (or "nobody answered")."""
    n = sum(tally.get(o, 0) for o in options)
    k = sum(tally.get(o, 0) for o in right)
    return f"{k} of {n} answer{'s' * (n != 1)} right" if n else "nobody answered"


def _class_result(question: str, options, tally: dict, right: set, labels=None) -> None:
    """The class's answers to a revealed question, the right ones marked."""
    st.plotly_chart(ReadyFigure(votes_spec(options, tally, right=right, labels=labels)),
                    key="votes:" + question,
                    config={"displayModeBar": False},
                    alt="Bar chart of the class's answers (the counts follow)")
    chart_text(describe.votes_text(options, tally, labels, right, what="The class's answers"))
    st.markdown(f"**The class:** {_right_of(tally, options, right)}.")


def render_class_predict(lesson: Lesson, predict: Predict, exp: Experiment, m: cls.Membership) -> bool:
    """A prediction in a class: the instructor sees the votes arrive and reveals; students vote
    (changeable until the reveal). True once revealed (then the run is shown to everyone)."""
    question = cls.question_id(lesson.order, "predict", exp.id)
    runs = cached_spec(exp.scene)
    choices = list(predict_choices(runs.surface))
    presenting = st.query_params.get("present") == "1"
    with st.container(border=True):
        st.markdown(f"**Predict before you run it:** {predict.question}")
        if question not in m.room.revealed:
            if m.host:
                cls.live_votes(m.code, question, choices, height=300 if presenting else None)
                cls.reveal_button(m, question, "Reveal the run")
            else:
                cls.vote_radio(m, question, choices, "Your vote")
                st.caption("The run appears here when the instructor reveals it.")
            return False
        i = predict.run
        right = {c for c in choices if prediction_right(c, runs, i)}
        tally = cls.classroom().tally(m.code, question)
        if presenting and m.host:  # on the slide the run comes first: the votes fold away
            with st.expander(f"The class's votes: {_right_of(tally, choices, right)}"):
                _class_result(question, choices, tally, right)
        else:
            _class_result(question, choices, tally, right)
        actual = runs.diagnoses[i]
        steps = runs.steps(i)
        why = (f"The run at rate {exp.run_labels[i]} was diagnosed **{actual.regime.value}**"
               + (f" (within the convergence radius from step {int(steps)})" if steps != float("inf")
                  else "") + f", with {actual.overshoots} overshoots.")
        if m.host:
            st.info(why)
        else:
            mine = cls.classroom().my_vote(m.code, m.student, question)
            if mine is None:
                st.info("You did not vote. " + why)
            else:
                (st.success if mine in right else st.warning)(
                    ("Right! " if mine in right else f"Not quite: you said '{mine}'. ") + why)
    return True


def render_class_quiz(lesson: Lesson, quiz: Quiz, number: int, m: cls.Membership) -> None:
    """A quiz in a class: students answer (changeable until the reveal); the instructor sees how
    many answered and reveals; then everyone sees the share answering each option."""
    question = cls.question_id(lesson.order, "quiz", quiz.id)
    options = [str(i) for i in range(len(quiz.options))]  # indices: bounded, whatever the text
    labels = list(quiz.options)
    with st.container(border=True):
        st.markdown(f"**Quiz:** {filled(lesson, quiz.question)}")
        if question not in m.room.revealed:
            if m.host:
                st.markdown("\n".join(f"{i + 1}. {o}" for i, o in enumerate(labels)))
                cls.live_votes(m.code, question, options, show_votes=False)
                cls.reveal_button(m, question, "Reveal the answers")
            else:
                cls.vote_radio(m, question, options, "Your answer", labels=labels, horizontal=False)
                st.caption("The answer, and how the class answered, appear when the instructor "
                           "reveals them.")
            return
        right = {str(quiz.answer)}
        _class_result(question, options, cls.classroom().tally(m.code, question), right, labels)
        explanation = filled(lesson, fill_check(quiz.explanation, lesson, quiz, cached_spec))
        answer = f"The answer is '{quiz.options[quiz.answer]}'. "
        if m.host:
            st.info(answer + explanation)
            return
        mine = cls.classroom().my_vote(m.code, m.student, question)
        if mine is None:
            st.info("You did not answer. " + answer + explanation)
            return
        p = prog.current()
        p.quiz[f"{lesson.order}.{number}"] = mine in right
        (st.success if mine in right else st.error)(
            ("Correct. " if mine in right else f"Not quite: {answer}") + explanation)


def render_quiz(lesson: Lesson, quiz: Quiz, number: int) -> None:
    m = cls.current()
    if m is not None:
        render_class_quiz(lesson, quiz, number, m)
        return
    key = _key(lesson, "quiz", quiz.id)
    with st.container(border=True):
        st.markdown(f"**Quiz:** {filled(lesson, quiz.question)}")
        choice = st.radio("Your answer", quiz.options, index=None, key=key)
        if st.button("Check", key=key + ":check", disabled=choice is None):
            p = prog.current()
            p.quiz[f"{lesson.order}.{number}"] = quiz.options.index(choice) == quiz.answer
            st.session_state[key + ":checked"] = choice
        checked = st.session_state.get(key + ":checked")
        if checked is not None:
            right = quiz.options.index(checked) == quiz.answer
            link = f" [See the experiment that shows it](#{quiz.experiment})" if quiz.experiment else ""
            explanation = filled(lesson, fill_check(quiz.explanation, lesson, quiz, cached_spec))
            (st.success if right else st.error)(
                ("Correct. " if right else f"Not quite: the answer is '{quiz.options[quiz.answer]}'. ")
                + explanation + link)


def render_block(lesson: Lesson, block, quiz_numbers: dict, presenting: bool) -> None:
    if isinstance(block, Text):
        hidden = hidden_experiments(lesson)
        if any(p.experiment in hidden and p.measure != "theory" for p in block.placeholders):
            return  # it tells what a run did: shown once the student has made the prediction
        render_markdown(filled(lesson, block.markdown) if block.placeholders else block.markdown)
    elif isinstance(block, Experiment):
        render_experiment(lesson, block, presenting)
    elif isinstance(block, Expect):
        render_expect(lesson, block)
    elif isinstance(block, Quiz):
        render_quiz(lesson, block, quiz_numbers[block.id])
    # Predict blocks render inside their experiment, before its run.


def _class_questions(lesson: Lesson, slides) -> frozenset[str]:
    """The store ids of the predictions and quizzes on ``slides``."""
    predicted = {p.experiment for p in lesson.blocks(Predict)}
    ids = set()
    for s in slides:
        for block in s.blocks:
            if isinstance(block, Experiment) and block.id in predicted:
                ids.add(cls.question_id(lesson.order, "predict", block.id))
            elif isinstance(block, Quiz):
                ids.add(cls.question_id(lesson.order, "quiz", block.id))
    return frozenset(ids)


def _to_section(section: int) -> None:
    """Previous/Next: the run this click starts shows slide ``section`` (the URL keeps the rest).
    The URL's name stays ``section`` (links shared before slides existed keep working)."""
    st.query_params["section"] = str(section)


def render_lesson(lesson: Lesson) -> None:
    """The whole lesson page, in reading or presenter mode, alone or in a class.

    Presenter mode and a class's students show one slide at a time (``Lesson.slides``: each
    experiment on a slide of its own), with a navigation bar fixed to the bottom of the screen."""
    m = cls.membership()
    student = m is not None and not m.host
    presenting = st.query_params.get("present") == "1" and not student  # a student follows instead
    p = prog.current()
    p.seen.add(lesson.order)
    quiz_numbers = {q.id: i + 1 for i, q in enumerate(lesson.blocks(Quiz))}
    slides = lesson.slides
    n = len(slides)
    try:
        section = min(max(int(st.query_params.get("section", "1")), 1), n) if n else 1
    except ValueError:
        section = 1
    room = m.query() if m is not None else {}
    extra = {"present": "1", "section": str(section), **room} if presenting else dict(room)
    if student:
        extra["section"] = str(section)
    one_slide = (presenting or student) and n

    if presenting:
        st.markdown(presenter_css(dark_page()), unsafe_allow_html=True)
        components.html(ARROW_KEYS_JS, height=0)
    if m is not None:
        cls.join_corner(m)
        if presenting:
            cls.set_live(m, lesson.slug, section)
    if student:
        waiting = _class_questions(lesson, slides[section - 1: section]) - m.room.revealed
        cls.follow(m.code, m.student, lesson.slug, section, waiting)
    if not one_slide or section == 1 or not presenting:
        st.title(lesson.title)
    for error in lesson.errors:
        st.error(f"**This lesson file has a problem** — {error}", icon="🛠️")
    if not presenting and not student:
        st.caption(f"{lesson.minutes} minutes")
        if lesson.objectives:
            st.markdown("**You will be able to:**\n" + "\n".join(f"- {o}" for o in lesson.objectives))
        if st.toggle("Presenter mode", key=_key(lesson, "present"), value=False):
            prog.save(p, {"present": "1", "section": "1", **room})
            st.rerun()
    if lesson.needs:
        st.info(lesson.needs, icon="🚧")

    if one_slide:
        slide = slides[section - 1]
        if slide.title and slide.title != lesson.title:
            st.header(slide.title)
        for block in slide.blocks:
            render_block(lesson, block, quiz_numbers, presenting)
    else:
        for s in lesson.sections:
            if s.title and s.title != lesson.title:
                st.header(s.title)
            for block in s.blocks:
                render_block(lesson, block, quiz_numbers, presenting)

    if presenting:
        with st.container(key="lrl-slide-nav"):
            prev_col, mid, next_col, exit_col = st.columns([1, 2, 1, 1], vertical_alignment="center")
            # callbacks: the next run starts on the new slide (and tells the class at once)
            prev_col.button("← Previous", disabled=section <= 1, use_container_width=True,
                            on_click=_to_section, args=(section - 1,))
            where = f"Lesson {lesson.order}: {lesson.title}" if lesson.order < 99 else lesson.title
            mid.markdown(f"<p style='text-align:center;margin:0'>slide {section} of {n}</p>",
                         unsafe_allow_html=True, help=where)
            if m is not None:  # the instructor's way back to the class (to pick a lesson, or end it)
                mid.markdown(f"<div style='text-align:center'><a href='{cls.host_url(m.code, m.token)}' "
                             f"target='_self'>Class {m.code}: dashboard</a></div>", unsafe_allow_html=True)
            next_col.button("Next →", disabled=section >= n, use_container_width=True,
                            on_click=_to_section, args=(section + 1,))
            if exit_col.button("Exit presenter mode", use_container_width=True):
                st.session_state[_key(lesson, "present")] = False
                prog.save(p, room)
                st.rerun()
    elif student and n:
        # a student steps back freely, and forward up to where the presenter is
        live = m.room.section if m.room.lesson == lesson.slug else n
        prev_col, mid, next_col = st.columns([1, 2, 1])
        prev_col.button("← Previous", disabled=section <= 1, use_container_width=True,
                        on_click=_to_section, args=(section - 1,))
        mid.markdown(f"<div style='text-align:center'>slide {section} of {n}</div>",
                     unsafe_allow_html=True)
        next_col.button("Next →", disabled=section >= min(n, live), use_container_width=True,
                        help="Up to the slide the presenter is on", on_click=_to_section,
                        args=(section + 1,))
    prog.save(p, extra)
    # once per lesson and process, after its first run: Streamlit's gc.collect() after every run
    # (a class's heartbeats make many) then skips the import-time objects (ui.heap)
    freeze_after_warm_up(f"lesson:{lesson.slug}")
