"""The learning-rate range test ("LR finder"): grow the rate while training and read the loss."""

import numpy as np
import streamlit as st

from charts import describe, export
from charts.tuning import loss_curves_figure, range_test_figure
from engine import data, lr_finder, mlp, optimizers
from engine.scene import checked_rate_range
from engine.urlstate import Choice, Flag, Number
from ui import urlstate
from ui.downloads import on_demand
from ui.runtime import setup_jax
from ui.urlstate import init
from ui.widgets import chart_text, controls, group, optimizer_help

D = {"min_lr": lr_finder.DEFAULT_MIN_LR, "max_lr": lr_finder.DEFAULT_MAX_LR, "steps": lr_finder.DEFAULT_STEPS,
     "seeds": 3, "batch": 64}
DASH = "—"
PENDING = "pending"  # "Check it" asked for (a click or a link), before the suggestion is known
# The page's settings in its link (engine.urlstate parses them; junk warns and falls back),
# written sparsely: a value at its default is left out.
FIELDS = (
    Choice("data", data.NAMES[0], data.NAMES),
    Choice("opt", "sgd", tuple(optimizers.names())),
    Number("min", D["min_lr"]),  # any finite number: the page refuses a bad range
    Number("max", D["max_lr"]),
    Number("steps", D["steps"], lo=0, hi=1000, integer=True),
    Number("seeds", D["seeds"], lo=0, hi=8, integer=True),
    Number("batch", D["batch"], lo=0, hi=1024, integer=True),
    Number("beta", lr_finder.DEFAULT_BETA, lo=0.0, hi=0.99, step=0.01),
    Number("stop", lr_finder.DEFAULT_STOP, lo=1.5, hi=10.0, step=0.5),
    Number("skip", lr_finder.DEFAULT_SKIP, lo=0.0, hi=0.5, step=0.05),
    Flag("check", False),  # the check below is shown
)


def put_settings(v: dict) -> None:
    """Put a link's settings into the widgets' state (before they are drawn)."""
    ss = st.session_state
    ss["lrf_data"], ss["lrf_opt"] = v["data"], v["opt"]
    ss["lrf_min"], ss["lrf_max"] = float(v["min"]), float(v["max"])
    ss["lrf_steps"], ss["lrf_seeds"], ss["lrf_batch"] = v["steps"], v["seeds"], v["batch"]
    ss["lrf_beta"], ss["lrf_stop"], ss["lrf_skip"] = float(v["beta"]), float(v["stop"]), float(v["skip"])
    ss["lrf_checked"] = PENDING if v["check"] else None


def ask_check() -> None:
    st.session_state["lrf_checked"] = PENDING


@st.cache_data(max_entries=16, show_spinner=False)
def range_tests(dataset: str, min_lr: float, max_lr: float, steps: int, seeds: int, batch: int,
                beta: float, stop: float, skip: float, opt: str = "sgd"):
    """The range test per seed, trained with the optimizer ``opt`` (an engine.optimizers key)."""
    return lr_finder.range_tests(dataset, seeds=tuple(range(seeds)), min_lr=min_lr, max_lr=max_lr,
                                 steps=steps, batch_size=batch or None, beta=beta, stop_factor=stop,
                                 skip_fraction=skip, optimizer=optimizers.maker(opt))


@st.cache_data(max_entries=16, show_spinner=False)
def check_runs(dataset: str, rate: float, batch: int, opt: str = "sgd"):
    d = data.load(dataset)
    p0 = mlp.init(lr_finder.default_sizes(d), seed=0)
    return lr_finder.check(p0, d.x_train, d.y_train, rate, batch_size=batch or None,
                           optimizer=optimizers.maker(opt))


st.title("Learning-rate range test")
st.caption("Leslie Smith's test, as fastai's lr_find and torch-lr-finder run it: train for a short while "
           "with the rate growing exponentially from tiny to huge, and watch where the loss falls "
           "fastest and where it blows up.")

linked = urlstate.restore("lrf", FIELDS, sentinel="lrf_data")
if linked is not None:
    put_settings(linked)
