"""Fine-tuning: pre-train on task A, fine-tune on task B at up to four rates, measure what is kept."""

import time
from functools import partial

import streamlit as st

from charts import describe, export
from charts.networks import finetune_figure, pretrain_figure
from charts.style import rate_label
from engine import finetune, networks, optimizers
from engine.urlstate import Choice, Flag, Number, Numbers, fmt
from ui import urlstate
from ui.downloads import on_demand
from ui.runtime import setup_jax
from ui.urlstate import init
from ui.widgets import chart_text, controls, on_phone, optimizer_help, smaller_rates_note

DEFAULT_UNITS = finetune.DEFAULT_HIDDEN[0]
STEP_CHOICES = (50, 100, 150, 200, 250, 300, 400, 500)
SCALES = (1.0, 0.3, 0.1, 0.03, 0.01)
BATCHES = {"full batch": None, "32": 32, "64": 64, "128": 128}
# Each optimizer's default rates: momentum 0.9 moves about 10x farther per step on a steady
# gradient, and the adaptive ones take steps of roughly lr per weight.
RATES_BY_OPT = {"sgd": finetune.DEFAULT_RATES, "momentum": (0.001, 0.01, 0.05, 0.1),
                "nesterov": (0.001, 0.01, 0.05, 0.1), "adagrad": (0.001, 0.01, 0.1, 1.0),
                "rmsprop": (0.0001, 0.001, 0.01, 0.1), "adam": (0.0001, 0.001, 0.01, 0.1),
                "adamw": (0.0001, 0.001, 0.01, 0.1)}
DASH = "—"
HEAD_TITLES = {"new": "new head for task B (keep A's head)",
               "shared": "shared head (B's digits reuse A's outputs)"}
BATCH_URL = {"full batch": "full", "32": "32", "64": "64", "128": "128"}  # label -> URL value
# The page's settings in its link (engine.urlstate parses them, junk warns and falls back).
FIELDS = (
    Numbers("a", finetune.DEFAULT_A, lo=0, hi=9, integer=True, max_items=10),
    Numbers("b", finetune.DEFAULT_B, lo=0, hi=9, integer=True, max_items=10),
    Number("units", DEFAULT_UNITS, lo=1, hi=128, integer=True),
    Choice("head", "new", tuple(HEAD_TITLES)),
    Choice("opt", "sgd", tuple(optimizers.names())),
    Numbers("lr", lambda v: RATES_BY_OPT.get(v["opt"], finetune.DEFAULT_RATES), lo=1e-4, hi=10.0,
            max_items=4),
    Number("steps", 200, integer=True, choices=STEP_CHOICES),
    Flag("freeze", False),
    Number("scale", 1.0, choices=SCALES),
    Number("warmup", 0, lo=0, hi=100, integer=True, step=5),
    Choice("batch", "full", tuple(BATCH_URL.values())),
    Number("seed", 0, lo=0, hi=10_000, integer=True),
    Flag("compare", False),
)


@st.cache_resource(show_spinner=False)
def cached_pretrain(classes_a, classes_b, units, seed):
    """The network pre-trained on task A: once per process and setting."""
    return finetune.pretrain(classes_a, classes_b, (units, units), seed)


@st.cache_data(max_entries=64, show_spinner=False)
def cached_finetune(classes_a, classes_b, units, seed, rates, steps, head, freeze, scale, warmup,
                    batch, opt="sgd"):
    """Fine-tuning runs for one setting; ``opt`` is an engine.optimizers key."""
    pre = cached_pretrain(classes_a, classes_b, units, seed)
    return finetune.finetune(pre, rates, steps, head=head, freeze_lower=freeze, lower_scale=scale,
                             warmup=warmup, batch_size=batch, seed=seed,
                             optimizer=optimizers.maker(opt))


def pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def rates_key(opt: str) -> str:
    """Each optimizer keeps its own rates box."""
    return "ft_rates" if opt == "sgd" else f"ft_rates_{opt}"


def put_settings(v: dict) -> None:
    """Put a link's settings into the widgets' state (before they are drawn)."""
    ss = st.session_state
    ss["ft_a"], ss["ft_b"] = list(v["a"]), list(v["b"])
    ss["ft_units"], ss["ft_head"], ss["ft_opt"] = v["units"], v["head"], v["opt"]
    ss[rates_key(v["opt"])] = ", ".join(map(fmt, v["lr"]))
    ss["ft_steps"], ss["ft_freeze"], ss["ft_scale"] = v["steps"], v["freeze"], v["scale"]
    ss["ft_warmup"], ss["ft_seed"], ss["ft_compare"] = v["warmup"], v["seed"], v["compare"]
    ss["ft_batch"] = next(k for k, u in BATCH_URL.items() if u == v["batch"])


