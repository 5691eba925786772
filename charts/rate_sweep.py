"""A lesson's rate sweep: steps to converge and final distance against the rate.

Pure builder: the measured arrays in, one go.Figure out (two rows sharing the
log-scale rate axis), regimes shaded as on the Grid search page, theory's
2/(L+mu) and 2/L marked when the surface has them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import NEUTRAL, color, floor_note, floored, log_axis, log_floor
from charts.tuning import REGIME_FILL


def regime_spans(rates: np.ndarray, regimes: Sequence[str], log_x: bool = True
                 ) -> list[tuple[float, float, str]]:
    """Runs of equal regime as (x0, x1, regime), split halfway between neighbouring rates
    (in log scale on a log axis)."""
    x = np.log10(rates) if log_x else np.asarray(rates, np.float64)
    edges = np.concatenate([[x[0] - (x[1] - x[0]) / 2], (x[1:] + x[:-1]) / 2,
                            [x[-1] + (x[-1] - x[-2]) / 2]])
    if log_x:
        edges = 10 ** edges
    spans, start = [], 0
    for i in range(1, len(regimes) + 1):
        if i == len(regimes) or regimes[i] != regimes[start]:
            spans.append((float(edges[start]), float(edges[i]), regimes[start]))
            start = i
    return spans


def rate_sweep_figure(rates: Sequence[float], steps: Sequence[float], distance: Sequence[float],
                      regimes: Sequence[str], *, marks: dict[str, float] | None = None,
                      fastest: float | None = None, budget: int | None = None,
                      noise: float = 0.0, log_x: bool = True, height: int = 520) -> go.Figure:
    """Steps to converge (top; gaps where a run never converged) and mean distance to the
    minimum over the last quarter (bottom; gaps where it diverged) against the rate.

    ``marks``: label -> rate for vertical lines (e.g. theory's limits); ``fastest``: the
    measured fastest rate, marked too. ``log_x``: a log rate axis (a log-spaced sweep).
    """
    x = np.asarray(rates, np.float64)
    s = np.asarray(steps, np.float64)
    d = np.asarray(distance, np.float64)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        row_heights=[0.6, 0.4])
    seen = set()
    for x0, x1, regime in regime_spans(x, list(regimes), log_x):
        for row in (1, 2):
            fig.add_vrect(x0=x0, x1=x1, fillcolor=REGIME_FILL.get(regime, "rgba(128,128,128,0.1)"),
                          line_width=0, layer="below", row=row, col=1, exclude_empty_subplots=False)
        if regime not in seen:
            seen.add(regime)
            fig.add_scatter(x=[None], y=[None], mode="markers", name=regime, row=1, col=1,
                            marker=dict(symbol="square", size=12,
                                        color=REGIME_FILL.get(regime, "rgba(128,128,128,0.6)")
                                        .replace("0.16", "0.6").replace("0.18", "0.6")))
    top = [None if not np.isfinite(v) else float(v) for v in s]
    fig.add_scatter(x=x.tolist(), y=top, mode="lines+markers", name="steps to converge",
                    line=dict(color=NEUTRAL, width=2), marker=dict(size=4), connectgaps=False,
                    row=1, col=1)
    # Distances of 0 (or a float32 underflow) cannot sit on the log axis: they are drawn at a
    # floor a decade below the smallest positive distance, so every distance a page prints shows.
    floor = log_floor(d)
    bottom, raised = floored(d, floor)
    label = "mean distance, last quarter" + (f" (noise σ = {noise:g})" if noise else "")
    fig.add_scatter(x=x.tolist(), y=bottom, mode="lines+markers", name=label,
                    line=dict(color="#3f88c5", width=2), marker=dict(size=4), connectgaps=False,
                    row=2, col=1)
    lines = dict(marks or {})
    if fastest is not None and np.isfinite(fastest):
        lines["fastest measured"] = float(fastest)
    styles = ["dash", "dot", "dashdot", "longdash"]
    for i, (name, r) in enumerate(lines.items()):
        if r is None or not np.isfinite(r):
            continue
        style = dict(color=color(i), dash=styles[i % len(styles)], width=2)
        for row in (1, 2):
            fig.add_vline(x=r, line=style, row=row, col=1, exclude_empty_subplots=False)
        fig.add_scatter(x=[r, r], y=[None, None], mode="lines", name=f"{name} = {r:.3g}",
                        line=style, row=1, col=1)
    fig.update_layout(height=height, margin=dict(l=60, r=20, t=40, b=50), hovermode="x unified",
                      legend=dict(orientation="h", y=-0.15),
                      title="Steps to converge against the rate"
                      + (f" (budget {budget} steps)" if budget else ""))
    x_axis = log_axis(x) if log_x else {"type": "linear"}
    fig.update_xaxes(x_axis, row=1, col=1)
    fig.update_xaxes(x_axis, title=dict(text="learning rate" + (" (log scale)" if log_x else "")),
                     row=2, col=1)
    fig.update_yaxes(title=dict(text="steps to converge"), row=1, col=1)
    fig.update_yaxes(log_axis(bottom, title="distance to minimum"), row=2, col=1)
    if raised:
        fig.add_annotation(text=floor_note(floor), xref="x2 domain", yref="y2 domain", x=1, y=0,
                           xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=11))  # the theme's text colour
    return fig
