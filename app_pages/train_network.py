"""Network training: a small MLP on a bundled data set at up to four rates, in one vmapped call."""

import time
from functools import partial

import numpy as np
import streamlit as st

from charts import describe, export
from charts.networks import (
    boundary_figure,
    digits_figure,
    noise_sentences,
    sharpness_figure,
    sharpness_sentence,
    summarize_noise,
    summarize_sharpness,
    training_curves_figure,
)
from charts.style import rate_label
from engine import data, mlp, networks, optimizers
from engine.urlstate import Choice, Flag, Number, Numbers, fmt
from ui import urlstate
from ui.downloads import on_demand
from ui.runtime import setup_jax
from ui.urlstate import init
from ui.widgets import chart_text, controls, dark_page, optimizer_help, regime_badge, smaller_rates_note

DEFAULT_RATES = (0.01, 0.1, 1.0, 10.0)
# Each optimizer's default rates, a decade apart: momentum 0.9 moves about 10x farther per step
# on a steady gradient, and the adaptive ones take steps of roughly lr per weight.
RATES_BY_OPT = {"sgd": DEFAULT_RATES, "momentum": (0.001, 0.01, 0.1, 1.0),
                "nesterov": (0.001, 0.01, 0.1, 1.0), "adagrad": (0.001, 0.01, 0.1, 1.0),
                "rmsprop": (0.0001, 0.001, 0.01, 0.1), "adam": (0.0001, 0.001, 0.01, 0.1),
                "adamw": (0.0001, 0.001, 0.01, 0.1)}
DEFAULT_HIDDEN = {"digits": (32,), "moons": (16, 16), "circles": (16, 16), "spiral": (32, 32)}
STEP_CHOICES = (50, 100, 150, 200, 250, 300, 400, 500, 750, 1000)
BATCHES = {"full batch": None, "32": 32, "64": 64, "128": 128}
BATCH_URL = {"full batch": "full", "32": "32", "64": "64", "128": "128"}  # label -> URL value
N_FRAMES = 40
GRID = 40
ACTIVATIONS = tuple(mlp.ACTIVATIONS)
# The page's settings in its link (engine.urlstate parses them, junk warns and falls back).
FIELDS = (
    Choice("data", "moons", data.NAMES),
    Numbers("hidden", lambda v: DEFAULT_HIDDEN[v["data"]], lo=1, hi=256, integer=True,
            max_items=3, unique=False),
    Choice("opt", "sgd", tuple(optimizers.names())),
    Numbers("lr", lambda v: RATES_BY_OPT.get(v["opt"], DEFAULT_RATES), lo=1e-4, hi=10.0,
            max_items=4),
    Number("steps", 300, integer=True, choices=STEP_CHOICES),
    Choice("batch", "full", tuple(BATCH_URL.values())),
    Number("momentum", 0.0, lo=0.0, hi=0.95, step=0.05),
    Choice("act", ACTIVATIONS[0], ACTIVATIONS),
    Number("seed", 0, lo=0, hi=10_000, integer=True),
    Flag("sharp", False),
    Number("show", lambda v: min(1, len(v["lr"]) - 1), lo=0, hi=lambda v: len(v["lr"]) - 1,
           integer=True),
)


def rates_key(opt: str) -> str:
    """Each optimizer keeps its own rates box."""
    return "nt_rates" if opt == "sgd" else f"nt_rates_{opt}"


def put_settings(v: dict) -> None:
    """Put a link's settings into the widgets' state (before they are drawn)."""
    ss = st.session_state
    ss["nt_data"], ss["nt_opt"] = v["data"], v["opt"]
    ss[f"nt_hidden_{v['data']}"] = ", ".join(map(str, v["hidden"]))
    ss[rates_key(v["opt"])] = ", ".join(map(fmt, v["lr"]))
    ss["nt_steps"], ss["nt_momentum"], ss["nt_act"] = v["steps"], v["momentum"], v["act"]
    ss["nt_batch"] = next(k for k, u in BATCH_URL.items() if u == v["batch"])
    ss["nt_seed"], ss["nt_sharp"], ss["nt_pick"] = v["seed"], v["sharp"], v["show"]


