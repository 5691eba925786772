"""Figures for the network pages: curves per rate, animated decision boundaries, digits, sharpness.

Decision boundaries animate as a grid of square markers coloured by predicted
class (a scatter trace: heatmap and contour traces vanish while Plotly
plays); frames carry only the markers' colours.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import color, rate_label

CLASS_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
FRAME_MS = 120


def tint(hex_color: str, amount: float = 0.65) -> str:
    """``hex_color`` mixed with white (opaque, so overlapping grid squares show no seams)."""
    r, g, b = (int(hex_color[k: k + 2], 16) for k in (1, 3, 5))
    r, g, b = (round(c + (255 - c) * amount) for c in (r, g, b))
    return f"#{r:02x}{g:02x}{b:02x}"


def _r(a, digits: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), digits).tolist()


def _visible(curve: np.ndarray, diverged_at: int) -> np.ndarray:
    """The part of a curve worth drawing: up to the last good step when the run diverged."""
    return curve if diverged_at < 0 else curve[: max(1, int(diverged_at))]


def _add_rate_lines(fig, curves, rates, diverged_at, row=None, col=None, show_legend=True,
                    percent=False):
    for i, (curve, lr) in enumerate(zip(curves, rates, strict=True)):
        y = _visible(np.asarray(curve), int(diverged_at[i]))
        y = y * 100 if percent else y
        kw = {} if row is None else {"row": row, "col": col}
        fig.add_trace(go.Scatter(x=list(range(len(y))), y=_r(y), mode="lines",
                                 name=rate_label(lr), legendgroup=str(i), showlegend=show_legend,
                                 line={"color": color(i), "width": 2}), **kw)
        if diverged_at[i] >= 0:
            fig.add_trace(go.Scatter(x=[len(y) - 1], y=_r(y[-1:]), mode="markers",
                                     marker={"symbol": "x", "size": 12, "color": color(i)},
                                     name=f"{rate_label(lr)} diverged at step {int(diverged_at[i])}",
                                     legendgroup=str(i), showlegend=False,
                                     hovertext=f"diverged at step {int(diverged_at[i])}"), **kw)


def training_curves_figure(run, rates) -> go.Figure:
    """Training/validation loss and accuracy against step, one colour per rate (a TrainRun)."""
    fig = make_subplots(rows=2, cols=2, shared_xaxes=True, vertical_spacing=0.1,
                        subplot_titles=("training loss", "validation loss",
                                        "training accuracy (%)", "validation accuracy (%)"))
    panels = [(run.train_loss, 1, 1, False), (run.eval_loss[:, 0], 1, 2, False),
              (run.train_acc, 2, 1, True), (run.eval_acc[:, 0], 2, 2, True)]
    for k, (curves, r, c, pct) in enumerate(panels):
        _add_rate_lines(fig, curves, rates, run.diverged_at, r, c, show_legend=k == 0, percent=pct)
    fig.update_yaxes(type="log", dtick="D2", row=1)
    fig.update_xaxes(title_text="step", row=2)
    fig.update_layout(height=560, margin={"t": 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.12})
    return fig


def boundary_figure(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                    classes: np.ndarray, steps: np.ndarray, title: str = "") -> go.Figure:
    """Animated decision regions of one run: ``classes`` (F, len(ys), len(xs)) at ``steps`` (F,)."""
    gx, gy = np.meshgrid(xs, ys)
    n_classes = int(max(classes.max(), y.max())) + 1
    scale = [[k / max(1, n_classes - 1), tint(CLASS_COLORS[k % 10])] for k in range(n_classes)]
    if n_classes == 1:
        scale = [[0, tint(CLASS_COLORS[0])], [1, tint(CLASS_COLORS[0])]]
    cell = float(xs[1] - xs[0]) if len(xs) > 1 else 1.0

    def grid_marker(f):
        return {"color": classes[f].ravel().tolist(), "colorscale": scale, "cmin": 0,
                "cmax": max(1, n_classes - 1), "symbol": "square", "size": 13,
                "line": {"width": 0}}

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=_r(gx.ravel(), 3), y=_r(gy.ravel(), 3), mode="markers",
                             marker=grid_marker(-1), hoverinfo="skip", showlegend=False))
    for k in range(n_classes):
        m = y == k
        fig.add_trace(go.Scatter(x=_r(x[m, 0], 3), y=_r(x[m, 1], 3), mode="markers",
                                 name=f"class {k}",
                                 marker={"color": CLASS_COLORS[k % 10], "size": 6,
                                         "line": {"color": "white", "width": 0.8}}))
    frames = [go.Frame(name=str(int(s)), data=[{"marker": grid_marker(f)}], traces=[0])
              for f, s in enumerate(steps)]
    fig.frames = frames
    slider_steps = [{"label": str(int(s)), "method": "animate",
                     "args": [[str(int(s))], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                              "transition": {"duration": 0}}]} for s in steps]
    fig.update_layout(
        title=title, height=460, margin={"t": 40, "b": 10, "l": 10, "r": 10},
        xaxis={"range": [xs[0] - cell, xs[-1] + cell], "showgrid": False, "zeroline": False,
               "constrain": "domain"},
        yaxis={"range": [ys[0] - cell, ys[-1] + cell], "showgrid": False, "zeroline": False,
               "scaleanchor": "x"},
        updatemenus=[{"type": "buttons", "showactive": False, "x": 0, "y": -0.02,
                      "xanchor": "left", "yanchor": "top", "direction": "left",
                      "buttons": [{"label": "Play", "method": "animate",
                                   "args": [None, {"frame": {"duration": FRAME_MS, "redraw": True},
                                                   "fromcurrent": True, "transition": {"duration": 0}}]},
                                  {"label": "Pause", "method": "animate",
                                   "args": [[None], {"mode": "immediate",
                                                     "frame": {"duration": 0, "redraw": False}}]}]}],
        sliders=[{"active": len(steps) - 1, "currentvalue": {"prefix": "step "}, "pad": {"t": 30},
                  "x": 0.15, "len": 0.85, "steps": slider_steps}],
    )
    return fig


def digits_figure(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                  cols: int = 10) -> go.Figure:
    """Test images in a mosaic with predicted labels; wrong predictions in red with the truth."""
    n = len(images)
    rows = int(np.ceil(n / cols))
    mosaic = np.full((rows * 9, cols * 9), np.nan)
    notes = []
    for k in range(n):
        r, c = divmod(k, cols)
        mosaic[r * 9: r * 9 + 8, c * 9: c * 9 + 8] = images[k].reshape(8, 8)
        wrong = predicted[k] != labels[k]
        notes.append({"x": c * 9 + 3.5, "y": r * 9 - 0.9, "showarrow": False,
                      "text": f"<b>{predicted[k]}</b>" + (f" ✗ ({labels[k]})" if wrong else ""),
                      "font": {"color": "#d62728" if wrong else "#2ca02c", "size": 12}})
    fig = go.Figure(go.Heatmap(z=np.where(np.isnan(mosaic), None, np.round(mosaic, 3)).tolist(),
                               colorscale="gray_r", showscale=False, hoverinfo="skip"))
    fig.update_layout(annotations=notes, height=90 * rows + 40,
                      margin={"t": 20, "b": 10, "l": 10, "r": 10},
                      xaxis={"visible": False}, yaxis={"visible": False, "autorange": "reversed",
                                                       "scaleanchor": "x"})
    return fig


def sharpness_figure(steps: np.ndarray, sharp: np.ndarray, rates, diverged_at) -> go.Figure:
    """Sharpness against step per rate, with each rate's stability line 2/lr dashed."""
    fig = go.Figure()
    top = 0.0
    for i, lr in enumerate(rates):
        keep = steps < diverged_at[i] if diverged_at[i] >= 0 else np.ones(len(steps), bool)
        keep[0] = True
        s = np.where(np.isfinite(sharp[i]), sharp[i], 0.0)[keep]
        top = max(top, float(np.max(s)))
        fig.add_trace(go.Scatter(x=steps[keep].tolist(), y=_r(s), mode="lines+markers",
                                 name=f"sharpness, {rate_label(lr)}", line={"color": color(i)},
                                 marker={"size": 4}))
        fig.add_trace(go.Scatter(x=[int(steps[0]), int(steps[-1])], y=[2 / lr, 2 / lr], mode="lines",
                                 name=f"2/lr = {2 / lr:.3g}", line={"color": color(i), "dash": "dash"}))
    fig.update_layout(height=380, margin={"t": 30, "b": 40, "l": 50, "r": 10},
                      xaxis_title="step", yaxis_title="largest Hessian eigenvalue",
                      yaxis={"range": [0, 1.3 * max(top, 1e-6)]},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def finetune_figure(run) -> go.Figure:
    """Task-B accuracy (learning) and task-A accuracy (forgetting) against step, per rate."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=("task B accuracy (learning the new task)",
                                        "task A accuracy (what is kept)"))
    _add_rate_lines(fig, run.b_acc, run.rates, run.diverged_at, 1, 1, percent=True)
    _add_rate_lines(fig, run.a_acc, run.rates, run.diverged_at, 1, 2, show_legend=False,
                    percent=True)
    fig.update_yaxes(range=[0, 102], title_text="validation accuracy (%)", row=1, col=1)
    fig.update_xaxes(title_text="fine-tuning step")
    fig.update_layout(height=420, margin={"t": 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def pretrain_figure(val_acc: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(range(len(val_acc))), y=_r(np.asarray(val_acc) * 100),
                               mode="lines", line={"color": "#555"}, name="task A"))
    fig.update_layout(height=220, margin={"t": 10, "b": 40, "l": 50, "r": 10},
                      xaxis_title="pre-training step", yaxis_title="task A accuracy (%)")
    return fig
