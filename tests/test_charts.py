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
    notes = [a["text"] for a in fig["layout"]["annotations"] if a["text"].startswith("left at")]
    assert len(notes) == 1 and int(notes[0].split()[-1]) <= sw[0].diverged_at
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


def _divergence(fig):
    mark = next(d for d in fig["data"] if d.get("name") == "diverged")
    note = next(a for a in fig["layout"]["annotations"] if a["text"].startswith("left at step"))
    return mark, note


def test_divergence_label_is_dark_on_light_inside_the_plot_and_names_the_drawn_step():
    s = surfaces.quadratic()
    sw = sweep(s, [0.3], 200)
    t = sw[0]
    fig = _json(trajectory_figure(s, sw))
    mark, note = _divergence(fig)
    (x0, x1), (y0, y1) = s.bounds
    mx, my = mark["x"][0], mark["y"][0]
    assert x0 - 1e-9 <= mx <= x1 + 1e-9 and y0 - 1e-9 <= my <= y1 + 1e-9
    # readable on pale and dark surface: dark text on a light, nearly opaque box
    assert note["font"]["color"] == "#111" and note["bgcolor"].startswith("rgba(255,255,255")
    assert "textfont" not in mark or mark["textfont"].get("color") != "white"
    # the box extends toward the middle, so it is never clipped at the edge
    assert note["xanchor"] == ("right" if mx > (x0 + x1) / 2 else "left")
    assert note["yanchor"] == ("top" if my > (y0 + y1) / 2 else "bottom")
    # the step named is where the drawn path leaves the chart: j in view, j + 1 not (or frozen)
    n = int(note["text"].split()[-1])
    assert n <= t.diverged_at
    p, q = t.points[n - 1], t.points[n]
    assert x0 <= p[0] <= x1 and y0 <= p[1] <= y1
    assert not (x0 <= q[0] <= x1 and y0 <= q[1] <= y1) or n == t.diverged_at
    # and the mark is on the drawn segment between them
    cross = (q[0] - p[0]) * (my - p[1]) - (q[1] - p[1]) * (mx - p[0])
    assert abs(cross) < 1e-6 * max(1.0, float(np.hypot(*(q - p))))


def test_divergence_mark_sits_on_the_frozen_point_when_it_is_in_view():
    from charts.playground import divergence_mark

    pts = np.array([[0.0, 0.0], [0.5, 0.4], [0.5, 0.4], [0.5, 0.4]])
    (mx, my), step, why = divergence_mark(pts, 2, ((-1, 1), (-1, 1)))
    assert (mx, my) == (0.5, 0.4) and step == 2 and "step 1" in why
    # frozen outside the view: the mark is where the path crosses the edge, step j + 1
    pts = np.array([[0.0, 0.0], [0.5, 0.0], [3.0, 0.0], [3.0, 0.0]])
    (mx, my), step, _ = divergence_mark(pts, 3, ((-1, 1), (-1, 1)))
    assert (mx, my) == (1.0, 0.0) and step == 2


def test_lesson_two_first_experiment_draws_each_regime_differently():
    from pathlib import Path

    from engine.scene import run_scene
    from lessons.loader import Experiment, load

    lesson = load(Path(__file__).resolve().parents[1] / "lessons" / "02-too-large.md")
    exp = next(b for b in lesson.blocks(Experiment) if b.id == "three-regimes")
    surface, sw, diagnoses = run_scene(exp.scene)
    assert [d.regime.value for d in diagnoses] == ["converged", "oscillating", "diverged"]
    # the paths do not all lie on one line (the x axis), so none is drawn over another
    for t in sw:
        end = t.diverged_at or len(t.points)
        assert np.max(np.abs(t.points[:end, 1])) > 0.3
    # converged and oscillating have visibly different loss curves (not |1 - lr| equal)
    a, b = (sw[i].losses[20] - surface.global_value for i in (0, 1))
    assert max(a, b) / min(a, b) > 10, (a, b)
    # the oscillating path crosses the valley floor (x changes sign), the converged one does not
    xs0, xs1 = sw[0].points[:, 0], sw[1].points[:, 0]
    assert np.all(np.sign(xs0[:20]) == np.sign(xs0[0])) and np.any(np.sign(xs1) != np.sign(xs1[0]))
