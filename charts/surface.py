"""The surface as a background image plus contour lines drawn as line traces.

Plotly's contour and heatmap traces vanish while an animation plays
(plotly.js #4491), so the colour map goes into ``layout.images`` (a PNG) and
the contour lines into one ordinary scatter trace; both survive Play.
"""

from __future__ import annotations

import base64
import io

import contourpy
import numpy as np
from PIL import Image
from plotly.colors import hex_to_rgb

from charts.style import SURFACE_COLORSCALE


def log_gap(z: np.ndarray, floor_value: float) -> np.ndarray:
    """log10(1 + (z - min) / scale): a brightness that shows detail near the minimum too."""
    gap = np.maximum(z - floor_value, 0.0)
    scale = max(float(np.percentile(gap, 5)), 1e-9)
    return np.log10(1.0 + gap / scale)


def _lookup_table(n: int = 256) -> np.ndarray:
    stops = np.array([s for s, _ in SURFACE_COLORSCALE])
    rgb = np.array([hex_to_rgb(c) for _, c in SURFACE_COLORSCALE], dtype=np.float64)
    t = np.linspace(0, 1, n)
    return np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=1).astype(np.uint8)


_LUT = _lookup_table()


def image_uri(z: np.ndarray, floor_value: float) -> str:
    """A PNG data URI of the colour map; row 0 of ``z`` is the bottom (y min)."""
    v = log_gap(z, floor_value)
    v = (v - v.min()) / max(float(v.max() - v.min()), 1e-12)
    rgb = _LUT[np.clip((v * 255).astype(int), 0, 255)][::-1]
    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def contour_lines(xs, ys, z, floor_value: float, n_levels: int = 14):
    """Contour lines at levels evenly spaced in log_gap, as x and y lists with None between lines."""
    v = log_gap(z, floor_value)
    levels = np.linspace(v.min(), v.max(), n_levels + 2)[1:-1]
    gen = contourpy.contour_generator(xs, ys, v, line_type=contourpy.LineType.Separate)
    lx: list = []
    ly: list = []
    for level in levels:
        for line in gen.lines(level):
            # thin long lines so the payload stays small, keeping the end point (closed loops)
            line = np.concatenate([line[:-1:max(1, len(line) // 120)], line[-1:]])
            lx.extend(np.round(line[:, 0], 3).tolist() + [None])
            ly.extend(np.round(line[:, 1], 3).tolist() + [None])
    return lx, ly
