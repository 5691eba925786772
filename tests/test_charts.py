"""Chart builders: the surface survives animation, frames stay small, divergence is drawn."""

import json

import numpy as np
import plotly.io as pio

from charts.playground import (
    MAX_FRAMES,
    frame_steps,
    loss_figure,
    step_size_figure,
    trajectory_figure,
)
from engine import surfaces
from engine.descent import sweep


def _json(fig):
    return json.loads(pio.to_json(fig, validate=False))


def test_frame_steps_are_bounded_and_cover_the_run():
    for steps in (10, 99, 100, 101, 1000):
        ks = frame_steps(steps)
        assert ks[0] == 0 and ks[-1] == steps and len(ks) <= MAX_FRAMES
        assert np.all(np.diff(ks) > 0)


def test_trajectory_figure_sends_surface_once_and_frames_carry_only_heads():
    s = surfaces.quadratic()
    sw = sweep(s, [0.01, 0.1, 0.19, 0.25], 1000)
    fig = _json(trajectory_figure(s, sw))
    layout = fig["layout"]
    assert layout["images"][0]["source"].startswith("data:image/png;base64,")
    types = {t["type"] for t in fig["data"]}
    assert "contour" not in types and "heatmap" not in types  # they vanish on Play
    assert len(fig["frames"]) <= MAX_FRAMES
    n_data = len(fig["data"])
    for frame in fig["frames"]:
        assert len(frame["data"]) == 4
        assert all(len(d["x"]) <= 10 for d in frame["data"])
        assert all(i >= n_data - 4 for i in frame["traces"])
        assert "images" not in frame.get("layout", {})
    size = len(pio.to_json(trajectory_figure(s, sw), validate=False))
    assert size < 300_000, size


def test_diverging_path_is_marked_and_has_no_nan():
    s = surfaces.quadratic()
    sw = sweep(s, [0.3], 200)
    assert sw[0].diverged_at is not None
    fig = _json(trajectory_figure(s, sw))
    texts = [t for d in fig["data"] for t in (d.get("text") or []) if isinstance(t, str)]
    assert f"diverged at step {sw[0].diverged_at}" in texts
    for f in (trajectory_figure(s, sw), loss_figure(s, sw), step_size_figure(sw)):
        payload = pio.to_json(f, validate=False)
        assert "NaN" not in payload and "Infinity" not in payload


def test_loss_figure_uses_log_axis_and_is_positive():
    s = surfaces.camel()
    sw = sweep(s, [0.001, 0.01], 300)
    fig = _json(loss_figure(s, sw))
    assert fig["layout"]["yaxis"]["type"] == "log"
    for trace in fig["data"]:
        assert min(trace["y"]) > 0


def test_figures_name_runs_by_the_labels_given_and_mark_the_runs_start():
    s = surfaces.quadratic()
    sw = sweep(s, [0.1, 0.1], 100, start=(1.0, -0.5))
    labels = ["Adam, lr = 0.1", "SGD, lr = 0.1"]
    for fig in (trajectory_figure(s, sw, labels=labels), loss_figure(s, sw, labels=labels),
                step_size_figure(sw, labels=labels)):
        names = [d.get("name") for d in _json(fig)["data"]]
        assert all(name in names for name in labels), names
    start = next(d for d in _json(trajectory_figure(s, sw))["data"] if d.get("name") == "start")
    assert (start["x"], start["y"]) == ([1.0], [-0.5])
    # without labels, runs are named by their rate as before
    assert [d["name"] for d in _json(loss_figure(s, sw))["data"]] == ["lr = 0.1", "lr = 0.1"]
