"""Figures for finding a good rate: schedules, grid search and the range test.

Pure builders: engine results (NumPy arrays, RangeTest) in, go.Figure out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from charts.style import LOSS_FLOOR, color
from engine.lr_finder import RangeTest

REGIME_FILL = {
    "converged": "rgba(57, 211, 83, 0.16)",
    "oscillating": "rgba(255, 176, 0, 0.18)",
    "slow": "rgba(63, 136, 197, 0.16)",
    "diverged": "rgba(255, 77, 77, 0.16)",
    "local minimum": "rgba(224, 64, 251, 0.16)",
}


def _layout(fig: go.Figure, title: str, x_title: str, y_title: str, log_x=False, log_y=False,
            height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=50),
                      legend=dict(orientation="h", y=-0.2), hovermode="x unified")
    fig.update_xaxes(title=x_title, type="log" if log_x else "linear")
    fig.update_yaxes(title=y_title, type="log" if log_y else "linear")
    return fig


def _floor(y) -> list:
    return np.maximum(np.asarray(y, np.float64), LOSS_FLOOR).tolist()


def rate_figure(tables: Sequence[tuple[str, np.ndarray]], title: str = "Rate against step") -> go.Figure:
    """Each (label, rate table) as a line of rate against step."""
    fig = go.Figure()
    for i, (label, table) in enumerate(tables):
        fig.add_scatter(x=np.arange(len(table)).tolist(), y=np.asarray(table, np.float64).tolist(),
                        mode="lines", name=label, line=dict(color=color(i), width=2,
                                                            shape="hv"))
    return _layout(fig, title, "step", "learning rate")


def loss_curves_figure(curves: Sequence[tuple[str, np.ndarray]], title: str, y_title: str,
                       log_y: bool = True, diverged_at: Sequence[int | None] | None = None) -> go.Figure:
    """Loss against step per (label, losses); an x where a run was stopped for blowing up."""
    fig = go.Figure()
    for i, (label, y) in enumerate(curves):
        y = np.asarray(y, np.float64)
        fig.add_scatter(x=np.arange(len(y)).tolist(), y=_floor(y) if log_y else y.tolist(),
                        mode="lines", name=label, line=dict(color=color(i), width=2))
        d = None if diverged_at is None else diverged_at[i]
        if d is not None and d >= 0:
            fig.add_scatter(x=[int(d)], y=_floor([y[min(d, len(y) - 1)]]), mode="markers",
                            marker=dict(symbol="x", size=12, color=color(i)),
                            name=f"{label}: blew up at step {d}")
    return _layout(fig, title, "step", y_title, log_y=log_y)


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
    fix = _floor if log_y else (lambda a: np.asarray(a).tolist())
    if v.shape[0] > 1:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            top, bottom = np.nanmax(v, 0), np.nanmin(v, 0)
        fig.add_scatter(x=x + x[::-1], y=fix(top) + fix(bottom)[::-1],
                        fill="toself", mode="lines", line=dict(width=0), hoverinfo="skip",
                        fillcolor="rgba(120,120,120,0.3)", name=f"spread over {v.shape[0]} seeds")
    fig.add_scatter(x=x, y=fix(med), mode="lines+markers", name="median" if v.shape[0] > 1 else y_title,
                    line=dict(color="#222", width=2), marker=dict(size=4))
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
                   height=420)


def range_test_figure(tests: Sequence[RangeTest], labels: Sequence[str] | None = None) -> go.Figure:
    """Raw and smoothed loss against rate (log x) per test; the first test's suggestions marked."""
    fig = go.Figure()
    labels = labels or [f"seed {i}" for i in range(len(tests))]
    for i, (t, label) in enumerate(zip(tests, labels, strict=True)):
        c = color(i)
        fig.add_scatter(x=t.lrs.tolist(), y=t.raw.tolist(), mode="lines", name=f"{label}: raw loss",
                        line=dict(color=c, width=1), opacity=0.35, legendgroup=label)
        fig.add_scatter(x=t.lrs.tolist(), y=t.smoothed.tolist(), mode="lines",
                        name=f"{label}: smoothed", line=dict(color=c, width=2.5), legendgroup=label)
    t = tests[0]
    if t.skip:
        fig.add_vrect(x0=float(t.lrs[0]), x1=float(t.lrs[t.skip]), fillcolor="rgba(128,128,128,0.15)",
                      line_width=0, layer="below")
    marks = []
    if t.steepest is not None:
        marks.append(("steepest descent", t.steepest, t.steepest_index, "#39d353"))
    marks.append(("minimum / 10", t.min_lr_10, None, "#e040fb"))
    marks.append(("minimum", float(t.lrs[t.min_index]), t.min_index, "#888"))
    for label, r, idx, c in marks:
        fig.add_vline(x=r, line=dict(color=c, dash="dash", width=2))
        y = float(t.smoothed[idx]) if idx is not None else float(np.interp(
            np.log10(r), np.log10(t.lrs), t.smoothed))
        fig.add_scatter(x=[r], y=[y], mode="markers", marker=dict(size=11, color=c, symbol="diamond"),
                        name=f"{label}: {r:.3g}")
    fig = _layout(fig, "Loss against rate as the rate grows", "learning rate (log scale)",
                  "training loss", log_x=True, height=460)
    top = max(float(np.max(x.smoothed)) for x in tests)
    low = min(float(np.min(x.raw)) for x in tests)
    fig.update_yaxes(range=[max(0.0, low - 0.05 * (top - low)), top * 1.1])
    return fig
