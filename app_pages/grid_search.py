"""Grid search: many rates on a log grid, run at once; the best one picked and explained."""

import numpy as np
import streamlit as st

from charts import describe, export
from charts.playground import trajectory_figure
from charts.tuning import grid_figure, loss_curves_figure
from engine import data, descent, grid_search, surfaces
from engine.scene import CUSTOM, build_surface, checked_rate_range, markdown_text
from engine.urlstate import Choice, Number
from ui import formula_input, urlstate
from ui.downloads import on_demand
from ui.runtime import setup_jax, warm_up
from ui.urlstate import SurfaceLink, init
from ui.widgets import chart_text, controls, dark_page, themed

SURFACE_DEFAULTS = {"lo": 1e-3, "hi": 1.0, "n": 128, "steps": 100}
NETWORK_DEFAULTS = {"lo": 0.01, "hi": 10.0, "n": 8, "steps": 200, "seeds": 2}
BEST = -1  # the run shown: the best one (the link's default)


def on_surface(v) -> bool:
    return v["on"] == "surface"


def defaults(v) -> dict:
    return SURFACE_DEFAULTS if on_surface(v) else NETWORK_DEFAULTS


def cap(v) -> int:
    return grid_search.MAX_RATES if on_surface(v) else grid_search.MAX_NETWORK_RATES


# The page's settings in its link (the surface, your own formula too, through SURFACE; the
# rest here), written sparsely: a value at its default is left out.
SURFACE = SurfaceLink("grid_", "grid_surface", surfaces.names()[0])
FIELDS = (
    Choice("on", "surface", ("surface", "network")),
    Choice("criterion", grid_search.CRITERIA[0], grid_search.CRITERIA, when=on_surface),
    Choice("data", data.NAMES[0], data.NAMES, when=lambda v: not on_surface(v)),
    Number("lo", lambda v: defaults(v)["lo"]),  # any finite number: the page refuses a bad range
    Number("hi", lambda v: defaults(v)["hi"]),
    Number("n", lambda v: defaults(v)["n"], lo=0, hi=cap, integer=True),
    Number("steps", lambda v: defaults(v)["steps"], lo=0, hi=1000, integer=True),
    Number("seeds", NETWORK_DEFAULTS["seeds"], lo=0, hi=grid_search.MAX_SEEDS, integer=True,
           when=lambda v: not on_surface(v)),
    # The run shown: its index in the grid (the link's grid, or the default one the page runs
    # instead of a grid of fewer than 2 rates); BEST: the best rate's.
    Number("show", BEST, lo=BEST, hi=lambda v: (v["n"] if v["n"] >= 2 else defaults(v)["n"]) - 1,
           integer=True),
)


def put_settings(v: dict) -> None:
    """Put a link's settings into the widgets' state (before they are drawn)."""
    ss = st.session_state
    on = ss["grid_target"] = v["on"]
    if on == "surface":
        ss["grid_criterion"] = v["criterion"]
    else:
        ss["grid_data"], ss["grid_seeds"] = v["data"], v["seeds"]
    ss[f"grid_lo_{on}"], ss[f"grid_hi_{on}"] = float(v["lo"]), float(v["hi"])
    ss[f"grid_n_{on}"], ss[f"grid_steps_{on}"] = v["n"], v["steps"]
    ss["grid_linked_pick"] = v["show"]  # the run shown, once the grid has run


@st.cache_data(max_entries=32, show_spinner=False)
def surface_grid(name: str, lo: float, hi: float, n: int, steps: int, criterion: str,
                 formula: str = "", box=None):
    return grid_search.on_surface(build_surface(name, (), formula, box), lo, hi, n, steps,
                                  criterion=criterion)


@st.cache_data(max_entries=8, show_spinner=False)
def network_grid(dataset: str, lo: float, hi: float, n: int, steps: int, seeds: int):
    return grid_search.on_network(dataset, lo, hi, n, steps, seeds=tuple(range(seeds)), batch_size=64)


st.title("Grid search")
st.caption("Try many rates at once, spaced evenly on a log scale, and keep the one that did best "
           "within the same budget of steps.")

# Every setting, the surface and your own formula too, lives in the link (ui.urlstate).
linked = urlstate.restore("grid", FIELDS, sentinel="grid_target", surface=SURFACE)
if linked is not None:
    put_settings(linked)
