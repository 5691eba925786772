"""Stability maps: rate x momentum, rate x condition number, rate x batch size; every cell
a real run, theory drawn over the measurement, and a click shows the run behind a cell."""

from dataclasses import replace
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from charts import describe, export
from charts.maps import cell_of, legend_text, map_figure, steps_figure
from charts.playground import loss_figure, trajectory_figure
from charts.tuning import loss_curves_figure
from engine import descent, grid_search, maps
from engine.diagnose import diagnose
from engine.scene import CUSTOM, SURFACE_PARAMS, default_params, fmt, markdown_text, scene_to_query
from ui import formula_input
from ui.downloads import on_demand
from ui.runtime import setup_jax
from ui.widgets import chart_text, dark_page, regime_badge
from ui.widgets import controls as settings


@st.cache_data(max_entries=16, show_spinner=False)
def _cached_map(config: maps.MapConfig) -> maps.StabilityMap:
    return maps.compute(config)


def cached_map(config: maps.MapConfig) -> maps.StabilityMap:
    """The map, cached on everything but its colouring (a recolour runs nothing)."""
    return _cached_map(replace(config, color="regime"))


@st.cache_data(max_entries=64, show_spinner=False)
def cached_cell(config: maps.MapConfig, i: int, j: int):
    """The run behind cell (i, j), path and all, and its diagnosis (whole path)."""
    m = cached_map(config)
    t = maps.cell_run(m, i, j)
    return t, diagnose(maps.map_surface(config, i), t)


@st.cache_data(max_entries=8, show_spinner=False)
def cached_condition_steps(config: maps.MapConfig):
    return maps.condition_steps(cached_map(config))


def load_from_url_once() -> None:
    """On the session's first visit, put the link's settings into the widgets."""
    ss = st.session_state
    if ss.get("maps_loaded"):
        return
    query = {k: st.query_params.get(k) for k in st.query_params}
    config, warnings = maps.config_from_query(query)
    ss["maps_kind"] = config.kind
    for kind in maps.KINDS:  # every map keeps its own settings; the link sets its own
        c = config if kind == config.kind else maps.default_config(kind)
        put_config(c)
    ss["maps_color"] = config.color
    ss["maps_url_cell"] = query.get("cell")
    ss["maps_url_warnings"] = warnings
    ss["maps_url_config"] = config
    ss["maps_loaded"] = True


def put_config(c: maps.MapConfig) -> None:
    ss = st.session_state
    k = c.kind
    ss[f"maps_lo_{k}"], ss[f"maps_hi_{k}"] = float(c.lo), float(c.hi)
    ss[f"maps_n_{k}"], ss[f"maps_steps_{k}"] = int(c.n), int(c.steps)
    if k == "momentum":
        ss["maps_surface"] = c.surface
        if c.surface == CUSTOM:
            formula_input.put("maps_", c.formula, c.box)
        for key, value in c.params:
            ss[f"maps_p_{c.surface}_{key}"] = float(value)
        ss["maps_rows_momentum"] = int(c.rows)
        ss["maps_blo"], ss["maps_bhi"] = float(c.beta_lo), float(c.beta_hi)
    elif k == "condition":
        ss["maps_rows_condition"] = int(c.rows)
        ss["maps_L"], ss["maps_kmax"] = float(c.curvature), float(c.kappa_max)
    else:
        ss["maps_bs"] = ", ".join(map(str, c.batch_sizes))
        ss["maps_seeds"] = int(c.seeds)


def init(key: str, default):
    """``key``, with ``default`` put in its state if it has none (widgets are given their
    values through the state only, so a link can set them)."""
    if key not in st.session_state:
        st.session_state[key] = default
    return key


