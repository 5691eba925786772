"""The Playground's controls and their link to the URL.

Session state holds the widgets' values; ``st.query_params`` mirrors the
current scene, so the address bar is always a share link.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlencode

import streamlit as st

from engine import formula as formulas
from engine import optimizers, schedules, surfaces
from engine.scene import (
    BOX_KEYS,
    CUSTOM,
    MAX_RATES,
    MOMENTUM_MAX,
    SEED_MAX,
    STEPS_MAX,
    STEPS_MIN,
    SURFACE_PARAMS,
    Scene,
    default_params,
    fmt,
    markdown_text,
    scene_from_query,
    scene_to_query,
)
from engine.scene import custom_surface as build_custom
from ui.widgets import optimizer_input, rate_input, set_rate

CUSTOM_TITLE = "Your own formula f(x, y)"
EXAMPLES = ("x**2 + 10*sin(y)**2", "(1-x)**2 + 5*(y-x**2)**2")
FORMULA_HELP = (
    "Type f in x and y with numbers, + - * / ** (powers), parentheses and the functions "
    f"{', '.join(formulas.FUNCTIONS)}. Nothing else is accepted (the text is checked against "
    f"that list, never run as code), at most {formulas.MAX_LENGTH} characters.")
BOX_LABELS = {"xmin": "x from", "xmax": "x to", "ymin": "y from", "ymax": "y to"}

NOISE_SLIDER_MAX = 5.0  # the slider's top; a link may ask for more (engine.scene.NOISE_MAX)
NOISE_TEXT = ("Gaussian noise of this standard deviation is added to every gradient, the same "
              "draws for every run (so runs differ only by rate and optimizer). This is what "
              "mini-batch noise looks like on a 2-D surface: each step follows a noisy estimate "
              "of the gradient.")
MOMENTUM_HELP = ("Heavy-ball momentum β for the runs whose optimizer is SGD: v ← g + β·v, "
                 "x ← x − lr·v (β = 0 is plain gradient descent). The other optimizers bring "
                 f"their own: SGD + momentum and Nesterov use β = {optimizers.MOMENTUM:g}, "
                 "AdaGrad, RMSProp, Adam and AdamW their optax defaults.")


def surface_title(name: str) -> str:
    """The surface picker's label for a surface name (``custom``: your own formula)."""
    return CUSTOM_TITLE if name == CUSTOM else surfaces.get(name).title


@st.cache_resource(max_entries=64, show_spinner="Finding the minima of your formula (once per "
                   "formula and box)…")
def custom_surface(formula: str, box) -> tuple[surfaces.Surface | None, str | None, int | None]:
    """(surface, None, None) for an accepted formula and box, else (None, the parser's or the
    minima search's message, its column or None). Cached per formula and box, refusals too."""
    try:
        return build_custom(formula, box), None, None
    except (ValueError, ArithmeticError) as err:  # FormulaError is a ValueError
        return None, str(err), getattr(err, "column", None)


def _box_state() -> tuple[tuple[float, float], tuple[float, float]]:
    ss = st.session_state
    (x0, x1), (y0, y1) = surfaces.CUSTOM_BOUNDS
    for key, default in zip(BOX_KEYS, (x0, x1, y0, y1), strict=True):
        if f"box_{key}" not in ss:
            ss[f"box_{key}"] = float(default)
    return ((float(ss["box_xmin"]), float(ss["box_xmax"])),
            (float(ss["box_ymin"]), float(ss["box_ymax"])))


def _set_box(box) -> None:
    (x0, x1), (y0, y1) = box
    for key, value in zip(BOX_KEYS, (x0, x1, y0, y1), strict=True):
        st.session_state[f"box_{key}"] = float(value)


def _use_example(text: str) -> None:
    st.session_state["formula"] = text


def load_scene(scene: Scene) -> None:
    """Put a scene into the widgets' state (safe in a button's on_click callback)."""
    ss = st.session_state
    ss["surface"] = scene.surface
    if scene.surface == CUSTOM:
        box = scene.box if scene.box is not None else surfaces.CUSTOM_BOUNDS
        ss["formula"] = scene.formula
        _set_box(box)
        ss["custom_ok"] = ss["custom_start_for"] = (scene.formula, box)
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
    surface = surfaces.get(name)
    for key, value in default_params(name):
        st.session_state[f"p_{name}_{key}"] = value
    st.session_state["x0"], st.session_state["y0"] = surface.start