formula, box = "", None
with controls():
    target = st.radio("Run on", ["surface", "network"], horizontal=True,
                      key=init("grid_target", "surface"))
    d = defaults({"on": target})
    if target == "surface":
        where = st.selectbox("Surface", formula_input.surface_names(),
                             key=init("grid_surface", SURFACE.default),
                             format_func=formula_input.surface_title)
        if where == CUSTOM:
            own = formula_input.formula_input("grid_")
            formula, box = own.formula, own.box
        criterion = st.radio("Best means", grid_search.CRITERIA,
                             key=init("grid_criterion", grid_search.CRITERIA[0]))
    else:
        where = st.selectbox("Data set (small MLP, mini-batches of 64)", data.NAMES,
                             key=init("grid_data", data.NAMES[0]))
        criterion = "final loss"
    most = cap({"on": target})
    lo = st.number_input("Smallest rate", format="%.4g", step=None, key=init(f"grid_lo_{target}", d["lo"]))
    hi = st.number_input("Largest rate", format="%.4g", step=None, key=init(f"grid_hi_{target}", d["hi"]))
    n = st.number_input(f"Rates in the grid (up to {most})", min_value=0, max_value=most,
                        key=init(f"grid_n_{target}", d["n"]))
    steps = st.number_input("Steps per run", min_value=0, max_value=1000, step=50,
                            key=init(f"grid_steps_{target}", d["steps"]))
    seeds = 1
    if target == "network":
        seeds = st.number_input("Seeds (initial weights and batch order)", min_value=0,
                                max_value=grid_search.MAX_SEEDS, key=init("grid_seeds", d["seeds"]))
typed = {"on": target, "lo": float(lo), "hi": float(hi), "n": int(n), "steps": int(steps),
         **({"criterion": criterion} if target == "surface" else {"data": where, "seeds": int(seeds)})}

lo, hi, problem = checked_rate_range(lo, hi, (d["lo"], d["hi"]))
problems = [problem] if problem else []
if n < 2:
    problems.append(f"A grid needs at least 2 rates. Using {d['n']}.")
    n = d["n"]
if steps < 1:
    problems.append(f"A run needs at least one step. Using {d['steps']}.")
    steps = d["steps"]
if seeds < 1:
    problems.append(f"The network needs at least one seed. Using {d.get('seeds', 1)}.")
    seeds = d.get("seeds", 1)
notes = st.container()  # the link's warnings and the settings' problems, above the results
lo, hi, n, steps, seeds = float(lo), float(hi), int(n), int(steps), int(seeds)

if target == "surface":
    if where == CUSTOM:  # your own formula compiles on its first run (warm_up is per named family)
        setup_jax()
        with st.spinner("Compiling the engine for your formula (once per formula)…"):
            g = surface_grid(where, lo, hi, n, steps, criterion, formula, box)
    else:
        warm_up(where)
        g = surface_grid(where, lo, hi, n, steps, criterion)
    surface = build_surface(where, (), formula, box)
    final, y_title = g.final_loss, "final loss above the minimum"
    markers = {}
    if g.stable_below is not None:
        markers = {"2/L (diverges above)": g.stable_below, "2/(L+μ) (theory's best)": g.theory_best}
    own_limit = formula_input.global_limit(surface) if where == CUSTOM else None
    if own_limit is not None:  # the lowest minimum's own 2/L, from its numerical Hessian
        at_min, own = own_limit
        markers = {f"2/L at the lowest minimum {at_min}": own}
else:
    setup_jax()
    with st.spinner(f"Training the {where} network at {n} rates × {seeds} seed(s) for {steps} steps "
                    "(one vmapped call per seed; the first call of a shape also compiles)…"):
        g = network_grid(where, lo, hi, n, steps, seeds)
    final, y_title, markers = g.final_loss, "final training loss", {}

# The rate shown below: the best, or one the user picks (slider, or a click on the chart).
options = list(range(n))
default = g.best_index if g.best_index is not None else 0
config = (target, where, formula, box, lo, hi, n, steps, seeds, criterion)
linked_pick = st.session_state.pop("grid_linked_pick", BEST)
if st.session_state.get("grid_config") != config or st.session_state.get("grid_pick") not in options:
    st.session_state["grid_config"] = config
    st.session_state["grid_pick"] = linked_pick if linked_pick in options else default
event = st.session_state.get("grid_chart")
points = event.selection.points if event is not None and hasattr(event, "selection") else []
if points and st.session_state.get("grid_clicked") != points[0].get("x"):
    st.session_state["grid_clicked"] = points[0].get("x")
    st.session_state["grid_pick"] = int(np.argmin(np.abs(np.log10(g.rates) - np.log10(points[0]["x"]))))
pick = st.select_slider("Show the run at rate", options=options, key="grid_pick",
                        format_func=lambda i: f"{g.rates[i]:.4g}")
