"""Figures for finding a good rate: schedules, grid search and the range test.

Pure builders: engine results (NumPy arrays, RangeTest) in, go.Figure out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from charts.style import (
    NEUTRAL,
    RATE_COLORS,
    color,
    floor_note,
    floored,
    line,
    log_axis,
    log_floor,
    symbol,
)
from engine.lr_finder import RangeTest

REGIME_FILL = {
    "converged": "rgba(57, 211, 83, 0.16)",
    "oscillating": "rgba(255, 176, 0, 0.18)",
    "slow": "rgba(63, 136, 197, 0.16)",
    "diverged": "rgba(255, 77, 77, 0.16)",
    "local minimum": "rgba(224, 64, 251, 0.16)",
}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, log_x=False, log_y=False,
            height: int = 380, x_values=(), y_values=(), floor: float | None = None) -> go.Figure:
    """Title, size and legend; a log axis labels only powers of ten (see charts.style.log_axis)
    over ``x_values`` / ``y_values``. ``floor``: the y floor values were raised to, noted."""
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    fig.update_xaxes(log_axis(*x_values, title=x_title) if log_x else
                     dict(title=dict(text=x_title), type="linear"))
    fig.update_yaxes(log_axis(*y_values, title=y_title) if log_y else
                     dict(title=dict(text=y_title), type="linear"))
    if floor is not None:
        fig.add_annotation(text=floor_note(floor), xref="paper", yref="paper", x=1, y=0,
                           xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=11))  # the theme's text colour, light or dark
    return fig


def _floored(arrays) -> tuple[float, list[list], bool]:
    """(floor, each array floored, whether any value was raised) for a log y axis."""
    floor = log_floor(*arrays)
    out = [floored(a, floor) for a in arrays]
    return floor, [o[0] for o in out], any(o[1] for o in out)


def rate_figure(tables: Sequence[tuple[str, np.ndarray]], title: str = "Rate against step") -> go.Figure:
    """Each (label, rate table) as a line of rate against step."""
    fig = go.Figure()
    for i, (label, table) in enumerate(tables):
        fig.add_scatter(x=np.arange(len(table)).tolist(), y=np.asarray(table, np.float64).tolist(),
                        mode="lines", name=label, line={**line(i), "shape": "hv"})
    return _layout(fig, title, "step", "learning rate")


def loss_curves_figure(curves: Sequence[tuple[str, np.ndarray]], title: str, y_title: str,
                       log_y: bool = True, diverged_at: Sequence[int | None] | None = None) -> go.Figure:
    """Loss against step per (label, losses), each in its colour and dash with its marker at
    the end; an x where a run was stopped for blowing up. On a log axis values at or below 0
    are drawn at a floor below every positive value (and a note says where)."""
    fig = go.Figure()
    ys = [np.asarray(y, np.float64) for _, y in curves]
    floor, drawn, raised = _floored(ys) if log_y else (None, [y.tolist() for y in ys], False)
    for i, ((label, _), y, shown) in enumerate(zip(curves, ys, drawn, strict=True)):
        sizes = [0] * max(len(y) - 1, 0) + [9] * min(len(y), 1)
        fig.add_scatter(x=np.arange(len(y)).tolist(), y=shown, mode="lines+markers", name=label,
                        line=line(i), marker=dict(size=sizes, symbol=symbol(i), color=color(i)))
        d = None if diverged_at is None else diverged_at[i]
        if d is not None and d >= 0:
            fig.add_scatter(x=[int(d)], y=[shown[min(d, len(y) - 1)]], mode="markers",
                            marker=dict(symbol="x", size=12, color=color(i)),
                            name=f"{label}: blew up at step {d}")
    return _layout(fig, title, "step", y_title, log_y=log_y, y_values=drawn,
                   floor=floor if raised else None)


def _regime_spans(rates: np.ndarray, regimes: Sequence[str]) -> list[tuple[float, float, str]]:
    """Runs of equal regime as (x0, x1, regime), split at geometric midpoints between rates."""
    logs = np.log10(rates)
    edges = np.concatenate([[logs[0] - (logs[1] - logs[0]) / 2], (logs[1:] + logs[:-1]) / 2,
                            [logs[-1] + (logs[-1] - logs[-2]) / 2]])
    spans, start = [], 0
    for i in range(1, len(regimes) + 1):
        if i == len(regimes) or regimes[i] != regimes[start]:
            spans.append((10 ** edges[start], 10 ** edges[i], regimes[start]))
            start = i
    return spans


def grid_figure(rates: np.ndarray, values: np.ndarray, regimes: Sequence[str], *, title: str,
                y_title: str, best_index: int | None = None, markers: dict[str, float] | None = None,
                selected: float | None = None, log_y: bool = True) -> go.Figure:
    """A metric against rate (log x), regimes shaded, best and theory rates marked.

    ``values`` is (n,) or (seeds, n): with seeds, the median is drawn with a
    band from the lowest to the highest seed.
    """
    v = np.atleast_2d(np.asarray(values, np.float64))
    x = np.asarray(rates, np.float64).tolist()
    if v.shape[0] == 1:
        med = v[0]
    else:
        with warnings.catch_warnings():  # a rate where no seed has a value stays NaN (a gap)
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(v, axis=0)
    fig = go.Figure()
    seen = set()
    for x0, x1, regime in _regime_spans(np.asarray(rates), regimes):
        fig.add_vrect(x0=x0, x1=x1, fillcolor=REGIME_FILL.get(regime, "rgba(128,128,128,0.1)"),
                      line_width=0, layer="below")
        if regime not in seen:  # a legend entry per regime
            seen.add(regime)
            fig.add_scatter(x=[None], y=[None], mode="markers", name=regime,
                            marker=dict(symbol="square", size=12, color=REGIME_FILL[regime]
                                        .replace("0.16", "0.6").replace("0.18", "0.6")))
    if v.shape[0] > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            top, bottom = np.nanmax(v, 0), np.nanmin(v, 0)
    else:
        top = bottom = med
    floor, raised = None, False
    if log_y:
        floor, (top_y, bottom_y, med_y), raised = _floored([top, bottom, med])
    else:
        top_y, bottom_y, med_y = (np.asarray(a).tolist() for a in (top, bottom, med))
    if v.shape[0] > 1:
        fig.add_scatter(x=x + x[::-1], y=top_y + bottom_y[::-1],
                        fill="toself", mode="lines", line=dict(width=0), hoverinfo="skip",
                        fillcolor="rgba(120,120,120,0.3)", name=f"spread over {v.shape[0]} seeds")
    fig.add_scatter(x=x, y=med_y, mode="lines+markers", name="median" if v.shape[0] > 1 else y_title,
                    line=dict(color=NEUTRAL, width=2), marker=dict(size=4))
    lines = dict(markers or {})
    if best_index is not None:
        lines["best in grid"] = float(rates[best_index])
    if selected is not None:
        lines["shown below"] = float(selected)
    styles = ["dash", "dot", "dashdot", "longdash", "solid"]
    for i, (label, r) in enumerate(lines.items()):
        if r is None or not np.isfinite(r):
            continue
        fig.add_vline(x=r, line=dict(color=color(i), dash=styles[i % len(styles)], width=2))
        fig.add_scatter(x=[r, r], y=[None, None], mode="lines", name=f"{label} = {r:.4g}",
                        line=dict(color=color(i), dash=styles[i % len(styles)], width=2))
    return _layout(fig, title, "learning rate (log scale)", y_title, log_x=True, log_y=log_y,
                   height=420, x_values=[x], y_values=[top_y, bottom_y, med_y],
                   floor=floor if raised else None)


def range_test_figure(tests: Sequence[RangeTest], labels: Sequence[str] | None = None) -> go.Figure:
    """Raw and smoothed loss against rate (log x) per test; the first test's suggestions marked."""
    fig = go.Figure()
    labels = labels or [f"seed {i}" for i in range(len(tests))]
    for i, (t, label) in enumerate(zip(tests, labels, strict=True)):
        c = color(i)
        fig.add_scatter(x=t.lrs.tolist(), y=t.raw.tolist(), mode="lines", name=f"{label}: raw loss",
                        line=dict(color=c, width=1), opacity=0.35, legendgroup=label)
        fig.add_scatter(x=t.lrs.tolist(), y=t.smoothed.tolist(), mode="lines",
                        name=f"{label}: smoothed", line=line(i, 2.5), legendgroup=label)
    t = tests[0]
    if t.skip:
        fig.add_vrect(x0=float(t.lrs[0]), x1=float(t.lrs[t.skip]), fillcolor="rgba(128,128,128,0.15)",
                      line_width=0, layer="below")
    # Each suggestion: its own colour, dash and marker (told apart without colour too).
    marks = []
    if t.steepest is not None:
        marks.append(("steepest descent", t.steepest, t.steepest_index, RATE_COLORS[2], "dash",
                      "diamond"))
    marks.append(("minimum / 10", t.min_lr_10, None, RATE_COLORS[3], "dot", "triangle-up"))
    marks.append(("minimum", float(t.lrs[t.min_index]), t.min_index, NEUTRAL, "dashdot", "square"))
    for label, r, idx, c, style, mark in marks:
        fig.add_vline(x=r, line=dict(color=c, dash=style, width=2))
        y = float(t.smoothed[idx]) if idx is not None else float(np.interp(
            np.log10(r), np.log10(t.lrs), t.smoothed))
        fig.add_scatter(x=[r], y=[y], mode="markers", marker=dict(size=11, color=c, symbol=mark),
                        name=f"{label}: {r:.3g}")
    fig = _layout(fig, "Loss against rate as the rate grows", "learning rate (log scale)",
                  "training loss", log_x=True, height=460, x_values=[t.lrs for t in tests])
    top = max(float(np.max(x.smoothed)) for x in tests)
    low = min(float(np.min(x.raw)) for x in tests)
    fig.update_yaxes(range=[max(0.0, low - 0.05 * (top - low)), top * 1.1])
    return fig
