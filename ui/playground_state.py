"""The Playground's controls and their link to the URL.

Session state holds the widgets' values; ``st.query_params`` mirrors the
current scene, so the address bar is always a share link.
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from engine import schedules, surfaces
from engine.scene import (
    MAX_RATES,
    MOMENTUM_MAX,
    STEPS_MAX,
    STEPS_MIN,
    SURFACE_PARAMS,
    Scene,
    default_params,
    scene_from_query,
    scene_to_query,
)
from ui.widgets import rate_input, set_rate


def load_scene(scene: Scene) -> None:
    """Put a scene into the widgets' state (safe in a button's on_click callback)."""
    ss = st.session_state
    ss["surface"] = scene.surface
    for key, value in scene.params:
        ss[f"p_{scene.surface}_{key}"] = float(value)
    ss["n_rates"] = len(scene.rates)
    for i, lr in enumerate(scene.rates):
        set_rate(i, lr)
    ss["steps"] = int(scene.steps)
    surface = scene.build_surface()
    start = scene.start if scene.start is not None else surface.start
    ss["x0"], ss["y0"] = float(start[0]), float(start[1])
    ss["momentum"] = float(scene.momentum)
    ss["schedule"] = scene.schedule


def load_from_url_once() -> None:
    """On a session's first run, read the scene from the URL (with warnings for junk)."""
    if st.session_state.get("scene_loaded"):
        return
    query = {k: st.query_params.get(k) for k in st.query_params}
    scene, warnings = scene_from_query(query)
    load_scene(scene)
    st.session_state["url_warnings"] = warnings
    st.session_state["scene_loaded"] = True


def _surface_changed() -> None:
    name = st.session_state["surface"]
    surface = surfaces.get(name)
    for key, value in default_params(name):
        st.session_state[f"p_{name}_{key}"] = value
    st.session_state["x0"], st.session_state["y0"] = surface.start
    st.session_state["url_warnings"] = []


def controls() -> Scene:
    """Draw the controls and return the scene they describe."""
    ss = st.session_state
    name = st.selectbox("Loss surface", surfaces.names(), key="surface",
                        format_func=lambda n: surfaces.get(n).title, on_change=_surface_changed)
    params = []
    for p in SURFACE_PARAMS.get(name, ()):
        key = f"p_{name}_{p.key}"
        if key not in ss:
            ss[key] = p.default
        params.append((p.key, float(st.number_input(p.label, p.lo, p.hi, key=key, help=p.help,
                                                    format="%.4g"))))
    surface = surfaces.get(name, **dict(params))

    n = int(st.number_input("How many rates", 1, MAX_RATES, key="n_rates"))
    rates = tuple(rate_input(i) for i in range(n))
    steps = int(st.slider("Steps", STEPS_MIN, STEPS_MAX, key="steps"))
    (x0, x1), (y0, y1) = surface.bounds
    for key, (lo, hi), default in (("x0", (x0, x1), surface.start[0]),
                                   ("y0", (y0, y1), surface.start[1])):
        if key not in ss or not lo <= ss[key] <= hi:
            ss[key] = float(default)
    c1, c2 = st.columns(2)
    sx = c1.number_input("start x", float(x0), float(x1), key="x0", format="%.3f", step=0.1)
    sy = c2.number_input("start y", float(y0), float(y1), key="y0", format="%.3f", step=0.1)
    momentum = st.slider("Momentum β (0 = plain gradient descent)", 0.0, MOMENTUM_MAX,
                         key="momentum", step=0.01)
    schedule = st.selectbox("Schedule (each rate is its peak)", schedules.NAMES, key="schedule",
                            format_func=schedules.TITLES.get)
    start = None if (sx, sy) == tuple(map(float, surface.start)) else (float(sx), float(sy))
    return Scene(name, tuple(params), rates, steps, start, float(momentum), schedule)


def write_to_url(scene: Scene) -> None:
    """Mirror the scene into the address bar (only when it changed)."""
    query = scene_to_query(scene)
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != query:
        st.query_params.from_dict(query)


def share_link(scene: Scene) -> str:
    base = ""
    try:
        base = (st.context.url or "").split("?")[0]
    except Exception:  # AppTest and old servers have no URL
        base = ""
    return f"{base or 'http://localhost:8501/playground'}?{urlencode(scene_to_query(scene))}"
