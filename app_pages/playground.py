"""Playground: a surface, up to four learning rates, and what gradient descent does with each."""

from dataclasses import replace

import numpy as np
import streamlit as st

from charts.playground import loss_figure, step_size_figure, trajectory_figure
from charts.style import rate_label
from engine import theory
from engine.diagnose import default_tol
from engine.scene import Scene, run_scene
from ui import playground_state as state
from ui.presets import presets
from ui.runtime import warm_up
from ui.widgets import regime_badge


@st.cache_data(max_entries=64, show_spinner=False)
def cached_run(scene: Scene):
    """The scene's sweep and diagnoses, cached per scene."""
    return run_scene(scene)[1:]


state.load_from_url_once()
with st.sidebar:
    scene = state.controls()
warm_up(scene.surface)
surface = scene.build_surface()
sweep, diagnoses = cached_run(scene)
state.write_to_url(scene)

st.title("Playground")
st.caption(surface.description)
for warning in st.session_state.get("url_warnings", []):
    st.warning(warning, icon=":material/warning:")

st.write("**Show me:**")
for col, (name, preset) in zip(st.columns(5), presets().items(), strict=True):
    col.button(name, on_click=state.load_scene, args=(preset,), use_container_width=True,
               key=f"preset_{name}")

badges = st.columns(len(sweep))
for col, lr, d in zip(badges, scene.rates, diagnoses, strict=True):
    with col:
        regime_badge(d.regime.value, label=f"{rate_label(lr)}: ")

st.plotly_chart(trajectory_figure(surface, sweep), key="trajectory")
left, right = st.columns(2)
left.plotly_chart(loss_figure(surface, sweep), key="loss")
right.plotly_chart(step_size_figure(sweep), key="step_size")

st.subheader("Measured from these runs")
tol = default_tol(surface)
is_quad = surface.is_quadratic()
th = theory.quadratic(*sorted(surface.params[:2])) if is_quad else None
start = np.asarray(scene.start if scene.start is not None else surface.start)


def dash(value) -> str:
    """A count as text, or a dash where there is none (never converged, never diverged)."""
    return "—" if value is None else str(value)


rows = []
for lr, t, d in zip(scene.rates, sweep, diagnoses, strict=True):
    row = {
        "rate": lr,
        "regime": d.regime.value,
        "steps to converge": dash(d.steps_to_converge),
        "overshoots": d.overshoots,
        "final distance to nearest minimum": d.final_distance,
        "diverged at step": dash(t.diverged_at),
    }
    if th is not None:
        row["predicted steps (theory)"] = dash(th.steps_to(lr, tol, float(np.linalg.norm(start)),
                                                           momentum=scene.momentum))
        row["contraction per step"] = th.contraction(lr, scene.momentum)
    rows.append(row)
st.dataframe(rows, hide_index=True, column_config={
    "rate": st.column_config.NumberColumn(format="%.4g"),
    "final distance to nearest minimum": st.column_config.NumberColumn(format="%.3g"),
    "contraction per step": st.column_config.NumberColumn(format="%.4f"),
})
st.caption(f"Converged means within {tol:.3g} of a minimum and staying there. "
           "An overshoot is a step that reverses the previous step's direction.")

if th is not None:
    st.subheader("Theory for this quadratic")
    limit = th.stable_below if not scene.momentum else th.stable_below_momentum(scene.momentum)
    c1, c2, c3 = st.columns(3)
    c1.metric("Diverges above (2/L)" if not scene.momentum else "Diverges above 2(1+β)/L",
              f"{limit:.4g}")
    c2.metric("Best fixed rate 2/(L+μ)", f"{th.best_rate:.4g}")
    c3.metric("Condition number L/μ", f"{th.condition:.3g}")
    st.caption(f"L = {th.L:.4g} and μ = {th.mu:.4g} are the largest and smallest curvatures. "
               "Each step multiplies the distance to the minimum by at most "
               "max|1 − lr·curvature|; predicted steps = ⌈log(tol/distance) / log(contraction)⌉.")
    st.button("Use the best fixed rate", on_click=state.load_scene,
              args=(replace(scene, rates=(round(th.best_rate, 6),) + scene.rates[1:]),))

st.subheader("Share this scene")
st.code(state.share_link(scene), language=None)
st.caption("Every setting is in the link: opening it restores this exact scene.")
