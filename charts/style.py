"""Colours, line styles, markers and log axes every chart shares.

Runs are told apart by more than colour: each run index has a colour from the
Okabe-Ito palette (chosen so that the four stay apart under simulated
protanopia, deuteranopia and tritanopia; tests/test_chart_style.py measures
it), a dash pattern for its lines and a marker symbol for its heads and ends.

Log axes label only powers of ten, as plain numbers or 10ⁿ (never SI prefixes
such as 1µ or 1n); the ticks between decades are unlabelled. Values at or below
zero cannot sit on a log axis: charts draw them at a floor chosen below every
positive value shown (so nothing a page prints is hidden under it) and say so.

>>> log_axis([0.003, 0.5, 20])["dtick"], log_axis([0.003, 0.5, 20])["exponentformat"]
(1, 'power')
>>> log_floor([0.0, 2.3e-17, 0.4])
1e-18
>>> tick_text(0.05), tick_text(2e-7)
('0.05', '2×10⁻⁷')
"""

from __future__ import annotations

import math

import numpy as np

# One colour per run, from Okabe & Ito's colour-blind-safe palette: vermillion, blue, bluish
# green, reddish purple. Each has at least 3:1 contrast on a white page and on a dark one;
# on the surface (dark to pale blue) paths are drawn over a pale casing.
RATE_COLORS = ("#D55E00", "#0072B2", "#009E73", "#CC79A7")
# The second cue per run: a dash pattern for its lines, a symbol for its markers.
RATE_DASHES = ("solid", "dash", "dot", "dashdot")
RATE_SYMBOLS = ("circle", "square", "diamond", "triangle-up")
# The same symbols as text (for a label that names a run by its marker).
SYMBOL_GLYPHS = {"circle": "●", "square": "■", "diamond": "◆", "triangle-up": "▲"}
CASING = "rgba(255,255,255,0.6)"  # under paths drawn on the surface

# Low loss dark blue, high loss pale: paths in the colours above stand out.
SURFACE_COLORSCALE = [
    [0.0, "#0b1d51"],
    [0.25, "#1f4e8c"],
    [0.5, "#3f88c5"],
    [0.75, "#9cc5e6"],
    [1.0, "#eef5fb"],
]
# The same on a dark page: the high-loss end stops at a mid blue instead of near-white, so
# the surface is not a glaring square (paths keep their pale casing, so they still stand out).
SURFACE_COLORSCALE_DARK = [
    [0.0, "#071434"],
    [0.25, "#173f73"],
    [0.5, "#2f6ea6"],
    [0.75, "#5b8fbf"],
    [1.0, "#86abcc"],
]
# A grey for lines that are not a run (a grid's curve, a marker): at least 3:1 against a white
# page and against a dark one (4.0:1 and 4.7:1), so it never vanishes in either theme.
NEUTRAL = "#7a808c"
DARK_PAGE = "#0e1117"  # Streamlit's dark background: dark-theme fills are mixed toward it


def mix(hex_color: str, other: str, amount: float) -> str:
    """``hex_color`` moved ``amount`` (0..1) of the way to ``other``, as an opaque '#rrggbb'.

    >>> mix("#ff0000", "#ffffff", 0.5), mix("#D55E00", DARK_PAGE, 0.0)
    ('#ff8080', '#d55e00')
    """
    a = [int(hex_color[k: k + 2], 16) for k in (1, 3, 5)]
    b = [int(other[k: k + 2], 16) for k in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in zip(a, b, strict=True))


def surface_colorscale(dark: bool = False) -> list:
    """The loss surface's colour scale for a light or a dark page."""
    return SURFACE_COLORSCALE_DARK if dark else SURFACE_COLORSCALE


def fill_color(hex_color: str, dark: bool = False, light_amount: float = 0.65,
               dark_amount: float = 0.55) -> str:
    """A region's fill from a run or class colour: pale (mixed with white) on a light page,
    deep (mixed with the dark page) on a dark one, so regions never glare."""
    return mix(hex_color, DARK_PAGE if dark else "#ffffff", dark_amount if dark else light_amount)


def animation_controls(dark: bool = False) -> tuple[dict, dict]:
    """(updatemenu, slider) colour settings for Plotly's Play/Pause and step slider. Plotly's
    defaults are a white rail and white buttons, a thick white bar on a dark page."""
    if not dark:
        return ({}, {})
    menu = {"bgcolor": "#262730", "bordercolor": "#6b7280", "font": {"color": "#edebe8"}}
    slider = {"bgcolor": "#3b3d48", "bordercolor": "#6b7280", "activebgcolor": "#FB923C",
              "tickcolor": "#9ca3af", "font": {"color": "#edebe8"},
              "currentvalue": {"font": {"color": "#edebe8"}}}
    return menu, slider


