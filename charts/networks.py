"""Figures for the network pages: curves per rate, animated decision boundaries, digits, sharpness.

Decision boundaries animate as a grid of square markers coloured by predicted
class (a scatter trace: heatmap and contour traces vanish while Plotly
plays); frames carry only the markers' colours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from charts.style import (
    DARK_PAGE,
    NEUTRAL,
    animation_controls,
    color,
    fill_color,
    line,
    log_axis,
    rate_label,
    symbol,
)

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
        sizes = [0] * (len(y) - 1) + [9]  # the run's marker at its last point
        fig.add_trace(go.Scatter(x=list(range(len(y))), y=_r(y), mode="lines+markers",
                                 name=rate_label(lr), legendgroup=str(i), showlegend=show_legend,
                                 line=line(i),
                                 marker={"size": sizes, "symbol": symbol(i), "color": color(i)}),
                      **kw)
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
    for col, curves in ((1, run.train_loss), (2, run.eval_loss[:, 0])):  # ticks from each panel
        shown = [_visible(np.asarray(c), int(run.diverged_at[i])) for i, c in enumerate(curves)]
        fig.update_yaxes(log_axis(*shown), row=1, col=col)
    fig.update_xaxes(title_text="step", row=2)
    fig.update_layout(height=560, margin={"t": 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.12})
    return fig


def boundary_figure(x: np.ndarray, y: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                    classes: np.ndarray, steps: np.ndarray, title: str = "",
                    dark: bool = False) -> go.Figure:
    """Animated decision regions of one run: ``classes`` (F, len(ys), len(xs)) at ``steps`` (F,).

    ``dark``: regions deep (mixed toward the dark page) rather than pale, and dark controls."""
    gx, gy = np.meshgrid(xs, ys)
    n_classes = int(max(classes.max(), y.max())) + 1

    def region(k: int) -> str:
        return fill_color(CLASS_COLORS[k % 10], dark)

    scale = [[k / max(1, n_classes - 1), region(k)] for k in range(n_classes)]
    if n_classes == 1:
        scale = [[0, region(0)], [1, region(0)]]
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
    menu_style, slider_style = animation_controls(dark)
    if dark:
        fig.update_layout(updatemenus=[menu_style], sliders=[slider_style])  # merged into the above
    return fig


# The digits' label colours, right and wrong, on each page: on white (light) and on the dark
# page's background (dark), each at least 4.5:1 against it (tests/test_chart_text.py).
DIGIT_LABELS = {False: {"right": "#1b7d1b", "wrong": "#c62828"},
                True: {"right": "#6fdc6f", "wrong": "#ff8a80"}}


def digits_figure(images: np.ndarray, labels: np.ndarray, predicted: np.ndarray,
                  cols: int = 10, dark: bool = False) -> go.Figure:
    """Test images in a mosaic with predicted labels; wrong predictions in red with the truth.

    ``dark``: light ink on a dark background (the page's own), not a white mosaic that glares on
    a dark page; the labels in lighter colours that keep their contrast there."""
    n = len(images)
    rows = int(np.ceil(n / cols))
    mosaic = np.full((rows * 9, cols * 9), np.nan)
    notes = []
    ink = DIGIT_LABELS[bool(dark)]
    for k in range(n):
        r, c = divmod(k, cols)
        mosaic[r * 9: r * 9 + 8, c * 9: c * 9 + 8] = images[k].reshape(8, 8)
        wrong = predicted[k] != labels[k]
        notes.append({"x": c * 9 + 3.5, "y": r * 9 - 0.9, "showarrow": False,
                      "text": f"<b>{predicted[k]}</b>" + (f" ✗ ({labels[k]})" if wrong else ""),
                      "font": {"color": ink["wrong" if wrong else "right"], "size": 12}})
    fig = go.Figure(go.Heatmap(z=np.where(np.isnan(mosaic), None, np.round(mosaic, 3)).tolist(),
                               colorscale="gray" if dark else "gray_r", showscale=False,
                               hoverinfo="skip"))
    fig.update_layout(annotations=notes, height=90 * rows + 40,
                      margin={"t": 20, "b": 10, "l": 10, "r": 10},
                      xaxis={"visible": False}, yaxis={"visible": False, "autorange": "reversed",
                                                       "scaleanchor": "x"})
    if dark:  # the gaps and the labels' background: the dark page itself, whatever the theme says
        fig.update_layout(paper_bgcolor=DARK_PAGE, plot_bgcolor=DARK_PAGE)
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
                                 name=f"sharpness, {rate_label(lr)}", line=line(i),
                                 marker={"size": 6, "symbol": symbol(i)}))
        # the limit: thin long dash-dots (no run uses them), its rate's marker at the right end
        fig.add_trace(go.Scatter(x=[int(steps[0]), int(steps[-1])], y=[2 / lr, 2 / lr],
                                 mode="lines+markers", name=f"2/lr = {2 / lr:.3g}",
                                 line={"color": color(i), "dash": "longdashdot", "width": 1.2},
                                 marker={"size": [0, 9], "symbol": symbol(i)}))
    fig.update_layout(height=380, margin={"t": 30, "b": 40, "l": 50, "r": 10},
                      xaxis_title="step", yaxis_title="largest Hessian eigenvalue",
                      yaxis={"range": [0, 1.3 * max(top, 1e-6)]},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def finetune_figure(run, narrow: bool = False) -> go.Figure:
    """Task-B accuracy (learning) and task-A accuracy (forgetting) against step, per rate.

    ``narrow``: for a phone-wide chart, each panel's title on two lines (side by side on one
    line they run into each other) under a taller top margin."""
    sep = "<br>" if narrow else " "
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.05,
                        subplot_titles=(f"task B accuracy{sep}(learning the new task)",
                                        f"task A accuracy{sep}(what is kept)"))
    _add_rate_lines(fig, run.b_acc, run.rates, run.diverged_at, 1, 1, percent=True)
    _add_rate_lines(fig, run.a_acc, run.rates, run.diverged_at, 1, 2, show_legend=False,
                    percent=True)
    fig.update_yaxes(range=[0, 102], title_text="validation accuracy (%)", row=1, col=1)
    fig.update_xaxes(title_text="fine-tuning step")
    fig.update_layout(height=420, margin={"t": 60 if narrow else 40, "b": 40, "l": 50, "r": 10},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def pretrain_figure(val_acc: np.ndarray) -> go.Figure:
    fig = go.Figure(go.Scatter(x=list(range(len(val_acc))), y=_r(np.asarray(val_acc) * 100),
                               mode="lines", line={"color": NEUTRAL}, name="task A"))
    fig.update_layout(height=220, margin={"t": 10, "b": 40, "l": 50, "r": 10},
                      xaxis_title="pre-training step", yaxis_title="task A accuracy (%)")
    return fig


# ---------------------------------------------------------------------------
# Sentences computed from the runs shown (the pages' captions): what sharpness
# did against 2/lr, and what mini-batch noise did at each rate.
# ---------------------------------------------------------------------------

HOVER_BAND = 0.3  # "hovered near 2/lr": every recorded value within 30% of it, once reached
TREND = 1.05  # a change of more than 5% counts as rising or falling


def _g(v: float) -> str:
    return f"{v:.3g}"


@dataclass(frozen=True)
class SharpnessSummary:
    """What one rate's sharpness did, from the frames recorded before it diverged.

    ``reached_step``: the first recorded step with sharpness >= 2/lr (None if
    never); ``low``/``high``: the smallest and largest value from then on (or
    over the whole run when never reached).
    """

    lr: float
    limit: float
    start: float
    end: float
    end_step: int
    peak: float
    peak_step: int
    reached_step: int | None
    low: float
    high: float
    diverged_at: int | None


def summarize_sharpness(steps: np.ndarray, sharp: np.ndarray, lr: float,
                        diverged_at: int) -> SharpnessSummary:
    """The numbers behind :func:`sharpness_sentence`, for one rate (``sharp`` at ``steps``)."""
    steps = np.asarray(steps)
    keep = steps < diverged_at if diverged_at >= 0 else np.ones(len(steps), bool)
    keep[0] = True
    s, k = np.asarray(sharp, np.float64)[keep], steps[keep]
    finite = np.isfinite(s)
    s, k = s[finite], k[finite]
    limit = 2.0 / lr
    p = int(np.argmax(s))
    hit = np.nonzero(s >= limit)[0]
    after = s[hit[0]:] if len(hit) else s
    return SharpnessSummary(lr, limit, float(s[0]), float(s[-1]), int(k[-1]), float(s[p]),
                            int(k[p]), int(k[hit[0]]) if len(hit) else None,
                            float(after.min()), float(after.max()),
                            None if diverged_at < 0 else int(diverged_at))


def sharpness_sentence(m: SharpnessSummary) -> str:
    """One sentence on what sharpness did at this rate, every number from the run."""
    who = f"At lr {m.lr:.4g}"
    limit = f"2/lr = {m.limit:.4g}"
    if m.diverged_at is not None and m.end_step == 0:
        return f"{who} training diverged at step {m.diverged_at}, before sharpness was next recorded."
    tail = "" if m.diverged_at is None else f" (until it diverged at step {m.diverged_at})"
    if m.reached_step is not None:
        if m.reached_step == 0:
            text = f"{who} sharpness started at {_g(m.start)}, already at or above {limit}"
            since = "over the run"
        else:
            text = f"{who} sharpness reached {limit} at step {m.reached_step}"
            since = "from then on"
        lo, hi = m.low / m.limit, m.high / m.limit
        if max(1 - lo, hi - 1) <= HOVER_BAND:
            band = round(100 * max(1 - lo, hi - 1))
            text += f", and stayed within {max(band, 1)}% of it {since}{tail}, ending at {_g(m.end)}"
        else:
            text += (f"; {since} it ranged from {_g(m.low)} to {_g(m.high)} "
                     f"({lo:.2g}× to {hi:.2g}× 2/lr){tail}, ending at {_g(m.end)}")
            text += " (above 2/lr)" if m.end >= m.limit else " (below 2/lr)"
        return text + "."
    if m.peak > TREND * max(m.start, m.end) and 0 < m.peak_step < m.end_step:
        path = (f"rose from {_g(m.start)} to a peak of {_g(m.peak)} at step {m.peak_step}, "
                f"then fell to {_g(m.end)}")
    elif m.end > TREND * m.start:
        path = f"rose from {_g(m.start)} to {_g(m.end)}"
    elif m.end * TREND < m.start:
        path = f"fell from {_g(m.start)} to {_g(m.end)}"
    else:
        path = f"stayed near {_g(m.start)} (ending at {_g(m.end)})"
    share = m.peak / m.limit
    how_far = f"{share:.0%} of it" if share >= 0.01 else "under 1% of it"
    return (f"{who} sharpness {path}{tail}, never reaching {limit}: its peak, {_g(m.peak)}, "
            f"is {how_far}.")


@dataclass(frozen=True)
class NoiseSummary:
    """Mini-batch training against full-batch training at the same rates, over the run's tail.

    ``tail``: the last steps compared; per rate (None where either run diverged):
    ``excess`` = mean mini-batch training loss minus mean full-batch loss over the
    tail (the noise floor's height), ``rises`` = steps of the tail on which the
    mini-batch loss went up. ``live``: indices of rates where neither diverged.
    """

    tail: int
    rates: tuple[float, ...]
    excess: tuple[float | None, ...]
    rises: tuple[int | None, ...]
    tail_mean: tuple[float | None, ...]
    live: tuple[int, ...]


TAIL_FRACTION = 0.2


def summarize_noise(mini_loss: np.ndarray, full_loss: np.ndarray, rates, mini_dead,
                    full_dead) -> NoiseSummary:
    """Noise floor per rate: ``mini_loss``, ``full_loss`` are (n, steps+1) training-loss curves."""
    mini, full = np.asarray(mini_loss, np.float64), np.asarray(full_loss, np.float64)
    steps = mini.shape[1] - 1
    tail = max(1, round(TAIL_FRACTION * steps))
    live = tuple(i for i in range(len(rates)) if mini_dead[i] < 0 and full_dead[i] < 0)
    excess, rises, means = [], [], []
    for i in range(len(rates)):
        if i not in live:
            excess.append(None), rises.append(None), means.append(None)
            continue
        m, f = mini[i, -tail:], full[i, -tail:]
        excess.append(float(m.mean() - f.mean()))
        rises.append(int(np.sum(np.diff(mini[i, -tail - 1:]) > 0)))
        means.append(float(m.mean()))
    return NoiseSummary(tail, tuple(float(r) for r in rates), tuple(excess), tuple(rises),
                        tuple(means), live)


def first_below(curve: np.ndarray, level: float) -> int | None:
    """The first step at which ``curve`` is at or below ``level`` (None if never)."""
    hit = np.nonzero(np.asarray(curve) <= level)[0]
    return int(hit[0]) if len(hit) else None


def noise_sentences(m: NoiseSummary, mini_loss: np.ndarray, batch: int) -> list[str]:
    """What mini-batch noise did in these runs, in sentences computed from them."""
    if len(m.live) < 2:
        return [f"With mini-batches of {batch}, fewer than two rates trained without diverging "
                "(with mini-batches or with full batches), so there is nothing to compare: "
                "try smaller rates."]
    per = ", ".join(f"{m.excess[i]:+.2g} at lr {m.rates[i]:.4g}".replace("-", "−") for i in m.live)
    out = [f"What the noise of mini-batches of {batch} adds: over the last {m.tail} steps, the mean "
           f"training loss minus full-batch training's at the same rate is {per}."]
    ex = [m.excess[i] for i in m.live]
    small, big = m.live[0], m.live[-1]
    if all(b > a for a, b in zip(ex, ex[1:], strict=False)):
        out.append("The larger the rate, the higher this noise floor: with noisy gradients a smaller "
                   "rate settles closer to where noise-free training goes.")
    elif ex[-1] > ex[0]:
        out.append(f"The noise floor is higher at lr {m.rates[big]:.4g} than at lr "
                   f"{m.rates[small]:.4g}, though not at every rate in between.")
    else:
        out.append(f"Here the noise floor is not higher at the larger rate (lr {m.rates[big]:.4g}) "
                   f"than at the smaller (lr {m.rates[small]:.4g}).")
    b, a = f"lr {m.rates[big]:.4g}", f"lr {m.rates[small]:.4g}"
    if m.rises[big] > m.rises[small]:
        out.append(f"At {b} the loss is also noisier: it went up on {m.rises[big]} of those "
                   f"{m.tail} steps, against {m.rises[small]} at {a}.")
    else:
        out.append(f"At {b} the loss is not the noisier here: it went up on {m.rises[big]} "
                   f"of those {m.tail} steps, against {m.rises[small]} at {a}.")
    level = m.tail_mean[small]
    fast, slow = first_below(mini_loss[big], level), first_below(mini_loss[small], level)
    where = f"a training loss of {level:.3g} ({a}'s mean over those steps)"
    if fast is not None and (slow is None or fast < slow):
        out.append(f"Yet {b} is faster: it first got down to {where} at step {fast}, {a} only at "
                   f"step {slow}." if slow is not None else
                   f"Yet {b} is faster: it first got down to {where} at step {fast}.")
    elif fast is None:
        out.append(f"And {b} never got down to {where}.")
    else:
        out.append(f"And {b} was not faster: it first got down to {where} at step {fast}, {a} at "
                   f"step {slow}.")
    return out
