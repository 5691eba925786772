"""The stability map figure: a Plotly heatmap of regimes (or final loss) over rate x another
setting, theory's lines over it, and one invisible clickable point per cell.

Layout. The x axis is in cell units (column j at x = j; ticks name the rates), so the
heatmap needs no coordinate arrays; the y axis is in the rows' own units (momentum:
linear; condition number and batch size: log). Plotly cannot select a heatmap cell by a
click, so each column also gets a transparent scatter trace with one point per row (its
x fixed by ``x0``, its y the rows): a click selects that point, and
(curve - first column trace, point index) is the cell. Large arrays go out as typed arrays
(base64), so a 128 x 128 map stays well under 300 KB.

Not colour alone: diverged cells are hatched (a patterned polygon over them, with its own
legend entry), local minima dotted, and every regime has a named legend entry.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from charts.style import NEUTRAL, fill_color, log_axis
from engine.maps import (
    CODE,
    REGIMES,
    StabilityMap,
    agreement,
    first_diverged,
    largest_stable,
    map_surface,
    quadratic_theory,
)

# Okabe-Ito colours (readable with the common colour-vision deficiencies), in REGIMES order.
REGIME_COLORS = {
    "converged": "#009E73",
    "oscillating": "#E69F00",
    "slow": "#56B4E9",
    "local minimum": "#CC79A7",
    "diverged": "#D55E00",
}
# On a dark page the same hues, deeper (30% toward the page), so the map does not glare.
REGIME_COLORS_DARK = {r: fill_color(c, dark=True, dark_amount=0.3) for r, c in REGIME_COLORS.items()}
PATTERNS = {"diverged": "/", "local minimum": "."}
LOSS_FLOOR = 1e-30  # the continuous colouring's lowest value (float32 losses reach 0)
LEVELS = 250  # shades of the continuous colouring
CELL_TRACE_NAME = "cells"
ROW_TITLES = {"momentum": "momentum β", "condition": "condition number κ = L/μ",
              "batch": "batch size"}
ROW_SYMBOL = {"momentum": "β", "condition": "κ", "batch": "batch"}


def log_rows(m: StabilityMap) -> bool:
    return m.config.kind in ("condition", "batch")


def row_edges(rows: np.ndarray, log: bool) -> np.ndarray:
    """The m + 1 edges of the rows' cells: midpoints (geometric if ``log``), extended by half
    a cell at both ends.

    >>> row_edges(np.array([0.0, 1.0, 2.0]), False).tolist()
    [-0.5, 0.5, 1.5, 2.5]
    """
    v = np.log10(rows) if log else np.asarray(rows, np.float64)
    if len(v) == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (v[1] - v[0]) / 2], mid, [v[-1] + (v[-1] - v[-2]) / 2]])
    return 10 ** e if log else e


def rate_position(m: StabilityMap, lr) -> np.ndarray:
    """Where rate(s) ``lr`` fall on the x axis (column units, log-interpolated)."""
    logs = np.log10(m.rates)
    step = (logs[-1] - logs[0]) / (len(logs) - 1)
    return (np.log10(np.asarray(lr, np.float64)) - logs[0]) / step


def _fmt_rate(r: float) -> str:
    return f"{r:.4g}"


def rate_ticks(m: StabilityMap) -> tuple[list[float], list[str]]:
    """Tick positions (column units) and labels: the 1, 2, 5 x 10^k inside the range."""
    lo, hi = float(m.rates[0]), float(m.rates[-1])
    vals = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for f in (1, 2, 5):
            v = f * 10.0 ** k
            if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9):
                vals.append(v)
    if len(vals) > 9:  # a wide range: decades only
        vals = [v for v in vals if abs(math.log10(v) - round(math.log10(v))) < 1e-9]
    return rate_position(m, vals).tolist(), [f"{v:g}" for v in vals]


def _mask_polygons(mask: np.ndarray, y_edges: np.ndarray) -> tuple[list, list]:
    """Rectangles over each row's runs of True cells, as one path with None between shapes."""
    xs: list = []
    ys: list = []
    for i, row in enumerate(mask):
        j = 0
        n = len(row)
        while j < n:
            if not row[j]:
                j += 1
                continue
            k = j
            while k + 1 < n and row[k + 1]:
                k += 1
            x0, x1 = j - 0.5, k + 0.5
            y0, y1 = float(y_edges[i]), float(y_edges[i + 1])
            xs += [x0, x1, x1, x0, x0, None]
            ys += [y0, y0, y1, y1, y0, None]
            j = k + 1
    return xs, ys