def custom_controls() -> tuple[str, tuple, surfaces.Surface]:
    """Your own surface: the formula, examples, the view box, and a refusal in words beside the
    box (with a caret under its column). Returns the (formula, box, surface) to run: the typed
    one if accepted, else the last accepted one (or the first example)."""
    ss = st.session_state
    if "formula" not in ss:
        ss["formula"] = EXAMPLES[0]
    typed = st.text_input("f(x, y) =", key="formula", help=FORMULA_HELP,
                          placeholder=f"e.g. {EXAMPLES[0]}")
    refusal = st.container()
    st.caption("Examples (click to use):")
    for i, text in enumerate(EXAMPLES):  # one per row: the sidebar is too narrow for two
        st.button(f"`{text}`", key=f"example_{i}", on_click=_use_example, args=(text,),
                  use_container_width=True)
    box = _box_state()
    st.caption("View box (runs start inside it; the minima are searched in it)")
    for row in (("xmin", "xmax"), ("ymin", "ymax")):
        for col, key in zip(st.columns(2), row, strict=True):
            col.number_input(BOX_LABELS[key], -formulas.MAX_COORDINATE, formulas.MAX_COORDINATE,
                             key=f"box_{key}", step=0.5, format="%g")
    surface, error, column = custom_surface(typed, box)
    if surface is not None:
        ss["custom_ok"] = (typed, box)
        ss["custom_error"] = None
        return typed, box, surface
    ss["custom_error"] = error
    with refusal:
        st.error(f"**Refused:** {markdown_text(error)}", icon=":material/block:")
        if column is not None and 0 < column <= len(typed) + 1 and len(typed) <= 120:
            st.code(f"{typed}\n{' ' * (column - 1)}^ column {column}", language=None)
    last = ss.get("custom_ok") or (EXAMPLES[0], surfaces.CUSTOM_BOUNDS)
    surface = custom_surface(*last)[0]
    if surface is None:  # cannot happen for a formula once accepted; the example then
        last = (EXAMPLES[0], surfaces.CUSTOM_BOUNDS)
        surface = custom_surface(*last)[0]
    with refusal:
        st.caption("Still running the last formula that worked: "
                   f"f = {markdown_text(last[0])}, x from {fmt(last[1][0][0])} to "
                   f"{fmt(last[1][0][1])}, y from {fmt(last[1][1][0])} to {fmt(last[1][1][1])}.")
    return last[0], last[1], surface


def controls() -> Scene:
    """Draw the controls and return the scene they describe."""
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
        surface = surfaces.get(name, **dict(params))

    n = int(st.number_input("How many rates", 1, MAX_RATES, key="n_rates"))
    rates, opts = [], []
    for i in range(n):
        rates.append(rate_input(i))
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
    return Scene(name, tuple(params), tuple(rates), steps, start, float(momentum), schedule,
                 opts, noise, int(seed) if noise else 0, formula, box)


def run_label(scene: Scene, i: int) -> str:
    """How run ``i`` is named in legends, badges and the table: "lr = 0.1" when every run is
    SGD, else with its optimizer, e.g. "Adam, lr = 0.1" or "SGD (β = 0.5), lr = 0.2"."""
    lr = f"lr = {scene.rates[i]:.4g}"
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


# ----------------------------------------------------------------------------
# Downloads, built only when clicked (st.download_button's callable data), kept per scene.
# ----------------------------------------------------------------------------

_EXPORTS: OrderedDict = OrderedDict()
_EXPORTS_LOCK = threading.Lock()
EXPORTS_KEPT = 16


def on_demand(kind: str, scene: Scene, build: Callable[[], bytes | str]) -> Callable[[], bytes | str]:
    """A no-argument callable for ``st.download_button(data=...)``: it runs ``build`` when the
    button is clicked (on Streamlit's download thread), once per (kind, scene) in this process
    (the last ``EXPORTS_KEPT`` are kept), so a rerun never builds a file nobody asked for."""
    key = (kind, scene)

    def data() -> bytes | str:
        with _EXPORTS_LOCK:
            if key in _EXPORTS:
                _EXPORTS.move_to_end(key)
                return _EXPORTS[key]
        value = build()
        with _EXPORTS_LOCK:
            _EXPORTS[key] = value
            while len(_EXPORTS) > EXPORTS_KEPT:
                _EXPORTS.popitem(last=False)
        return value

    return data
