"""Schedules: a learning-rate schedule against a constant rate, on a surface or on the network."""

import numpy as np
import streamlit as st

from charts import describe, export
from charts.playground import trajectory_figure
from charts.tuning import loss_curves_figure, rate_figure
from engine import data, diagnose, schedule_runs, schedules
from engine.scene import CUSTOM, build_surface, markdown_text
from engine.urlstate import Choice, Number
from ui import formula_input, urlstate
from ui.downloads import on_demand
from ui.runtime import setup_jax, warm_up
from ui.urlstate import SurfaceLink, init
from ui.widgets import chart_text, controls, dark_page, on_phone, themed

DEFAULTS = {"lr": 0.025, "steps": 300}  # on Himmelblau: constant oscillates, decay settles
DEFAULT_SURFACE = "himmelblau"
DEFAULT_SCHEDULE = "cosine"
OPTION_NAMES = tuple(dict.fromkeys(o for opts in schedules.OPTIONS.values() for o in opts))


def on_surface(v) -> bool:
    return v["on"] == "surface"


def option_field(opt: str) -> Number:
    """A schedule's option in the link: only for the schedules that take it, any finite number
    (the page says why a value cannot be used, as for one typed)."""
    return Number(opt, lambda v: float(schedules.OPTIONS[v["schedule"]][opt]),
                  when=lambda v: opt in schedules.OPTIONS[v["schedule"]])


# The page's settings in its link (the surface, your own formula too, through SURFACE; the
# rest here), written sparsely: a value at its default is left out.
SURFACE = SurfaceLink("sch_", "sch_surface", DEFAULT_SURFACE)
FIELDS = (
    Choice("on", "surface", ("surface", "network")),
    Choice("data", data.NAMES[0], data.NAMES, when=lambda v: not on_surface(v)),
    Choice("schedule", DEFAULT_SCHEDULE, schedules.ALL_NAMES),
    Number("lr", DEFAULTS["lr"]),  # any finite number: the page refuses one that cannot train
    Number("steps", DEFAULTS["steps"], lo=0, hi=1000, integer=True),
    *(option_field(o) for o in OPTION_NAMES),
)


def put_settings(v: dict) -> None:
    """Put a link's settings into the widgets' state (before they are drawn)."""
    ss = st.session_state
    ss["sch_target"], ss["sch_name"] = v["on"], v["schedule"]
    if "data" in v:
        ss["sch_data"] = v["data"]
    ss["sch_lr"], ss["sch_steps"] = float(v["lr"]), int(v["steps"])
    for opt in schedules.OPTIONS[v["schedule"]]:
        ss[f"sch_{v['schedule']}_{opt}"] = float(v[opt])
HELP = {
    "factor": "Multiply the rate by this at each drop (between 0 and 1).",
    "every_fraction": "Drop the rate every this fraction of the run.",
    "final_fraction": "End the run at this fraction of the peak rate.",
    "warmup_steps": "Steps of linear warm-up from 0 to the peak rate (-1: 10% of the run).",
    "pct_start": "Fraction of the run spent rising from peak / div_factor to the peak.",
    "div_factor": "Start at peak / div_factor.",
    "final_div_factor": "End at peak / (div_factor × final_div_factor).",
    "patience": "Steps without improvement before the rate is cut.",
    "rtol": "An improvement must beat the best loss by this relative amount.",
    "cooldown": "Steps to wait after a cut before counting again.",
    "min_scale": "Never cut below peak × min_scale.",
}


@st.cache_data(max_entries=32, show_spinner=False)
def surface_runs(surface_name: str, name: str, lr: float, steps: int, options: tuple,
                 formula: str = "", box=None):
    surface = build_surface(surface_name, (), formula, box)
    sweep, rounds = schedule_runs.on_surface(surface, name, lr, steps, **dict(options))
    return sweep, [diagnose.diagnose(surface, t) for t in sweep], rounds


@st.cache_data(max_entries=16, show_spinner=False)
def network_runs(dataset: str, name: str, lr: float, steps: int, options: tuple):
    return schedule_runs.on_network(dataset, name, lr, steps, **dict(options))


st.title("Schedules")
st.caption("A schedule changes the rate as training goes. Here each one runs beside a constant rate "
           "with the same peak, on the same problem, from the same start.")