def regime_colors(dark: bool = False) -> dict[str, str]:
    """Each regime's colour on a light or a dark page."""
    return REGIME_COLORS_DARK if dark else REGIME_COLORS


def _pattern_bg(regime: str, color_by: str, dark: bool = False) -> str:
    """Behind the hatching: the regime's colour; over the loss colours, diverged cells are
    opaque (their frozen loss means nothing) and local minima show their loss through."""
    if color_by == "regime":
        return regime_colors(dark)[regime]
    paper = "14,17,23" if dark else "255,255,255"
    return f"rgb({paper})" if regime == "diverged" else f"rgba({paper},0.45)"


def quantized_log_loss(m: StabilityMap) -> tuple[np.ndarray, list[float], list[str]]:
    """log10 of the final loss (floored at LOSS_FLOOR) as 0 .. LEVELS (uint8, 4x smaller than
    float32 on the wire), with colour-bar ticks at whole powers of ten. Diverged cells get 0
    (hatched over)."""
    v = np.log10(np.maximum(np.asarray(m.final_loss, np.float64), LOSS_FLOOR))
    ok = ~m.diverged
    lo = math.floor(float(np.min(v[ok]))) if ok.any() else -1.0
    hi = math.ceil(float(np.max(v[ok]))) if ok.any() else 0.0
    hi = max(hi, lo + 1)
    z = np.where(ok, np.round((v - lo) / (hi - lo) * LEVELS), 0).astype(np.uint8)
    every = max(1, math.ceil((hi - lo) / 8))
    powers = list(range(int(lo), int(hi) + 1, every))
    tickvals = [(p - lo) / (hi - lo) * LEVELS for p in powers]
    ticktext = [f"1e{p}" if p != 0 else "1" for p in powers]
    if lo <= math.log10(LOSS_FLOOR):
        ticktext[0] = f"≤ 1e{int(lo)}"
    return z, tickvals, ticktext


def _regime_colorscale(dark: bool = False) -> list:
    n = len(REGIMES)
    colors = regime_colors(dark)
    scale = []
    for k, r in enumerate(REGIMES):
        scale += [[k / n, colors[r]], [(k + 1) / n, colors[r]]]
    return scale


def _clip(xs: np.ndarray, ys: np.ndarray, n: int) -> tuple[list, list]:
    """Points of a line outside the map's columns become gaps."""
    inside = (xs >= -0.5) & (xs <= n - 0.5) & np.isfinite(xs)
    return ([float(x) if ok else None for x, ok in zip(xs, inside, strict=True)],
            [float(y) if ok else None for y, ok in zip(ys, inside, strict=True)])


def _line(xs, ys, name: str, color: str, dash: str = "dash") -> list[dict]:
    """A line drawn twice (a wide white halo under it), so it reads on every cell colour."""
    return [
        dict(type="scatter", x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=False,
             line=dict(color="rgba(255,255,255,0.9)", width=5)),
        dict(type="scatter", x=xs, y=ys, mode="lines", name=name, hoverinfo="skip",
             line=dict(color=color, width=2.5, dash=dash)),
    ]