def controls() -> tuple[maps.MapConfig, list[str]]:
    """The sidebar; returns the config it describes and the problems found in the batch sizes."""
    ss = st.session_state
    kind = st.radio("Map", maps.KINDS, key=init("maps_kind", "momentum"),
                    format_func=maps.KIND_TITLES.get)
    options = maps.color_options(kind)
    if ss.get("maps_color") not in options:
        ss["maps_color"] = "regime"
    color = st.radio("Colour cells by", options, key=init("maps_color", "regime"), horizontal=True,
                     format_func={"regime": "regime", "loss": "final loss",
                                  "steps": "steps to converge"}.get)
    d = maps.default_config(kind)
    lim = maps.limits(kind)
    problems: list[str] = []
    c = replace(d, color=color)
    if kind == "momentum":
        name = st.selectbox("Surface", formula_input.surface_names(),
                            key=init("maps_surface", d.surface),
                            format_func=formula_input.surface_title)
        if name == CUSTOM:
            own = formula_input.formula_input("maps_")
            c = replace(c, formula=own.formula, box=own.box)
        params = []
        base = dict(d.params) if name == d.surface else dict(default_params(name))
        for p in SURFACE_PARAMS.get(name, ()):
            key = f"maps_p_{name}_{p.key}"
            if key not in ss:
                ss[key] = base.get(p.key, p.default)
            params.append((p.key, float(st.number_input(p.label, p.lo, p.hi, key=key,
                                                        format="%.4g", help=p.help))))
        c = replace(c, surface=name, params=tuple(params))
    st.markdown("**Rates** (columns, log-spaced)")
    c1, c2 = st.columns(2)
    lo = c1.number_input("smallest", key=init(f"maps_lo_{kind}", d.lo), format="%.4g", step=None)
    hi = c2.number_input("largest", key=init(f"maps_hi_{kind}", d.hi), format="%.4g", step=None)
    n = st.number_input(f"how many (up to {int(lim['n'][1])})", min_value=0,
                        max_value=int(lim["n"][1]), key=init(f"maps_n_{kind}", d.n))
    c = replace(c, lo=float(lo), hi=float(hi), n=int(n))
    if kind == "momentum":
        st.markdown("**Momentum β** (rows, evenly spaced)")
        c1, c2 = st.columns(2)
        blo = c1.number_input("smallest β", 0.0, maps.MOMENTUM_MAX, key=init("maps_blo", d.beta_lo),
                              format="%.3g", step=0.05)
        bhi = c2.number_input("largest β", 0.0, maps.MOMENTUM_MAX, key=init("maps_bhi", d.beta_hi),
                              format="%.3g", step=0.05)
        rows = st.number_input(f"how many (up to {maps.MAX_SIDE})", min_value=0,
                               max_value=maps.MAX_SIDE, key=init("maps_rows_momentum", d.rows))
        c = replace(c, beta_lo=float(blo), beta_hi=float(bhi), rows=int(rows))
    elif kind == "condition":
        st.markdown("**Bowls** f = ½(μx² + Ly²), the same L, μ = L/κ (rows)")
        L = st.number_input("curvature L", *lim["L"], key=init("maps_L", d.curvature),  # noqa: N806
                            format="%.4g")
        kmax = st.number_input("largest condition number κ", 0.0, float(lim["kmax"][1]),
                               key=init("maps_kmax", d.kappa_max), format="%.4g")
        rows = st.number_input(f"how many bowls (up to {maps.MAX_SIDE})", min_value=0,
                               max_value=maps.MAX_SIDE, key=init("maps_rows_condition", d.rows))
        c = replace(c, curvature=float(L), kappa_max=float(kmax), rows=int(rows))
    else:
        st.markdown("**Digits MLP** (64 → 32 → 10), mini-batch SGD")
        text = st.text_input(f"batch sizes (up to {maps.MAX_BATCH_SIZES}, comma-separated)",
                             key=init("maps_bs", ", ".join(map(str, d.batch_sizes))),
                             help="A batch size of the whole training set (1,438) or more is "
                                  "full-batch gradient descent.",
                             max_chars=maps.MAX_LIST_CHARS)
        sizes, problems = maps.parse_batch_sizes(text, d.batch_sizes)
        seeds = st.number_input(f"seeds (up to {maps.MAX_SEEDS})", min_value=0,
                                max_value=maps.MAX_SEEDS, key=init("maps_seeds", d.seeds),
                                help="Each seed sets the initial weights and the order of the "
                                     "mini-batches.")
        c = replace(c, batch_sizes=sizes, rows=len(sizes), seeds=int(seeds))
    steps = st.number_input(f"Steps per run (up to {int(lim['steps'][1])})", min_value=0,
                            max_value=int(lim["steps"][1]), step=50,
                            key=init(f"maps_steps_{kind}", d.steps))
    return replace(c, steps=int(steps)), problems


