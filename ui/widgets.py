"""Shared widgets: a log-scale learning-rate slider with an exact number beside it, an optimizer
picker, and badges."""

from __future__ import annotations

import html
import re

import numpy as np
import streamlit as st

from engine import optimizers
from engine.scene import RATE_MAX, RATE_MIN

# 20 stops per decade from 1e-4 to 10, rounded to 3 significant digits.
RATE_STOPS: tuple[float, ...] = tuple(
    float(f"{v:.3g}") for v in np.logspace(np.log10(RATE_MIN), np.log10(RATE_MAX), 101))

REGIME_COLORS = {
    "converged": "green",
    "oscillating": "orange",
    "slow": "blue",
    "diverged": "red",
    "local minimum": "violet",
}


# Short schedule names for run labels ("cosine, peak lr = 0.1"); constant runs are "lr = 0.1".
SCHEDULE_SHORT = {
    "step": "step decay",
    "exponential": "exponential decay",
    "cosine": "cosine",
    "warmup_cosine": "warmup + cosine",
    "one_cycle": "one-cycle",
}


def rate_text(lr: float, schedule: str = "constant") -> str:
    """A run's rate as legends name it: "lr = 0.1" for a constant rate, else the schedule and
    its peak, e.g. "cosine, peak lr = 0.1" (a scheduled run's first rate may be 0)."""
    if schedule == "constant":
        return f"lr = {lr:.4g}"
    return f"{SCHEDULE_SHORT.get(schedule, schedule)}, peak lr = {lr:.4g}"


def nearest_stop(value: float) -> float:
    """The slider stop closest to ``value`` on a log scale."""
    logs = np.log10(RATE_STOPS)
    return RATE_STOPS[int(np.argmin(np.abs(logs - np.log10(max(value, RATE_MIN)))))]


def _slider_moved(i: int) -> None:
    set_rate(i, st.session_state[f"lr_sl_{i}"])


def rate_problem(value) -> str | None:
    """Why a typed rate cannot be used (a sentence), or None if it can."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return f"{value!r} is not a number."
    if not np.isfinite(v):
        return f"{v} is not a finite number."
    if v <= 0:
        return (f"{v:g} is not a learning rate: it must be positive "
                f"(from {RATE_MIN:g} to {RATE_MAX:g}).")
    if v < RATE_MIN:
        return f"{v:g} is below the smallest rate here, {RATE_MIN:g}."
    if v > RATE_MAX:
        return (f"{v:g} is above the largest rate here, {RATE_MAX:g} (every surface here "
                "diverges long before that).")
    return None


def _number_typed(i: int) -> None:
    ss = st.session_state
    typed = ss[f"lr_num_{i}"]
    problem = rate_problem(typed)
    if problem is None:
        ss[f"lr_ok_{i}"] = float(typed)
        ss[f"lr_sl_{i}"] = nearest_stop(float(typed))
        ss.pop(f"lr_err_{i}", None)
        return
    kept = float(ss.get(f"lr_ok_{i}", 0.1))
    ss[f"lr_err_{i}"] = f"{problem} Still using {kept:g}."
    ss[f"lr_num_{i}"] = kept  # the box shows the rate in use, the sentence says why


def set_rate(i: int, value: float) -> None:
    """Put rate ``i`` into both widgets' state (call before they are drawn, or in a callback)."""
    st.session_state[f"lr_num_{i}"] = float(value)
    st.session_state[f"lr_ok_{i}"] = float(value)
    st.session_state[f"lr_sl_{i}"] = nearest_stop(value)
    st.session_state.pop(f"lr_err_{i}", None)


def rate_input(i: int) -> float:
    """Rate ``i``: a log slider (1e-4 to 10) and an exact number entry kept in step. A typed
    rate outside 1e-4 to 10 (0, -0.5, 1e308) is not used: the entry goes back to the rate in
    use and a sentence beside it says why."""
    ss = st.session_state
    if f"lr_num_{i}" not in ss:
        set_rate(i, 0.1)
    if rate_problem(ss[f"lr_num_{i}"]) is not None:  # e.g. put there by old state
        set_rate(i, ss.get(f"lr_ok_{i}", 0.1) if rate_problem(ss.get(f"lr_ok_{i}")) is None
                 else 0.1)
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        st.select_slider(f"Rate {i + 1}", options=RATE_STOPS,
                         key=f"lr_sl_{i}", on_change=_slider_moved, args=(i,),
                         format_func=lambda v: f"{v:g}",
                         help="Learning rate on a log scale, 1e-4 to 10.")
    with right:
        # no min/max here: the browser would refuse an out-of-range number silently (the
        # reason only on hover); _number_typed checks it and says why in words
        st.number_input("exact", key=f"lr_num_{i}", on_change=_number_typed, args=(i,),
                        format="%.4g", step=None, label_visibility="collapsed",
                        help=f"Type an exact rate from {RATE_MIN:g} to {RATE_MAX:g}.")
    if ss.get(f"lr_err_{i}"):
        st.markdown(f":red[:material/error: Rate {i + 1}: {ss[f'lr_err_{i}']}]")
    return float(ss[f"lr_num_{i}"])