setup_jax()
linked = urlstate.restore("ft", FIELDS, sentinel="ft_a")
if linked is not None:
    put_settings(linked)
st.title("Fine-tuning without forgetting")
st.caption("A network learns task A, then is fine-tuned on task B. A small learning rate changes the "
           "weights little; a large one can overwrite what the network knew (catastrophic "
           "forgetting). Everything below is measured from the runs shown.")

with controls():  # the sidebar; on a phone, an expander here, above the chart
    st.header("Tasks")
    a_pick = st.multiselect("Task A digits (pre-training)", list(range(10)),
                            key=init("ft_a", list(finetune.DEFAULT_A)))
    b_pick = st.multiselect("Task B digits (fine-tuning)", list(range(10)),
                            key=init("ft_b", list(finetune.DEFAULT_B)))
    units = int(st.number_input("Hidden units per layer (two layers)", 0, 128,
                                key=init("ft_units", DEFAULT_UNITS)))
    head = st.radio("Head", list(HEAD_TITLES), format_func=HEAD_TITLES.get,
                    key=init("ft_head", "new"))
    st.header("Fine-tuning")
    opt = st.selectbox("Optimizer", optimizers.names(), key=init("ft_opt", "sgd"),
                       format_func=lambda k: optimizers.get(k).label,
                       help=optimizer_help("Pre-training always uses plain SGD; this is the "
                                           "fine-tuning optimizer. Each keeps its own rates here."))
    default_rates = RATES_BY_OPT.get(opt, finetune.DEFAULT_RATES)
    rates_text = st.text_input("Learning rates (up to four)",
                               key=init(rates_key(opt), ", ".join(f"{r:g}" for r in default_rates)),
                               help="Numbers from 0.0001 to 10, comma-separated.",
                               max_chars=networks.MAX_LIST_CHARS)
    if (note := smaller_rates_note(opt, default_rates, finetune.DEFAULT_RATES)) is not None:
        st.caption(note)
    steps = st.select_slider("Fine-tuning steps", STEP_CHOICES, key=init("ft_steps", 200))
    freeze = st.checkbox("Freeze the lower layers (train only the head)",
                         key=init("ft_freeze", False))
    scale = st.select_slider("Lower layers' rate × (discriminative rates)", SCALES,
                             key=init("ft_scale", 1.0), disabled=freeze,
                             help="The hidden layers learn at this fraction of the head's rate.")
    warmup = st.slider("Warmup steps (rate ramps up from 0)", 0, 100, step=5,
                       key=init("ft_warmup", 0))
    batch_label = st.selectbox("Batch", list(BATCHES), key=init("ft_batch", "full batch"))
    seed = int(st.number_input("Seed", 0, 10_000, key=init("ft_seed", 0)))

warnings = []
try:
    classes_a, classes_b = finetune.check_split(a_pick, b_pick)
except ValueError as err:
    warnings.append(f"{err} Using the default split: digits 0–4, then 5–9.")
    classes_a, classes_b = finetune.DEFAULT_A, finetune.DEFAULT_B
if units < 1:
    warnings.append(f"The network needs at least one hidden unit per layer; using {DEFAULT_UNITS}.")
    units = DEFAULT_UNITS
if head == "shared" and len(classes_b) > len(classes_a):
    warnings.append("A shared head needs task B to have no more digits than task A; "
                    "using a new head.")
    head = "new"
rates, rate_warnings = networks.parse_rates(rates_text, default_rates)
warnings += rate_warnings
warmup = min(int(warmup), int(steps))
link_warnings = urlstate.sync("ft", {
    "a": classes_a, "b": classes_b, "units": units, "head": head, "opt": opt, "lr": rates,
    "steps": int(steps), "freeze": bool(freeze), "scale": float(scale), "warmup": int(warmup),
    "batch": BATCH_URL[batch_label], "seed": seed,
    "compare": bool(st.session_state.get("ft_compare", False))}, FIELDS)
for w in link_warnings:
    st.warning(f"In the link: {w}", icon=":material/link:")
for w in warnings:
    st.warning(w, icon=":material/warning:")