def pick_cell(m: maps.StabilityMap, chart_key: str) -> tuple[int, int]:
    """The cell shown below the map: the last one clicked, or typed, or from the link; by
    default the best cell."""
    ss = st.session_state
    rows, cols = m.shape
    default = m.best_cell or (0, 0)
    if ss.get("maps_pick_for") != m.config:  # a new map (its colouring is not part of it)
        ss["maps_pick_for"] = m.config
        start = default
        url_cell = ss.pop("maps_url_cell", None)
        if url_cell is not None:
            parsed = maps.parse_cell(url_cell, m.shape)
            if parsed is None:
                ss["maps_url_warnings"] = [*ss.get("maps_url_warnings", []),
                                           f"`cell={str(url_cell)[:40]}` is not a cell of this "
                                           f"{rows} x {cols} map; showing the best cell."]
            else:
                start = parsed
        ss["maps_row"], ss["maps_col"] = start
        ss["maps_clicked"] = None
    event = ss.get(chart_key)
    points = event.selection.points if event is not None and hasattr(event, "selection") else []
    if points:
        cell = cell_of(m, points[0])
        if cell is not None and cell != ss.get("maps_clicked"):
            ss["maps_clicked"] = cell
            ss["maps_row"], ss["maps_col"] = cell
    for key, top in (("maps_row", rows - 1), ("maps_col", cols - 1)):
        if not (isinstance(ss.get(key), int) and 0 <= ss[key] <= top):
            ss[key] = default[0] if key == "maps_row" else default[1]
    return int(ss["maps_row"]), int(ss["maps_col"])


def row_text(m: maps.StabilityMap, i: int) -> str:
    kind = m.config.kind
    v = m.rows[i]
    if kind == "batch":
        return f"batch size {m.row_labels[i] if m.row_labels else int(v)}"
    return f"β = {fmt(v)}" if kind == "momentum" else f"κ = {v:.4g}"


def write_to_url(config: maps.MapConfig, cell: tuple[int, int]) -> None:
    query = maps.config_to_query(config)
    query["cell"] = f"{cell[0]},{cell[1]}"
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != query:
        st.query_params.from_dict(query)


def show_surface_run(m: maps.StabilityMap, i: int, j: int) -> None:
    config = m.config
    t, d = cached_cell(m.config, i, j)
    surface = maps.map_surface(config, i)
    lr = float(m.rates[j])
    beta = maps.cell_momentum(m, i)
    st.subheader(f"The run at lr = {fmt(lr)}, {row_text(m, i)}")
    regime_badge(m.regime(i, j), label="on the map: ")
    st.badge(f"whole path: {d.regime.value}", color="gray")
    end = "never diverged" if t.diverged_at is None else f"diverged at step {t.diverged_at}"
    conv = ("converged (within the tolerance from step "
            f"{d.steps_to_converge} on)" if d.converged else "did not converge")
    own = config.kind == "momentum" and config.surface == CUSTOM
    title = (f"your own surface f = {markdown_text(surface.family.text)}" if own
             else surface.title.lower())
    st.markdown(
        f"{config.steps} steps of {'heavy-ball SGD (β = ' + fmt(beta) + ')' if beta else 'gradient descent'} "
        f"on {title}"
        + (f" with μ = {fmt(surface.params[0])}, L = {fmt(surface.params[1])}"
           if config.kind == "condition" else "")
        + f": it {end}, {conv}, overshot {d.overshoots} times; final loss "
        f"{max(float(t.losses[-1]) - surface.global_value, 0.0):.3g} above the lowest. "
        f"Its last point is the map's cell exactly: ({t.points[-1, 0]:.6g}, {t.points[-1, 1]:.6g}).")
    one = descent.Sweep(t.points[None], t.losses[None], t.lrs[None],
                        np.array([-1 if t.diverged_at is None else t.diverged_at]))
    left, right = st.columns(2)
    # narrow: in half the page's width Play/Pause sit above the step slider, not over it
    left.plotly_chart(trajectory_figure(surface, one, height=440, dark=dark_page(), narrow=True),
                      key="maps_run_path")
    name = f"lr = {fmt(lr)}"
    with left:
        chart_text(describe.paths_text_of(surface, one, [d], [name]))
    right.plotly_chart(loss_figure(surface, one), key="maps_run_loss")
    with right:
        chart_text(describe.curves_text("Loss above the lowest against step", [name],
                                        one.losses - surface.global_value, [t.diverged_at]))
    scene = maps.cell_scene(m, i, j)
    st.link_button("Open this run in the Playground", "/playground?" + urlencode(scene_to_query(scene)),
                   icon=":material/open_in_new:")
    if d.regime.value != m.regime(i, j):
        st.caption("The map names how a run *ended* (its last steps); the badge above names its "
                   "whole path, so a run that zig-zagged on its way in and then settled is "
                   "'converged' on the map and 'oscillating' on its path.")


