"""What a Playground rerun costs the server, in sizes and counts (never timings): the figures'
payload, figures built once per scene, and the garbage collector kept off import-time objects.
Timings are in benchmarks/ (profile_rerun.py, bench_load.py; table in benchmarks/README.md)."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import plotly.io as pio
import pytest
from streamlit.testing.v1 import AppTest

from charts import playground as charts
from charts.ready import ReadyFigure, figure_from_spec
from engine.scene import Scene, run_scene
from ui import playground_runs

APP = str(Path(__file__).resolve().parents[1] / "app.py")
KB = 1000


def payload(scene: Scene) -> list[int]:
    """JSON bytes of the scene's trajectory, loss and step-size figures as st.plotly_chart
    sends them."""
    surface, sweep, _ = run_scene(scene)
    specs = (charts.trajectory_spec(surface, sweep), charts.loss_spec(surface, sweep),
             charts.step_size_spec(sweep))
    return [len(pio.to_json(ReadyFigure(s), validate=False)) for s in specs]


def test_default_scene_payload_is_bounded():
    """Before issue 13's cuts the default scene sent 170 KB (three figures); now ~111 KB."""
    sizes = payload(Scene())
    assert sum(sizes) < 125 * KB, sizes
    assert sizes[1] < 10 * KB and sizes[2] < 10 * KB, sizes  # per-step charts: x0/dx, 7 digits


def test_largest_scene_payload_is_bounded():
    """Four optimizers x 1,000 steps (the most the controls allow): was 355 KB, now ~306 KB."""
    scene = Scene(rates=(0.01, 0.1, 0.19, 0.25), steps=1000,
                  optimizers=("sgd", "adam", "momentum", "rmsprop"))
    sizes = payload(scene)
    assert sum(sizes) < 330 * KB, sizes


def test_ready_figure_sends_the_spec_unchanged():
    """st.plotly_chart gets the spec itself (no copy): encoding it twice gives the same JSON,
    and its figure (figure_from_spec) holds the same traces and frames."""
    surface, sweep, _ = run_scene(Scene())
    spec = charts.trajectory_spec(surface, sweep)
    before = json.dumps(spec, sort_keys=True)
    fig = ReadyFigure(spec)
    assert fig.to_dict() is spec
    first = pio.to_json(fig, validate=False)
    assert pio.to_json(fig, validate=False) == first
    assert json.dumps(spec, sort_keys=True) == before  # not mutated by encoding
    full = json.loads(pio.to_json(figure_from_spec(spec), validate=False))
    sent = json.loads(first)
    assert full["data"] == sent["data"] and full["frames"] == sent["frames"]
    with pytest.raises(AttributeError):
        fig.layout = {}


@pytest.fixture
def builds(monkeypatch):
    """Count the figure builds of the Playground (its cache emptied first)."""
    counts = {"trajectory": 0, "loss": 0, "step size": 0}

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            counts[name] += 1
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(playground_runs, "trajectory_spec",
                        counting("trajectory", charts.trajectory_spec))
    monkeypatch.setattr(playground_runs, "loss_spec", counting("loss", charts.loss_spec))
    monkeypatch.setattr(playground_runs, "step_size_spec",
                        counting("step size", charts.step_size_spec))
    playground_runs._specs.clear()
    yield counts
    playground_runs._specs.clear()


def test_an_identical_rerun_builds_no_figure(builds):
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/playground.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert builds == {"trajectory": 1, "loss": 1, "step size": 1}
    at.run()  # nothing changed
    assert builds == {"trajectory": 1, "loss": 1, "step size": 1}
    first = at.number_input(key="lr_num_0").value
    at.number_input(key="lr_num_0").set_value(0.05).run()
    assert builds == {"trajectory": 2, "loss": 2, "step size": 2}
    at.number_input(key="lr_num_0").set_value(first).run()  # back to a scene seen before
    assert builds == {"trajectory": 2, "loss": 2, "step size": 2}
    assert not at.exception


def test_a_new_rate_builds_no_surface(monkeypatch):
    """A surface is built once per (name, parameters) per process: building one put its
    parameters on the JAX device, an eager dispatch on every rerun (~3 % of a Playground
    rerun's server CPU under load, py-spy)."""
    from engine import scene as scenes

    built = []
    real = scenes.surfaces.get
    monkeypatch.setattr(scenes.surfaces, "get", lambda name, **p: built.append(name) or real(name, **p))
    scenes.named_surface.cache_clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/playground.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    first = len(built)
    assert first >= 1
    for lr in (0.05, 0.07, 0.03):
        at.number_input(key="lr_num_0").set_value(lr).run()
    assert not at.exception
    assert len(built) == first, built
    assert scenes.build_surface("quadratic", (("a", 2.0), ("b", 3.0))) is scenes.build_surface(
        "quadratic", {"b": 3.0, "a": 2.0})
    with pytest.raises(ValueError):
        scenes.build_surface("quadratic", (("a", -1.0), ("b", 3.0)))
    scenes.named_surface.cache_clear()


def test_figures_are_encoded_with_orjson(monkeypatch):
    """Plotly encodes a figure with orjson when it is installed (requirements.txt): 8.2 -> 1.5 ms
    for the default scene's figures. A figure that st.plotly_chart encodes goes through it."""
    import orjson

    calls = []
    real = orjson.dumps
    monkeypatch.setattr(orjson, "dumps", lambda *a, **k: calls.append(1) or real(*a, **k))
    surface, sweep, _ = run_scene(Scene())
    text = pio.to_json(ReadyFigure(charts.loss_spec(surface, sweep)), validate=False)
    assert calls and json.loads(text)["data"]


def test_after_a_run_the_collector_no_longer_walks_startup_objects():
    """Streamlit's gc.collect() after every run walked every import-time object (~125 ms per
    rerun); the page freezes them once (ui.heap)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("app_pages/playground.py")
    at.run()
    assert not at.exception
    frozen = gc.get_freeze_count()
    assert frozen > 50_000
    assert len(gc.get_objects()) < frozen  # what a collection still walks


@pytest.mark.parametrize("module", [charts, playground_runs])
def test_docstring_examples(module):
    import doctest

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