digits_a = ", ".join(map(str, classes_a))
digits_b = ", ".join(map(str, classes_b))
with st.spinner(f"Pre-training 64 → {units} → {units} → {len(classes_a)} on digits {digits_a} "
                "(once per process)…"):
    pre = cached_pretrain(classes_a, classes_b, units, seed)
t0 = time.perf_counter()
with st.spinner(f"Fine-tuning with {optimizers.get(opt).label} at {len(rates)} rate(s) for {steps} "
                f"steps on digits {digits_b} (the first run of a shape also compiles it)…"):
    run = cached_finetune(classes_a, classes_b, units, seed, rates, int(steps), head, freeze,
                          float(scale), warmup, BATCHES[batch_label], opt)
elapsed = time.perf_counter() - t0

verdict = finetune.verdict(run)
if verdict.kept_most is None:
    st.error("Every rate diverged during fine-tuning, so none kept or learned anything "
             "worth comparing. Try smaller rates.", icon=":material/error:")
else:
    k, f = verdict.kept_most, verdict.learned_fastest
    kept = (f"**Kept the most of task A: {rate_label(rates[k])}**: task A accuracy "
            f"{pct(run.a_acc[k, 0])} → {pct(run.a_acc[k, -1])}.")
    if verdict.fastest_steps is not None:
        fast = (f"**Learned task B fastest: {rate_label(rates[f])}**: {pct(verdict.level)} task B "
                f"accuracy after {verdict.fastest_steps} steps.")
    else:
        fast = (f"**Learned task B fastest: {rate_label(rates[f])}**: no rate reached "
                f"{pct(verdict.level)} on task B; this one got furthest ({pct(run.b_acc[f, -1])}).")
    st.markdown(kept + "  \n" + fast)

st.plotly_chart(finetune_figure(run, narrow=on_phone()), key="ft_curves")
chart_text(describe.finetune_text_of(run, [rate_label(lr) for lr in rates]))
# The tasks and the starting point under the chart, so the chart starts in a phone's first screen.
c1, c2, c3 = st.columns(3)
c1.metric("Task A accuracy after pre-training", pct(float(pre.val_acc[-1])))
c2.metric("Task A", f"digits {digits_a}")
c3.metric("Task B", f"digits {digits_b}")

reach = run.steps_to_learn()
rows = []
for i, lr in enumerate(rates):
    ok = run.diverged_at[i] < 0  # a diverged run is frozen: its accuracies are not a result
    rows.append({"rate": lr,
                 "task A accuracy (%)": 100 * float(run.a_acc[i, -1]) if ok else None,
                 "task A drop (points)": 100 * float(run.a_drop()[i]) if ok else None,
                 "task B accuracy (%)": 100 * float(run.b_acc[i, -1]) if ok else None,
                 f"steps to {pct(verdict.level)} on B": reach[i] if ok else None,
                 "diverged at step": None if ok else int(run.diverged_at[i])})
# Numbers stay numbers (right-aligned, sorted by value); what a run does not have shows a dash.
ONE_DECIMAL = st.column_config.NumberColumn(format="%.1f")
WHOLE = st.column_config.NumberColumn(format="%d")
st.dataframe(rows, hide_index=True, placeholder=DASH, column_config={
    "rate": st.column_config.NumberColumn(format="%.4g"), "task A accuracy (%)": ONE_DECIMAL,
    "task A drop (points)": ONE_DECIMAL, "task B accuracy (%)": ONE_DECIMAL,
    f"steps to {pct(verdict.level)} on B": WHOLE, "diverged at step": WHOLE})
dead_rates = [rate_label(rates[i]) for i in range(len(rates)) if run.diverged_at[i] >= 0]
st.caption(("Diverged (the run stops at its last good step and is left out of the comparison): "
            + ", ".join(dead_rates) + ". " if dead_rates else "")
           + f"Accuracies are on held-out validation images ({len(pre.tasks.ya_val)} of task A, "
           f"{len(pre.tasks.yb_val)} of task B). "
           + ("Task A is measured with the fine-tuned lower layers and A's own head, so its drop is "
              "caused by the lower layers moving. " if head == "new" else
              "Task A is measured with the fine-tuned network and its shared head. ")
           + f"Fine-tuning computed in {elapsed:.2f} s.")