@st.cache_data(max_entries=32, show_spinner=False)
def cached_train(name, hidden, rates, steps, batch, seed, momentum, activation, opt="sgd"):
    """Curves, regimes and final test predictions for one configuration (``opt``: an
    engine.optimizers key)."""
    d = data.load(name, seed)
    p0 = mlp.init((d.n_features, *hidden, d.n_classes), seed)
    run = mlp.train(p0, d.x_train, d.y_train, list(rates), steps, evals=[(d.x_val, d.y_val)],
                    momentum=momentum, batch_size=batch, seed=seed, activation=activation,
                    optimizer=optimizers.maker(opt))
    regimes = [networks.diagnose_curve(run.train_loss[i], int(run.diverged_at[i])).regime.value
               for i in range(len(rates))]
    preds = np.stack([np.asarray(np.argmax(mlp.predict(run.params_at(i), d.x_val, activation), -1))
                      for i in range(len(rates))])
    return run, regimes, preds


@st.cache_data(max_entries=16, show_spinner=False)
def cached_boundaries(name, hidden, rates, steps, batch, seed, momentum, activation, opt="sgd"):
    """Predicted class on a grid at N_FRAMES steps, per rate (2-D data sets only)."""
    d = data.load(name, seed)
    p0 = mlp.init((d.n_features, *hidden, d.n_classes), seed)
    snaps = networks.train_snapshots(p0, d.x_train, d.y_train, list(rates), steps, n_frames=N_FRAMES,
                                     momentum=momentum, batch_size=batch, seed=seed,
                                     activation=activation, optimizer=optimizers.maker(opt))
    xs, ys = networks.grid_axes(d.x_train, GRID)
    return xs, ys, networks.grid_classes(snaps, xs, ys, activation), snaps.steps


@st.cache_data(max_entries=16, show_spinner=False)
def cached_sharpness(name, hidden, rates, steps, seed, activation):
    """Largest Hessian eigenvalue at 40 steps of full-batch plain gradient descent, per rate."""
    d = data.load(name, seed)
    p0 = mlp.init((d.n_features, *hidden, d.n_classes), seed)
    snaps = networks.train_snapshots(p0, d.x_train, d.y_train, list(rates), steps, n_frames=N_FRAMES,
                                     seed=seed, activation=activation)
    return snaps.steps, networks.sharpness_track(snaps, d.x_train, d.y_train, activation=activation), \
        snaps.diverged_at


setup_jax()
linked = urlstate.restore("nt", FIELDS, sentinel="nt_data")
if linked is not None:
    put_settings(linked)
st.title("Network training")
st.caption("A small neural network (a multilayer perceptron) learns a data set at up to four "
           "learning rates at once. Every curve, badge and number below is measured from these runs.")

