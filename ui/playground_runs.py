"""The Playground's cached work: a scene's runs, its figures, each optimizer's measured limit.

Defined here, not in the page script, so Streamlit builds each cache wrapper once per
process (a function defined in the page is re-wrapped on every rerun, which re-reads and
hashes its source). Each cache is keyed by one short exact string (the scene's ``repr``)
rather than by the Scene itself: hashing a string is one call, hashing a dataclass walks
every field (about 1 ms per call, several calls per rerun). The ``_``-prefixed arguments
are not hashed; they are what the key names.

Results are kept by ``st.cache_data`` (pickled): every session gets its own copy, and a
cached scene is bytes, not thousands of live objects that every garbage collection would
walk.
"""

from __future__ import annotations

import streamlit as st

from charts.playground import loss_spec, step_size_spec, trajectory_spec
from charts.ready import ReadyFigure
from engine import limits
from engine.scene import Scene, build_surface, run_scene


def scene_key(scene: Scene) -> str:
    """An exact, short key for a scene: its repr (every field; floats as ``repr`` writes them,
    which round-trips exactly).

    >>> scene_key(Scene(rates=(0.1,)))[:40]
    "Scene(surface='quadratic', params=(('a',"
    """
    return repr(scene)


@st.cache_data(max_entries=64, show_spinner=False)
def _run(key: str, _scene: Scene):
    return run_scene(_scene)[1:]


def cached_run(scene: Scene):
    """(sweep, diagnoses) of a scene, cached per scene."""
    return _run(scene_key(scene), scene)


@st.cache_data(max_entries=64, show_spinner=False)
def _specs(key: str, labels: tuple[str, ...], _surface, _sweep, dark: bool = False,
           narrow: bool = False) -> tuple[dict, dict, dict]:
    # On a phone the chart is ~360 px wide: a shorter chart leaves less blank above and below
    # the (equal-scale) surface, and Play/Pause sit on their own row above the slider.
    return (trajectory_spec(_surface, _sweep, height=540 if narrow else 600, labels=list(labels),
                            dark=dark, narrow=narrow),
            loss_spec(_surface, _sweep, labels=list(labels)),
            step_size_spec(_sweep, labels=list(labels)))


def scene_figures(scene: Scene, labels: list[str], surface, sweep, dark: bool = False,
                  narrow: bool = False) -> tuple[ReadyFigure, ...]:
    """The trajectory, loss and step-size figures of a scene whose surface and runs are
    ``surface`` and ``sweep``: built once per scene, labels, page theme (``dark``) and screen
    (``narrow``: a phone) per process, as plain specs ready for st.plotly_chart (charts.ready)."""
    return tuple(map(ReadyFigure, _specs(scene_key(scene), tuple(labels), surface, sweep,
                                         bool(dark), bool(narrow))))


@st.cache_data(max_entries=256, show_spinner=False)
def _limit(key: str, _args: tuple) -> float | None:
    surface, params, formula_text, box, opt, steps, start, noise, seed, momentum = _args
    return limits.measured_limit(build_surface(surface, params, formula_text, box), opt, steps,
                                 start=start, noise=noise, seed=seed, momentum=momentum)


def cached_limit(scene: Scene, optimizer: str) -> float | None:
    """engine.limits.measured_limit of ``optimizer`` on the scene's surface, steps, start,
    noise and momentum (not its rates), cached."""
    args = (scene.surface, scene.params, scene.formula, scene.box, optimizer, scene.steps,
            scene.start, scene.noise, scene.seed, scene.momentum)
    return _limit(repr(args), args)
