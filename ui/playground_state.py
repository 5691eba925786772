"""The Playground's controls and their link to the URL.

Session state holds the widgets' values; ``st.query_params`` mirrors the
current scene, so the address bar is always a share link.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from urllib.parse import urlencode

import streamlit as st

from engine import optimizers, schedules, surfaces
from engine.scene import (
    CUSTOM,
    MAX_RATES,
    MOMENTUM_MAX,
    SEED_MAX,
    STEPS_MAX,
    STEPS_MIN,
    SURFACE_PARAMS,
    Scene,
    build_surface,
    default_params,
    fmt,
    named_surface,
    scene_from_query,
    scene_to_query,
)
from ui import formula_input
from ui.downloads import on_demand  # noqa: F401 (moved to ui.downloads; kept for old callers)
from ui.widgets import optimizer_input, rate_input, rate_text, set_rate

NOISE_SLIDER_MAX = 5.0  # the slider's top; a link may ask for more (engine.scene.NOISE_MAX)
NOISE_TEXT = ("Gaussian noise of this standard deviation is added to every gradient, the same "
              "draws for every run (so runs differ only by rate and optimizer). This is what "
              "mini-batch noise looks like on a 2-D surface: each step follows a noisy estimate "
              "of the gradient.")
MOMENTUM_HELP = ("Heavy-ball momentum β for the runs whose optimizer is SGD: v ← g + β·v, "
                 "x ← x − lr·v (β = 0 is plain gradient descent). The other optimizers bring "
                 f"their own: SGD + momentum and Nesterov use β = {optimizers.MOMENTUM:g}, "
                 "AdaGrad, RMSProp, Adam and AdamW their optax defaults.")


@lru_cache(maxsize=64)
def surface_title(name: str) -> str:
    """The surface picker's label for a surface name (``custom``: your own formula); cached,
    as the picker asks for every name on every rerun and a title needs the surface built."""
    return formula_input.surface_title(name)


def load_scene(scene: Scene) -> None:
    """Put a scene into the widgets' state (safe in a button's on_click callback)."""
    ss = st.session_state
    ss["surface"] = scene.surface
    if scene.surface == CUSTOM:
        formula_input.put("", scene.formula, scene.box)  # the shared widget's keys, no prefix
        ss["custom_start_for"] = ss["custom_ok"]
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
    for i, key in enumerate(scene.run_optimizers):
        ss[f"opt_{i}"] = key
    ss["noise"] = min(float(scene.noise), NOISE_SLIDER_MAX)
    ss["seed"] = int(scene.seed)


def load_from_url_once() -> None:
    """On a session's first run, read the scene from the URL (with warnings for junk)."""
    if st.session_state.get("scene_loaded"):
        return
    query = {k: st.query_params.get(k) for k in st.query_params}
    scene, warnings = scene_from_query(query)
    if scene.noise > NOISE_SLIDER_MAX:
        warnings.append(f"`noise={fmt(scene.noise)}` is above the slider's {fmt(NOISE_SLIDER_MAX)}; "
                        f"using {fmt(NOISE_SLIDER_MAX)}.")
    load_scene(scene)
    st.session_state["url_warnings"] = warnings
    st.session_state["scene_loaded"] = True


def _surface_changed() -> None:
    name = st.session_state["surface"]
    st.session_state["url_warnings"] = []
    if name == CUSTOM:
        st.session_state.pop("custom_start_for", None)  # controls() puts the start at its own
        return
    surface = named_surface(name, ())
    for key, value in default_params(name):
        st.session_state[f"p_{name}_{key}"] = value
    st.session_state["x0"], st.session_state["y0"] = surface.start


def custom_controls() -> tuple[str, tuple, surfaces.Surface]:
    """Your own surface: the shared formula widget (:func:`ui.formula_input.formula_input`, with
    the Playground's keys). Returns the (formula, box, surface) to run: the typed one if
    accepted, else the last accepted one (or the first example)."""
    own = formula_input.formula_input("")
    return own.formula, own.box, own.surface


@dataclass(frozen=True, eq=False)
class Controls:
    """Every Playground setting but the rates (``base.rates`` is empty), and one sidebar slot
    per rate, where :meth:`scene` draws the rate entries. The page calls :meth:`scene` inside
    its fragment, so a new rate reruns only the fragment (the other controls rerun the page)."""

    base: Scene
    rate_slots: tuple

    @property
    def n(self) -> int:
        """How many runs."""
        return len(self.rate_slots)

    @property
    def keys(self) -> tuple[str, ...]:
        """One optimizer key per run."""
        return tuple(self.base.optimizer_of(i) for i in range(self.n))

    def scene(self) -> Scene:
        """Draw the rate entries into their slots; the whole scene."""
        rates = []
        for i, slot in enumerate(self.rate_slots):
            with slot:
                rates.append(rate_input(i))
        return replace(self.base, rates=tuple(rates))


