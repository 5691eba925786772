"""Playground figures: animated trajectories on the surface, loss and step size against step.

Every builder takes engine results (a Surface, a Sweep) and returns a
go.Figure; nothing here runs the engine except the cached loss grid.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import plotly.graph_objects as go

from charts.ready import figure_from_spec
from charts.style import (
    CASING,
    animation_controls,
    color,
    dash,
    floor_note,
    floored,
    glyph,
    log_axis,
    log_floor,
    rate_label,
    symbol,
)
from charts.surface import contour_lines, image_uri
from engine.descent import Sweep
from engine.grid import loss_grid
from engine.surfaces import Surface

MAX_FRAMES = 100
TRAIL = 8  # positions in each animated trail
FRAME_MS = 70


def frame_steps(steps: int, max_frames: int = MAX_FRAMES) -> np.ndarray:
    """At most ``max_frames`` step indices from 0 to ``steps``, evenly spread."""
    return np.unique(np.linspace(0, steps, min(steps + 1, max_frames)).round().astype(int))


def visible_end(points: np.ndarray, diverged_at: int | None) -> int:
    """Number of points of a run worth drawing: all of them, or up to where it diverged."""
    return len(points) if diverged_at is None else max(1, diverged_at)


def last_in_view(points: np.ndarray, bounds) -> int:
    """Index of the last point inside ``bounds`` (the start always is)."""
    (x0, x1), (y0, y1) = bounds
    inside = (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (
        points[:, 1] <= y1)
    idx = np.nonzero(inside)[0]
    return int(idx[-1]) if len(idx) else 0


@lru_cache(maxsize=32)
def surface_background(surface: Surface, dark: bool = False) -> tuple[str, list, list]:
    """(PNG data URI, contour xs, contour ys) for a surface; cached per surface and page theme
    (``dark``: the dark page's colour scale)."""
    xs, ys, z = loss_grid(surface)
    uri = image_uri(z, surface.global_value, dark)
    lx, ly = contour_lines(xs, ys, z, surface.global_value)
    return uri, lx, ly


def _r(a, decimals: int = 4) -> list:
    return np.round(np.asarray(a, dtype=np.float64), decimals).tolist()


def _length(points: np.ndarray) -> float:
    """A path's length (sum of its steps)."""
    return float(np.sum(np.hypot(*np.diff(points, axis=0).T))) if len(points) > 1 else 0.0


# How far (pixels) an end label sits from its path's end, sideways and up or down.
END_LABEL_DX, END_LABEL_DY = 30, 26


def end_label_offsets(ends_xy: np.ndarray, bounds=None) -> list[tuple[int, int]]:
    """(ax, ay) pixel offsets of the runs' end labels: the runs ending farther left get their
    labels to the left, the others to the right, and on each side the first goes up and the
    next down, so labels of runs that end at one point (a minimum) or near each other do not
    cover each other. Given the view's ``bounds``, a label points inwards from the outer
    quarter of the view (left or right) and from its top or bottom fifth, so that it is not cut
    at the chart's edge."""
    n = len(ends_xy)
    order = sorted(range(n), key=lambda i: (float(ends_xy[i][0]), i))
    left = set(order[: n // 2] if n > 1 else [])
    side = {i: -1 if i in left else 1 for i in range(n)}
    fy = {i: 0.5 for i in range(n)}
    if bounds is not None:
        (x0, x1), (y0, y1) = bounds
        for i in range(n):
            fx = (float(ends_xy[i][0]) - x0) / (x1 - x0)
            fy[i] = (float(ends_xy[i][1]) - y0) / (y1 - y0)
            side[i] = -1 if fx > 0.75 else 1 if fx < 0.25 else side[i]
    out: list[tuple[int, int]] = [(0, 0)] * n
    for s in (-1, 1):
        members = sorted((i for i in range(n) if side[i] == s), key=lambda i: (-float(ends_xy[i][1]), i))
        if not members:
            continue
        near = float(np.median([fy[i] for i in members]))
        for k, i in enumerate(members):
            if near > 0.8:  # at the top: every label goes down, the highest end nearest
                ay = END_LABEL_DY * (1 + k)
            elif near < 0.2:  # at the bottom: every label goes up, the lowest end nearest
                ay = -END_LABEL_DY * (len(members) - k)
            else:
                ay = (-1 if k % 2 == 0 else 1) * END_LABEL_DY * (1 + k // 2)
            out[i] = (s * END_LABEL_DX, ay)
    return out


def end_names(names: list[str]) -> list[str]:
    """The short names at the paths' ends: the comma-separated parts every run shares (the
    schedule, when all runs have one) are left to the legend, so that a long name is not cut
    at the chart's edge; what tells the runs apart, and the rate, stay.

    >>> end_names(["warmup + cosine, peak lr = 0.1", "warmup + cosine, peak lr = 0.028"])
    ['peak lr = 0.1', 'peak lr = 0.028']
    >>> end_names(["lr = 0.1", "cosine, peak lr = 0.1"])
    ['lr = 0.1', 'cosine, peak lr = 0.1']
    >>> end_names(["SGD, cosine, peak lr = 0.1", "Adam, cosine, peak lr = 0.1"])
    ['SGD, peak lr = 0.1', 'Adam, peak lr = 0.1']
    """
    split = [n.split(", ") for n in names]
    shared = set.intersection(*(set(p[:-1]) for p in split)) if split else set()
    return [", ".join([q for q in p[:-1] if q not in shared] + p[-1:]) for p in split]


def end_labels(sweep: Sweep, names: list[str], ends: list[int], bounds) -> list[dict]:
    """An annotation per run at the end of its drawn path (where it left the view if it
    diverged): its marker, in its colour, and its short name (the rate), with a line to the end."""
    idx = [last_in_view(t.points[: ends[i]], bounds) for i, t in enumerate(sweep)]
    xy = np.array([sweep.points[i, j] for i, j in enumerate(idx)])
    notes, short = [], end_names(names)
    for i, (ax, ay) in enumerate(end_label_offsets(xy, bounds)):
        notes.append(dict(x=float(xy[i, 0]), y=float(xy[i, 1]), xref="x", yref="y",
                          text=f'<span style="color:{color(i)}">{glyph(i)}</span> {short[i]}',
                          showarrow=True, ax=ax, ay=ay, arrowhead=0, arrowwidth=1.5,
                          xanchor="right" if ax < 0 else "left",
                          yanchor="bottom" if ay < 0 else "top",
                          arrowcolor=color(i), bgcolor="rgba(255,255,255,0.88)",
                          bordercolor=color(i), borderwidth=1.5, borderpad=2,
                          font=dict(color="#111", size=12), name=f"end of {names[i]}"))
    return notes


def _inside(p, bounds) -> bool:
    (x0, x1), (y0, y1) = bounds
    return bool(np.all(np.isfinite(p)) and x0 <= p[0] <= x1 and y0 <= p[1] <= y1)


def divergence_mark(points: np.ndarray, diverged_at: int, bounds):
    """Where to mark a diverged run, the step to name, and a hover sentence.

    The run was frozen at its last point, ``points[diverged_at - 1]``. If that point is in
    view the mark sits on it and names step ``diverged_at`` (the step that left the
    divergence box or gave a non-finite loss). Otherwise the drawn path leaves the chart
    between its last point in view ``j`` and ``j + 1``: the mark sits where that segment
    crosses the chart's edge and names step ``j + 1``. Either way the mark is on the drawn
    path, inside the plot, and the step it names is the one drawn leaving there."""
    k = max(0, min(diverged_at, len(points)) - 1)
    last = np.asarray(points[k], dtype=np.float64)
    if _inside(last, bounds):
        return ((float(last[0]), float(last[1])), diverged_at,
                f"last point reached at step {k}; step {diverged_at} left the divergence box "
                "(or gave a non-finite loss), so the run stopped there")
    j = last_in_view(points[: k + 1], bounds)
    p = np.asarray(points[j], dtype=np.float64)
    q = np.asarray(points[j + 1], dtype=np.float64) if j + 1 <= k else p
    at = p
    if np.all(np.isfinite(q)):
        (x0, x1), (y0, y1) = bounds
        frac = 1.0
        for a, lo, hi in ((0, x0, x1), (1, y0, y1)):
            d = q[a] - p[a]
            if d > 0 and q[a] > hi:
                frac = min(frac, (hi - p[a]) / d)
            elif d < 0 and q[a] < lo:
                frac = min(frac, (lo - p[a]) / d)
        at = p + max(0.0, frac) * (q - p)
    return ((float(at[0]), float(at[1])), j + 1,
            f"left the chart at step {j + 1}; diverged (left the divergence box or gave a "
            f"non-finite loss) at step {diverged_at}")


def divergence_label(x: float, y: float, step: int, bounds, edge: str, name: str) -> dict:
    """"left at step N" beside a divergence mark: dark text on a light box (readable on dark
    and pale surface alike), anchored so the box extends toward the chart's middle and so
    stays inside the plot."""
    (x0, x1), (y0, y1) = bounds
    right = x > (x0 + x1) / 2
    top = y > (y0 + y1) / 2
    return dict(x=x, y=y, xref="x", yref="y", text=f"left at step {step}", showarrow=False,
                xanchor="right" if right else "left", yanchor="top" if top else "bottom",
                xshift=-10 if right else 10, yshift=-10 if top else 10,
                bgcolor="rgba(255,255,255,0.92)", bordercolor=edge, borderwidth=1.5,
                borderpad=2, font=dict(color="#111", size=13), name=f"divergence of {name}")


def _trail(points: np.ndarray, end: int, steps_shown: np.ndarray, f: int) -> np.ndarray:
    """The head's last ``TRAIL`` sampled positions at frame ``f`` (padded at the start)."""
    return points[trail_indices(steps_shown, end)[f]]


def trail_indices(steps_shown: np.ndarray, end: int) -> np.ndarray:
    """(frames, TRAIL) step indices of every frame's trail: frame ``f`` shows the sampled steps
    ``steps_shown[f - TRAIL + 1 .. f]`` (the first repeated before frame ``TRAIL - 1``), none
    past the run's last drawn point ``end - 1``.

    >>> trail_indices(np.array([0, 5, 10]), end=8)[:, -3:].tolist()
    [[0, 0, 0], [0, 0, 5], [0, 5, 7]]
    """
    f = np.arange(len(steps_shown))[:, None] + np.arange(TRAIL)[None, :] - (TRAIL - 1)
    return np.minimum(steps_shown[np.maximum(f, 0)], end - 1)


def trajectory_figure(surface: Surface, sweep: Sweep, height: int = 640,
                      labels: list[str] | None = None, dark: bool = False,
                      narrow: bool = False) -> go.Figure:
    """The surface (image + contour lines + minima), each rate's path, and an animation.

    Frames move only the heads (a marker with a short trail); the surface and
    the full paths are sent once. ``labels`` name the runs (default: their rate, or peak rate).
    ``dark``: for a dark page (the surface's high-loss end a mid blue, not near-white; dark
    Play/Pause and slider). ``narrow``: for a phone-wide chart (Play/Pause on a row of their
    own above a full-width step slider, so they do not overlap it).
    The figure of :func:`trajectory_spec`.
    """
    return figure_from_spec(trajectory_spec(surface, sweep, height, labels, dark, narrow))


# Play/Pause and the step slider: side by side, or (narrow) the buttons above a full-width slider.
WIDE_CONTROLS = (dict(x=0.0, y=-0.2), dict(x=0.2, len=0.8, y=-0.14), 120)
NARROW_CONTROLS = (dict(x=0.0, y=-0.1), dict(x=0.0, len=1.0, y=-0.2), 170)


# On a projector (every text 20 px) Play/Pause take the chart's first ~40 %: the slider starts after.
PROJECTOR_SLIDER = dict(x=0.42, len=0.58)


def for_projector(spec: dict) -> dict:
    """A copy of a :func:`trajectory_spec` for presenter mode: the legend keeps only the
    minima and the start, since each run is named by the label at its path's end (and by the
    loss chart beside it) and at 20 px the runs' legend rows took half the chart's height from
    the surface; the step slider starts after the larger Play/Pause buttons, which covered
    its start, with its "step N" at its right end. Lists of numbers are shared, not copied.

    >>> spec = {"data": [{"name": "minima"}, {"name": "lr = 0.1", "legendrank": 100}],
    ...         "layout": {"sliders": [{"x": 0.2, "len": 0.8}]}}
    >>> out = for_projector(spec)
    >>> [t.get("showlegend", True) for t in out["data"]], out["layout"]["sliders"][0]["x"]
    ([True, False], 0.42)
    """
    data = [{**t, "showlegend": False} if t.get("legendrank", 0) >= 100 else t for t in spec["data"]]
    layout = dict(spec["layout"])
    if layout.get("sliders"):
        first = layout["sliders"][0]
        value = {**first.get("currentvalue", {}), "xanchor": "right"}  # "step N" clear of the x title
        layout["sliders"] = [{**first, **PROJECTOR_SLIDER, "currentvalue": value}, *layout["sliders"][1:]]
    return {**spec, "data": data, "layout": layout}


def trajectory_spec(surface: Surface, sweep: Sweep, height: int = 640,
                    labels: list[str] | None = None, dark: bool = False,
                    narrow: bool = False) -> dict:
    """:func:`trajectory_figure` as a plain JSON-able dict (data, layout, frames: lists of
    rounded floats, no NumPy), ready for :class:`charts.ready.ReadyFigure`."""
    uri, lx, ly = surface_background(surface, dark)
    (x0, x1), (y0, y1) = surface.bounds
    steps = sweep.points.shape[1] - 1
    shown = frame_steps(steps)
    data: list[dict] = [
        dict(type="scatter", x=lx, y=ly, mode="lines", hoverinfo="skip", showlegend=False,
             line=dict(color="rgba(255,255,255,0.35)", width=1), name="contours"),
        dict(type="scatter", mode="markers", name="minima", showlegend=True,
             x=[m.point[0] for m in surface.minima], y=[m.point[1] for m in surface.minima],
             text=[("global" if m.is_global else "local") + f" minimum, f = {m.value:.4g}"
                   for m in surface.minima], hoverinfo="text",
             marker=dict(symbol=["star" if m.is_global else "star-open" for m in surface.minima],
                         size=14, color="white", line=dict(color="black", width=1))),
    ]
    ends, names = [], []
    for i, t in enumerate(sweep):
        ends.append(visible_end(t.points, t.diverged_at))
        names.append(labels[i] if labels else _default_name(t))
    # Longer paths first, so a short path is drawn on top of a long one (not hidden by it);
    # the legend keeps the runs' order.
    order = sorted(range(len(sweep)), key=lambda i: -_length(sweep.points[i, : ends[i]]))
    for i in order:  # a pale casing under every path: visible on dark and pale surface alike
        p = sweep.points[i, : ends[i]]
        data.append(dict(type="scatter", x=_r(p[:, 0]), y=_r(p[:, 1]), mode="lines",
                         hoverinfo="skip", showlegend=False, name="",
                         line=dict(color=CASING, width=5)))
    for i in order:
        p, name = sweep.points[i, : ends[i]], names[i]
        data.append(dict(type="scatter", x=_r(p[:, 0]), y=_r(p[:, 1]),
                         mode="lines", name=name, legendrank=100 + i,
                         line=dict(color=color(i), width=2.5, dash=dash(i)),
                         hovertemplate="x=%{x:.3f}, y=%{y:.3f}<extra>" + name + "</extra>"))
    markers_x, markers_y, markers_text, markers_color = [], [], [], []
    divergence_notes = []
    for i, t in enumerate(sweep):
        if t.diverged_at is not None:
            (mx, my), left_at, why = divergence_mark(t.points, t.diverged_at, surface.bounds)
            markers_x.append(mx)
            markers_y.append(my)
            markers_text.append(f"{names[i]}: {why}")
            markers_color.append(color(i))
            divergence_notes.append(divergence_label(mx, my, left_at, surface.bounds, color(i),
                                                     names[i]))
    data.append(dict(type="scatter", x=markers_x, y=markers_y, text=markers_text,
                     mode="markers", name="diverged", showlegend=False, hoverinfo="text",
                     marker=dict(symbol="x-thin", size=18, line=dict(width=3,
                                                                      color=markers_color))))
    x_start, y_start = (float(v) for v in sweep.points[0, 0])  # the runs' start, maybe not the surface's
    data.append(dict(type="scatter", x=[x_start], y=[y_start], mode="markers",
                     name="start", marker=dict(symbol="circle", size=10, color="white",
                                               line=dict(color="black", width=1))))
    first_head = len(data)
    sizes = [0] * (TRAIL - 1) + [13]
    # Every frame's trail of every run at once: (runs, frames, TRAIL) coordinates, rounded once.
    trails = [sweep.points[i][trail_indices(shown, ends[i])] for i in range(len(sweep))]
    tx = [_r(tr[..., 0], 3) for tr in trails]  # 3 decimals: well below a pixel of the chart
    ty = [_r(tr[..., 1], 3) for tr in trails]
    for i in range(len(sweep)):
        data.append(dict(type="scatter", x=tx[i][0], y=ty[i][0], mode="lines+markers",
                         showlegend=False, hoverinfo="skip",
                         line=dict(color=color(i), width=4),
                         marker=dict(size=sizes, color=color(i), symbol=symbol(i),
                                     line=dict(color="white", width=1.5))))
    heads = list(range(first_head, first_head + len(sweep)))
    names_of_frames = [str(int(k)) for k in shown]
    frames = [dict(name=names_of_frames[f],
                   data=[dict(x=tx[i][f], y=ty[i][f]) for i in range(len(sweep))],  # heads' x, y
                   traces=heads)
              for f in range(len(shown))]
    play = dict(frame=dict(duration=FRAME_MS, redraw=False), fromcurrent=True,
                transition=dict(duration=0), mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                 mode="immediate")
    menu_at, slider_at, bottom = NARROW_CONTROLS if narrow else WIDE_CONTROLS
    menu_style, slider_style = animation_controls(dark)
    layout = dict(
        height=height,
        margin=dict(l=40, r=10, t=30, b=bottom),
        # Equal scales, so a bowl with curvatures 1 and 10 looks as stretched as it is.
        xaxis=dict(range=[x0, x1], showgrid=False, zeroline=False, title=dict(text="x"),
                   constrain="domain"),
        yaxis=dict(range=[y0, y1], showgrid=False, zeroline=False, title=dict(text="y"),
                   scaleanchor="x", scaleratio=1, constrain="domain"),
        annotations=end_labels(sweep, names, ends, surface.bounds) + divergence_notes,
        images=[dict(source=uri, xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0,
                     sizing="stretch", layer="below", opacity=1.0)],
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
        hovermode="closest",
        uirevision=surface.name,
        updatemenus=[dict(type="buttons", direction="left", showactive=False, **menu_at,
                          xanchor="left", yanchor="top", pad=dict(t=0, r=10),
                          buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], pause])], **menu_style)],
        sliders=[dict(active=0, **slider_at, yanchor="top", pad=dict(t=0, b=0),
                      steps=[dict(method="animate", label=k, args=[[k], pause])
                             for k in names_of_frames],
                      **{**slider_style, "currentvalue": dict(prefix="step ", visible=True,
                                                              **slider_style.get("currentvalue", {}))})],
    )
    return dict(data=data, layout=layout, frames=frames)


