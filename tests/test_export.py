"""Exports: the GIF decodes with Pillow, has the Playground's frames, stays under 3 MB and shows
the surface and every run in its colour; the CSVs parse back to the run's own numbers."""

from __future__ import annotations

import csv
import io

import numpy as np
import optax
import pytest
from PIL import Image
from plotly.colors import hex_to_rgb

from charts.export import MAX_GIF_BYTES, plot_box, runs_csv, table_csv, trajectory_gif
from charts.playground import frame_steps
from charts.style import SURFACE_COLORSCALE, color
from engine import descent, surfaces

RATES = [0.05, 0.5, 1.5, 2.5]  # on sharp_wide: stays in the pit, two reach the bowl, one diverges


@pytest.fixture(scope="module")
def sharp_run():
    s = surfaces.get("sharp_wide")
    sw = descent.sweep(s, RATES, 200)
    return s, sw, trajectory_gif(s, sw)


def _frames(data: bytes) -> list[np.ndarray]:
    im = Image.open(io.BytesIO(data))
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("RGB")))
    return out


def _plot(frame: np.ndarray, surface) -> np.ndarray:
    left, top, w, h = plot_box(surface)
    return frame[top: top + h, left: left + w]


def _surface_share(pixels: np.ndarray) -> float:
    """Share of pixels whose colour lies on the surface's colour scale (within 12 per channel)."""
    stops = np.array([s for s, _ in SURFACE_COLORSCALE])
    rgb = np.array([hex_to_rgb(c) for _, c in SURFACE_COLORSCALE], dtype=np.float64)
    t = np.linspace(0, 1, 256)
    lut = np.stack([np.interp(t, stops, rgb[:, k]) for k in range(3)], axis=1)
    px = pixels.reshape(-1, 3).astype(np.float64)[::7]
    near = np.abs(px[:, None, :] - lut[None]).max(axis=-1).min(axis=1) <= 12
    return float(near.mean())


def _has(pixels: np.ndarray, rgb) -> int:
    return int(np.all(pixels == np.array(rgb, dtype=np.uint8), axis=-1).sum())


def test_gif_decodes_with_the_playgrounds_frames_under_three_megabytes(sharp_run):
    s, sw, data = sharp_run
    assert data[:6] == b"GIF89a" and len(data) <= MAX_GIF_BYTES
    im = Image.open(io.BytesIO(data))
    assert im.n_frames == len(frame_steps(200)) == 100
    assert im.info.get("loop") == 0