with controls():  # the sidebar; on a phone, an expander here, above the chart
    st.header("Network")
    name = st.selectbox("Data set", data.NAMES, key=init("nt_data", "moons"),
                        format_func=lambda n: {"digits": "digits (8×8 images, 10 classes)",
                                               "moons": "two moons", "circles": "circles",
                                               "spiral": "spiral (3 arms)"}[n])
    hidden_text = st.text_input("Hidden layers (units, comma-separated)",
                                key=init(f"nt_hidden_{name}", ", ".join(map(str, DEFAULT_HIDDEN[name]))),
                                help="e.g. 16, 16 for two hidden layers of 16 units",
                                max_chars=networks.MAX_LIST_CHARS)
    opt = st.selectbox("Optimizer", optimizers.names(), key=init("nt_opt", "sgd"),
                       format_func=lambda k: optimizers.get(k).label,
                       help=optimizer_help("Each optimizer keeps its own rates here, starting from a "
                                           "range that suits it."))
    default_rates = RATES_BY_OPT.get(opt, DEFAULT_RATES)
    rates_text = st.text_input("Learning rates (up to four)",
                               key=init(rates_key(opt), ", ".join(f"{r:g}" for r in default_rates)),
                               help="Numbers from 0.0001 to 10, comma-separated.",
                               max_chars=networks.MAX_LIST_CHARS)
    if (note := smaller_rates_note(opt, default_rates, DEFAULT_RATES)) is not None:
        st.caption(note)
    steps = st.select_slider("Training steps", STEP_CHOICES, key=init("nt_steps", 300))
    batch_label = st.selectbox("Batch", list(BATCHES), key=init("nt_batch", "full batch"),
                               help="Full batch uses every training example each step; a mini-batch "
                                    "draws a seeded random sample.")
    if opt == "sgd":
        momentum = st.slider("Momentum β (plain SGD only)", 0.0, 0.95, step=0.05,
                             key=init("nt_momentum", 0.0))
    else:
        momentum = 0.0
        st.caption(f"The momentum slider is for plain SGD; {optimizers.get(opt).label} runs with "
                   f"optax's own settings ({optimizers.get(opt).description}).")
    activation = st.radio("Activation", ACTIVATIONS, horizontal=True,
                          key=init("nt_act", ACTIVATIONS[0]))
    seed = int(st.number_input("Seed", 0, 10_000, key=init("nt_seed", 0)))
    show_sharpness = st.checkbox("Track sharpness (edge of stability)", key=init("nt_sharp", False),
                                 help="The largest eigenvalue of the loss's Hessian during full-batch "
                                      "training, against 2/lr.")

hidden, hidden_warnings = networks.parse_hidden(hidden_text, DEFAULT_HIDDEN[name])
rates, rate_warnings = networks.parse_rates(rates_text, default_rates)
# The rate whose decision regions (or digit predictions) are shown: a valid index, picked below.
if st.session_state.get("nt_pick") not in range(len(rates)):
    st.session_state["nt_pick"] = min(1, len(rates) - 1)
link_warnings = urlstate.sync("nt", {
    "data": name, "hidden": hidden, "opt": opt, "lr": rates, "steps": int(steps),
    "batch": BATCH_URL[batch_label], "momentum": float(momentum), "act": activation, "seed": seed,
    "sharp": bool(show_sharpness), "show": int(st.session_state["nt_pick"])}, FIELDS)
for w in link_warnings:
    st.warning(f"In the link: {w}", icon=":material/link:")
for w in hidden_warnings + rate_warnings:
    st.warning(w, icon=":material/warning:")
batch = BATCHES[batch_label]
config = (name, hidden, rates, int(steps), batch, seed, float(momentum), activation, opt)

d = data.load(name, seed)
arch = " → ".join(map(str, (d.n_features, *hidden, d.n_classes)))
t0 = time.perf_counter()
with st.spinner(f"Training a {arch} network with {optimizers.get(opt).label} at {len(rates)} "
                f"rate(s) for {steps} steps "
                "(the first run of a shape also compiles it)…"):
    run, regimes, preds = cached_train(*config)
elapsed = time.perf_counter() - t0

for col, lr, regime in zip(st.columns(len(rates)), rates, regimes, strict=True):
    with col:
        regime_badge(regime, label=f"{rate_label(lr)}: ")

st.plotly_chart(training_curves_figure(run, rates), key="nt_curves")
chart_text(describe.training_text_of(run, [rate_label(lr) for lr in rates]))