with controls():
    dataset = st.selectbox("Data set (small MLP)", data.NAMES, key=init("lrf_data", data.NAMES[0]))
    opt = st.selectbox("Optimizer", optimizers.names(), key=init("lrf_opt", "sgd"),
                       format_func=lambda k: optimizers.get(k).label,
                       help=optimizer_help("The test, and the check below, train with this optimizer: "
                                           "a rate means something different for each."))
    min_lr = st.number_input("Smallest rate", format="%.3g", step=None, key=init("lrf_min", D["min_lr"]))
    max_lr = st.number_input("Largest rate", format="%.3g", step=None, key=init("lrf_max", D["max_lr"]))
    steps = st.number_input("Steps (the rate grows over these)", min_value=0, max_value=1000,
                            step=50, key=init("lrf_steps", D["steps"]))
    seeds = st.number_input("Seeds (initial weights and batch order)", min_value=0, max_value=8,
                            key=init("lrf_seeds", D["seeds"]))
    batch = st.number_input("Mini-batch size (0: the whole training set)", min_value=0, max_value=1024,
                            step=16, key=init("lrf_batch", D["batch"]))
    with group("How the curve is read"):
        beta = st.slider("Smoothing β (moving average)", 0.0, 0.99, step=0.01,
                         key=init("lrf_beta", lr_finder.DEFAULT_BETA))
        stop = st.slider("Stop when the smoothed loss exceeds this × its best", 1.5, 10.0, step=0.5,
                         key=init("lrf_stop", lr_finder.DEFAULT_STOP))
        skip = st.slider("Warm-up fraction left out of the slope rule", 0.0, 0.5, step=0.05,
                         key=init("lrf_skip", lr_finder.DEFAULT_SKIP))
typed = {"data": dataset, "opt": opt, "min": float(min_lr), "max": float(max_lr), "steps": int(steps),
         "seeds": int(seeds), "batch": int(batch), "beta": float(beta), "stop": float(stop),
         "skip": float(skip)}


def sync_link(checked: bool) -> None:
    """The settings (and whether the check is shown) into the URL; the link's warnings shown."""
    with notes:
        for w in urlstate.sync("lrf", {**typed, "check": checked}, FIELDS, sparse=True):
            st.warning(f"In the link: {w}", icon=":material/link:")

min_lr, max_lr, problem = checked_rate_range(min_lr, max_lr, (D["min_lr"], D["max_lr"]))
problems = [problem] if problem else []
if steps < 2:
    problems.append(f"The range test needs at least 2 steps to grow the rate. Using {D['steps']}.")
    steps = D["steps"]
if seeds < 1:
    problems.append(f"The test needs at least one seed. Using {D['seeds']}.")
    seeds = D["seeds"]
notes = st.container()  # the link's warnings, once the suggestion (and the check) is known
for p in problems:
    st.warning(p, icon=":material/warning:")
min_lr, max_lr, steps, seeds, batch = float(min_lr), float(max_lr), int(steps), int(seeds), int(batch)

setup_jax()
try:
    with st.spinner(f"Running the range test on {dataset} with {optimizers.get(opt).label}: {steps} "
                    "steps with the rate growing from "
                    f"{min_lr:g} to {max_lr:g}, for {seeds} seed(s)…"):
        res = range_tests(dataset, min_lr, max_lr, steps, seeds, batch, float(beta), float(stop),
                          float(skip), opt)
except ValueError as e:  # e.g. the loss blew up at once: say so and stop here
    sync_link(st.session_state.get("lrf_checked") == PENDING)
    st.error(f"{e}", icon=":material/error:")
    st.stop()
t = res.tests[0]
rate = float(t.suggestion)
key = (dataset, rate, batch, opt)  # the check shown: trained at this suggestion
if st.session_state.get("lrf_checked") == PENDING:
    st.session_state["lrf_checked"] = key
sync_link(st.session_state.get("lrf_checked") == key)

seed_labels = [f"seed {s}" for s in res.seeds]
st.plotly_chart(range_test_figure(res.tests, seed_labels), key="lrf_curve")
chart_text(describe.range_test_text(res.tests, seed_labels))

c1, c2, c3 = st.columns(3)
c1.metric("Steepest descent (seed 0)", "—" if t.steepest is None else f"{t.steepest:.3g}")
c2.metric("Minimum / 10 (seed 0)", f"{t.min_lr_10:.3g}")
mean, lo, hi = res.spread("suggestion")
c3.metric(f"Suggestion over {seeds} seed(s)", f"{mean:.3g}",
          help="Geometric mean of each seed's suggestion (steepest descent, else minimum / 10).")
