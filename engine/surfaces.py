"""Two-dimensional loss surfaces with their true minima.

Each surface is built by a small factory that checks its parameters in plain
Python and returns a frozen :class:`Surface`. The loss itself is a module-level
function ``family(xy, params)`` written in ``jnp``; the engine passes ``family``
to ``jax.jit`` as a static argument and ``params`` as a traced array, so
changing a surface's parameters (e.g. the quadratic's curvatures) never
recompiles.

>>> s = quadratic(a=1.0, b=10.0)
>>> float(s.loss(jnp.array([1.0, 1.0])))
5.5
>>> sorted(names())[:3]
['camel', 'himmelblau', 'quadratic']
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import jax.numpy as jnp

Point = tuple[float, float]
Bounds = tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Minimum:
    """A true minimum of a surface: where it is, its loss, and whether it is global."""

    point: Point
    value: float
    is_global: bool


@dataclass(frozen=True)
class Surface:
    """A 2-D loss surface.

    ``loss`` maps a shape-(2,) array to a scalar and is jittable. ``family`` and
    ``params`` are the same function split for the engine: ``loss(xy) ==
    family(xy, jnp.asarray(params))``.
    """

    name: str
    title: str
    loss: Callable = field(repr=False, compare=False)
    bounds: Bounds
    start: Point
    minima: tuple[Minimum, ...]
    family: Callable = field(repr=False)
    params: tuple[float, ...] = ()
    description: str = ""

    @property
    def extent(self) -> float:
        """The larger side of the bounding box."""
        (x0, x1), (y0, y1) = self.bounds
        return max(x1 - x0, y1 - y0)

    @property
    def center(self) -> Point:
        (x0, x1), (y0, y1) = self.bounds
        return ((x0 + x1) / 2, (y0 + y1) / 2)

    @property
    def global_value(self) -> float:
        """The lowest loss on the surface (its global minima's value)."""
        return min(m.value for m in self.minima)

    def is_quadratic(self) -> bool:
        return self.family is _quadratic_loss


def _bound_loss(family, params, xy):
    return family(xy, params)


def _make(name, title, family, params, bounds, start, minima, description) -> Surface:
    p = jnp.asarray(params, dtype=jnp.float32)
    return Surface(
        name=name,
        title=title,
        loss=partial(_bound_loss, family, p),  # a partial (not a closure) so a Surface pickles
        bounds=bounds,
        start=start,
        minima=tuple(minima),
        family=family,
        params=tuple(float(v) for v in params),
        description=description,
    )


def _check_positive(**values: float) -> None:
    for key, value in values.items():
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{key} must be a positive finite number, got {value!r}.")


# ----------------------------------------------------------------------------
# Loss families: f(xy, params), pure jnp, module level (hashable for jit).
# ----------------------------------------------------------------------------


def _quadratic_loss(xy, p):
    """f = 0.5 * (a x^2 + b y^2) in coordinates rotated by angle p[2] (radians)."""
    c, s = jnp.cos(p[2]), jnp.sin(p[2])
    u = c * xy[0] + s * xy[1]
    v = -s * xy[0] + c * xy[1]
    return 0.5 * (p[0] * u**2 + p[1] * v**2)


def _rosenbrock_loss(xy, p):
    """f = (a - x)^2 + b (y - x^2)^2."""
    return (p[0] - xy[0]) ** 2 + p[1] * (xy[1] - xy[0] ** 2) ** 2


def _himmelblau_loss(xy, p):
    """f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2."""
    x, y = xy[0], xy[1]
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _saddle_loss(xy, p):
    """f = 0.5 x^2 + 0.25 y^4 - 0.5 y^2: a saddle at the origin, minima at (0, +-1)."""
    x, y = xy[0], xy[1]
    return 0.5 * x**2 + 0.25 * y**4 - 0.5 * y**2


def _sharp_wide_loss(xy, p):
    """f = min(0.5 |xy|^2, 0.5 L_s |xy - c|^2 + h), with L_s, c, h = p[0], p[1:3], p[3].

    A wide bowl (curvature 1, minimum 0 at the origin) and a narrow pit (curvature
    L_s, minimum h > 0 at c) cut into its side. Inside the pit the loss is an exact
    quadratic, so a rate above 2 / L_s grows every oscillation until it leaves.
    """
    wide = 0.5 * (xy[0] ** 2 + xy[1] ** 2)
    pit = 0.5 * p[0] * ((xy[0] - p[1]) ** 2 + (xy[1] - p[2]) ** 2) + p[3]
    return jnp.minimum(wide, pit)


def _camel_loss(xy, p):
    """Six-hump camel: f = (4 - 2.1 x^2 + x^4 / 3) x^2 + x y + (-4 + 4 y^2) y^2."""
    x, y = xy[0], xy[1]
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


# ----------------------------------------------------------------------------
# Factories.
# ----------------------------------------------------------------------------


def quadratic(a: float = 1.0, b: float = 10.0) -> Surface:
    """Quadratic bowl f(x, y) = 0.5 * (a x^2 + b y^2).

    Curvatures a and b; L = max(a, b), mu = min(a, b), condition number L / mu.
    Plain gradient descent converges iff lr < 2 / L.

    >>> quadratic(2.0, 4.0).minima[0].point
    (0.0, 0.0)
    """
    _check_positive(a=a, b=b)
    return _make(
        "quadratic",
        "Quadratic bowl",
        _quadratic_loss,
        (a, b, 0.0),
        ((-2.0, 2.0), (-2.0, 2.0)),
        (-1.6, 1.2),
        [Minimum((0.0, 0.0), 0.0, True)],
        "f = ½(a·x² + b·y²). Two curvatures you choose; GD is stable only for lr < 2/max(a, b).",
    )


def ravine(condition: float = 25.0, angle: float = 30.0) -> Surface:
    """Narrow ravine: a quadratic with curvatures 1 and ``condition``, rotated by ``angle`` degrees.

    f = 0.5 (u^2 + condition v^2), (u, v) = rotation of (x, y) by angle.
    """
    _check_positive(condition=condition)
    if not math.isfinite(angle):
        raise ValueError(f"angle must be finite, got {angle!r}.")
    return _make(
        "ravine",
        "Narrow ravine",
        _quadratic_loss,
        (1.0, condition, math.radians(angle)),
        ((-2.0, 2.0), (-2.0, 2.0)),
        (-1.8, 0.2),
        [Minimum((0.0, 0.0), 0.0, True)],
        "A rotated, ill-conditioned quadratic: steep walls, a flat floor. "
        "Rates fast enough for the floor bounce off the walls.",
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """Rosenbrock's banana: f = (a - x)^2 + b (y - x^2)^2, minimum at (a, a^2)."""
    _check_positive(a=a, b=b)
    return _make(
        "rosenbrock",
        "Rosenbrock banana",
        _rosenbrock_loss,
        (a, b),
        ((-2.0, 2.0), (-1.0, 3.0)),
        (-1.5, 2.0),
        [Minimum((a, a * a), 0.0, True)],
        "A curved valley: finding it is easy, following it to (a, a²) is slow.",
    )


HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.283185991286170),
    (3.584428340330492, -1.848126526964404),
)