def controls() -> Controls:
    """Draw the controls, leaving a slot for each rate entry (see :class:`Controls`)."""
    ss = st.session_state
    name = st.selectbox("Loss surface", [*surfaces.names(), CUSTOM], key="surface",
                        format_func=surface_title, on_change=_surface_changed)
    params = []
    formula, box = "", None
    if name == CUSTOM:
        formula, box, surface = custom_controls()
        if ss.get("custom_start_for") != (formula, box):  # a new surface: start at its own start
            ss["x0"], ss["y0"] = (float(v) for v in surface.start)
            ss["custom_start_for"] = (formula, box)
    else:
        ss["custom_error"] = None
        for p in SURFACE_PARAMS.get(name, ()):
            key = f"p_{name}_{p.key}"
            if key not in ss:
                ss[key] = p.default
            params.append((p.key, float(st.number_input(p.label, p.lo, p.hi, key=key,
                                                        help=p.help, format="%.4g"))))
        surface = build_surface(name, params)

    n = int(st.number_input("How many rates", 1, MAX_RATES, key="n_rates"))
    slots, opts = [], []
    for i in range(n):
        slots.append(st.container())
        opts.append(optimizer_input(i, note="SGD follows the momentum slider below."))
    steps = int(st.slider("Steps", STEPS_MIN, STEPS_MAX, key="steps"))
    (x0, x1), (y0, y1) = surface.bounds
    for key, (lo, hi), default in (("x0", (x0, x1), surface.start[0]),
                                   ("y0", (y0, y1), surface.start[1])):
        if key not in ss or not lo <= ss[key] <= hi:
            ss[key] = float(default)
    c1, c2 = st.columns(2)
    sx = c1.number_input("start x", float(x0), float(x1), key="x0", format="%.3f", step=0.1)
    sy = c2.number_input("start y", float(y0), float(y1), key="y0", format="%.3f", step=0.1)
    momentum = st.slider("Momentum β of the SGD runs (0 = plain gradient descent)", 0.0,
                         MOMENTUM_MAX, key="momentum", step=0.01, help=MOMENTUM_HELP)
    if "noise" not in ss or not 0.0 <= ss["noise"] <= NOISE_SLIDER_MAX:
        ss["noise"] = 0.0
    noise = st.slider("Gradient noise (standard deviation)", 0.0, NOISE_SLIDER_MAX, key="noise",
                      step=0.05, help=NOISE_TEXT)
    if "seed" not in ss:
        ss["seed"] = 0
    seed = st.number_input("Noise seed", 0, SEED_MAX, key="seed", step=1, disabled=not noise,
                           help="The same seed gives the same noise, so a link replays it.")
    st.caption("Gradient noise is what mini-batch noise looks like on a 2-D surface: every "
               "step follows the gradient plus a random kick, the same kicks for every run.")
    schedule = st.selectbox("Schedule (each rate is its peak)", schedules.NAMES, key="schedule",
                            format_func=schedules.TITLES.get)
    start = None if (sx, sy) == tuple(map(float, surface.start)) else (float(sx), float(sy))
    # Canonical forms (all-SGD is (), no noise means no seed), so equal scenes share a cache entry.
    opts = () if all(k == "sgd" for k in opts) else tuple(opts)
    noise = float(noise)
    return Controls(Scene(name, tuple(params), (), steps, start, float(momentum), schedule,
                          opts, noise, int(seed) if noise else 0, formula, box), tuple(slots))


def run_label(scene: Scene, i: int) -> str:
    """How run ``i`` is named in legends, badges and the table: "lr = 0.1" when every run is
    SGD, else with its optimizer, e.g. "Adam, lr = 0.1" or "SGD (β = 0.5), lr = 0.2"; with a
    schedule, by it and its peak rate: "cosine, peak lr = 0.1"."""
    lr = rate_text(scene.rates[i], scene.schedule)
    if all(k == "sgd" for k in scene.run_optimizers):
        return lr
    return f"{optimizer_name(scene, i)}, {lr}"


def optimizer_name(scene: Scene, i: int) -> str:
    """Run ``i``'s optimizer label; SGD with the heavy-ball slider's β when it is not 0."""
    key = scene.optimizer_of(i)
    if key == "sgd" and scene.momentum:
        return f"SGD (β = {scene.momentum:g})"
    return optimizers.get(key).label


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
