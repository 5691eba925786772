"""Playground: a surface, up to four runs (each a rate and an optimizer), and what each one does."""

from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import pyarrow as pa  # tables go to st.dataframe as Arrow: no pandas round trip per rerun
import streamlit as st

from charts import describe, export
from charts.playground import MAX_FRAMES
from engine import limits, optimizers, theory
from engine.diagnose import MIN_OVERSHOOTS, default_tol
from engine.scene import CUSTOM, Scene, fmt, markdown_text
from ui import formula_input
from ui import playground_state as state
from ui.downloads import on_demand
from ui.heap import freeze_after_warm_up
from ui.playground_runs import cached_limit, cached_run, scene_figures
from ui.presets import preset_help, presets
from ui.runtime import setup_jax, warm_up
from ui.widgets import chart_text, dark_page, on_phone, regime_badge
from ui.widgets import controls as settings

GROWTH_WINDOW = 60  # steps over which the table counts the distance growing


def dash(value) -> str:
    """A count as text, or a dash where there is none (never converged, never diverged)."""
    return "—" if value is None else str(value)


def heavy_ball_beta(scene: Scene, key: str) -> float | None:
    """β of a run that is a heavy ball (theory has its closed form), or None (no closed form)."""
    if key == "sgd":
        return scene.momentum
    if key == "momentum":
        return optimizers.MOMENTUM
    return None


def limit_text(value: float | None) -> str:
    if value is None:
        return f"none: even {fmt(limits.LIMIT_LO)} diverged"
    if value >= limits.LIMIT_HI:
        return f"none diverged up to {fmt(limits.LIMIT_HI)}"
    return f"{value:.4g}"


WHY_NO_FORMULA = {
    "adaptive": "an adaptive optimizer divides each coordinate's step by a running size of its "
                "gradients, so its step does not scale with the curvature the way 2/L assumes",
    "nesterov": "Nesterov's look-ahead step is not the heavy ball's and has a limit of its own",
}


@dataclass(frozen=True, eq=False)
class Slots:
    """Where the runs' part of the page goes (containers drawn in page order by a full run)."""

    runs: object  # badges, charts, and the chart texts
    table: object  # the measured table
    growth: object  # theory: what the heavy ball's distance did (measured); None off the quadratic
    best: object  # theory: the "use the best rate" button; None off the quadratic
    downloads: object
    share: object


@dataclass(frozen=True, eq=False)
class Fixed:
    """What a full run works out that does not depend on the rates."""

    surface: object
    custom: bool
    tol: float
    th: object  # theory.quadratic, or None off the quadratic
    closed_form: bool
    start: np.ndarray
    target: tuple