link = formula_input.surface_to_link(where, formula, box) if target == "surface" else {}
with notes:
    for w in urlstate.sync("grid", {**typed, "show": BEST if pick == default else int(pick)}, FIELDS,
                           extra=link, sparse=True):
        st.warning(f"In the link: {w}", icon=":material/link:")
    for p in problems:
        st.warning(p, icon=":material/warning:")

st.plotly_chart(grid_figure(g.rates, final, g.regimes, title=f"{y_title.capitalize()} after {steps} steps",
                            y_title=y_title, best_index=g.best_index, markers=markers,
                            selected=float(g.rates[pick])),
                key="grid_chart", on_select="rerun", selection_mode="points")
chart_text(describe.grid_text(g.rates, final, g.regimes, y_title, g.best_index))
st.caption("Shading: the regime of each rate (slow, converged, oscillating, diverged). An "
           "oscillating run can still converge: it zig-zags, then settles. Click a point to show its "
           "run below.")

if g.best_index is None:
    st.error("Every rate in this grid diverged: move the range down.")
else:
    b = g.best_rate
    edge = g.best_index in (0, n - 1)
    if target == "surface":
        how = (f"the lowest final loss ({g.final_loss[g.best_index]:.3g} above the minimum)"
               if criterion == "final loss" else
               f"the fewest steps to converge ({int(g.steps_to_converge[g.best_index])})")
        text = f"**Best rate in the grid: {b:.4g}**, with {how} after {steps} steps."
        if g.theory_best is not None:
            text += (f" Theory's best fixed rate for this quadratic is 2/(L+μ) = {g.theory_best:.4g} "
                     f"({100 * (b / g.theory_best - 1):+.1f}%), and it diverges above 2/L = "
                     f"{g.stable_below:.4g}.")
        elif own_limit is not None:
            text += (f" Your formula's lowest minimum, at {at_min}, has its own 2/L = "
                     f"{own:.4g} (from its largest curvature, found numerically): plain gradient "
                     "descent at a rate above it cannot settle there.")
    else:
        med = np.median(g.final_loss, axis=0)
        text = (f"**Best rate in the grid: {b:.4g}**, with the lowest median final training loss over "
                f"{seeds} seed(s) ({med[g.best_index]:.3g}; validation accuracy "
                f"{np.median(g.final_acc[:, g.best_index]):.1%}).")
    st.markdown(text)
    if edge:
        st.warning("The best rate is at the edge of the grid: the real best may lie outside it. "
                   "Widen the range.", icon=":material/warning:")

if target == "surface":
    left, right = st.columns(2)
    right.plotly_chart(grid_figure(g.rates, g.steps_to_converge, g.regimes, title="Steps to converge",
                                   y_title="steps to converge", best_index=g.best_index,
                                   markers=markers, log_y=False), key="grid_conv")
    with right:
        chart_text(describe.grid_text(g.rates, g.steps_to_converge, g.regimes, "steps to converge",
                                      g.best_index))
    sw = g.sweep
    one = descent.Sweep(sw.points[pick:pick + 1], sw.losses[pick:pick + 1], sw.lrs[pick:pick + 1],
                        sw.diverged_at[pick:pick + 1])
    # in a half-width column Play/Pause would sit on the step slider: the narrow layout always
    run_figure = trajectory_figure(surface, one, height=520, dark=dark_page(), narrow=True)
    left.plotly_chart(themed(run_figure), key="grid_run")
    with left:
        conv = g.steps_to_converge[pick]
        chart_text(describe.paths_text(
            surface.title, [f"lr = {g.rates[pick]:.4g}"], [g.regimes[pick]],
            [int(conv) if np.isfinite(conv) else None],
            [int(g.diverged_at[pick]) if g.diverged_at[pick] >= 0 else None], steps))
    if g.diverged_at[pick] >= 0:
        st.markdown(f"At **{g.rates[pick]:.4g}** the run **diverged at step {int(g.diverged_at[pick])}**.")
    else:
        conv = g.steps_to_converge[pick]
        st.markdown(f"At **{g.rates[pick]:.4g}** the run is **{g.regimes[pick]}**"
                    + (f", converged at step {int(conv)}" if np.isfinite(conv) else
                       f", not converged in {steps} steps")
                    + f"; final loss {g.final_loss[pick]:.3g} above the minimum.")
    if where == CUSTOM:
        st.caption(markdown_text(surface.description))
        formula_input.minima_note(surface)
