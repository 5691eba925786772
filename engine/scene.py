"""A Playground scene as a plain, hashable config, and its round trip through the URL.

Everything here is pure Python (no Streamlit), so it is easy to test: junk in
a query string becomes the default plus a warning sentence, never an exception.

>>> scene, warnings = scene_from_query({"surface": "ravine", "lr": "0.1,abc", "steps": "5000"})
>>> scene.surface, scene.rates, scene.steps
('ravine', (0.1,), 1000)
>>> len(warnings)
2

Your own surface travels as its formula and view box (``surface=custom&f=...&xmin=...``);
a formula the parser refuses gets a warning and the default surface:

>>> scene, warnings = scene_from_query({"surface": "custom", "f": "x**2 + 10*y**2",
...                                     "xmin": "-2", "xmax": "2", "ymin": "-1", "ymax": "1"})
>>> scene.surface, scene.formula, scene.box
('custom', 'x**2 + 10*y**2', ((-2.0, 2.0), (-1.0, 1.0)))
>>> scene, warnings = scene_from_query({"surface": "custom", "f": "__import__('os')"})
>>> scene.surface, warnings[0][:48]
('quadratic', 'The formula in the link was refused: Unknown fun')
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from engine import optimizers, schedules, surfaces
from engine.formula import MAX_COORDINATE, FormulaError, check_bounds

RATE_MIN, RATE_MAX = 1e-4, 10.0
STEPS_MIN, STEPS_MAX = 10, 1000
MOMENTUM_MAX = 0.99
MAX_RATES = 4
NOISE_MAX = 100.0
SEED_MAX = 2**31 - 1
CUSTOM = "custom"  # the surface name of your own formula (not one of surfaces.names())
BOX_KEYS = ("xmin", "xmax", "ymin", "ymax")


@dataclass(frozen=True)
class Param:
    key: str
    label: str
    lo: float
    hi: float
    default: float
    help: str = ""


# The parameters a user may set for each surface (others have none).
SURFACE_PARAMS: dict[str, tuple[Param, ...]] = {
    "quadratic": (
        Param("a", "curvature a (x)", 0.1, 100.0, 1.0, "f = ½(a·x² + b·y²)"),
        Param("b", "curvature b (y)", 0.1, 100.0, 10.0, "condition number = max/min"),
    ),
    "ravine": (
        Param("condition", "condition number", 1.0, 200.0, 25.0, "steep/flat curvature ratio"),
        Param("angle", "rotation (degrees)", -90.0, 90.0, 30.0),
    ),
    "rosenbrock": (
        Param("a", "a (minimum at (a, a²))", 0.2, 1.5, 1.0),
        Param("b", "valley steepness b", 1.0, 200.0, 100.0),
    ),
}


@dataclass(frozen=True)
class Scene:
    surface: str = "quadratic"
    params: tuple[tuple[str, float], ...] = (("a", 1.0), ("b", 10.0))
    rates: tuple[float, ...] = (0.01, 0.1, 0.19)
    steps: int = 100
    start: tuple[float, float] | None = None  # None: the surface's own start
    momentum: float = 0.0
    schedule: str = "constant"  # every rate follows this schedule shape (engine.schedules)
    optimizers: tuple[str, ...] = ()  # one engine.optimizers key per rate; () or short: "sgd"
    noise: float = 0.0  # std of the Gaussian noise added to every gradient
    seed: int = 0  # the noise's seed (the same noise for every run of the scene)
    formula: str = ""  # f(x, y) as typed, when surface == "custom" (else "")
    box: tuple[tuple[float, float], tuple[float, float]] | None = None  # its view box; None: ±3

    def build_surface(self) -> surfaces.Surface:
        """The scene's surface; a custom one raises :class:`engine.formula.FormulaError` if its
        formula or box is refused (:func:`scene_from_query` never returns such a scene)."""
        return build_surface(self.surface, self.params, self.formula, self.box)

    def optimizer_of(self, i: int) -> str:
        """The optimizer key of run ``i`` ("sgd", the heavy ball with ``momentum``, by default)."""
        return self.optimizers[i] if i < len(self.optimizers) else "sgd"

    @property
    def run_optimizers(self) -> tuple[str, ...]:
        """One optimizer key per rate."""
        return tuple(self.optimizer_of(i) for i in range(len(self.rates)))


@lru_cache(maxsize=32)
def custom_surface(formula: str, box=None) -> surfaces.Surface:
    """``surfaces.custom(formula, box)``, one Surface per (formula, box): the formula compiles
    once (engine.formula keeps one function per normalised formula) and its minima are
    searched once. Raises :class:`FormulaError` (not cached) for a refused formula or box."""
    return surfaces.custom(formula, bounds=surfaces.CUSTOM_BOUNDS if box is None else box)


def build_surface(name: str, params=(), formula: str = "", box=None) -> surfaces.Surface:
    """A named surface with ``params``, or your own (``name == "custom"``) from formula and box."""
    if name == CUSTOM:
        return custom_surface(formula, box)
    return named_surface(name, tuple(sorted(dict(params).items())))


@lru_cache(maxsize=256)
def named_surface(name: str, params: tuple) -> surfaces.Surface:
    """``surfaces.get(name, **params)``, one immutable Surface per (name, params): building one
    puts its parameters on the JAX device, an eager dispatch that cost every Playground rerun
    ~3 % of its server CPU. Raises ValueError for bad parameters (not cached)."""
    return surfaces.get(name, **dict(params))


def markdown_text(text: str) -> str:
    """``text`` shown literally in Markdown: every ASCII punctuation mark backslash-escaped
    (so ``x**2`` is not bold, ``$`` starts no formula, ``:red[`` no colour).

    >>> print(markdown_text("x**2 at column 3"))
    x\\*\\*2 at column 3
    """
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))


def default_params(name: str) -> tuple[tuple[str, float], ...]:
    return tuple((p.key, p.default) for p in SURFACE_PARAMS.get(name, ()))


def fmt(x: float) -> str:
    """Short, exact-enough text for a number in a URL or a label."""
    return f"{x:.6g}"


def _literal(raw) -> str:
    """User text for a warning: cut short and safe inside a Markdown code span (shown verbatim)."""
    return str(raw)[:40].replace("`", "'").replace("\n", " ")


def _is_non_positive(raw) -> bool:
    try:
        return float(raw) <= 0
    except (TypeError, ValueError):
        return False


def _number(raw: str, name: str, lo: float, hi: float, default, warnings: list[str]):
    """``raw`` as a float clamped to [lo, hi]; junk gives ``default`` (None: drop it) and a warning."""
    shown = _literal(raw)
    instead = "dropping it" if default is None else f"using {fmt(default)}"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        warnings.append(f"`{name}={shown}` is not a number; {instead}.")
        return default
    if not math.isfinite(value):
        warnings.append(f"`{name}={shown}` is not a finite number; {instead}.")
        return default
    if value < lo or value > hi:
        clamped = min(max(value, lo), hi)
        warnings.append(f"`{name}={shown}` is outside {fmt(lo)} to {fmt(hi)}; "
                        f"using {fmt(clamped)}.")
        return clamped
    return value


def scene_from_query(query: dict[str, str]) -> tuple[Scene, list[str]]:
    """Parse query parameters into a valid Scene; every problem becomes a warning sentence."""
    warnings: list[str] = []
    base = Scene()
    name = query.get("surface", base.surface)
    if name not in surfaces.names() and name != CUSTOM:
        warnings.append(f"Unknown surface `{_literal(name)}`; using "
                        f"`{base.surface}`. Choose one of: {', '.join(surfaces.names())}, "
                        f"{CUSTOM}.")
        name = base.surface
    formula, box = "", None
    if name == CUSTOM:
        custom = _custom_from_query(query, warnings)
        if custom is None:
            name = base.surface
        else:
            formula, box = custom
    params = tuple(
        (p.key, _number(query[p.key], p.key, p.lo, p.hi, p.default, warnings)
         if p.key in query else p.default)
        for p in SURFACE_PARAMS.get(name, ())
    )
    rates = base.rates
    if "lr" in query:
        parts = [s for s in str(query["lr"]).split(",") if s.strip()][: MAX_RATES + 1]
        if len(parts) > MAX_RATES:
            warnings.append(f"At most {MAX_RATES} learning rates; keeping the first {MAX_RATES}.")
            parts = parts[:MAX_RATES]
        good = []
        for part in parts:
            if _is_non_positive(part):
                warnings.append(f"`lr={_literal(part.strip())}` is not a positive rate; dropping it.")
                continue
            good.append(_number(part.strip(), "lr", RATE_MIN, RATE_MAX, None, warnings))
        good = [v for v in good if v is not None]
        if good:
            rates = tuple(good)
        else:
            warnings.append(f"No usable learning rate in the link; using {', '.join(map(fmt, rates))}.")
    steps = base.steps
    if "steps" in query:
        steps = int(round(_number(query["steps"], "steps", STEPS_MIN, STEPS_MAX, base.steps,
                                  warnings)))
    momentum = base.momentum
    if "momentum" in query:
        momentum = _number(query["momentum"], "momentum", 0.0, MOMENTUM_MAX, 0.0, warnings)
    schedule = str(query.get("schedule", "constant"))
    if schedule not in schedules.NAMES:
        warnings.append(f"Unknown schedule `{_literal(schedule)}`; using constant. "
                        f"Choose one of: {', '.join(schedules.NAMES)}.")
        schedule = "constant"
    opts: tuple[str, ...] = ()
    if "opt" in query:
        keys = [k.strip() for k in str(query["opt"]).split(",")][: len(rates)]
        bad = [k for k in keys if k not in optimizers.names()]
        if bad:
            warnings.append(f"Unknown optimizer `{_literal(bad[0])}`; using SGD for it. "
                            f"Choose one of: {', '.join(optimizers.names())}.")
        opts = tuple(k if k in optimizers.names() else "sgd" for k in keys)
        if all(k == "sgd" for k in opts):
            opts = ()
    noise = base.noise
    if "noise" in query:
        noise = _number(query["noise"], "noise", 0.0, NOISE_MAX, 0.0, warnings)
    seed = base.seed
    if "seed" in query:
        seed = int(_number(query["seed"], "seed", 0, SEED_MAX, 0, warnings))
    start = None
    if "x0" in query or "y0" in query:
        surface = build_surface(name, params, formula, box)
        (x0, x1), (y0, y1) = surface.bounds
        sx = _number(query.get("x0", surface.start[0]), "x0", x0, x1, surface.start[0], warnings)
        sy = _number(query.get("y0", surface.start[1]), "y0", y0, y1, surface.start[1], warnings)
        start = (sx, sy)
    return Scene(name, params, rates, steps, start, momentum, schedule, opts, noise,
                 seed, formula, box), warnings


def _custom_from_query(query: dict[str, str], warnings: list[str]):
    """(formula, box) of ``surface=custom&f=...&xmin=...``, or None (with a warning) when the
    formula or the surface it makes is refused. A junk box gets a warning and the default box."""
    text = str(query.get("f", ""))
    box = None
    if any(k in query for k in BOX_KEYS):
        (dx0, dx1), (dy0, dy1) = surfaces.CUSTOM_BOUNDS
        values = [_number(query.get(k, d), k, -MAX_COORDINATE, MAX_COORDINATE, d, warnings)
                  for k, d in zip(BOX_KEYS, (dx0, dx1, dy0, dy1), strict=True)]
        try:
            box = check_bounds(((values[0], values[1]), (values[2], values[3])))
        except FormulaError as err:
            warnings.append(f"The box in the link was refused: {markdown_text(err)} Using x and "
                            f"y from {fmt(dx0)} to {fmt(dx1)}.")
    try:
        custom_surface(text, box)
    except (ValueError, ArithmeticError) as err:  # FormulaError is a ValueError
        warnings.append(f"The formula in the link was refused: {markdown_text(err)} "
                        f"(`f={_literal(text)}`); using the default surface, `{Scene.surface}`.")
        return None
    return text, box


def scene_to_query(scene: Scene) -> dict[str, str]:
    """The query parameters that restore ``scene`` exactly."""
    q = {"surface": scene.surface}
    q.update({k: fmt(v) for k, v in scene.params})
    if scene.surface == CUSTOM:
        q["f"] = scene.formula
        if scene.box is not None:
            (x0, x1), (y0, y1) = scene.box
            q.update(zip(BOX_KEYS, map(fmt, (x0, x1, y0, y1)), strict=True))
    q["lr"] = ",".join(fmt(r) for r in scene.rates)
    q["steps"] = str(scene.steps)
    if scene.start is not None:
        q["x0"], q["y0"] = fmt(scene.start[0]), fmt(scene.start[1])
    if scene.momentum:
        q["momentum"] = fmt(scene.momentum)
    if scene.schedule != "constant":
        q["schedule"] = scene.schedule
    if any(k != "sgd" for k in scene.run_optimizers):
        q["opt"] = ",".join(scene.run_optimizers)
    if scene.noise:
        q["noise"] = fmt(scene.noise)
        q["seed"] = str(scene.seed)
    return q


def checked_rate_range(lo: float, hi: float, default: tuple[float, float]
                       ) -> tuple[float, float, str | None]:
    """(lo, hi, None) if 0 < lo < hi, else the default range and a sentence saying why.

    >>> checked_rate_range(5.0, 1.0, (0.001, 1.0))[2]
    'The smallest rate (5) must be below the largest (1). Using 0.001 to 1.'
    """
    d_lo, d_hi = default
    if not (lo > 0 and hi > 0):
        return d_lo, d_hi, f"Rates must be positive. Using {d_lo:g} to {d_hi:g}."
    if lo >= hi:
        return d_lo, d_hi, (f"The smallest rate ({lo:g}) must be below the largest ({hi:g}). "
                            f"Using {d_lo:g} to {d_hi:g}.")
    return lo, hi, None


def with_surface(scene: Scene, name: str) -> Scene:
    """The same scene on another surface, with that surface's default parameters and start
    (a custom surface keeps the scene's formula and box; another drops them)."""
    custom = name == CUSTOM
    return replace(scene, surface=name, params=default_params(name), start=None,
                   formula=scene.formula if custom else "", box=scene.box if custom else None)


def run_scene(scene: Scene):
    """Engine results for a scene: (surface, sweep, one diagnosis per rate). Pure; pages cache it.

    Runs that share an optimizer share one batched engine call; the sweep comes
    back in the scene's rate order. ``momentum`` is the plain-SGD runs' heavy
    ball; the named optimizers bring their own. Every run sees the same noise.
    """
    from engine import descent
    from engine.diagnose import diagnose

    surface = scene.build_surface()
    rates = [r if scene.schedule == "constant" else schedules.make(scene.schedule, r, scene.steps)
             for r in scene.rates]
    keys = scene.run_optimizers
    parts = {}
    for key in dict.fromkeys(keys):
        idx = [i for i, k in enumerate(keys) if k == key]
        maker = optimizers.maker(key)
        parts[key] = (idx, descent.sweep(
            surface, [rates[i] for i in idx], scene.steps, start=scene.start,
            momentum=scene.momentum if maker is None else 0.0, optimizer=maker,
            noise=scene.noise, seed=scene.seed))
    sweep = parts[keys[0]][1] if len(parts) == 1 else _merge(parts, len(keys))
    return surface, sweep, [diagnose(surface, t) for t in sweep]


def _merge(parts, n: int):
    """One Sweep from several, each holding the runs at its own indices."""
    from engine.descent import Sweep

    idx0, first = next(iter(parts.values()))
    points = np.empty((n, *first.points.shape[1:]), first.points.dtype)
    losses = np.empty((n, first.losses.shape[1]), first.losses.dtype)
    lrs = np.empty((n, first.lrs.shape[1]), first.lrs.dtype)
    dead = np.empty(n, first.diverged_at.dtype)
    for idx, sw in parts.values():
        points[idx], losses[idx], lrs[idx], dead[idx] = sw.points, sw.losses, sw.lrs, sw.diverged_at
    return Sweep(points, losses, lrs, dead)