def theory_traces(m: StabilityMap) -> list[dict]:
    """Theory's lines and points, and the measured best, over the map (cell units on x)."""
    n = len(m.rates)
    kind = m.config.kind
    lo_row, hi_row = float(np.min(m.rows)), float(np.max(m.rows))
    out: list[dict] = []
    if kind == "momentum" and m.theory_limit is not None:
        th = quadratic_theory(map_surface(m.config))
        betas = np.linspace(lo_row, hi_row, 60)
        xs, ys = _clip(rate_position(m, 2 * (1 + betas) / th.L), betas, n)
        out += _line(xs, ys, "theory: diverges above 2(1+β)/L", "#000000")
        lr, beta = m.theory_optimum
        x = float(rate_position(m, lr))
        if -0.5 <= x <= n - 0.5 and lo_row <= beta <= hi_row:
            out.append(dict(type="scatter", x=[x], y=[beta], mode="markers",
                            name=f"theory: fastest heavy ball (lr* = {lr:.3g}, β* = {beta:.3g})",
                            hoverinfo="skip",
                            marker=dict(symbol="star", size=17, color="white",
                                        line=dict(color="black", width=1.5))))
        if lo_row == 0.0:
            mu_marks = {"2/L": th.stable_below, "2/(L+μ)": th.best_rate}
            xs = rate_position(m, list(mu_marks.values()))
            keep = [(float(x), k) for x, k in zip(xs, mu_marks, strict=True) if -0.5 <= x <= n - 0.5]
            labels = [k for _, k in keep]
            if len(keep) == 2 and abs(keep[0][0] - keep[1][0]) < 4:  # too close for two labels
                labels = ["", "2/L, 2/(L+μ)"]
            if keep:
                out.append(dict(type="scatter", x=[x for x, _ in keep], y=[0.0] * len(keep),
                                mode="markers+text", text=labels,
                                textposition=["top left", "top right"][:len(keep)],
                                hoverinfo="skip",
                                textfont=dict(color="black", size=12),
                                name="theory at β = 0: 2/L, 2/(L+μ)",
                                marker=dict(symbol="triangle-up", size=12, color="white",
                                            line=dict(color="black", width=1.5))))
    if kind == "condition":
        L = m.config.curvature  # noqa: N806
        x = float(rate_position(m, 2.0 / L))
        if -0.5 <= x <= n - 0.5:
            out += _line([x, x], [lo_row, hi_row], f"theory: diverges above 2/L = {2 / L:.3g}",
                         "#000000")
        kappas = np.geomspace(lo_row, hi_row, 60)
        xs, ys = _clip(rate_position(m, 2.0 / (L + L / kappas)), kappas, n)
        out += _line(xs, ys, "theory: fastest rate 2/(L+μ)", "#3b3b3b", dash="dot")
        ok = m.best >= 0
        out.append(dict(type="scatter", x=m.best[ok].astype(float).tolist(),
                        y=m.rows[ok].astype(float).tolist(), mode="markers", hoverinfo="skip",
                        name="measured: best rate per row",
                        marker=dict(symbol="circle-open", size=8, color="black",
                                    line=dict(width=2))))
    if kind == "batch":
        edge = first_diverged(m.diverged) - 1
        ok = edge >= 0
        out.append(dict(type="scatter", x=edge[ok].astype(float).tolist(),
                        y=m.rows[ok].astype(float).tolist(), mode="lines+markers",
                        hoverinfo="skip", name="measured: largest stable rate",
                        line=dict(color="black", width=2),
                        marker=dict(symbol="diamond", size=10, color="white",
                                    line=dict(color="black", width=1.5))))
    if kind == "momentum" and m.best_cell is not None:
        i, j = m.best_cell
        out.append(dict(type="scatter", x=[float(j)], y=[float(m.rows[i])], mode="markers",
                        hoverinfo="skip", name="measured: lowest final loss",
                        marker=dict(symbol="circle-open", size=15, color="black",
                                    line=dict(width=2.5))))
    return out