def curves_csv(run, opt: str) -> str:
    """Every fine-tuning run at every step as CSV: the rate used at that step (after warmup;
    the lower layers move at it times their multiplier), task B's validation accuracy and
    loss and training loss, task A's validation accuracy and loss (accuracies as fractions).
    From the step where a run diverged its cells are empty: the run stopped there and the
    chart stops there too."""
    out = []
    panels = {"task B accuracy": run.b_acc, "task B loss": run.b_loss,
              "task B training loss": run.b_train_loss, "task A accuracy": run.a_acc,
              "task A loss": run.a_loss}
    for i, lr in enumerate(run.rates):
        dead = int(run.diverged_at[i])
        for k in range(run.steps + 1):
            gone = 0 <= dead <= k
            row = {"run": i + 1, "rate": float(lr), "optimizer": opt, "step": k,
                   "rate at this step": float(run.lrs[i, k]) if k < run.steps else None}
            row.update({col: None if gone else float(curves[i, k]) for col, curves in panels.items()})
            out.append({**row, "diverged": int(gone)})
    return export.table_csv(out)


setting = (classes_a, classes_b, units, seed, rates, int(steps), head, bool(freeze), float(scale),
           warmup, BATCHES[batch_label], opt)
slug = "-".join(("a" + "".join(map(str, classes_a)), "b" + "".join(map(str, classes_b)), opt))
d1, d2 = st.columns(2)
d1.download_button(
    "Download CSV of the curves", key="ft_download_curves", on_click="ignore",
    icon=":material/download:", data=on_demand("finetune-curves", setting,
                                               partial(curves_csv, run, opt)),
    file_name=f"learning-rate-lab-finetune-{slug}.csv", mime="text/csv", use_container_width=True)
d2.download_button(
    "Download CSV of the table", key="ft_download_table", on_click="ignore",
    icon=":material/download:", data=on_demand("finetune-table", setting,
                                               partial(export.table_csv, rows)),
    file_name=f"learning-rate-lab-finetune-{slug}-table.csv", mime="text/csv",
    use_container_width=True)
st.caption("The curves' CSV has one row per rate and step: the rate, optimizer, the rate used at "
           "that step (after warmup), task B's accuracy, loss and training loss, task A's accuracy "
           "and loss (accuracies from 0 to 1), in the engine's own numbers; from the step where a "
           "run diverged its cells are empty and `diverged` is 1. The table's CSV is the table "
           "above. Each file is built when you click.")

with st.expander("Pre-training on task A"):
    st.plotly_chart(pretrain_figure(pre.val_acc), key="ft_pretrain")
    chart_text(describe.accuracy_text(f"Task A accuracy over {len(pre.val_acc) - 1} pre-training steps",
                                      ["task A"], [pre.val_acc], [None]))
    st.caption(f"{len(pre.val_acc) - 1} full-batch steps of plain SGD at rate {finetune.PRETRAIN_LR:g}, "
               f"seed {seed}; computed once per process and reused by every fine-tuning run.")

st.header("What the options do to forgetting")
if st.toggle("Compare: plain, frozen lower layers, lower layers × 0.1, 20 warmup steps",
             key=init("ft_compare", False)):
    options = {"plain fine-tuning": (False, 1.0, 0), "frozen lower layers": (True, 1.0, 0),
               "lower layers × 0.1": (False, 0.1, 0), "warmup 20 steps": (False, 1.0, 20)}
    bar = st.progress(0.0, text="Fine-tuning with each option…")
    table, diverged = [], False
    for j, (label, (fr, sc, wu)) in enumerate(options.items()):
        bar.progress(j / len(options), text=f"Fine-tuning with {label} ({j + 1} of {len(options)})…")
        r = cached_finetune(classes_a, classes_b, units, seed, rates, int(steps), head, fr, sc,
                            min(wu, int(steps)), BATCHES[batch_label], opt)
        row = {"option": label}
        for i, lr in enumerate(rates):
            ok = r.diverged_at[i] < 0
            row[f"A drop, {rate_label(lr)}"] = 100 * float(r.a_drop()[i]) if ok else None
            row[f"B acc., {rate_label(lr)}"] = 100 * float(r.b_acc[i, -1]) if ok else None
            diverged |= not ok
        table.append(row)
    bar.empty()
    st.dataframe(table, hide_index=True, placeholder=DASH, column_config={
        k: ONE_DECIMAL for k in table[0] if k != "option"})
    st.caption("Task A drop and task B accuracy in percentage points after the same number of steps, "
               f"with the same optimizer ({optimizers.get(opt).label}), rates, head and batch; only the "
               "option differs." + (f" {DASH}: the run diverged." if diverged else ""))
else:
    st.caption("Turn on the comparison to fine-tune once more with each option (about a second each "
               "once compiled).")