def himmelblau() -> Surface:
    """Himmelblau's function: f = (x^2 + y - 11)^2 + (x + y^2 - 7)^2, four global minima (f = 0)."""
    return _make(
        "himmelblau",
        "Himmelblau (four minima)",
        _himmelblau_loss,
        (),
        ((-5.0, 5.0), (-5.0, 5.0)),
        (-0.5, -0.5),
        [Minimum(p, 0.0, True) for p in HIMMELBLAU_MINIMA],
        "Four equally good minima: which one you reach depends on the start and the rate.",
    )


def saddle() -> Surface:
    """A saddle: f = 0.5 x^2 + 0.25 y^4 - 0.5 y^2; saddle point at (0, 0), minima (0, +-1), f = -1/4."""
    return _make(
        "saddle",
        "Saddle point",
        _saddle_loss,
        (),
        ((-2.0, 2.0), (-2.0, 2.0)),
        (1.8, 0.01),
        [Minimum((0.0, 1.0), -0.25, True), Minimum((0.0, -1.0), -0.25, True)],
        "Descent slows to a crawl near the flat saddle at the origin before it escapes.",
    )


SHARP_WIDE_PARAMS = (16.0, 2.0, 1.0, 1.0)  # pit curvature L_s, pit centre (x, y), pit floor h


def sharp_wide() -> Surface:
    """A wide bowl with a sharp local minimum near the start.

    f = min(0.5 (x^2 + y^2), 0.5 * 16 * |xy - (2, 1)|^2 + 1).
    The wide global minimum at the origin (f = 0) has curvature L_wide = 1;
    the sharp local one at (2, 1) (f = 1) has L_sharp = 16. Rates between
    2 / L_sharp = 0.125 and 2 / L_wide = 2 cannot stay in the sharp minimum
    and settle in the wide one; smaller rates stay in the pit.
    """
    l_sharp, cx, cy, floor = SHARP_WIDE_PARAMS
    return _make(
        "sharp_wide",
        "Sharp local vs wide global minimum",
        _sharp_wide_loss,
        SHARP_WIDE_PARAMS,
        ((-2.5, 3.5), (-2.0, 3.0)),
        (2.25, 1.25),
        [Minimum((0.0, 0.0), 0.0, True), Minimum((cx, cy), floor, False)],
        "A narrow pit near the start and a wide bowl beyond it. Small rates settle in the "
        "sharp pit; rates too large for its curvature (above 2/16) bounce out and find the "
        "wide minimum.",
    )