def _per_step_spec(title: str, y_title: str, series, steps: int) -> dict:
    """One line per (name, values, diverged_at) against step on a log y axis; each run's line
    has its colour and dash, its last point its marker (an x where it diverged). A plain spec
    (see :mod:`charts.ready`)."""
    floor = log_floor(*(ys for _, ys, _ in series))
    data, any_raised = [], False
    for i, (name, ys, diverged_at) in enumerate(series):
        ks = np.arange(len(ys))
        y, raised = floored(ys, floor)
        any_raised |= raised
        y = [None if v is None else float(f"{v:.7g}") for v in y]  # 7 digits: half the text
        sizes = [0] * max(len(ys) - 1, 0) + [9] * min(len(ys), 1)
        data.append(dict(type="scatter", x0=0, dx=1, y=y, mode="lines+markers",  # x = step
                         name=name, line=dict(color=color(i), width=2, dash=dash(i)),
                         marker=dict(size=sizes, symbol=symbol(i), color=color(i))))
        if diverged_at is not None and len(ys):
            data.append(dict(type="scatter", x=[int(ks[-1])], y=[y[-1]],
                             mode="markers+text", text=[f"diverged at step {diverged_at}"],
                             # toward the wider side: past a third of the run the text,
                             # ~10 characters' width, fits only on the left (at 20 px too)
                             textposition="bottom right" if ks[-1] < steps / 3 else "bottom left",
                             showlegend=False,
                             marker=dict(symbol="x", size=11, color=color(i))))
    layout = dict(title=dict(text=title, font=dict(size=15)), height=320,
                  margin=dict(l=50, r=10, t=40, b=40),
                  xaxis=dict(title=dict(text="step"), range=[0, steps]),
                  yaxis=log_axis(*(y for _, y, _ in series), [floor] if any_raised else [],
                                 title=y_title),
                  legend=dict(orientation="h", y=-0.25), hovermode="x unified")
    if any_raised:
        layout["annotations"] = [dict(text=floor_note(floor), xref="paper", yref="paper", x=1,
                                      y=0, xanchor="right", yanchor="bottom", showarrow=False,
                                      font=dict(size=11, color="#555"))]
    return dict(data=data, layout=layout)