def show_network_run(m: maps.StabilityMap, i: int, j: int) -> None:
    lr = float(m.rates[j])
    st.subheader(f"The runs at lr = {fmt(lr)}, {row_text(m, i)}")
    regime_badge(m.regime(i, j), label="on the map: ")
    curves = m.curves[:, i, j]
    dead = [int(x) if x >= 0 else None for x in m.diverged_at[:, i, j]]
    st.plotly_chart(loss_curves_figure(
        [(f"seed {s}", curves[s]) for s in range(len(curves))],
        f"Training loss at rate {lr:.4g}, batch size {int(m.rows[i])}", "training loss",
        diverged_at=dead), key="maps_run_loss")
    chart_text(describe.curves_text(f"Training loss at rate {lr:.4g}, batch size {int(m.rows[i])}",
                                    [f"seed {s}" for s in range(len(curves))], curves, dead))
    finals = ", ".join(f"{float(c[-1]):.3g}" for c in curves)
    blew = [s for s, x in enumerate(dead) if x is not None]
    st.markdown(f"Final training loss per seed: {finals}."
                + (f" Seed(s) {', '.join(map(str, blew))} blew up (loss above 10x its start)."
                   if blew else ""))
    st.caption(f"Network regimes are relative to the row: converged = median final loss within "
               f"{grid_search.NET_CLOSE:g}x the row's best; slow = above that; oscillating = the "
               f"loss rose on at least {grid_search.NET_UPS:.0%} of the steps; diverged = a seed "
               "blew up or ended above its start.")


st.title("Stability maps")
st.caption("A rate is always tuned together with something else. Each map runs a whole grid: "
           "every cell is one real run, coloured by how it ended; theory is drawn over it where "
           "it has a closed form. Click a cell to see its run.")
setup_jax()
load_from_url_once()
with settings():  # the sidebar; on a phone, an expander here, above the chart
    raw, bs_problems = controls()
config, problems = maps.check_config(raw)

if config.kind == "batch":
    spin = (f"Training the digits MLP at {config.n} rates × {len(config.batch_sizes)} batch sizes "
            f"× {config.seeds} seed(s) for {config.steps} steps (one vmapped call per batch size "
            "and seed; a new batch size also compiles once)…")
else:
    spin = f"Running {config.n * config.rows:,} runs of {config.steps} steps…"
with st.spinner(spin):
    m = cached_map(config)

chart_key = f"maps_chart_{config.kind}"
i, j = pick_cell(m, chart_key)  # may add a warning about the link's cell
if st.session_state.get("maps_url_config") != config:  # the link's warnings go once it is changed
    st.session_state["maps_url_warnings"] = []
for w in [*st.session_state.get("maps_url_warnings", []), *bs_problems, *problems]:
    st.warning(w, icon=":material/warning:")
write_to_url(config, (i, j))
st.plotly_chart(map_figure(m, config.color, selected=(i, j), dark=dark_page()), key=chart_key,
                on_select="rerun", selection_mode="points")
chart_text(describe.map_text_of(m))
st.caption(legend_text(m, config.color))
for line in maps.summary(m):
    st.markdown(line)

ROW_COLUMN = {"momentum": "momentum", "condition": "condition number", "batch": "batch size"}