def map_figure(m: StabilityMap, color_by: str = "regime", selected: tuple[int, int] | None = None,
               height: int = 600, dark: bool = False) -> go.Figure:
    """The map of ``m``: cells by regime (or log10 final loss), hatched where runs diverged,
    theory over it, the ``selected`` cell (row, column) outlined, and a clickable point per
    cell (see the module docstring). ``dark``: colours for a dark page (deeper regimes)."""
    colors = regime_colors(dark)
    kind = m.config.kind
    n = len(m.rates)
    rows = np.asarray(m.rows, np.float64)
    log = log_rows(m)
    edges = row_edges(rows, log)
    data: list[dict] = []
    if color_by == "regime":
        data.append(dict(type="heatmap", z=m.regimes.astype(np.uint8), x0=0, dx=1,
                         y=rows.astype(np.float32), zmin=-0.5, zmax=len(REGIMES) - 0.5,
                         colorscale=_regime_colorscale(dark), showscale=False, hoverinfo="skip",
                         name="regimes"))
        for r in REGIMES:  # one legend entry per regime present (the patterned ones below)
            if r not in PATTERNS and np.any(m.regimes == CODE[r]):
                data.append(dict(type="scatter", x=[None], y=[None], mode="markers", name=r,
                                 marker=dict(symbol="square", size=14, color=colors[r])))
    elif color_by == "steps" and m.steps_to_converge is not None:
        z = np.where(m.diverged, np.nan, m.steps_to_converge).astype(np.float32)
        data.append(dict(type="heatmap", z=z, x0=0, dx=1, y=rows.astype(np.float32),
                         colorscale="Viridis", reversescale=True, hoverinfo="skip",
                         name="steps to converge",
                         colorbar=dict(title=dict(text="steps to converge (blank: not within "
                                                       "the budget)", side="right"),
                                       thickness=14)))
    else:
        z, tickvals, ticktext = quantized_log_loss(m)
        title = ("log₁₀ final loss above the minimum" if kind != "batch"
                 else "log₁₀ final training loss (median)")
        data.append(dict(type="heatmap", z=z, x0=0, dx=1, y=rows.astype(np.float32), zmin=0,
                         zmax=LEVELS, colorscale="Viridis", hoverinfo="skip", name="final loss",
                         colorbar=dict(title=dict(text=title, side="right"), thickness=14,
                                       tickvals=tickvals, ticktext=ticktext)))
    for r, shape in PATTERNS.items():
        mask = m.regimes == CODE[r]
        if not mask.any():
            continue
        xs, ys = _mask_polygons(mask, edges)
        ink = "rgba(0,0,0,0.55)"
        data.append(dict(type="scatter", x=xs, y=ys, mode="lines", fill="toself",
                         name=f"{r} ({'hatched' if shape == '/' else 'dotted'})",
                         hoverinfo="skip", line=dict(width=0, color=colors[r]),
                         fillcolor=colors[r] if color_by == "regime" else "rgba(0,0,0,0)",
                         fillpattern=dict(shape=shape, fgcolor=ink, bgcolor=_pattern_bg(r, color_by, dark),
                                          size=7, solidity=0.25)))
    data += theory_traces(m)
    if selected is not None:
        i, j = selected
        data.append(dict(type="scatter", x=[float(j)], y=[float(rows[i])], mode="markers",
                         showlegend=False, hoverinfo="skip",
                         marker=dict(symbol="square-open", size=16, color="#ffffff",
                                     line=dict(width=3, color="#ffffff"))))
        data.append(dict(type="scatter", x=[float(j)], y=[float(rows[i])], mode="markers",
                         name="the run shown below", hoverinfo="skip",
                         marker=dict(symbol="square-open", size=11, color="#000000",
                                     line=dict(width=2, color="#000000"))))
    sym = ROW_SYMBOL[kind]
    y32 = rows.astype(np.float32)
    yfmt = {"momentum": ":.4g", "condition": ":.4g", "batch": ":d"}[kind]
    for j, r in enumerate(m.rates):  # the click targets, last so they are on top
        data.append(dict(type="scatter", x0=j, dx=0, y=y32, mode="markers",
                         name=CELL_TRACE_NAME, showlegend=False,
                         marker=dict(color="rgba(0,0,0,0)", size=8),
                         hovertemplate=f"lr {_fmt_rate(r)}, {sym} %{{y{yfmt}}}<extra></extra>"))
    tickvals, ticktext = rate_ticks(m)
    y_range = [math.log10(edges[0]), math.log10(edges[-1])] if log else [edges[0], edges[-1]]
    layout = dict(
        height=height,
        margin=dict(l=70, r=20, t=10, b=60),
        xaxis=dict(title=dict(text="learning rate (log scale)"), range=[-0.5, n - 0.5],
                   tickvals=tickvals, ticktext=ticktext, showgrid=False, zeroline=False,
                   fixedrange=True),
        yaxis=dict(title=dict(text=ROW_TITLES[kind]), range=y_range,
                   type="log" if log else "linear", showgrid=False, zeroline=False,
                   fixedrange=True, exponentformat="power"),  # 10², never SI prefixes
        legend=dict(orientation="h", yanchor="top", y=-0.12, xanchor="left", x=0),
        hovermode="closest",
        clickmode="event+select",
        uirevision=f"{kind}:{n}:{len(rows)}",
    )
    if kind == "batch":
        labels = m.row_labels or tuple(str(int(b)) for b in rows)
        layout["yaxis"].update(tickvals=rows.tolist(), ticktext=list(labels))
    return go.Figure(data=data, layout=layout, _validate=False)


