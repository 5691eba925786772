"""The surface as a background image plus contour lines drawn as line traces.

Plotly's contour and heatmap traces vanish while an animation plays
(plotly.js #4491), so the colour map goes into ``layout.images`` (a PNG) and
the contour lines into one ordinary scatter trace; both survive Play.

A surface may be undefined on part of its box (your own formula: log of a
negative, 1/0, overflow). Such points are left blank: transparent in the
image (alpha 0), no contour line crosses them, and the colours and contour
levels come from the finite values only, so they keep their detail.
"""

from __future__ import annotations

import base64
import io

import contourpy
import numpy as np
from PIL import Image
from plotly.colors import hex_to_rgb

from charts.style import surface_colorscale

MAX_LINE_POINTS = 100  # per contour line: smooth at chart size, a third of the grid's points


def log_gap(z: np.ndarray, floor_value: float) -> np.ndarray:
    """log10(1 + (z - min) / scale): a brightness that shows detail near the minimum too.

    ``scale`` is the 5th percentile of the finite gaps; non-finite z stays NaN.

    >>> log_gap(np.array([0.0, 1.0, np.nan, np.inf]), 0.0).round(3).tolist()
    [0.0, 1.322, nan, nan]
    """
    z = np.asarray(z, dtype=np.float64)
    finite = np.isfinite(z)
    out = np.full(z.shape, np.nan)
    if not finite.any():
        return out
    gap = np.maximum(z[finite] - floor_value, 0.0)
    scale = max(float(np.percentile(gap, 5)), 1e-9)
    out[finite] = np.log10(1.0 + gap / scale)
    return out


def _lookup_table(n: int = 256, dark: bool = False) -> np.ndarray:
    scale = surface_colorscale(dark)
    stops = np.array([s for s, _ in scale])
    rgb = np.array([hex_to_rgb(c) for _, c in scale], dtype=np.float64)
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=1).astype(np.uint8)


_LUT = _lookup_table()
_LUT_DARK = _lookup_table(dark=True)


def image_rgba(z: np.ndarray, floor_value: float, dark: bool = False) -> np.ndarray:
    """(ny, nx, 4) uint8 colours of ``z`` (row 0 of the result is the top, y max): the colour
    scale spread over the finite values, alpha 0 where z is not finite. ``dark``: the dark
    page's scale (its high-loss end a mid blue, not near-white)."""
    v = log_gap(z, floor_value)
    finite = np.isfinite(v)
    rgba = np.zeros((*v.shape, 4), dtype=np.uint8)
    if finite.any():
        lo, hi = float(v[finite].min()), float(v[finite].max())
        t = (v[finite] - lo) / max(hi - lo, 1e-12)
        rgba[finite, :3] = (_LUT_DARK if dark else _LUT)[np.clip((t * 255).astype(int), 0, 255)]
        rgba[finite, 3] = 255
    return rgba[::-1]


def image_uri(z: np.ndarray, floor_value: float, dark: bool = False) -> str:
    """A PNG data URI of the colour map; row 0 of ``z`` is the bottom (y min). RGB when every
    value is finite, else RGBA with the non-finite part transparent (all of it, if none is).
    ``dark``: the dark page's colour scale."""
    rgba = image_rgba(z, floor_value, dark)
    opaque = bool((rgba[..., 3] == 255).all())
    image = Image.fromarray(rgba[..., :3] if opaque else rgba, mode="RGB" if opaque else "RGBA")
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def contour_lines(xs, ys, z, floor_value: float, n_levels: int = 14):
    """Contour lines at levels evenly spaced in log_gap over the finite values, as x and y lists
    with None between lines; lines stop where z is not finite (none at all if nothing is)."""
    v = log_gap(z, floor_value)
    finite = v[np.isfinite(v)]
    lx: list = []
    ly: list = []
    if finite.size < 4 or not finite.max() > finite.min():
        return lx, ly
    levels = np.linspace(finite.min(), finite.max(), n_levels + 2)[1:-1]
    gen = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(v),
                                      line_type=contourpy.LineType.Separate)
    for level in levels:
        for line in gen.lines(level):
            if len(line) < 2:
                continue
            # thin long lines to at most ~MAX_LINE_POINTS so the payload stays small, keeping
            # the end point (closed loops)
            step = max(1, -(-len(line) // MAX_LINE_POINTS))
            line = np.concatenate([line[:-1:step], line[-1:]])
            lx.extend(np.round(line[:, 0], 3).tolist() + [None])
            ly.extend(np.round(line[:, 1], 3).tolist() + [None])
    return lx, ly