DASH = "—"
rows = []
for i, lr in enumerate(rates):
    dead = int(run.diverged_at[i])
    live_run = dead < 0  # a diverged run reports no loss or accuracy: it stopped before the end
    rows.append({"rate": lr, "regime": regimes[i],
                 "final training loss": float(run.train_loss[i, -1]) if live_run else None,
                 "final validation accuracy (%)":
                     100 * float(run.eval_acc[i, 0, -1]) if live_run else None,
                 "best validation accuracy (%)":
                     100 * float(run.eval_acc[i, 0].max()) if live_run else None,
                 "diverged at step": None if live_run else dead})
# Numbers stay numbers (right-aligned, sorted by value); what a run does not have shows a dash.
st.dataframe(rows, hide_index=True, placeholder=DASH, column_config={
    "rate": st.column_config.NumberColumn(format="%.4g"),
    "final training loss": st.column_config.NumberColumn(format="%.4g"),
    "final validation accuracy (%)": st.column_config.NumberColumn(format="%.1f"),
    "best validation accuracy (%)": st.column_config.NumberColumn(format="%.1f"),
    "diverged at step": st.column_config.NumberColumn(format="%d")})
live = [i for i in range(len(rates)) if run.diverged_at[i] < 0]
if live:
    best = max(live, key=lambda i: float(run.eval_acc[i, 0, -1]))
    st.write(f"Best validation accuracy after {steps} steps: **{rate_label(rates[best])}** "
             f"({100 * float(run.eval_acc[best, 0, -1]):.1f}%).")
else:
    st.write("Every rate diverged: try smaller ones.")
st.caption(f"Regimes are read from the training-loss curve: diverged (loss non-finite or above "
           f"{mlp.DIVERGENCE_FACTOR:g}× its start; the run stops there), oscillating (the loss rises on "
           "at least 10% of steps), slow (still falling clearly at the end), otherwise converged. "
           f"Computed in {elapsed:.2f} s.")


def curves_csv(run, rates, steps: int, opt: str) -> str:
    """Every run at every step as CSV, as the curves above draw them: training loss and
    accuracy, validation loss and accuracy (accuracies as fractions). From the step where a
    run diverged its cells are empty: the run stopped there (the engine keeps its last good
    weights) and the chart stops there too."""
    out = []
    panels = {"training loss": run.train_loss, "training accuracy": run.train_acc,
              "validation loss": run.eval_loss[:, 0], "validation accuracy": run.eval_acc[:, 0]}
    for i, lr in enumerate(rates):
        dead = int(run.diverged_at[i])
        for k in range(steps + 1):
            gone = 0 <= dead <= k
            row = {"run": i + 1, "rate": float(lr), "optimizer": opt, "step": k}
            row.update({col: None if gone else float(curves[i, k]) for col, curves in panels.items()})
            out.append({**row, "diverged": int(gone)})
    return export.table_csv(out)


slug = f"{name}-{opt}"
d1, d2 = st.columns(2)
d1.download_button(
    "Download CSV of the curves", key="nt_download_curves", on_click="ignore",
    icon=":material/download:",
    data=on_demand("network-curves", config, partial(curves_csv, run, rates, int(steps), opt)),
    file_name=f"learning-rate-lab-network-{slug}.csv", mime="text/csv", use_container_width=True)
d2.download_button(
    "Download CSV of the table", key="nt_download_table", on_click="ignore",
    icon=":material/download:", data=on_demand("network-table", config,
                                               partial(export.table_csv, rows)),
    file_name=f"learning-rate-lab-network-{slug}-table.csv", mime="text/csv",
    use_container_width=True)
st.caption("The curves' CSV has one row per rate and step: the rate, optimizer, training loss "
           "and accuracy, validation loss and accuracy (accuracies from 0 to 1), in the engine's "
           "own numbers; from the step where a run diverged its cells are empty and `diverged` "
           "is 1. The table's CSV is the table above. Each file is built when you click.")

st.header("Mini-batch noise")
if batch is None:
    st.caption("Full batches: every step uses the exact gradient of the training loss, so a stable "
               "rate has no noise floor to settle on. Pick a mini-batch size to measure what noise "
               "adds at each rate (against full-batch training at the same rates).")