def cell_of(m: StabilityMap, point: dict) -> tuple[int, int] | None:
    """The (row, column) of a point from ``st.plotly_chart``'s selection, or None.

    Only the cell traces can be clicked (every other trace skips hover), and a cell trace's
    points sit at x = its column with point index = the row.
    """
    x = point.get("x")
    index = point.get("point_index", point.get("point_number", point.get("pointIndex")))
    if x is None or index is None:
        return None
    try:
        j, i = int(round(float(x))), int(index)
    except (TypeError, ValueError):
        return None
    if 0 <= j < len(m.rates) and 0 <= i < len(m.rows) and abs(float(x) - j) < 1e-6:
        return i, j
    return None


def steps_figure(kappas, measured, predicted) -> go.Figure:
    """Steps to converge against condition number: measured at each row's best rate, and
    theory's prediction at 2/(L+μ)."""
    k = np.asarray(kappas, np.float64).tolist()

    def clean(v):
        return [None if x is None or not np.isfinite(x) else float(x) for x in v]

    data = [
        dict(type="scatter", x=k, y=clean(measured), mode="lines+markers",
             name="measured, at the row's best rate", line=dict(color=NEUTRAL, width=2),
             marker=dict(size=6)),
        dict(type="scatter", x=k, y=clean(predicted), mode="lines",
             name="theory at 2/(L+μ): log(tol/d₀) / log((κ−1)/(κ+1))",
             line=dict(color="#D55E00", width=2, dash="dash")),
    ]
    layout = dict(height=320, margin=dict(l=60, r=10, t=40, b=40),
                  title=dict(text="Steps to converge against condition number", font=dict(size=15)),
                  xaxis=log_axis(k, title="condition number κ = L/μ"),
                  yaxis=dict(title=dict(text="steps to converge")),
                  legend=dict(orientation="h", y=-0.25))
    return go.Figure(data=data, layout=layout, _validate=False)


def legend_text(m: StabilityMap, color_by: str) -> str:
    """A caption naming what the colours, hatching and marks mean (words, not colour)."""
    parts = []
    if color_by == "regime":
        parts.append("Colour: how each run ended (legend below the map).")
    elif color_by == "steps":
        parts.append("Colour: steps to converge (yellow is fewest, purple most); blank cells did "
                     "not converge within the budget.")
    else:
        parts.append("Colour: log₁₀ of the final loss (darker is lower).")
    if m.diverged.any():
        parts.append("Hatched cells diverged.")
    if np.any(m.regimes == CODE["local minimum"]):
        parts.append("Dotted cells ended in a local minimum.")
    a = agreement(m)
    if m.config.kind == "momentum" and m.theory_limit is not None:
        parts.append(f"Dashed line: theory's boundary 2(1+β)/L (the measured one matches it "
                     f"within a cell on {a.boundary_ok} of {a.rows} rows); star: theory's fastest "
                     "heavy ball; ring: the measured lowest final loss.")
    elif m.config.kind == "condition":
        parts.append("Dashed line: 2/L; dotted curve: 2/(L+μ); rings: each row's best rate.")
    elif m.config.kind == "batch" and any(r is not None for r in largest_stable(m)):
        parts.append("Diamonds: the largest rate at which no seed diverged, per batch size.")
    return " ".join(parts)