def _default_name(t) -> str:
    """A run's name when the page gives none: its rate, or its peak rate if the rate changes
    during the run (a schedule's first rate may be 0). Pages name scheduled runs themselves."""
    lrs = np.asarray(t.lrs, dtype=np.float64).ravel()
    if len(lrs) == 0:
        return "lr = ?"
    if np.all(lrs == lrs[0]):
        return rate_label(float(lrs[0]))
    return f"peak lr = {float(np.max(lrs)):.4g}"


def _names(sweep: Sweep, labels: list[str] | None) -> list[str]:
    """The runs' legend names: ``labels``, or each run's rate (peak rate if it changes)."""
    return list(labels) if labels else [_default_name(t) for t in sweep]


def loss_figure(surface: Surface, sweep: Sweep, labels: list[str] | None = None) -> go.Figure:
    """Loss minus the surface's lowest loss against step, log y; each run up to divergence.
    ``labels`` name the runs (default: their first rate)."""
    return figure_from_spec(loss_spec(surface, sweep, labels))


def loss_spec(surface: Surface, sweep: Sweep, labels: list[str] | None = None) -> dict:
    """:func:`loss_figure` as a plain spec."""
    steps = sweep.points.shape[1] - 1
    series = []
    for name, t in zip(_names(sweep, labels), sweep, strict=True):
        end = visible_end(t.points, t.diverged_at)
        series.append((name, t.losses[:end] - surface.global_value, t.diverged_at))
    return _per_step_spec("Loss against step", "loss − lowest loss", series, steps)


def step_size_figure(sweep: Sweep, labels: list[str] | None = None) -> go.Figure:
    """|x_{k+1} - x_k| against step k, log y; each run up to divergence. ``labels`` name the runs."""
    return figure_from_spec(step_size_spec(sweep, labels))


def step_size_spec(sweep: Sweep, labels: list[str] | None = None) -> dict:
    """:func:`step_size_figure` as a plain spec."""
    steps = sweep.points.shape[1] - 1
    series = []
    for name, t in zip(_names(sweep, labels), sweep, strict=True):
        end = visible_end(t.points, t.diverged_at)
        series.append((name, t.step_sizes[: max(end - 1, 0)], t.diverged_at))
    return _per_step_spec("Step size against step", "|x(k+1) − x(k)|", series, steps)