CAMEL_MINIMA = (
    ((0.08984201368301331, -0.7126564030207397), -1.0316284534898774, True),
    ((-0.08984201368301331, 0.7126564030207397), -1.0316284534898774, True),
    ((1.7036067132900181, -0.7960835686165258), -0.21546382438371803, False),
    ((-1.7036067132900181, 0.7960835686165258), -0.21546382438371803, False),
    ((1.6071047491190276, 0.5686514112976003), 2.1042503557017656, False),
    ((-1.6071047491190276, -0.5686514112976003), 2.1042503557017656, False),
)


def camel() -> Surface:
    """Six-hump camel: f = (4 - 2.1 x^2 + x^4/3) x^2 + x y + (-4 + 4 y^2) y^2.

    Two global minima (f ~ -1.0316) and four local ones.
    """
    return _make(
        "camel",
        "Six-hump camel",
        _camel_loss,
        (),
        ((-2.2, 2.2), (-1.2, 1.2)),
        (-1.9, 0.2),
        [Minimum(p, v, g) for p, v, g in CAMEL_MINIMA],
        "Six minima, two of them global: where a run ends depends on how big its steps are.",
    )


_FACTORIES: dict[str, Callable[..., Surface]] = {
    "quadratic": quadratic,
    "ravine": ravine,
    "rosenbrock": rosenbrock,
    "himmelblau": himmelblau,
    "saddle": saddle,
    "sharp_wide": sharp_wide,
    "camel": camel,
}


def names() -> list[str]:
    """Names of every surface, in menu order."""
    return list(_FACTORIES)


def get(name: str, **params) -> Surface:
    """Build a surface by name; every parameter has a default.

    >>> get("quadratic", a=2.0).params
    (2.0, 10.0, 0.0)
    """
    if name not in _FACTORIES:
        raise ValueError(f"Unknown surface {name!r}; choose one of {', '.join(_FACTORIES)}.")
    return _FACTORIES[name](**params)


# ----------------------------------------------------------------------------
# Your own surface: a formula typed by the user (parsed by engine.formula, never eval'd).
# Not one of names(): a custom surface is not a named one.
# ----------------------------------------------------------------------------

CUSTOM_BOUNDS = ((-3.0, 3.0), (-3.0, 3.0))


def custom(formula: str, bounds=CUSTOM_BOUNDS, start=None) -> Surface:
    """Your own surface f(x, y), typed as text, inside the view box ``bounds``.

    The text is parsed safely (:func:`engine.formula.parse`: a whitelist of
    numbers, x, y, + - * / ** and named functions; never eval); a refused one
    raises :class:`engine.formula.FormulaError` (a ValueError) naming the
    problem and its column. The minima are found numerically
    (:func:`engine.formula.minima_report`: Newton's method from a 12 x 12 grid
    of starts, each end checked by its gradient and Hessian) and may miss some;
    a box where none is found is refused too. ``start`` defaults to the point a
    tenth of the way across and eight tenths up the box (or the nearest point
    where f is finite). The loss compiles once per formula.

    >>> s = custom("(1 - x)**2 + 5*(y - x**2)**2")
    >>> s.name, s.start, [(round(m.point[0], 3), round(m.point[1], 3)) for m in s.minima]
    ('custom', (-2.4, 1.8), [(1.0, 1.0)])
    """
    from engine import formula as _formula  # here, not at the top: formula never needs Surface

    family = _formula.compile_formula(formula)
    box = _formula.check_bounds(bounds)
    found = _formula.minima_report(family, box)
    if not found:
        raise _formula.FormulaError(
            "No minimum of f was found inside the box (searched numerically from "
            f"{_formula.GRID_STARTS ** 2} starts): change f or the box.")
    point = _formula.default_start(family, box) if start is None else _formula.check_start(start, box)
    return _make(
        "custom",
        f"Your own: f = {family.text}",
        family,
        (),
        box,
        point,
        [Minimum(m["point"], m["value"], m["is_global"]) for m in found],
        f"f(x, y) = {family.text}, as you typed it. Its minima were found numerically "
        "(Newton's method from a grid of starts) and may miss some.",
    )


def custom_minima_report(surface: Surface) -> list[dict]:
    """Each numerically found minimum of a :func:`custom` surface, lowest first: ``point``,
    ``value``, ``is_global``, ``curvature`` (largest Hessian eigenvalue L), ``min_curvature``,
    ``stable_below`` (2/L; None where f is flat to second order), ``positive_definite`` and a
    sentence ``text``.

    >>> custom_minima_report(custom("x**2 + 10*y**2"))[0]["text"]
    'at (0, 0) the largest curvature is 20, so rates above 0.1 cannot stay'
    """
    from engine import formula as _formula

    if not isinstance(surface.family, _formula.FormulaFunction):
        raise ValueError(f"{surface.name!r} is not a custom surface.")
    return _formula.minima_report(surface.family, surface.bounds)