else:
    left, right = st.columns(2)
    acc = np.where(g.diverged_at >= 0, np.nan, g.final_acc)  # no accuracy for a run that blew up
    left.plotly_chart(grid_figure(g.rates, acc, g.regimes, title="Validation accuracy at the end",
                                  y_title="validation accuracy", best_index=g.best_index, log_y=False),
                      key="grid_acc")
    with left:
        chart_text(describe.grid_text(g.rates, acc, g.regimes, "validation accuracy", g.best_index))
    dead = [int(x) if x >= 0 else None for x in g.diverged_at[:, pick]]
    right.plotly_chart(loss_curves_figure(
        [(f"seed {s}", g.train_loss[i, pick]) for i, s in enumerate(g.seeds)],
        f"Training loss at rate {g.rates[pick]:.4g}", "training loss", diverged_at=dead), key="grid_run")
    with right:
        chart_text(describe.curves_text(f"Training loss at rate {g.rates[pick]:.4g}",
                                        [f"seed {s}" for s in g.seeds], g.train_loss[:, pick], dead))
    blew = [f"seed {s} at step {int(x)}" for s, x in zip(g.seeds, g.diverged_at[:, pick], strict=True)
            if x >= 0]
    if blew:
        st.markdown(f"At **{g.rates[pick]:.4g}** the runs are **diverged**: {', '.join(blew)} blew up.")
    else:
        st.markdown(f"At **{g.rates[pick]:.4g}** the runs are **{g.regimes[pick]}** (median final "
                    f"training loss {np.median(g.final_loss[:, pick]):.3g}).")
    st.caption(f"Network regimes are relative to this grid: converged = median final loss within "
               f"{grid_search.NET_CLOSE:g}x the best; slow = above that; oscillating = the loss rose on "
               f"at least {grid_search.NET_UPS:.0%} of the steps; diverged = some seed blew up or ended "
               "above its start.")


def table_rows() -> list[dict]:
    """The grid's per-rate numbers (the charts' points), as the engine gave them."""
    if target == "surface":
        return [{"rate": float(r), "regime": g.regimes[i],
                 "final loss above the minimum": float(g.final_loss[i]),
                 "steps to converge": None if np.isnan(g.steps_to_converge[i])
                 else int(g.steps_to_converge[i]),
                 "diverged at step": int(g.diverged_at[i]) if g.diverged_at[i] >= 0 else None,
                 "best": i == g.best_index}
                for i, r in enumerate(g.rates)]
    rows = []
    for i, r in enumerate(g.rates):
        row = {"rate": float(r), "regime": g.regimes[i],
               "median final training loss": float(np.median(g.final_loss[:, i])),
               "median final validation accuracy": float(np.median(g.final_acc[:, i])),
               "best": i == g.best_index}
        for k, s in enumerate(g.seeds):
            row[f"final training loss (seed {s})"] = float(g.final_loss[k, i])
            row[f"diverged at step (seed {s})"] = (int(g.diverged_at[k, i])
                                                   if g.diverged_at[k, i] >= 0 else None)
        rows.append(row)
    return rows


def curves_csv() -> str:
    """Every run's curve: on a surface the runs' CSV (x, y, loss, step size per step); on the
    network the training loss, validation loss and accuracy per seed, rate and step."""
    if target == "surface":
        return export.runs_csv(g.sweep, [f"lr = {r:.4g}" for r in g.rates])
    rows = [{"seed": s, "rate": float(r), "step": t, "training loss": float(g.train_loss[k, i, t]),
             "validation loss": float(g.val_loss[k, i, t]),
             "validation accuracy": float(g.val_acc[k, i, t])}
            for k, s in enumerate(g.seeds) for i, r in enumerate(g.rates) for t in range(steps + 1)]
    return export.table_csv(rows)


st.header("Download")
slug = ("your-own" if target == "surface" and where == CUSTOM else where).replace("_", "-")
d1, d2 = st.columns(2)
d1.download_button(
    "Download CSV of the grid (one row per rate)", key="grid_download_table", on_click="ignore",
    icon=":material/download:", data=on_demand("grid-table", config,
                                               lambda: export.table_csv(table_rows())),
    file_name=f"learning-rate-lab-grid-{slug}.csv", mime="text/csv", use_container_width=True)
d2.download_button(
    "Download CSV of every run's curve", key="grid_download_curves", on_click="ignore",
    icon=":material/download:", data=on_demand("grid-curves", config, curves_csv),
    file_name=f"learning-rate-lab-grid-{slug}-curves.csv", mime="text/csv",
    use_container_width=True)
st.caption("The grid's CSV has the numbers of the charts above, one row per rate"
           + (" (final loss above the minimum, steps to converge, diverged at step, regime)"
              if target == "surface" else
              " (medians over the seeds and each seed's final training loss and divergence step)")
           + "; the curves' CSV has every run at every step"
           + (" (x, y, loss, step size)" if target == "surface" else
              " (training loss, validation loss and accuracy per seed)")
           + ", in the engine's own numbers. Each file is built when you click.")