# float32's smallest positive number: the engine's losses and distances are never below it
# except at exactly 0, so no floor needs to be lower.
LOSS_FLOOR = 1e-45
MAX_MAJOR_TICKS = 8  # labelled powers of ten on a log axis; more decades: every 2nd, 3rd, ...


def rate_label(lr: float) -> str:
    """'lr = 0.05' with up to 4 significant digits."""
    return f"lr = {lr:.4g}"


def color(i: int) -> str:
    return RATE_COLORS[i % len(RATE_COLORS)]


def dash(i: int) -> str:
    """Run ``i``'s dash pattern (Plotly ``line.dash``)."""
    return RATE_DASHES[i % len(RATE_DASHES)]


def symbol(i: int) -> str:
    """Run ``i``'s marker symbol (Plotly ``marker.symbol``)."""
    return RATE_SYMBOLS[i % len(RATE_SYMBOLS)]


def glyph(i: int) -> str:
    """Run ``i``'s marker as a character, e.g. '■'."""
    return SYMBOL_GLYPHS[symbol(i)]


def line(i: int, width: float = 2) -> dict:
    """Plotly ``line`` of run ``i``: its colour and dash pattern."""
    return {"color": color(i), "dash": dash(i), "width": width}


_SUPER = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def power_text(k: int) -> str:
    """10**k as Plotly's ``exponentformat="power"`` writes it: '1', '10', '10⁻⁴'."""
    return "1" if k == 0 else "10" if k == 1 else "10" + str(k).translate(_SUPER)


def tick_text(v: float) -> str:
    """A tick label: a plain number from 0.0001 to 99999, else m×10ⁿ (never an SI prefix)."""
    if 1e-4 <= abs(v) < 1e5:
        return f"{v:g}"
    k = math.floor(math.log10(abs(v)))
    m = v / 10 ** k
    mant = f"{m:.2g}"
    if mant in ("10", "-10"):  # rounding reached the next power
        k, mant = k + 1, mant[:-1]
    return power_text(k) if mant == "1" else f"{mant}×{power_text(k)}"


def _positive(values) -> np.ndarray:
    parts = [np.ravel(np.asarray(v, np.float64)) for v in values]
    a = np.concatenate(parts) if parts else np.zeros(0)
    return a[np.isfinite(a) & (a > 0)]


def log_floor(*arrays, default: float = 1e-12) -> float:
    """The floor for values drawn on a log axis: a power of ten at least a decade below the
    smallest positive finite value in ``arrays`` (so every value a page prints lies above it),
    never below float32's smallest positive number; ``default`` when nothing is positive."""
    v = _positive(arrays)
    if not len(v):
        return default
    return max(10.0 ** (math.floor(math.log10(float(v.min()))) - 1), LOSS_FLOOR)


def floored(values, floor: float) -> tuple[list, bool]:
    """``values`` as a list with anything at or below ``floor`` (0, negatives) drawn at it, and
    whether any value was raised. Non-finite values become gaps (None)."""
    a = np.asarray(values, np.float64)
    raised = bool(np.any(np.isfinite(a) & (a < floor)))
    out = np.maximum(a, floor)
    return [float(x) if np.isfinite(x) else None for x in out], raised


def floor_note(floor: float) -> str:
    """The caption a chart shows when it drew values at its floor."""
    return f"0 or below is drawn at {tick_text(floor)}"


def log_axis(*arrays, title: str | None = None) -> dict:
    """Plotly axis settings for a log axis over the positive finite values in ``arrays``.

    Major ticks sit at powers of ten (every ``k``-th decade when there are more than
    ``MAX_MAJOR_TICKS``), written 1, 10, 10², 10⁻⁴ (``exponentformat="power"``); minor
    ticks between them are unlabelled. When the values span less than two powers of ten,
    the labels are 1-2-5 steps written in full (0.05, 0.1, 0.2), never a bare '5'.
    """
    axis: dict = {"type": "log", "exponentformat": "power", "showexponent": "all"}
    if title is not None:
        axis["title"] = {"text": title}
    v = _positive(arrays)
    if not len(v):
        return axis
    lo, hi = math.log10(float(v.min())), math.log10(float(v.max()))
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)  # powers of ten inside
    if last - first + 1 >= 2:
        step = max(1, math.ceil((last - first + 1) / MAX_MAJOR_TICKS))
        axis.update(tickmode="linear", tick0=0, dtick=step,
                    minor={"ticks": "outside", "ticklen": 3, "showgrid": False,
                           "dtick": "D1" if step == 1 else 1})
        return axis
    vals = [m * 10.0 ** k for k in range(math.floor(lo) - 1, math.ceil(hi) + 1) for m in (1, 2, 5)]
    vals = [x for x in vals if v.min() / 1.5 <= x <= v.max() * 1.5]
    axis.update(tickmode="array", tickvals=vals, ticktext=[tick_text(x) for x in vals],
                minor={"ticks": "outside", "ticklen": 3, "showgrid": False, "dtick": "D1"})
    return axis