# Every setting, the surface and your own formula too, lives in the link (ui.urlstate).
linked = urlstate.restore("sch", FIELDS, sentinel="sch_target", surface=SURFACE)
if linked is not None:
    put_settings(linked)
formula, box = "", None
with controls():
    target = st.radio("Run on", ["surface", "network"], horizontal=True, key=init("sch_target", "surface"))
    if target == "surface":
        where = st.selectbox("Surface", formula_input.surface_names(),
                             key=init("sch_surface", DEFAULT_SURFACE),
                             format_func=formula_input.surface_title)
        if where == CUSTOM:
            own = formula_input.formula_input("sch_")
            formula, box = own.formula, own.box
    else:
        where = st.selectbox("Data set (small MLP, mini-batches of 64)", data.NAMES,
                             key=init("sch_data", data.NAMES[0]))
    name = st.selectbox("Schedule", schedules.ALL_NAMES, format_func=schedules.ALL_TITLES.get,
                        key=init("sch_name", DEFAULT_SCHEDULE))
    lr = st.number_input("Peak rate", format="%.4g", step=None, key=init("sch_lr", DEFAULTS["lr"]))
    steps = st.number_input("Steps", min_value=0, max_value=1000, step=50,
                            key=init("sch_steps", DEFAULTS["steps"]))
    options = {}
    for opt, default in schedules.OPTIONS[name].items():
        options[opt] = st.number_input(opt.replace("_", " "), format="%.4g", step=None,
                                       key=init(f"sch_{name}_{opt}", float(default)), help=HELP.get(opt))
typed_options = dict(options)

typed = {"lr": lr, "steps": steps}  # as the widgets show them, for the link
problems = []
if not (np.isfinite(lr) and lr > 0):
    problems.append(f"The peak rate must be positive; {lr:g} cannot train. Using {DEFAULTS['lr']:g}.")
    lr = DEFAULTS["lr"]
if steps < 1:
    problems.append(f"A run needs at least one step. Using {DEFAULTS['steps']}.")
    steps = DEFAULTS["steps"]
steps = int(steps)
try:
    schedule_runs.schedule_table(name, lr, steps, options)
except ValueError as e:
    problems.append(f"{e} Using this schedule's default settings instead.")
    options = {}
link = formula_input.surface_to_link(where, formula, box) if target == "surface" else {}
settings = {"on": target, "schedule": name, "lr": float(typed["lr"]), "steps": int(typed["steps"]),
            **({} if target == "surface" else {"data": where}), **typed_options}
for w in urlstate.sync("sch", settings, FIELDS, extra=link, sparse=True):
    st.warning(f"In the link: {w}", icon=":material/link:")
for p in problems:
    st.warning(p, icon=":material/warning:")

opts = tuple(sorted(options.items()))
label = schedules.ALL_TITLES[name]
if target == "surface":
    if where == CUSTOM:  # your own formula compiles on its first run (warm_up is per named family)
        setup_jax()
        with st.spinner("Compiling the engine for your formula (once per formula)…"):
            sweep, diagnoses, rounds = surface_runs(where, name, float(lr), steps, opts, formula, box)
    else:
        warm_up(where)
        sweep, diagnoses, rounds = surface_runs(where, name, float(lr), steps, opts)
    surface = build_surface(where, (), formula, box)
    tables, losses = sweep.lrs, sweep.losses - surface.global_value
    dead = [None if d < 0 else int(d) for d in sweep.diverged_at]
else:
    setup_jax()
    with st.spinner(f"Training the {where} network for {steps} steps at a constant rate and with "
                    f"{label} (the first run of a shape also compiles, a few seconds)…"):
        run, rounds = network_runs(where, name, float(lr), steps, opts)
    tables, losses = run.lrs, run.train_loss
    dead = [None if d < 0 else int(d) for d in run.diverged_at]

names = [f"constant {lr:.4g}", label]
left, right = st.columns(2)
with left:
    st.plotly_chart(rate_figure(list(zip(names, tables, strict=True))), key="sch_rates")
    chart_text(describe.rates_text(names, tables))