def test_first_and_middle_frames_show_the_surface_and_the_last_every_run(sharp_run):
    s, sw, data = sharp_run
    frames = _frames(data)
    for k in (0, len(frames) // 2):
        assert _surface_share(_plot(frames[k], s)) > 0.6
    last = _plot(frames[-1], s)
    for i in range(len(RATES)):
        assert _has(last, hex_to_rgb(color(i))) > 20, f"run {i} ({color(i)}) not drawn"
    # heads of the runs that did not diverge sit on their last point, in their colour (unless a
    # later run's head is drawn over it: 0.5 and 1.5 both end in the wide minimum)
    left, top, w, h = plot_box(s)
    (x0, x1), (y0, y1) = s.bounds
    heads = np.stack([left + (sw.points[:, -1, 0] - x0) / (x1 - x0) * (w - 1),
                      top + (y1 - sw.points[:, -1, 1]) / (y1 - y0) * (h - 1)], axis=1)
    checked = 0
    for i in range(len(RATES)):
        covered = any(np.hypot(*(heads[j] - heads[i])) < 14 for j in range(i + 1, len(RATES)))
        if sw.diverged_at[i] >= 0 or covered:
            continue
        px, py = np.round(heads[i]).astype(int)
        assert tuple(frames[-1][py, px]) == hex_to_rgb(color(i))
        checked += 1
    assert checked == 2
    # the first frame has no path yet: every head is at the start
    assert sum(_has(_plot(frames[0], s), hex_to_rgb(color(i))) for i in range(3)) < 200


def test_paths_grow_frame_by_frame(sharp_run):
    s, _, data = sharp_run
    frames = _frames(data)
    red = hex_to_rgb(color(2))  # lr = 1.5 crosses the box to the wide bowl
    counts = [_has(_plot(f, s), red) for f in frames[::10]]
    assert counts[-1] > counts[0] and counts == sorted(counts)


def test_non_finite_region_is_blank_never_an_error():
    s = surfaces.custom("x*log(x) + y**2", bounds=((-1, 2), (-2, 2)), start=(1.5, 1.5))
    sw = descent.sweep(s, [0.1, 1.2], 60)
    assert sw.diverged_at[1] == 1  # jumped to x < 0: NaN loss, frozen
    frames = _frames(trajectory_gif(s, sw, max_frames=20))
    assert len(frames) == 20
    plot = _plot(frames[-1], s)
    grey = np.all(plot == np.array((200, 200, 200), np.uint8), axis=-1)
    assert grey[:, : plot.shape[1] // 4].mean() > 0.95  # x < -0.25: log of a negative
    assert grey[:, plot.shape[1] // 2:].mean() == 0.0


def test_short_runs_and_frame_limits():
    s = surfaces.quadratic()
    sw = descent.sweep(s, [0.05], 30)
    assert Image.open(io.BytesIO(trajectory_gif(s, sw))).n_frames == 31
    assert Image.open(io.BytesIO(trajectory_gif(s, sw, max_frames=10))).n_frames == 10
    assert Image.open(io.BytesIO(trajectory_gif(s, sw, max_frames=500))).n_frames == 31
    with pytest.raises(ValueError, match="labels"):
        trajectory_gif(s, sw, labels=["a", "b"])
    with pytest.raises(ValueError, match="width"):
        trajectory_gif(s, sw, width=10)


def _read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_runs_csv_parses_back_to_the_runs_numbers():
    s = surfaces.get("rosenbrock")
    steps = 150
    sched = optax.cosine_decay_schedule(2e-3, steps)
    sw = descent.sweep(s, [1e-3, sched, 2e-2], steps)
    assert sw.diverged_at[2] > 0
    rows = _read(runs_csv(sw, labels=["slow", "cosine", "too big"], optimizers=["sgd"] * 3))
    assert len(rows) == 3 * (steps + 1)
    assert list(rows[0]) == ["run", "label", "optimizer", "rate", "step", "x", "y", "loss",
                             "step_size", "diverged"]
    for i in range(3):
        mine = [r for r in rows if r["run"] == str(i + 1)]
        assert [int(r["step"]) for r in mine] == list(range(steps + 1))
        assert {r["label"] for r in mine} == {["slow", "cosine", "too big"][i]}
        got = lambda key, rows=mine: np.array([np.float32(r[key]) for r in rows])  # noqa: E731
        np.testing.assert_array_equal(got("x"), sw.points[i, :, 0])
        np.testing.assert_array_equal(got("y"), sw.points[i, :, 1])
        np.testing.assert_array_equal(got("loss"), sw.losses[i])
        np.testing.assert_array_equal(got("rate", mine[:-1]), sw.lrs[i])
        np.testing.assert_array_equal(got("step_size", mine[:-1]), sw[i].step_sizes.astype(np.float32))
        assert mine[-1]["rate"] == "" and mine[-1]["step_size"] == ""
        d = int(sw.diverged_at[i])
        flags = [int(r["diverged"]) for r in mine]
        assert flags == [1 if 0 <= d <= k else 0 for k in range(steps + 1)]
    assert len({r["rate"] for r in rows if r["run"] == "2"}) > 100  # the schedule's own rates


def test_runs_csv_defaults_and_spreadsheet_safety():
    s = surfaces.quadratic()
    sw = descent.sweep(s, [0.1, 0.3], 5)
    rows = _read(runs_csv(sw))
    assert len(rows) == 12 and rows[0]["label"] == "lr = 0.1" and rows[0]["optimizer"] == "sgd"
    rows = _read(runs_csv(sw, labels=["=HYPERLINK(\"x\")", "@a"], optimizers=["adam", "+1+1"]))
    assert rows[0]["label"] == "'=HYPERLINK(\"x\")" and rows[6]["label"] == "'@a"
    assert rows[6]["optimizer"] == "'+1+1"
    with pytest.raises(ValueError, match="one label"):
        runs_csv(sw, labels=["one"])


def test_table_csv_any_rows():
    rows = [{"rate": 0.1, "regime": "converged", "steps": 12, "ok": True},
            {"rate": np.float32(0.3), "regime": "diverged", "steps": None, "final": float("nan")},
            {"rate": 3, "regime": "-oops", "steps": np.int64(7), "final": -0.5}]
    text = table_csv(rows)
    back = _read(text)
    assert list(back[0]) == ["rate", "regime", "steps", "ok", "final"]
    assert [r["rate"] for r in back] == ["0.1", "0.3", "3"]
    assert [r["steps"] for r in back] == ["12", "", "7"]
    assert back[0]["ok"] == "true" and back[0]["final"] == "" and back[1]["final"] == ""
    assert back[2]["final"] == "-0.5" and back[2]["regime"] == "'-oops"
    assert table_csv(rows, columns=["regime"]).splitlines() == ["regime", "converged", "diverged",
                                                                 "'-oops"]
    pd = pytest.importorskip("pandas")
    assert table_csv(pd.DataFrame([{"a": 1.5, "b": "x"}])) == "a,b\r\n1.5,x\r\n"
    with pytest.raises(ValueError, match="mappings"):
        table_csv([[1, 2]])
