"""Exports for slides and notebooks: the Playground's animation as a GIF, the runs and any
table as CSV.

Pure builders: engine results in, ``bytes`` or ``str`` out; nothing here runs
Streamlit. The GIF draws what the Playground draws (the surface's colour map
with blank grey where f is not finite, contour lines, minima, the start, each
run's path and head in the Playground's colours, a legend and a step counter)
at the Playground's frame steps (at most 100 frames). The CSV has one row per
run and step, in the engine's own float32 numbers (shortest round-trip text),
so a notebook reads back exactly what the app ran.

>>> from engine import descent, surfaces
>>> s = surfaces.quadratic()
>>> sw = descent.sweep(s, [0.05, 0.15], 3)
>>> print(runs_csv(sw).splitlines()[1])
1,lr = 0.05,sgd,0.05,0,-1.6,1.2,8.4800005,0.60530984,0
>>> table_csv([{"rate": 0.1, "regime": "converged"}, {"rate": 0.3, "steps": 12}])
'rate,regime,steps\\r\\n0.1,converged,\\r\\n0.3,,12\\r\\n'
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence

import contourpy
import numpy as np
from PIL import Image, ImageDraw, ImageFont
from plotly.colors import hex_to_rgb

from charts.playground import MAX_FRAMES, frame_steps, visible_end
from charts.style import RATE_COLORS, SURFACE_COLORSCALE, color, rate_label
from engine.descent import Sweep
from engine.grid import loss_grid
from engine.surfaces import Surface

MAX_GIF_BYTES = 3_000_000
BLANK = (200, 200, 200)  # where f is not finite (log of a negative, overflow, 1/0)
BACKGROUND = (255, 255, 255)
TEXT = (34, 34, 34)
CONTOUR_ALPHA = 90  # of 255: the Playground's rgba(255, 255, 255, 0.35)
N_LEVELS = 14


# ----------------------------------------------------------------------------
# The surface as an image (finite values coloured, the rest blank).
# ----------------------------------------------------------------------------


def _brightness(z: np.ndarray, floor_value: float) -> np.ndarray:
    """log10(1 + (z - min) / scale) scaled to [0, 1] over the finite values; NaN elsewhere
    (the Playground's log gap, see charts.surface.log_gap, made safe for non-finite z)."""
    finite = np.isfinite(z)
    v = np.full(z.shape, np.nan)
    if not finite.any():
        return v
    gap = np.maximum(z[finite] - floor_value, 0.0)
    scale = max(float(np.percentile(gap, 5)), 1e-9)
    g = np.log10(1.0 + gap / scale)
    lo, hi = float(g.min()), float(g.max())
    v[finite] = (g - lo) / max(hi - lo, 1e-12)
    return v


def _colour_map(v: np.ndarray) -> np.ndarray:
    """RGB (uint8) for brightness v in [0, 1] on the Playground's colour scale, BLANK for NaN."""
    stops = np.array([s for s, _ in SURFACE_COLORSCALE])
    rgb = np.array([hex_to_rgb(c) for _, c in SURFACE_COLORSCALE], dtype=np.float64)
    t = np.nan_to_num(v, nan=0.0)
    out = np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=-1)
    out[~np.isfinite(v)] = BLANK
    return out.round().astype(np.uint8)


