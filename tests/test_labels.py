"""Run labels name a scheduled run by its schedule and peak rate, never by its first rate
(warmup + cosine starts at 0, so every run read "lr = 0")."""

from __future__ import annotations

from engine.scene import Scene, run_scene
from ui.lesson_view import _run_label
from ui.playground_state import run_label
from ui.widgets import rate_text


def _scene(schedule: str, opts=()) -> Scene:
    return Scene("quadratic", (("a", 1.0), ("b", 10.0)), (0.1, 0.05), 40, None, 0.0, schedule,
                 opts)


def test_rate_text_constant_and_scheduled():
    assert rate_text(0.1) == "lr = 0.1"
    assert rate_text(0.1, "cosine") == "cosine, peak lr = 0.1"
    assert rate_text(0.028, "warmup_cosine") == "warmup + cosine, peak lr = 0.028"


def test_playground_and_lesson_labels_give_schedule_and_peak():
    scene = _scene("warmup_cosine")
    assert [run_label(scene, i) for i in range(2)] == [
        "warmup + cosine, peak lr = 0.1", "warmup + cosine, peak lr = 0.05"]
    assert [_run_label(scene, i, lr) for i, lr in enumerate(scene.rates)] == [
        "warmup + cosine, peak lr = 0.1", "warmup + cosine, peak lr = 0.05"]
    assert run_label(_scene("constant"), 0) == "lr = 0.1"
    mixed = _scene("cosine", ("sgd", "adam"))
    assert run_label(mixed, 1) == "Adam, cosine, peak lr = 0.05"
    assert _run_label(mixed, 1, 0.05) == "Adam, cosine, peak lr = 0.05"


def test_chart_default_names_use_the_peak_not_the_first_rate():
    from charts.playground import loss_figure, trajectory_figure

    scene = _scene("warmup_cosine")
    surface, sweep, _ = run_scene(scene)
    assert float(sweep[0].lrs[0]) == 0.0  # the case that read "lr = 0"
    names = {t["name"] for t in loss_figure(surface, sweep).to_dict()["data"] if t.get("name")}
    assert "lr = 0" not in names and {"peak lr = 0.1", "peak lr = 0.05"} <= names
    traj = {t.get("name") for t in trajectory_figure(surface, sweep).to_dict()["data"]}
    assert "lr = 0" not in traj and "peak lr = 0.1" in traj