@st.fragment
def runs(controls: state.Controls, fixed: Fixed, slots: Slots) -> None:
    """Everything that depends on the rates. A rate entry is drawn here (into its slot among
    the controls), so a new rate reruns only this (Streamlit's fragment), not the other controls,
    presets, theory, limits and captions; any other control reruns the whole page."""
    scene = controls.scene()
    surface, th = fixed.surface, fixed.th
    if fixed.custom:  # compiled once per formula, on its first run (warm_up is per named family)
        setup_jax()
        with st.spinner("Compiling the engine for your formula (once per formula)…"):
            sweep, diagnoses = cached_run(scene)
    else:
        sweep, diagnoses = cached_run(scene)
    state.write_to_url(scene)
    keys = scene.run_optimizers
    labels = [state.run_label(scene, i) for i in range(len(scene.rates))]

    with slots.runs:
        for col, label, d in zip(st.columns(len(sweep)), labels, diagnoses, strict=True):
            with col:
                regime_badge(d.regime.value, label=f"{label}: ")
        trajectory, loss, step_size = scene_figures(scene, labels, surface, sweep, dark_page(),
                                                    on_phone())
        st.plotly_chart(trajectory, key="trajectory")
        chart_text(describe.paths_text_of(surface, sweep, diagnoses, labels))
        left, right = st.columns(2)
        left.plotly_chart(loss, key="loss")
        with left:
            chart_text(describe.curves_text(
                "Loss above the minimum against step", labels,
                sweep.losses - surface.global_value,
                [None if d < 0 else int(d) for d in sweep.diverged_at]))
        right.plotly_chart(step_size, key="step_size")
        with right:  # every run's |x(k+1) − x(k)| at once, as Trajectory.step_sizes gives it
            chart_text(describe.curves_text(
                "Step size |x(k+1) − x(k)| against step", labels,
                np.linalg.norm(np.diff(sweep.points, axis=1), axis=2),
                [None if d < 0 else int(d) for d in sweep.diverged_at], steps=sweep.points.shape[1] - 1))

    rows, growth = [], []
    for i, (lr, key, t, d) in enumerate(zip(scene.rates, keys, sweep, diagnoses, strict=True)):
        row = {"run": labels[i], "regime": d.regime.value,
               "steps to converge": dash(d.steps_to_converge),
               "overshoots": d.overshoots,
               "final distance": d.final_distance,
               "diverged at step": dash(t.diverged_at)}
        if th is not None:
            end = len(t.points) if t.diverged_at is None else t.diverged_at
            g = limits.distance_growth(t.points[:end], fixed.target, GROWTH_WINDOW)
            growth.append(g)
            row["distance grew on"] = (f"{g.grew} of {g.of} steps"
                                       + (f" (up to ×{g.largest:.3g})" if g.grew else ""))
            beta = heavy_ball_beta(scene, key)
            known = fixed.closed_form and beta is not None
            row["steps (theory)"] = (
                dash(th.steps_to(lr, fixed.tol, float(np.linalg.norm(fixed.start - fixed.target)),
                                 momentum=beta))
                if known else "—")
            row["rate/step (theory)"] = f"{th.contraction(lr, beta):.4f}" if known else "—"
        rows.append(row)
    slots.table.dataframe(pa.Table.from_pylist(rows), hide_index=True, column_config={
        "final distance": st.column_config.NumberColumn(format="%.3g"),
    })

    if th is not None:
        heavy = [i for i, k in enumerate(keys) if heavy_ball_beta(scene, k)]
        if heavy:
            measured = "; ".join(
                f"{labels[i]}: the distance grew on {growth[i].grew} of the first {growth[i].of} "
                f"steps" + (f", by up to ×{growth[i].largest:.3g} in one step" if growth[i].grew
                            else "") for i in heavy)
            slots.growth.caption(
                "With momentum the rate per step (rate/step) is the spectral radius of the "
                "heavy-ball iteration: the factor by which the distance shrinks per step in the "
                "long run (asymptotically), not on every step. The distance need not shrink every "
                "step; with the heavy ball it can grow for a while. Measured here: "
                f"{measured}.")
        mixed = any(k != "sgd" for k in keys)
        first = replace(scene, optimizers=("sgd",) + tuple(keys[1:]) if mixed else ())
        if not scene.momentum:
            clicked = slots.best.button(
                "Use the best fixed rate for run 1 (plain gradient descent)",
                on_click=state.load_scene,
                args=(replace(first, rates=(round(th.best_rate, 6),) + scene.rates[1:]),))
        else:
            lr_hb, beta_hb = th.best_momentum()
            clicked = slots.best.button(
                f"Use the best heavy ball for run 1: lr = {lr_hb:.4g}, β = {beta_hb:.3g} "
                "(β applies to every SGD run)", on_click=state.load_scene,
                args=(replace(first, rates=(round(lr_hb, 6),) + scene.rates[1:],
                              momentum=round(beta_hb, 4)),))
        if clicked:  # it may change the momentum and optimizers: redraw the whole page
            st.rerun(scope="app")

    name = "your-own" if fixed.custom else scene.surface
    with slots.downloads:
        d1, d2, d3 = st.columns(3)
        d1.download_button(
            "Download GIF", key="download_gif", on_click="ignore", icon=":material/download:",
            data=on_demand("gif", scene, partial(export.trajectory_gif, surface, sweep, labels)),
            file_name=f"learning-rate-lab-{name}.gif", mime="image/gif", use_container_width=True)
        d2.download_button(
            "Download CSV of the runs", key="download_runs", on_click="ignore",
            icon=":material/download:",
            data=on_demand("runs", scene, partial(export.runs_csv, sweep, labels, keys)),
            file_name=f"learning-rate-lab-{name}-runs.csv", mime="text/csv",
            use_container_width=True)
        d3.download_button(
            "Download CSV of the table", key="download_table", on_click="ignore",
            icon=":material/download:",
            data=on_demand("table", scene, partial(export.table_csv, rows)),
            file_name=f"learning-rate-lab-{name}-table.csv", mime="text/csv",
            use_container_width=True)
    slots.share.code(state.share_link(scene), language=None)