def cell_rows(m: maps.StabilityMap) -> list[dict]:
    """One row per cell of the map, bottom row first, as the map shows it."""
    kind = m.config.kind
    rows = []
    for i, row in enumerate(m.rows):
        for j, rate in enumerate(m.rates):
            r = {"row": i, "column": j, "rate": float(rate),
                 ROW_COLUMN[kind]: int(row) if kind == "batch" else float(row),
                 "regime": m.regime(i, j)}
            if kind == "batch":
                r["median final training loss"] = float(m.final_loss[i, j])
                for s in range(m.diverged_at.shape[0]):
                    at = int(m.diverged_at[s, i, j])
                    r[f"diverged at step (seed {s})"] = at if at >= 0 else None
            else:
                r["final loss above the lowest"] = float(m.final_loss[i, j])
                at = int(m.diverged_at[i, j])
                r["diverged at step"] = at if at >= 0 else None
                r["final x"], r["final y"] = (float(v) for v in m.final_points[i, j])
                if m.steps_to_converge is not None:
                    conv = m.steps_to_converge[i, j]
                    r["steps to converge"] = None if np.isnan(conv) else int(conv)
            rows.append(r)
    return rows


st.download_button(
    "Download CSV of the cells", key="maps_download", on_click="ignore",
    icon=":material/download:", data=on_demand("map-cells", m.config,
                                               lambda: export.table_csv(cell_rows(m))),
    file_name=f"learning-rate-lab-map-{config.kind}.csv", mime="text/csv")
st.caption(f"One row per cell ({m.regimes.size:,}): its rate, its {ROW_COLUMN[config.kind]}, regime, "
           + ("median final training loss and each seed's divergence step"
              if config.kind == "batch" else
              "final loss above the lowest, divergence step and where the run ended"
              + (", steps to converge" if config.kind == "condition" else ""))
           + ", the map's own numbers. Built when you click.")
if config.kind == "momentum" and config.surface == CUSTOM:
    own_surface = maps.map_surface(config)
    own = formula_input.global_limit(own_surface)
    if own is not None:  # the lowest minimum's own limit beside what the bottom row measured
        at_min, two_over_l = own
        beta0 = float(m.rows[0])
        first = int(maps.first_diverged(m.diverged)[0])
        measured = ("no rate on it diverged" if first == m.shape[1] else
                    f"the first rate that diverged is {fmt(m.rates[first])}"
                    + (f" (the last that did not: {fmt(m.rates[first - 1])})" if first else ""))
        st.markdown(f"Near your formula's lowest minimum, {at_min}, f is close to a quadratic "
                    f"whose largest curvature gives 2(1+β)/L = {(1 + beta0) * two_over_l:.4g}"
                    f" at the bottom row's β = {fmt(beta0)}: the heavy ball cannot settle there "
                    f"above it. On that row {measured}.")
    formula_input.minima_note(own_surface)

st.header("The run behind a cell")  # h2 under the page's h1; each run's own title is an h3
with st.expander("Pick a cell without the mouse"):
    c1, c2 = st.columns(2)
    c1.number_input(f"row (0 to {m.shape[0] - 1}, from the bottom)", 0, m.shape[0] - 1, key="maps_row")
    c2.number_input(f"column (0 to {m.shape[1] - 1}, from the left)", 0, m.shape[1] - 1, key="maps_col")

if config.kind == "batch":
    show_network_run(m, i, j)
else:
    show_surface_run(m, i, j)

if config.kind == "condition":
    at_best, at_theory, predicted = cached_condition_steps(m.config)
    st.plotly_chart(steps_figure(m.rows, at_best, predicted), key="maps_steps")
    chart_text(describe.series_text("Steps to converge against condition number", "κ", m.rows,
                                    [("measured at the row's best rate", at_best),
                                     ("theory at 2/(L+μ)", predicted)]))
    ok = np.isfinite(at_theory) & np.isfinite(predicted)
    if ok.any():
        ratio = at_theory[ok] / predicted[ok]
        st.markdown(f"At 2/(L+μ) the runs took {np.nanmin(at_theory):.0f} to "
                    f"{np.nanmax(at_theory):.0f} steps as κ grew from {m.rows[0]:.3g} to "
                    f"{m.rows[-1]:.3g}; theory's count (from its contraction factor alone) is "
                    f"within a factor of {max(ratio.max(), 1 / ratio.min()):.2g} of the measured "
                    f"one on the {int(ok.sum())} bowls where both converged within {config.steps} "
                    "steps.")

if config.kind == "momentum":
    st.markdown("Why these shapes: the [momentum lesson](/10-momentum-map) walks through the "
                "rate × momentum map with live runs.")