def optimizer_help(note: str = "") -> str:
    """Every optimizer's one-line description, as a Markdown list (a widget's help), then ``note``."""
    lines = [f"- **{optimizers.get(k).label}**: {optimizers.get(k).description}"
             for k in optimizers.names()]
    return "\n".join(lines) + (f"\n\n{note}" if note else "")


def optimizer_input(i: int, note: str = "") -> str:
    """Run ``i``'s optimizer: a select box of :mod:`engine.optimizers` by label (key ``opt_i``)."""
    key = f"opt_{i}"
    if st.session_state.get(key) not in optimizers.names():
        st.session_state[key] = "sgd"
    return st.selectbox(f"Optimizer {i + 1}", optimizers.names(), key=key,
                        format_func=lambda k: optimizers.get(k).label, help=optimizer_help(note))


def regime_badge(regime: str, label: str = "") -> None:
    st.badge(f"{label}{regime}", color=REGIME_COLORS.get(regime, "gray"))


def smaller_rates_note(key: str, rates, sgd_rates) -> str | None:
    """Why optimizer ``key``'s default rates are smaller than SGD's (None for SGD itself)."""
    if key == "sgd":
        return None
    why = ("steps of roughly lr per weight, whatever the gradient's size"
           if optimizers.get(key).adaptive else
           "momentum 0.9, which on a steady gradient moves about 10× farther per step")
    return (f"{optimizers.get(key).label} takes {why}, so its default rates "
            f"({rates[0]:g} to {rates[-1]:g}) are smaller than SGD's "
            f"({sgd_rates[0]:g} to {sgd_rates[-1]:g}).")


# Visually hidden but read by screen readers (the usual "sr-only" rules).
SR_ONLY = ("position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;"
           "clip:rect(0,0,0,0);white-space:nowrap;border:0")

# The hidden text's element container is taken out of the layout too, so that the page's gap
# between elements does not leave a blank band under every chart.
OUT_OF_FLOW = ('<style>[data-testid="stElementContainer"]:has(> [data-testid="stMarkdown"] '
               'p[class|="lrl-chart"]) { position: absolute !important; }</style>')


def chart_text(sentence: str, visible: bool = False) -> None:
    """A chart's text alternative (a sentence from charts.describe), put right after the chart:
    read by screen readers, hidden on screen unless ``visible`` (then a caption)."""
    if visible:
        st.caption(sentence)
        return
    st.markdown(f'{OUT_OF_FLOW}<p class="lrl-chart-text" style="{SR_ONLY}">{html.escape(sentence)}</p>',
                unsafe_allow_html=True)


def dark_page() -> bool:
    """Whether the viewer's page is in Streamlit's dark theme."""
    return getattr(st.context.theme, "type", None) == "dark"


def themed(fig):
    """``fig`` with Play/Pause and the step slider coloured for the page's theme (Plotly draws a
    white slider rail, a thick white bar on a dark page); unchanged on a light page."""
    if dark_page() and (fig.layout.updatemenus or fig.layout.sliders):
        from charts.style import animation_controls

        menu, slider = animation_controls(dark=True)
        fig.update_layout(updatemenus=[menu] * len(fig.layout.updatemenus),
                          sliders=[slider] * len(fig.layout.sliders))
    return fig


PHONE_UA = re.compile(r"Mobi|Android|iPhone|iPod", re.I)


def on_phone() -> bool:
    """Whether the browser says it is a phone (its User-Agent), where the sidebar is a drawer."""
    try:
        return bool(PHONE_UA.search(st.context.headers.get("User-Agent", "") or ""))
    except Exception:  # no request headers (tests, scripts)
        return False


def controls(label: str = "Settings"):
    """The container for a page's controls: the sidebar, or on a phone an expander at this point
    of the page, next to the chart (the sidebar is a drawer there that covers the chart)."""
    return st.expander(f":material/tune: {label}") if on_phone() else st.sidebar


def group(label: str):
    """A sub-group of controls: an expander, or on a phone (already inside one) a plain container
    under a bold label (Streamlit cannot nest expanders)."""
    if not on_phone():
        return st.expander(label)
    st.markdown(f"**{label}**")
    return st.container()