else:
    with st.spinner("Training the same rates with full batches, to compare…"):
        full, _, _ = cached_train(name, hidden, rates, int(steps), None, seed, float(momentum),
                                  activation, opt)
    noise = summarize_noise(run.train_loss, full.train_loss, rates, run.diverged_at, full.diverged_at)
    st.markdown(" ".join(noise_sentences(noise, run.train_loss, batch)))

if d.n_features == 2:
    st.header("Decision regions during training")
    pick = st.segmented_control("Rate", list(range(len(rates))),
                                format_func=lambda i: rate_label(rates[i]), key="nt_pick")
    pick = 0 if pick is None else int(pick)
    with st.spinner(f"Recording the decision regions at {N_FRAMES} steps…"):
        xs, ys, classes, frame_steps = cached_boundaries(*config)
    st.plotly_chart(boundary_figure(d.x_val, d.y_val, xs, ys, classes[pick], frame_steps,
                                    title=f"{rate_label(rates[pick])}: validation points on the "
                                          "predicted regions", dark=dark_page()), key="nt_boundary")
    chart_text(describe.boundary_text(rate_label(rates[pick]), d.x_val, d.y_val, xs, ys, classes[pick],
                                      frame_steps))
    if run.diverged_at[pick] >= 0:
        st.caption(f"This rate diverged at step {int(run.diverged_at[pick])}; the regions stay as "
                   "they were just before.")
else:
    st.header("Validation images and predicted labels")
    pick = st.segmented_control("Rate", list(range(len(rates))),
                                format_func=lambda i: rate_label(rates[i]), key="nt_pick")
    pick = 0 if pick is None else int(pick)
    n_show = 40
    wrong = int(np.sum(preds[pick][:n_show] != d.y_val[:n_show]))
    st.plotly_chart(digits_figure(d.x_val[:n_show], d.y_val[:n_show], preds[pick][:n_show],
                                  dark=dark_page()), key="nt_digits")
    chart_text(describe.digits_text(d.y_val[:n_show], preds[pick][:n_show]))
    if run.diverged_at[pick] >= 0:
        st.caption(f"{rate_label(rates[pick])} diverged at step {int(run.diverged_at[pick])}: these "
                   "labels come from the weights just before, not from a trained network.")
    else:
        st.caption(f"{rate_label(rates[pick])}: {wrong} of these {n_show} validation images are "
                   "misclassified (red: predicted label, true label in brackets).")

if show_sharpness:
    st.header("Sharpness and the edge of stability")
    differs = [what for what, on in (("mini-batches", batch is not None),
                                     (f"momentum {momentum:g}", momentum > 0),
                                     (optimizers.get(opt).label, opt != "sgd")) if on]
    if differs:
        st.info("Sharpness is tracked for full-batch plain gradient descent, the case where 2/lr is "
                f"the stability limit; these curves use it instead of {' and '.join(differs)}.",
                icon=":material/info:")
    with st.spinner("Power iteration on Hessian-vector products at 40 steps per rate…"):
        s_steps, sharp, s_dead = cached_sharpness(name, hidden, rates, int(steps), seed, activation)
    st.plotly_chart(sharpness_figure(s_steps, sharp, rates, s_dead), key="nt_sharpness")
    chart_text(describe.sharpness_text([rate_label(lr) for lr in rates], s_steps, sharp, rates, s_dead))
    st.markdown(" ".join(sharpness_sentence(summarize_sharpness(s_steps, sharp[i], lr, int(s_dead[i])))
                         for i, lr in enumerate(rates)))
    st.caption("Gradient descent on a quadratic is stable only while sharpness (the largest "
               "curvature) stays below 2/lr. Cohen et al. (2021) found that full-batch training of "
               "larger networks often pushes sharpness up to 2/lr and holds it there, the \"edge of "
               "stability\"; the sentences above say what these runs did.")