state.load_from_url_once()
st.title("Playground")
with settings():  # the sidebar; on a phone, an expander here, above the chart
    controls = state.controls()
base = controls.base  # every setting but the rates, which only the fragment reads
keys = controls.keys
custom = base.surface == CUSTOM
surface = base.build_surface()
if not custom:
    warm_up(base.surface)

st.caption(markdown_text(surface.description) if custom else surface.description)
for warning in st.session_state.get("url_warnings", []):
    st.warning(warning, icon=":material/warning:")

st.write("**Show me:**")
tips = preset_help()
for col, (name, preset) in zip(st.columns(5), presets().items(), strict=True):
    col.button(name, on_click=state.load_scene, args=(preset,), use_container_width=True,
               key=f"preset_{name}", help=tips[name])

runs_slot = st.container()
if custom:  # its minima, each with its own 2/L, and how much of the box is blank
    formula_input.minima_note(surface)
if base.noise:
    st.caption(f"Gradient noise σ = {base.noise:g} (seed {base.seed}): every step adds the same "
               "random kick to every run's gradient, as a mini-batch's error would. Theory's "
               "predictions below assume exact gradients, so they are left out.")

st.header("Measured from these runs")
tol = default_tol(surface)
th = theory.quadratic(*sorted(surface.params[:2])) if surface.is_quadratic() else None
start = np.asarray(base.start if base.start is not None else surface.start, dtype=np.float64)
target = next(m.point for m in surface.minima if m.is_global)
# Closed forms hold for a constant rate and exact gradients.
closed_form = th is not None and base.schedule == "constant" and not base.noise
table_slot = st.container()
st.caption(f"Final distance is to the nearest minimum; converged means within {tol:.3g} of a "
           "minimum and staying there. "
           "An overshoot is a step that reverses the previous step's direction; a run with at "
           f"least {MIN_OVERSHOOTS} is called oscillating, however fast it converges.")

growth_slot = best_slot = None  # no theory section off the quadratic
if th is not None:
    st.header("Theory for this quadratic")
    limit = th.stable_below if not base.momentum else th.stable_below_momentum(base.momentum)
    c1, c2, c3 = st.columns(3)
    c1.metric("Diverges above (2/L)" if not base.momentum else "Diverges above 2(1+β)/L",
              f"{limit:.4g}", help="For the SGD runs (with the momentum slider's β).")
    c2.metric("Best fixed rate 2/(L+μ)", f"{th.best_rate:.4g}")
    c3.metric("Condition number L/μ", f"{th.condition:.3g}")
    st.caption(f"L = {th.L:.4g} and μ = {th.mu:.4g} are the largest and smallest curvatures. "
               "Theory's columns above are filled for gradient descent and the heavy ball "
               "(SGD, SGD + momentum) at a constant rate with exact gradients: the closed forms "
               "exist only there.")
    if not closed_form:
        why = [w for w, on in (("the schedule changes the rate every step",
                                base.schedule != "constant"),
                               ("the gradients are noisy", bool(base.noise))) if on]
        st.caption(f"Theory's columns are left empty here: {' and '.join(why)}.")
    if any(heavy_ball_beta(base, k) == 0.0 for k in keys):
        st.caption("Plain gradient descent: each step multiplies the distance to the minimum by "
                   "at most max|1 − lr·curvature|, the rate per step (rate/step); steps (theory) "
                   "= ⌈log(tol/distance) / log(rate per step)⌉.")
    growth_slot = st.container()
    if th.mu < th.L:
        d0 = float(np.linalg.norm(start - target))
        st.markdown(
            f"**Why not 1/L?** At lr = 1/L = {1 / th.L:.4g} no step overshoots: the steep "
            f"direction's error vanishes in one step, but the flat direction's shrinks only by "
            f"1 − μ/L = {1 - th.mu / th.L:.4g} per step "
            f"({dash(th.steps_to(1 / th.L, tol, d0))} steps predicted from this start). "
            f"2/(L+μ) = {th.best_rate:.4g} overshoots along the steep axis yet balances both "
            f"directions: each error shrinks by at most (L−μ)/(L+μ) = "
            f"{th.contraction(th.best_rate):.4g} per step "
            f"({dash(th.steps_to(th.best_rate, tol, d0))} steps predicted).")
    else:
        st.markdown(f"**Here L = μ**, so 1/L = 2/(L+μ) = {th.best_rate:.4g}: one step lands on "
                    "the minimum.")
    best_slot = st.container()