class _View:
    """Data coordinates to pixels inside the plot rectangle (y up)."""

    def __init__(self, bounds, left: int, top: int, width: int, height: int):
        (self.x0, self.x1), (self.y0, self.y1) = bounds
        self.left, self.top, self.width, self.height = left, top, width, height

    def pixels(self, pts: np.ndarray) -> np.ndarray:
        pts = np.asarray(pts, dtype=np.float64)
        px = self.left + (pts[..., 0] - self.x0) / (self.x1 - self.x0) * (self.width - 1)
        py = self.top + (self.y1 - pts[..., 1]) / (self.y1 - self.y0) * (self.height - 1)
        return np.stack([px, py], axis=-1)

    def inside(self, p: np.ndarray) -> bool:
        return bool(self.left <= p[0] <= self.left + self.width - 1
                    and self.top <= p[1] <= self.top + self.height - 1)

    def clip(self, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Liang-Barsky: segments a[i] -> b[i] (pixels) cut to the plot rectangle.

        Returns (a', b', keep): the clipped ends and which segments touch the plot.
        """
        lo = np.array([self.left, self.top], dtype=np.float64)
        hi = lo + [self.width - 1, self.height - 1]
        d = b - a
        t0 = np.zeros(len(a))
        t1 = np.ones(len(a))
        keep = np.ones(len(a), dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            for k in range(2):
                for p, q in ((-d[:, k], a[:, k] - lo[k]), (d[:, k], hi[k] - a[:, k])):
                    parallel = p == 0
                    keep &= ~(parallel & (q < 0))
                    r = q / np.where(parallel, 1.0, p)
                    t0 = np.where(~parallel & (p < 0), np.maximum(t0, r), t0)
                    t1 = np.where(~parallel & (p > 0), np.minimum(t1, r), t1)
        keep &= t0 <= t1
        return a + t0[:, None] * d, a + t1[:, None] * d, keep


def _contours(draw: ImageDraw.ImageDraw, view: _View, xs, ys, v: np.ndarray) -> None:
    finite = v[np.isfinite(v)]
    if finite.size < 4 or finite.max() <= finite.min():
        return
    levels = np.linspace(finite.min(), finite.max(), N_LEVELS + 2)[1:-1]
    gen = contourpy.contour_generator(xs, ys, np.ma.masked_invalid(v),
                                      line_type=contourpy.LineType.Separate)
    for level in levels:
        for line in gen.lines(level):
            if len(line) > 1:
                draw.line(view.pixels(line).ravel().tolist(),
                          fill=(255, 255, 255, CONTOUR_ALPHA), width=1)


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    pts = []
    for k in range(10):
        rr = r if k % 2 == 0 else r * 0.45
        a = -math.pi / 2 + k * math.pi / 5
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return pts


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ----------------------------------------------------------------------------
# The GIF.
# ----------------------------------------------------------------------------


def plot_box(surface: Surface, width: int = 520) -> tuple[int, int, int, int]:
    """(left, top, width, height) in pixels of the plot inside a GIF ``width`` wide: the
    surface's box keeps its aspect ratio, between 0.45 and 1.2 (height / width)."""
    margin, band = 12, 30
    (bx0, bx1), (by0, by1) = surface.bounds
    pw = width - 2 * margin
    return margin, band, pw, int(round(pw * min(max((by1 - by0) / (bx1 - bx0), 0.45), 1.2)))


def trajectory_gif(surface: Surface, sweep: Sweep, labels: Sequence[str] | None = None, *,
                   width: int = 520, max_frames: int = MAX_FRAMES, frame_ms: int = 80,
                   hold_ms: int = 1500, title: str | None = None) -> bytes:
    """The Playground's animation as an animated GIF (bytes).

    The surface (colour map, blank grey where f is not finite, contour lines,
    minima as stars, the start as a white dot), each run's path growing step
    by step with its head, in the Playground's colours (:func:`charts.style.color`),
    a legend (``labels``, default each run's first rate; "diverged at step k"
    once it has) and a step counter. Frames are the Playground's
    (:func:`charts.playground.frame_steps`, at most ``max_frames`` <= 100); each
    shows ``frame_ms`` ms and the last ``hold_ms``. Raises ValueError if the
    result would exceed 3 MB (it never has at the default width).
    """
    n_runs = len(sweep)
    if n_runs == 0:
        raise ValueError("a GIF needs at least one run.")
    names = list(labels) if labels is not None else [rate_label(float(r)) for r in sweep.lrs[:, 0]]
    if len(names) != n_runs:
        raise ValueError(f"{len(names)} labels for {n_runs} runs.")
    if not 240 <= width <= 1200:
        raise ValueError(f"width must be 240 to 1200 pixels, got {width!r}.")
    max_frames = max(2, min(int(max_frames), MAX_FRAMES))
    steps = sweep.points.shape[1] - 1
    shown = frame_steps(steps, max_frames)

    # Layout: title band, the plot (the box's aspect, within limits), the legend.
    (bx0, bx1), (by0, by1) = surface.bounds
    margin, band, pw, ph = plot_box(surface, width)
    font, small = _font(14), _font(12)
    items = [(color(i), _fit(str(names[i]), 38)) for i in range(n_runs)]
    per_row = max(1, (width - 2 * margin) // 250)
    legend_rows = -(-n_runs // per_row) + 1
    height = band + ph + 8 + legend_rows * 20 + margin
    view = _View(surface.bounds, margin, band, pw, ph)

    # The static canvas, in RGB.
    xs, ys, z = loss_grid(surface)
    v = _brightness(z, surface.global_value)
    plot = Image.fromarray(_colour_map(v)[::-1], mode="RGB").resize((pw, ph), Image.Resampling.BILINEAR)
    canvas = Image.new("RGB", (width, height), BACKGROUND)
    canvas.paste(plot, (margin, band))
    overlay = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    _contours(ImageDraw.Draw(overlay), view, xs, ys, v)
    canvas = Image.alpha_composite(canvas.convert("RGBA"), overlay).convert("RGB")
    draw = ImageDraw.Draw(canvas)
    for m in surface.minima:
        c = view.pixels(np.array(m.point))
        if view.inside(c):
            draw.polygon(_star(c[0], c[1], 8), fill=(255, 255, 255) if m.is_global else None,
                         outline=(0, 0, 0) if m.is_global else (255, 255, 255))
    start = view.pixels(sweep.points[0, 0])
    if view.inside(start):
        draw.ellipse([start[0] - 5, start[1] - 5, start[0] + 5, start[1] + 5],
                     fill=(255, 255, 255), outline=(0, 0, 0))
    draw.text((margin, 7), _fit(title or surface.title, 52), fill=TEXT, font=font)
    legend_top = band + ph + 8
    slots = []
    swatches = []
    for i, (rgb_hex, name) in enumerate(items):
        x = margin + (i % per_row) * 250
        y = legend_top + (i // per_row) * 20
        swatches.append(([x, y + 8, x + 22, y + 8], hex_to_rgb(rgb_hex)))  # drawn after quantizing
        draw.text((x + 28, y), name, fill=TEXT, font=small)
        slots.append((x + 28 + draw.textlength(name, font=small) + 8, y))
    box_text = f"x: {bx0:g} to {bx1:g}   y: {by0:g} to {by1:g}"
    draw.text((width - margin - draw.textlength(box_text, font=small), legend_top), box_text,
              fill=TEXT, font=small)
    y = legend_top + (legend_rows - 1) * 20
    x = margin
    keys = [("global", "global minimum" + (" (found numerically)" if surface.name == "custom" else ""))]
    if not all(m.is_global for m in surface.minima):
        keys.append(("local", "local minimum"))
    if not np.isfinite(z).all():
        keys.append(("blank", "f not finite"))
    for kind, key in keys:
        if kind == "blank":
            draw.rectangle([x + 2, y + 2, x + 20, y + 14], fill=BLANK, outline=(120, 120, 120))
        else:
            draw.polygon(_star(x + 11, y + 8, 7), fill=(255, 255, 255) if kind == "global" else None,
                         outline=(0, 0, 0) if kind == "global" else (90, 90, 90))
        draw.text((x + 28, y), key, fill=TEXT, font=small)
        x += 28 + draw.textlength(key, font=small) + 20

    # One palette for every frame: the canvas's own colours plus reserved exact ones.
    base = canvas.quantize(colors=240, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    palette = (base.getpalette() or [])[: 240 * 3]
    palette += [0] * (240 * 3 - len(palette))
    reserved = [hex_to_rgb(c) for c in RATE_COLORS] + [(255, 255, 255), TEXT]
    for rgb in reserved:
        palette += list(rgb)
    base.putpalette(palette)
    ink = {rgb: 240 + k for k, rgb in enumerate(reserved)}
    white, text_ink = ink[(255, 255, 255)], ink[TEXT]
    base_draw = ImageDraw.Draw(base)
    for line, rgb in swatches:
        base_draw.line(line, fill=ink[rgb], width=3)

    # Per run: pixel path, clipped segments, where it is drawn to.
    runs = []
    for i in range(n_runs):
        pts = view.pixels(sweep.points[i])
        d = int(sweep.diverged_at[i])
        end = visible_end(sweep.points[i], None if d < 0 else d)
        a, b, keep = view.clip(pts[:-1], pts[1:])
        runs.append(dict(pts=pts, a=a, b=b, keep=keep, end=end, diverged=d, drawn=0,
                         ink=ink[hex_to_rgb(color(i))]))

    paths = base.copy()  # paths only grow: each frame adds its new segments here
    path_draw = ImageDraw.Draw(paths)
    path_draw.fontmode = "1"
    frames = []
    for k in shown:
        for i, r in enumerate(runs):
            upto = min(int(k), r["end"] - 1)  # segments 0 .. upto-1 move to point `upto`
            for s in range(r["drawn"], upto):
                if r["keep"][s]:
                    path_draw.line([*r["a"][s], *r["b"][s]], fill=r["ink"], width=2)
            r["drawn"] = max(r["drawn"], upto)
            if 0 <= r["diverged"] <= k and not r.get("noted"):
                r["noted"] = True
                path_draw.text(slots[i], f"diverged at step {r['diverged']}", fill=r["ink"], font=small)
        frame = paths.copy()
        fd = ImageDraw.Draw(frame)
        fd.fontmode = "1"
        for r in runs:
            head = r["pts"][min(int(k), r["end"] - 1)]
            if not view.inside(head):
                continue
            hx, hy = head
            if 0 <= r["diverged"] <= k:  # frozen where it blew up: a cross
                fd.line([hx - 6, hy - 6, hx + 6, hy + 6], fill=r["ink"], width=3)
                fd.line([hx - 6, hy + 6, hx + 6, hy - 6], fill=r["ink"], width=3)
            else:
                fd.ellipse([hx - 6, hy - 6, hx + 6, hy + 6], fill=r["ink"], outline=white, width=2)
        counter = f"step {int(k)} / {steps}"
        fd.text((width - margin - fd.textlength(counter, font=font), 7), counter, fill=text_ink,
                font=font)
        frames.append(frame)

    buf = io.BytesIO()
    durations = [frame_ms] * (len(frames) - 1) + [hold_ms]
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, optimize=True, disposal=1)
    data = buf.getvalue()
    if len(data) > MAX_GIF_BYTES:
        raise ValueError(f"The GIF would be {len(data) / 1e6:.1f} MB (at most 3 MB): use a "
                         "smaller width or fewer frames.")
    return data


# ----------------------------------------------------------------------------
# CSV.
# ----------------------------------------------------------------------------

RUN_COLUMNS = ("run", "label", "optimizer", "rate", "step", "x", "y", "loss", "step_size",
               "diverged")
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def _text(value: str) -> str:
    """Text for a cell; one a spreadsheet would run as a formula gets a leading quote."""
    if value.startswith(_RISKY):
        try:
            float(value)
        except ValueError:
            return "'" + value
    return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, np.floating):
        return "" if not np.isfinite(value) else str(value)  # shortest text for its precision
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    if isinstance(value, int | np.integer):
        return str(int(value))
    return _text(str(value))


def runs_csv(sweep: Sweep, labels: Sequence[str] | None = None,
             optimizers: Sequence[str] | None = None) -> str:
    """Every run of a sweep, one row per run and step (``len(sweep) * (steps + 1)`` rows).

    Columns: ``run`` (1, 2, ...), ``label`` (default each run's first rate),
    ``optimizer`` (default "sgd"), ``rate`` (the rate that moved step k to k+1;
    empty on the last row), ``step``, ``x``, ``y``, ``loss`` (f at that point),
    ``step_size`` (|x(k+1) - x(k)|; empty on the last row) and ``diverged``
    (1 from the step where the engine froze the run, else 0). Numbers are the
    engine's float32 values in their shortest exact text.
    """
    n = len(sweep)
    steps = sweep.points.shape[1] - 1
    names = list(labels) if labels is not None else [rate_label(float(r)) for r in sweep.lrs[:, 0]]
    opts = list(optimizers) if optimizers is not None else ["sgd"] * n
    if len(names) != n or len(opts) != n:
        raise ValueError(f"need one label and one optimizer per run ({n}).")
    pts = np.asarray(sweep.points, dtype=np.float32)
    sizes = np.linalg.norm(np.diff(pts, axis=1), axis=-1).astype(np.float32)
    as_text = lambda a: np.asarray(a, dtype=np.float32).astype(str)  # noqa: E731 (shortest repr)
    xs, ys, losses = as_text(pts[..., 0]), as_text(pts[..., 1]), as_text(sweep.losses)
    rates, size_text = as_text(sweep.lrs), as_text(sizes)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(RUN_COLUMNS)
    step_text = [str(k) for k in range(steps + 1)]
    for i in range(n):
        d = int(sweep.diverged_at[i])
        label, opt = _cell(names[i]), _cell(opts[i])
        for k in range(steps + 1):
            last = k == steps
            w.writerow((i + 1, label, opt, "" if last else rates[i, k], step_text[k], xs[i, k],
                        ys[i, k], losses[i, k], "" if last else size_text[i, k],
                        1 if 0 <= d <= k else 0))
    return out.getvalue()


def table_csv(rows, columns: Sequence[str] | None = None) -> str:
    """Any table as CSV: ``rows`` a sequence of mappings (or a pandas DataFrame).

    Columns are ``columns`` or every key in first-seen order; a missing value,
    None or a non-finite number is an empty cell; text that a spreadsheet
    would run as a formula (starting with = + - @) gets a leading quote.
    """
    if hasattr(rows, "to_dict") and not isinstance(rows, Mapping):
        rows = rows.to_dict("records")
    rows = list(rows)
    if not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("table_csv needs rows as mappings (column -> value).")
    if columns is None:
        seen: dict[str, None] = {}
        for r in rows:
            for key in r:
                seen.setdefault(str(key), None)
        columns = list(seen)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow([_text(str(c)) for c in columns])
    for r in rows:
        row = {str(k): v for k, v in r.items()}
        w.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()