with right:
    y_title = "loss above the minimum" if target == "surface" else "training loss"
    st.plotly_chart(loss_curves_figure(list(zip(names, losses, strict=True)), "Loss against step",
                                       y_title, diverged_at=dead), key="sch_losses")
    chart_text(describe.curves_text(f"{y_title.capitalize()} against step", names, losses, dead))
if target == "surface":
    st.plotly_chart(themed(trajectory_figure(surface, sweep, height=480, labels=names, dark=dark_page(),
                                             narrow=on_phone())), key="sch_paths")
    chart_text(describe.paths_text_of(surface, sweep, diagnoses, names))
    if where == CUSTOM:
        st.caption(markdown_text(surface.description))
        formula_input.minima_note(surface)

DASH = "—"
rows = []
for i, n in enumerate(names):
    ok = dead[i] is None  # a run that blew up has no final loss or accuracy to report
    row = {"run": n}
    if target == "surface":
        row["what the run did"] = schedule_runs.what_it_did(diagnoses[i], dead[i], steps)
    else:
        row["blew up at step"] = DASH if ok else str(dead[i])
    row["final loss"] = f"{float(losses[i, -1]):.3g}" if ok else DASH
    row["lowest loss"] = f"{float(np.min(losses[i, : (len(losses[i]) if ok else max(1, dead[i]))])):.3g}"
    if target == "network":
        row["final training accuracy"] = f"{100 * float(run.train_acc[i, -1]):.1f}%" if ok else DASH
    rows.append(row)
st.header("Measured from these runs")
st.dataframe(rows, hide_index=True)
if target == "surface":
    st.caption("What the run did, from one diagnosis: oscillating when its path reversed direction "
               "repeatedly; converged at the step after which it stayed within "
               f"{100 * diagnose.TOL_FRACTION:g}% of the plot's larger side of a minimum. A run can do "
               "both: overshoot back and forth, and still settle.")

a, b = float(losses[0, -1]), float(losses[1, -1])
if dead[1] is None and (dead[0] is not None or b < a):
    st.success(f"With {label}, the run ended lower ({b:.3g}) than at a constant {lr:.4g} ({a:.3g}).")
elif dead[1] is None and b == a:
    st.info(f"Both runs ended at the same loss ({a:.3g}).")
else:
    st.info(f"Here the constant rate ended at least as low ({a:.3g}) as {label} "
            f"({'blew up' if dead[1] is not None else f'{b:.3g}'}). A schedule helps most when the "
            "peak rate is too big to settle but fast to start with: try a larger peak rate.")
if name == schedules.PLATEAU:
    cuts = int(np.sum(np.diff(tables[1]) < 0))
    st.caption(f"Reduce on plateau cut the rate {cuts} time(s). It follows the loss, so it is found by "
               f"replaying the run: {rounds} run(s) of the same compiled engine, each exact up to the next "
               "cut (the rule of optax.contrib.reduce_on_plateau, fed the loss before each step).")


def network_csv() -> str:
    """Each network run's rate, training loss and accuracy per step (the rate that moved step k
    to k + 1; none on the last row)."""
    out = []
    for i, n in enumerate(names):
        for k in range(steps + 1):
            out.append({"run": i + 1, "label": n, "step": k,
                        "rate": float(tables[i, k]) if k < steps else None,
                        "training loss": float(run.train_loss[i, k]),
                        "training accuracy": float(run.train_acc[i, k]),
                        "diverged": int(dead[i] is not None and k >= dead[i])})
    return export.table_csv(out)


st.header("Download")
key = (target, where, formula, box, name, float(lr), steps, opts)
slug = ("your-own" if where == CUSTOM else where).replace("_", "-")
st.download_button(
    "Download CSV of both runs", key="sch_download", on_click="ignore", icon=":material/download:",
    data=on_demand("schedule-runs", key, (lambda: export.runs_csv(sweep, names)) if target == "surface"
                   else network_csv),
    file_name=f"learning-rate-lab-schedule-{name}-{slug}.csv", mime="text/csv")
st.caption("One row per run and step: "
           + ("the rate that moved the run from step k to k + 1, x, y, the loss f itself (the chart "
              "above draws it minus the lowest minimum's value) and the step size"
              if target == "surface" else
              "the rate that moved the run from step k to k + 1, the training loss and accuracy")
           + ", in the engine's own numbers. It is built when you click.")