lines = []
if t.steepest is not None:
    lines.append(f"- **Steepest descent, {t.steepest:.3g}**: where the smoothed loss falls fastest "
                 "against log(rate): the rate at which training makes the most progress per step.")
lines.append(f"- **Minimum / 10, {t.min_lr_10:.3g}**: the smoothed loss is lowest at "
             f"{t.lrs[t.min_index]:.3g}, already on the edge of blowing up; a tenth of it leaves a margin.")
lines.append(f"- The test ended because {t.stop_reason} The weights are left as they were: training "
             "here is a pure function of the starting weights, so nothing needs restoring.")
st.markdown("\n".join(lines))
for note in t.notes:
    st.caption(note)
if seeds > 1:
    st.markdown(f"Across {seeds} seeds the suggestion ranges from **{lo:.3g} to {hi:.3g}** "
                f"(a factor of {hi / lo:.2g}).")
    st.dataframe([{"seed": s, "steepest descent": DASH if x.steepest is None else f"{x.steepest:.3g}",
                   "minimum / 10": f"{x.min_lr_10:.3g}",
                   "points kept": len(x.lrs), "ended because": x.stop_reason}
                  for s, x in zip(res.seeds, res.tests, strict=True)], hide_index=True)



def curve_rows() -> list[dict]:
    """Every seed's curve as the chart draws it: the rate at each kept step, the raw loss and
    the smoothed loss."""
    return [{"seed": s, "step": k, "rate": float(x.lrs[k]), "loss": float(x.raw[k]),
             "smoothed loss": float(x.smoothed[k])}
            for s, x in zip(res.seeds, res.tests, strict=True) for k in range(len(x.lrs))]


settings = (dataset, min_lr, max_lr, steps, seeds, batch, float(beta), float(stop), float(skip), opt)
st.download_button(
    "Download CSV of the curves", key="lrf_download", on_click="ignore", icon=":material/download:",
    data=on_demand("range-test", settings, lambda: export.table_csv(curve_rows())),
    file_name=f"learning-rate-lab-range-test-{dataset}-{opt}.csv", mime="text/csv")
st.caption("One row per seed and step kept: the rate, the training loss after that step and its "
           "smoothed value (the curves above), in the engine's own numbers. Built when you click.")

st.header("Check it")
st.write(f"Train the network from the same start with {optimizers.get(opt).label} for "
         f"{lr_finder.CHECK_STEPS} steps at the suggestion ({rate:.3g}), at 10× and at 0.1×.")
st.button("Check it", icon=":material/play_arrow:", key="lrf_check", on_click=ask_check)
if st.session_state.get("lrf_checked") == key:
    with st.spinner(f"Training at {rate:.3g}, {10 * rate:.3g} and {rate / 10:.3g} "
                    f"for {lr_finder.CHECK_STEPS} steps…"):
        run = check_runs(dataset, rate, batch, opt)
    labels = [f"suggestion {rate:.3g}", f"10× {10 * rate:.3g}", f"0.1× {rate / 10:.3g}"]
    dead = [int(x) if x >= 0 else None for x in run.diverged_at]
    st.plotly_chart(loss_curves_figure(list(zip(labels, run.train_loss, strict=True)),
                                       "Training loss: the suggestion against 10× and 0.1×",
                                       "training loss", diverged_at=dead), key="lrf_check_fig")
    chart_text(describe.curves_text("Training loss against step", labels, run.train_loss, dead))
    final = [np.inf if d is not None else float(f) for d, f in zip(dead, run.train_loss[:, -1], strict=True)]
    verdict = ("All three blew up" if not np.isfinite(min(final)) else
               {0: "The suggestion won", 1: "10× the suggestion did better",
                2: "0.1× the suggestion did better"}[int(np.argmin(final))])
    parts = [f"{lab}: {'blew up at step ' + str(d) if d is not None else f'{f:.3g}'}"
             for lab, d, f in zip(labels, dead, run.train_loss[:, -1], strict=True)]
    st.markdown(f"**{verdict}.** Final training loss after {lr_finder.CHECK_STEPS} steps — "
                + "; ".join(parts) + ".")