st.header("Where each optimizer stops working")
limit_rows, no_formula, kinds, above_theory = [], [], set(), False
for key in dict.fromkeys(keys):
    beta = heavy_ball_beta(base, key)
    name = state.optimizer_name(base, keys.index(key))
    measured_limit = cached_limit(base, key)
    if th is not None and beta is not None:
        bound = th.stable_below_momentum(beta) if beta else th.stable_below
        formula = f"2/L = {bound:.4g}" if beta == 0.0 else f"2(1+β)/L = {bound:.4g}"
        above_theory |= measured_limit is not None and measured_limit > bound
    else:
        formula = "—"
        if th is not None:
            no_formula.append(name)
            kinds.add("adaptive" if optimizers.get(key).adaptive else key)
    limit_rows.append({"optimizer": name, "diverges above (theory)": formula,
                       "largest rate that did not diverge (measured)": limit_text(measured_limit)})
st.dataframe(pa.Table.from_pylist(limit_rows), hide_index=True)
how = (f"Measured: every rate of a sweep of {limits.LIMIT_RATES} log-spaced constant rates from "
       f"{fmt(limits.LIMIT_LO)} to {fmt(limits.LIMIT_HI)} (refined near the edge) is run for "
       f"{base.steps} steps from this start on this surface"
       + (f" with this noise (σ = {base.noise:g}, seed {base.seed})" if base.noise else "")
       + "; the table shows the last rate before the first one that diverged.")
if above_theory:
    how += (" Just past theory's limit a run grows so slowly that it may not leave the "
            "divergence box within the steps, so the measured edge can sit a little above it.")
if no_formula:
    how = (f"No 2/L limit applies to {', '.join(no_formula)}: "
           + "; ".join(WHY_NO_FORMULA[k] for k in sorted(kinds)) + ". " + how)
elif th is None:
    how += " Theory has no closed form on this surface."
    if custom:
        how += " Compare with each minimum's own 2/L listed above."
st.caption(how)

st.header("Download")
downloads_slot = st.container()
st.caption("The GIF is the animation above: the surface, every path and head in the same "
           f"colours, a legend and a step counter, at most {MAX_FRAMES} frames. The runs' "
           "CSV has one row per run and step (run, label, optimizer, rate, step, x, y, loss, "
           "step size, diverged) in the engine's own numbers; the table's is the measured table "
           "above. Each file is built when you click.")

st.header("Share this scene")
share_slot = st.container()
st.caption("Every setting is in the link: opening it restores this exact scene.")

runs(controls, Fixed(surface, custom, tol, th, closed_form, start, target),
     Slots(runs_slot, table_slot, growth_slot, best_slot, downloads_slot, share_slot))
if not custom:  # the engine is compiled for this family and the page has run: out of every gc walk
    freeze_after_warm_up(base.surface)
