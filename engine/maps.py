"""Stability maps: a grid of runs over the rate and one other setting, each cell named by how
its run ended, with theory's lines beside the measurement.

Three maps:

- ``momentum``: rate x heavy-ball momentum beta on any surface, your own formula too
  (``surface="custom"``, ``formula``, ``box``; up to 128 x 128 runs, one
  :func:`engine.descent.sweep_final` call for the whole grid, momentum given per run).
  Theory on quadratics (Polyak, 1964): the heavy ball diverges above
  lr = 2 (1 + beta) / L, and is fastest at lr* = 4 / (sqrt L + sqrt mu)^2,
  beta* = ((sqrt kappa - 1) / (sqrt kappa + 1))^2.
- ``condition``: rate x condition number kappa on the bowls f = 0.5 (mu x^2 + L y^2) with
  the same L and mu = L / kappa (plain gradient descent, one sweep per bowl). Theory:
  diverges above 2 / L (the same for every bowl), fastest at 2 / (L + mu).
- ``batch``: rate x mini-batch size for the digits MLP (:func:`engine.mlp.train`, one
  vmapped call per batch size and seed). No closed form: the measured largest stable rate
  per batch size is the result.

Rates are log-spaced and momenta evenly spaced, both rounded to 6 significant digits so a
cell's settings survive a Playground link unchanged (``engine.scene.fmt``).

Regimes of a map cell (surfaces), from the ends of the runs only (``sweep_final``), in
priority order:

- diverged: the engine froze the run (it left the divergence box or its loss was not
  finite), exactly :func:`engine.diagnose.diagnose`'s rule;
- local minimum: it ends within ``LOCAL_BASIN_FRACTION`` of the surface's extent of a
  minimum that is not global (diagnose's rule);
- converged: it ends within ``tol`` (``default_tol``) of a minimum, i.e. diagnose's
  ``converged``;
- oscillating: not within ``tol`` at the end, and swinging there: at least
  ``MIN_OVERSHOOTS`` (diagnose's count) of the steps in its last ``WINDOW`` steps reverse
  the step before them (d_k . d_{k+1} < 0, both longer than tol / 1000: diagnose's
  overshoot test, on the end of the path). The window is replayed from the runs' states
  T - K - 1 and T - K steps in (two more ``sweep_final`` calls, the same compiled kernel)
  by the heavy ball's own update, d <- beta d - lr grad f(x), x <- x + d;
- slow: the rest (still on its way in, not swinging).

A map names the *end* of each run; diagnose names the whole path, so a run that zig-zags
on its way in and then converges is "converged" on the map and "oscillating" to
diagnose, and one that swings with a period longer than the window is "slow" here.
``converged``, ``diverged`` and ``local minimum`` agree with diagnose exactly.

The network map's regimes are :func:`engine.grid_search.network_regimes`, per batch size.

>>> m = momentum_map(MapConfig(surface="quadratic", params=(("a", 1.0), ("b", 10.0)),
...                            lo=0.01, hi=1.0, n=16, rows=8, steps=200))
>>> m.regimes.shape, bool(m.diverged[0, -1]), bool(m.diverged[0, 0])
((8, 16), True, False)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from engine import data as datasets
from engine import descent, mlp, surfaces, theory
from engine.diagnose import LOCAL_BASIN_FRACTION, MIN_OVERSHOOTS, Regime, default_tol
from engine.formula import check_bounds
from engine.grid_search import network_regimes, pick_best
from engine.scene import (
    BOX_KEYS,
    CUSTOM,
    SURFACE_PARAMS,
    Scene,
    build_surface,
    custom_surface,
    default_params,
    fmt,
    markdown_text,
    scene_from_query,
)
from engine.textlimits import MAX_LIST_CHARS, list_parts  # noqa: F401 (pages read it)

KINDS = ("momentum", "condition", "batch")
KIND_TITLES = {
    "momentum": "rate × momentum",
    "condition": "rate × condition number",
    "batch": "rate × batch size (digits MLP)",
}
COLOR_BY = ("regime", "loss", "steps")  # "steps": the condition map only
# Cell codes of ``StabilityMap.regimes``: the index into REGIMES.
REGIMES = (Regime.CONVERGED.value, Regime.OSCILLATING.value, Regime.SLOW.value,
           Regime.LOCAL_MINIMUM.value, Regime.DIVERGED.value)
CODE = {r: i for i, r in enumerate(REGIMES)}

MAX_SIDE = 128  # rates and rows of a surface map
MAX_NET_RATES = 64
MAX_BATCH_SIZES = 8
MAX_SEEDS = 4
RATE_MIN, RATE_MAX = 1e-5, 100.0
STEPS_MIN, STEPS_MAX = 10, 1000
NET_STEPS_MAX = 500
MOMENTUM_MAX = 0.99
CURVATURE_MIN, CURVATURE_MAX = 0.1, 100.0  # the Playground's range for the bowl's a and b
NET_HIDDEN = 32  # the digits MLP: 64 -> 32 -> 10, tanh (as on the Grid search page)
WINDOW = 32  # the last steps of a run in which the map counts reversals
SIG = 6  # significant digits of every grid value (engine.scene.fmt writes 6)


def round_sig(values, digits: int = SIG) -> np.ndarray:
    """Each value rounded to ``digits`` significant digits (what ``fmt`` writes in a link).

    >>> round_sig([0.123456789, 12345.6789]).tolist()
    [0.123457, 12345.7]
    """
    return np.array([float(f"{v:.{digits}g}") for v in np.asarray(values, np.float64).ravel()])


def rate_axis(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` rates log-spaced from ``lo`` to ``hi``, rounded to 6 significant digits.

    >>> rate_axis(0.01, 1.0, 3).tolist()
    [0.01, 0.1, 1.0]
    """
    return round_sig(np.geomspace(lo, hi, n))


def linear_axis(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` values evenly spaced from ``lo`` to ``hi``, rounded to 6 significant digits.

    >>> linear_axis(0.0, 0.9, 4).tolist()
    [0.0, 0.3, 0.6, 0.9]
    """
    return round_sig(np.linspace(lo, hi, n))


# ----------------------------------------------------------------------------
# The configuration, and its round trip through the URL.
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MapConfig:
    """Everything a map depends on: plain, hashable, and written to the URL.

    kind: "momentum", "condition" or "batch"; color: "regime" or "loss".
    Rates: ``n`` from ``lo`` to ``hi`` (log). Rows: ``rows`` momenta from ``beta_lo`` to
    ``beta_hi`` (momentum map), or condition numbers from 1 to ``kappa_max`` (log) on bowls
    of curvature ``curvature`` (condition map), or ``batch_sizes`` with ``seeds`` seeds
    (batch map). ``surface`` and ``params`` are the momentum map's surface; with
    ``surface="custom"`` it is your own formula ``formula`` in the view box ``box``.
    """

    kind: str = "momentum"
    color: str = "regime"
    surface: str = "quadratic"
    params: tuple[tuple[str, float], ...] = (("a", 1.0), ("b", 100.0))
    lo: float = 1e-4
    hi: float = 0.1
    n: int = 128
    rows: int = 128
    steps: int = 100
    beta_lo: float = 0.0
    beta_hi: float = 0.99
    curvature: float = 10.0
    kappa_max: float = 100.0
    batch_sizes: tuple[int, ...] = (8, 32, 128, 512)
    seeds: int = 2
    formula: str = ""  # f(x, y) as typed, when surface == "custom"
    box: tuple[tuple[float, float], tuple[float, float]] | None = None  # its view box


DEFAULTS = {
    "momentum": MapConfig(),
    "condition": MapConfig(kind="condition", surface="quadratic", params=(), lo=1e-3, hi=1.0,
                           n=128, rows=48, steps=400),
    "batch": MapConfig(kind="batch", surface="quadratic", params=(), lo=0.01, hi=30.0, n=16,
                       rows=4, steps=100),
}


def default_config(kind: str = "momentum") -> MapConfig:
    return DEFAULTS[kind]


def _literal(raw) -> str:
    return str(raw)[:40].replace("`", "'").replace("\n", " ")


def _number(query: dict, key: str, lo: float, hi: float, default: float, warnings: list[str],
            integer: bool = False):
    """query[key] as a number in [lo, hi]; junk or out of range: a warning and the default
    (out of range: clamped)."""
    if key not in query:
        return default
    raw = query[key]
    try:
        value = float(raw)
    except (TypeError, ValueError):
        warnings.append(f"`{key}={_literal(raw)}` is not a number; using {fmt(default)}.")
        return default
    if not math.isfinite(value):
        warnings.append(f"`{key}={_literal(raw)}` is not a finite number; using {fmt(default)}.")
        return default
    if integer and value != round(value):
        warnings.append(f"`{key}={_literal(raw)}` is not a whole number; using {round(value)}.")
        value = float(round(value))
    if value < lo or value > hi:
        clamped = min(max(value, lo), hi)
        warnings.append(f"`{key}={_literal(raw)}` is outside {fmt(lo)} to {fmt(hi)}; "
                        f"using {fmt(clamped)}.")
        value = clamped
    return int(round(value)) if integer else value


def color_options(kind: str) -> tuple[str, ...]:
    """How a map's cells can be coloured: by regime or final loss; the condition map also by
    steps to converge (it keeps its runs' paths)."""
    return COLOR_BY if kind == "condition" else COLOR_BY[:2]


def limits(kind: str) -> dict[str, tuple[float, float]]:
    """The allowed range of each numeric setting of a map."""
    side = MAX_NET_RATES if kind == "batch" else MAX_SIDE
    return {
        "n": (2, side),
        "rows": (2, MAX_SIDE),
        "steps": (STEPS_MIN, NET_STEPS_MAX if kind == "batch" else STEPS_MAX),
        "lo": (RATE_MIN, RATE_MAX),
        "hi": (RATE_MIN, RATE_MAX),
        "blo": (0.0, MOMENTUM_MAX),
        "bhi": (0.0, MOMENTUM_MAX),
        "L": (1.0, CURVATURE_MAX),
        "kmax": (2.0, CURVATURE_MAX / CURVATURE_MIN),
        "seeds": (1, MAX_SEEDS),
    }


def check_config(c: MapConfig) -> tuple[MapConfig, list[str]]:
    """The config made valid: every problem fixed to a default, with a sentence saying so."""
    warnings: list[str] = []
    d = default_config(c.kind if c.kind in KINDS else "momentum")
    if c.kind not in KINDS:
        warnings.append(f"Unknown map `{_literal(c.kind)}`; showing the {KIND_TITLES['momentum']} "
                        "map.")
        c = replace(c, kind="momentum")
    if c.color not in color_options(c.kind):
        warnings.append(f"Unknown colouring `{_literal(c.color)}` for this map; colouring by regime.")
        c = replace(c, color="regime")
    lim = limits(c.kind)
    if not (0 < c.lo < c.hi) or c.lo < lim["lo"][0] or c.hi > lim["hi"][1]:
        warnings.append(f"The rates must run from a smaller to a larger number between "
                        f"{fmt(RATE_MIN)} and {fmt(RATE_MAX)} (got {fmt(c.lo)} to {fmt(c.hi)}); "
                        f"using {fmt(d.lo)} to {fmt(d.hi)}.")
        c = replace(c, lo=d.lo, hi=d.hi)
    for key, attr, what in (("n", "n", "rates"), ("rows", "rows", "rows"),
                            ("steps", "steps", "steps")):
        lo, hi = lim[key]
        v = getattr(c, attr)
        if c.kind == "batch" and key == "rows":
            continue
        if not (isinstance(v, int | np.integer) and lo <= v <= hi):
            warnings.append(f"The map needs {lo:g} to {hi:g} {what} (got {v}); using "
                            f"{getattr(d, attr)}.")
            c = replace(c, **{attr: getattr(d, attr)})
    if c.kind == "momentum":
        if c.surface == CUSTOM:
            try:
                box = check_bounds(surfaces.CUSTOM_BOUNDS if c.box is None else c.box)
                custom_surface(c.formula, box)
            except (ValueError, ArithmeticError) as err:  # FormulaError is a ValueError
                warnings.append(f"Your formula was refused: {markdown_text(err)} Using "
                                f"`{d.surface}`.")
                c = replace(c, surface=d.surface, params=d.params, formula="", box=None)
            else:
                c = replace(c, params=(), box=box)
        elif c.surface not in surfaces.names():
            warnings.append(f"Unknown surface `{_literal(c.surface)}`; using `quadratic`. Choose "
                            f"one of: {', '.join(surfaces.names())}, {CUSTOM}.")
            c = replace(c, surface=d.surface, params=d.params)
        if c.surface != CUSTOM and (c.formula or c.box is not None):
            c = replace(c, formula="", box=None)
        allowed = {p.key: p for p in SURFACE_PARAMS.get(c.surface, ())}
        params = dict(c.params)
        fixed = []
        for key, p in allowed.items():
            v = params.get(key, p.default)
            if not (isinstance(v, int | float) and math.isfinite(v) and p.lo <= v <= p.hi):
                warnings.append(f"`{key}` must be from {fmt(p.lo)} to {fmt(p.hi)} (got {v}); "
                                f"using {fmt(p.default)}.")
                v = p.default
            fixed.append((key, float(v)))
        c = replace(c, params=tuple(fixed))
        if not (0.0 <= c.beta_lo < c.beta_hi <= MOMENTUM_MAX):
            warnings.append(f"The momenta must run from a smaller to a larger number between 0 and "
                            f"{fmt(MOMENTUM_MAX)} (got {fmt(c.beta_lo)} to {fmt(c.beta_hi)}); using "
                            f"{fmt(d.beta_lo)} to {fmt(d.beta_hi)}.")
            c = replace(c, beta_lo=d.beta_lo, beta_hi=d.beta_hi)
    elif c.kind == "condition":
        if not (lim["L"][0] <= c.curvature <= lim["L"][1]):
            warnings.append(f"The curvature L must be from {fmt(lim['L'][0])} to "
                            f"{fmt(lim['L'][1])} (got {fmt(c.curvature)}); using {fmt(d.curvature)}.")
            c = replace(c, curvature=d.curvature)
        top = c.curvature / CURVATURE_MIN
        if not (2.0 <= c.kappa_max <= top):
            warnings.append(f"With L = {fmt(c.curvature)} the largest condition number is "
                            f"{fmt(top)} (μ = L/κ must stay at least {fmt(CURVATURE_MIN)}); got "
                            f"{fmt(c.kappa_max)}, using {fmt(min(d.kappa_max, top))}.")
            c = replace(c, kappa_max=min(d.kappa_max, top))
    else:
        sizes = tuple(int(b) for b in c.batch_sizes)
        if not (1 <= len(sizes) <= MAX_BATCH_SIZES and all(b >= 1 for b in sizes)):
            warnings.append(f"The map needs 1 to {MAX_BATCH_SIZES} batch sizes, each at least 1; "
                            f"using {', '.join(map(str, d.batch_sizes))}.")
            sizes = d.batch_sizes
        c = replace(c, batch_sizes=tuple(sorted(set(sizes))), rows=len(set(sizes)))
        if not (1 <= c.seeds <= MAX_SEEDS):
            warnings.append(f"The map needs 1 to {MAX_SEEDS} seeds (got {c.seeds}); using {d.seeds}.")
            c = replace(c, seeds=d.seeds)
    return c, warnings


def config_from_query(query: dict) -> tuple[MapConfig, list[str]]:
    """Parse the page's query parameters; every problem becomes a warning and a default.

    >>> c, w = config_from_query({"map": "momentum", "n": "abc", "steps": "5000"})
    >>> c.n, c.steps, len(w)
    (128, 1000, 2)
    """
    warnings: list[str] = []
    kind = str(query.get("map", "momentum"))
    if kind not in KINDS:
        warnings.append(f"Unknown map `{_literal(kind)}`; showing the {KIND_TITLES['momentum']} map. "
                        f"Choose one of: {', '.join(KINDS)}.")
        kind = "momentum"
    d = default_config(kind)
    lim = limits(kind)
    color = str(query.get("color", d.color))
    if color not in color_options(kind):
        warnings.append(f"Unknown colouring `{_literal(color)}` for this map; colouring by regime. "
                        f"Choose one of: {', '.join(color_options(kind))}.")
        color = "regime"
    num = partial(_number, query, warnings=warnings)
    lo = num("lo", *lim["lo"], d.lo)
    hi = num("hi", *lim["hi"], d.hi)
    if lo >= hi:
        warnings.append(f"The smallest rate ({fmt(lo)}) must be below the largest ({fmt(hi)}); "
                        f"using {fmt(d.lo)} to {fmt(d.hi)}.")
        lo, hi = d.lo, d.hi
    c = replace(d, color=color, lo=lo, hi=hi, n=num("n", *lim["n"], d.n, integer=True),
                steps=num("steps", *lim["steps"], d.steps, integer=True))
    if kind == "momentum":
        name = str(query.get("surface", d.surface))
        formula, box = "", None
        if name == CUSTOM:  # your own formula: the Playground's rules (a refusal warns)
            own, problems = scene_from_query(
                {k: query[k] for k in ("surface", "f", *BOX_KEYS) if k in query})
            warnings += problems
            name = own.surface if own.surface == CUSTOM else d.surface
            if name == CUSTOM:
                formula, box = own.formula, check_bounds(own.box or surfaces.CUSTOM_BOUNDS)
        elif name not in surfaces.names():
            warnings.append(f"Unknown surface `{_literal(name)}`; using `{d.surface}`. Choose one "
                            f"of: {', '.join(surfaces.names())}, {CUSTOM}.")
            name = d.surface
        base = dict(d.params) if name == d.surface else dict(default_params(name))
        params = tuple((p.key, num(p.key, p.lo, p.hi, base.get(p.key, p.default)))
                       for p in SURFACE_PARAMS.get(name, ()))
        blo = num("blo", *lim["blo"], d.beta_lo)
        bhi = num("bhi", *lim["bhi"], d.beta_hi)
        if blo >= bhi:
            warnings.append(f"The smallest momentum ({fmt(blo)}) must be below the largest "
                            f"({fmt(bhi)}); using {fmt(d.beta_lo)} to {fmt(d.beta_hi)}.")
            blo, bhi = d.beta_lo, d.beta_hi
        c = replace(c, surface=name, params=params, beta_lo=blo, beta_hi=bhi,
                    rows=num("rows", *lim["rows"], d.rows, integer=True), formula=formula,
                    box=box)
    elif kind == "condition":
        L = num("L", *lim["L"], d.curvature)  # noqa: N806 (the usual name)
        top = L / CURVATURE_MIN
        kmax = num("kmax", 2.0, top, min(d.kappa_max, top))
        c = replace(c, curvature=L, kappa_max=kmax,
                    rows=num("rows", *lim["rows"], d.rows, integer=True))
    else:
        sizes = d.batch_sizes
        if "bs" in query:
            sizes, problems = parse_batch_sizes(query["bs"], d.batch_sizes, "bs=")
            warnings += problems
        c = replace(c, batch_sizes=sizes, rows=len(sizes),
                    seeds=num("seeds", *lim["seeds"], d.seeds, integer=True))
    return c, warnings


def parse_batch_sizes(text, default: tuple[int, ...], prefix: str = ""
                      ) -> tuple[tuple[int, ...], list[str]]:
    """Batch sizes from text like "8, 32, 128": whole numbers >= 1, sorted, at most
    ``MAX_BATCH_SIZES``; junk is dropped with a warning, and nothing usable gives ``default``.

    >>> parse_batch_sizes("32, 8, x, 8", (16,))
    ((8, 32), ['`x` is not a batch size (a whole number, at least 1); dropping it.'])
    """
    parts, refusal = list_parts(text)
    if parts is None:
        return tuple(default), [f"{refusal} Using {', '.join(map(str, default))}."]
    warnings = []
    good = []
    for part in parts:
        try:
            b = float(part)
        except ValueError:
            b = float("nan")
        if not (math.isfinite(b) and b >= 1 and b == round(b)):
            warnings.append(f"`{prefix}{_literal(part)}` is not a batch size (a whole number, at "
                            "least 1); dropping it.")
            continue
        good.append(int(b))
    good = sorted(set(good))
    if len(good) > MAX_BATCH_SIZES:
        warnings.append(f"At most {MAX_BATCH_SIZES} batch sizes; keeping the first {MAX_BATCH_SIZES}.")
        good = good[:MAX_BATCH_SIZES]
    if not good:
        warnings.append(f"No usable batch size; using {', '.join(map(str, default))}.")
        return tuple(default), warnings
    return tuple(good), warnings


def parse_cell(text, shape: tuple[int, int]) -> tuple[int, int] | None:
    """A cell "row,column" from a link, or None if it is not one inside ``shape``.

    >>> parse_cell("3,4", (8, 8)), parse_cell("9,1", (8, 8)), parse_cell("a", (8, 8))
    ((3, 4), None, None)
    """
    try:
        i, j = (int(p) for p in str(text).split(","))
    except ValueError:
        return None
    return (i, j) if 0 <= i < shape[0] and 0 <= j < shape[1] else None


def config_to_query(c: MapConfig) -> dict[str, str]:
    """The query parameters that restore ``c`` (inverse of :func:`config_from_query`).

    >>> config_from_query(config_to_query(MapConfig(n=64, steps=250)))[0] == MapConfig(n=64, steps=250)
    True
    """
    q = {"map": c.kind}
    if c.color != "regime":
        q["color"] = c.color
    q.update(lo=fmt(c.lo), hi=fmt(c.hi), n=str(c.n), steps=str(c.steps))
    if c.kind == "momentum":
        q["surface"] = c.surface
        q.update({k: fmt(v) for k, v in c.params})
        if c.surface == CUSTOM:
            (x0, x1), (y0, y1) = surfaces.CUSTOM_BOUNDS if c.box is None else c.box
            q["f"] = c.formula
            q.update(zip(BOX_KEYS, map(fmt, (x0, x1, y0, y1)), strict=True))
        q.update(rows=str(c.rows), blo=fmt(c.beta_lo), bhi=fmt(c.beta_hi))
    elif c.kind == "condition":
        q.update(rows=str(c.rows), L=fmt(c.curvature), kmax=fmt(c.kappa_max))
    else:
        q.update(bs=",".join(map(str, c.batch_sizes)), seeds=str(c.seeds))
    return q


# ----------------------------------------------------------------------------
# Maps.
# ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StabilityMap:
    """A measured map: ``regimes`` (m, n) codes into REGIMES for rows x rates.

    rates (n,) the columns; rows (m,) the row values (momentum, condition number or
    batch size). final_loss (m, n): the loss at the end above the surface's lowest
    (network: the median over seeds of the final training loss). diverged (m, n) bool.
    theory_limit (m,): the rate above which theory says a row diverges (None: no theory);
    theory_best (m,): theory's fastest rate per row (condition map), or None;
    theory_optimum (lr, beta): the heavy ball's fastest setting (momentum map), or None.
    best (m,): the measured best column per row (-1 where every run diverged): the lowest
    final loss, or (condition map) the fewest steps to converge;
    best_cell (i, j): the measured best cell of the whole map, or None; tied: how many
    cells tie for it (several when the loss reaches float32's floor).
    """

    config: MapConfig
    rates: np.ndarray
    rows: np.ndarray
    regimes: np.ndarray
    final_loss: np.ndarray
    diverged: np.ndarray
    diverged_at: np.ndarray  # (m, n) surfaces; (seeds, m, n) network; -1 where none
    final_points: np.ndarray | None = None  # (m, n, 2) surfaces
    theory_limit: np.ndarray | None = None
    theory_best: np.ndarray | None = None
    theory_optimum: tuple[float, float] | None = None
    best: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    best_cell: tuple[int, int] | None = None
    tied: int = 0
    curves: np.ndarray | None = None  # network: (seeds, m, n, steps+1) training loss
    tol: float = 0.0
    steps_to_converge: np.ndarray | None = None  # condition map: (m, n), NaN where not
    row_labels: tuple[str, ...] | None = None  # batch map: "32", "2000 (full batch)"

    @property
    def shape(self) -> tuple[int, int]:
        return self.regimes.shape

    def regime(self, i: int, j: int) -> str:
        return REGIMES[int(self.regimes[i, j])]

    def counts(self) -> dict[str, int]:
        """How many cells of each regime."""
        return {r: int(np.sum(self.regimes == k)) for k, r in enumerate(REGIMES)}


def _check(kind: str, config: MapConfig) -> MapConfig:
    if config.kind != kind:
        config = replace(config, kind=kind)
    fixed, problems = check_config(config)
    if problems:
        raise ValueError(" ".join(problems))
    return fixed


@partial(jax.jit, static_argnames=("family", "k"))
def _window(family, params, x_prev, x_now, lr, beta, min_step, k):
    """Continue heavy-ball runs ``k`` steps from (x_prev, x_now): d <- beta d - lr grad f(x),
    x <- x + d (optax.sgd's update, written on positions). Returns (x after k steps, how many
    significant reversals the k + 1 steps made: d . d_next < 0, both longer than min_step)."""
    grad = jax.vmap(jax.grad(lambda p: family(p, params)))

    def norm(d):
        return jnp.sqrt(jnp.sum(d * d, axis=1))

    def body(_, carry):
        x, d, count = carry
        d_new = beta[:, None] * d - lr[:, None] * grad(x)
        big = (norm(d) > min_step) & (norm(d_new) > min_step)
        count = count + (big & (jnp.sum(d * d_new, axis=1) < 0)).astype(jnp.int32)
        return x + d_new, d_new, count

    count0 = jnp.zeros(x_now.shape[0], jnp.int32)
    x, _, count = jax.lax.fori_loop(0, k, body, (x_now, x_now - x_prev, count0))
    return x, count


def window_length(steps: int) -> int:
    """The steps at the end of a run that the oscillation test looks at: ``WINDOW`` (fewer
    for very short runs, so the window starts after step 1)."""
    return max(1, min(WINDOW, steps - 2))


def end_window(surface: surfaces.Surface, rates, momenta, steps: int, tol: float | None = None):
    """Reversals in each run's last ``window_length(steps)`` steps, and where the window's
    replay ended (it should be the run's end, up to float rounding).

    The runs' states at T - K - 1 and T - K steps come from two ``sweep_final`` calls (the
    same compiled kernel as the full runs, so the same arithmetic); the last K steps are
    replayed from there by the same update rule (:func:`_window`), counting the reversals
    that :func:`engine.diagnose.count_overshoots` counts on a path.
    """
    tol = default_tol(surface) if tol is None else float(tol)
    k = window_length(steps)
    lrs = np.asarray(rates, np.float64).tolist()
    before = descent.sweep_final(surface, lrs, steps - k - 1, momentum=momenta)
    start = descent.sweep_final(surface, lrs, steps - k, momentum=momenta)
    x, count = _window(surface.family, jnp.asarray(surface.params, jnp.float32),
                       jnp.asarray(before.points, jnp.float32), jnp.asarray(start.points, jnp.float32),
                       jnp.asarray(rates, jnp.float32), jnp.asarray(momenta, jnp.float32),
                       jnp.float32(tol / 1000), k)
    return np.asarray(count), np.asarray(x, np.float64)


def final_regimes(surface: surfaces.Surface, end: descent.Final, reversals: np.ndarray,
                  tol: float | None = None) -> np.ndarray:
    """Regime codes of runs from where they ended (``end``) and the reversals in their last
    steps (:func:`end_window`); see the module docstring for the rules."""
    tol = default_tol(surface) if tol is None else float(tol)
    x = np.asarray(end.points, np.float64)
    minima = np.array([m.point for m in surface.minima], np.float64)
    dists = np.linalg.norm(x[:, None, :] - minima[None], axis=-1)
    nearest = np.argmin(dists, axis=1)
    dist = dists[np.arange(len(x)), nearest]
    is_global = np.array([m.is_global for m in surface.minima])[nearest]
    dead = np.asarray(end.diverged_at) >= 0
    local = ~dead & ~is_global & (dist < LOCAL_BASIN_FRACTION * surface.extent)
    converged = ~dead & ~local & (dist < tol)
    codes = np.full(len(x), CODE["slow"], np.int8)
    codes[np.asarray(reversals) >= MIN_OVERSHOOTS] = CODE["oscillating"]
    codes[converged] = CODE["converged"]
    codes[local] = CODE["local minimum"]
    codes[dead] = CODE["diverged"]
    return codes


def run_grid(surface: surfaces.Surface, rates, momenta, steps: int, tol: float | None = None):
    """Runs at (rates[k], momenta[k]) for every k, final-only: (end, regimes, gap above the
    lowest loss). Three ``sweep_final`` calls (T, T - K and T - K - 1 steps)."""
    rates = np.asarray(rates, np.float64)
    momenta = np.asarray(momenta, np.float64)
    end = descent.sweep_final(surface, rates.tolist(), steps, momentum=momenta)
    reversals, _ = end_window(surface, rates, momenta, steps, tol)
    codes = final_regimes(surface, end, reversals, tol)
    gap = np.maximum(np.asarray(end.losses, np.float64) - surface.global_value, 0.0)
    return end, codes, gap


def first_diverged(diverged: np.ndarray) -> np.ndarray:
    """Per row, the first column whose run diverged (n where none did): the measured boundary.

    >>> first_diverged(np.array([[False, True, True], [False, False, False]])).tolist()
    [1, 3]
    """
    d = np.asarray(diverged, bool)
    return np.where(d.any(axis=1), np.argmax(d, axis=1), d.shape[1])


def theory_column(rates: np.ndarray, limit) -> np.ndarray:
    """Per row, the first column whose rate is above theory's ``limit`` (n where none is).

    >>> theory_column(np.array([0.1, 0.2, 0.4]), np.array([0.15, 1.0])).tolist()
    [1, 3]
    """
    return np.searchsorted(np.asarray(rates), np.asarray(limit, np.float64), side="right")


def nearest_index(axis: np.ndarray, value: float, log: bool) -> int:
    """The cell of ``axis`` nearest to ``value`` (in log10 if ``log``)."""
    a = np.log10(axis) if log else np.asarray(axis)
    v = math.log10(value) if log else value
    return int(np.argmin(np.abs(a - v)))


def best_cell(score: np.ndarray, eligible: np.ndarray) -> tuple[tuple[int, int] | None, int]:
    """The cell with the lowest ``score`` among ``eligible`` cells, and how many tie for it
    (equal to float precision); among ties, the one nearest their centre."""
    s = np.where(eligible & np.isfinite(score), score, np.inf)
    best = float(np.min(s)) if s.size else math.inf
    if not math.isfinite(best):
        return None, 0
    tied = np.argwhere(s <= best + 1e-6 * abs(best) + 1e-30)
    centre = tied.mean(axis=0)
    k = int(np.argmin(np.sum((tied - centre) ** 2, axis=1)))
    return (int(tied[k, 0]), int(tied[k, 1])), len(tied)


def _row_best(score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    out = []
    for s, ok in zip(score, eligible, strict=True):
        b = pick_best(s, ok)
        out.append(-1 if b is None else b)
    return np.array(out, int)


def quadratic_theory(surface: surfaces.Surface):
    """theory.quadratic for a quadratic-family surface (quadratic, ravine), else None."""
    if not surface.is_quadratic():
        return None
    return theory.quadratic(*surface.params[:2])


def map_surface(config: MapConfig, i: int = 0) -> surfaces.Surface:
    """The surface of row ``i`` (momentum map: the same for every row)."""
    if config.kind == "condition":
        kappas = condition_axis(config)
        return bowl(config.curvature, float(kappas[i]))
    return build_surface(config.surface, config.params, config.formula, config.box)


def bowl(curvature: float, kappa: float) -> surfaces.Surface:
    """The bowl f = 0.5 (mu x^2 + L y^2) with L = ``curvature`` and mu = L / kappa (rounded to
    6 significant digits, as a link writes it).

    >>> bowl(10.0, 100.0).params[:2]
    (0.1, 10.0)
    """
    mu = float(round_sig([curvature / kappa])[0])
    return surfaces.quadratic(mu, float(curvature))


def condition_axis(config: MapConfig) -> np.ndarray:
    """The rows of the condition map: condition numbers L / mu, log-spaced from 1 to kappa_max,
    each exactly L / mu of its (rounded) bowl."""
    raw = np.geomspace(1.0, config.kappa_max, config.rows)
    mus = round_sig(config.curvature / raw)
    return config.curvature / mus


def momentum_map(config: MapConfig) -> StabilityMap:
    """Rate x momentum on ``config.surface``: every cell one heavy-ball run, all in one
    ``sweep_final`` call (and one more, a step shorter, for the regimes)."""
    c = _check("momentum", config)
    surface = map_surface(c)
    rates = rate_axis(c.lo, c.hi, c.n)
    betas = linear_axis(c.beta_lo, c.beta_hi, c.rows)
    lr_grid, beta_grid = np.meshgrid(rates, betas)
    end, codes, gap = run_grid(surface, lr_grid.ravel(), beta_grid.ravel(), c.steps)
    shape = (c.rows, c.n)
    dead_at = np.asarray(end.diverged_at).reshape(shape)
    diverged = dead_at >= 0
    gap = gap.reshape(shape)
    cell, tied = best_cell(gap, ~diverged)
    th = quadratic_theory(surface)
    limit = optimum = None
    if th is not None:
        limit = np.array([th.stable_below_momentum(b) for b in betas])
        optimum = th.best_momentum()
    return StabilityMap(c, rates, betas, codes.reshape(shape), gap, diverged, dead_at,
                        np.asarray(end.points).reshape(*shape, 2), limit, None, optimum,
                        _row_best(gap, ~diverged), cell, tied, tol=default_tol(surface))


def path_grid(surface: surfaces.Surface, rates, steps: int, tol: float | None = None):
    """Plain gradient descent at ``rates`` with full paths (one ``descent.sweep``): the same
    regimes as :func:`run_grid` (the end-window reversals counted on the path itself) plus
    each run's steps to converge (NaN where it did not). Returns (final, codes, gap, steps).
    """
    tol = default_tol(surface) if tol is None else float(tol)
    sw = descent.sweep(surface, np.asarray(rates, np.float64).tolist(), steps)
    points = np.asarray(sw.points, np.float64)
    end = descent.Final(sw.points[:, -1], sw.losses[:, -1], np.asarray(sw.diverged_at))
    k = window_length(steps)
    d = np.diff(points[:, steps - k - 1:], axis=1)  # the last k + 1 steps
    length = np.linalg.norm(d, axis=2)
    big = (length[:, :-1] > tol / 1000) & (length[:, 1:] > tol / 1000)
    reversals = np.sum(big & (np.sum(d[:, :-1] * d[:, 1:], axis=2) < 0), axis=1)
    codes = final_regimes(surface, end, reversals, tol)
    gap = np.maximum(np.asarray(end.losses, np.float64) - surface.global_value, 0.0)
    return end, codes, gap, steps_to_converge(surface, points, tol)


def steps_to_converge(surface: surfaces.Surface, points: np.ndarray, tol: float) -> np.ndarray:
    """diagnose's steps_to_converge for each path of ``points`` (n, steps+1, 2): the first step
    after which the path stays within ``tol`` of the minimum it ends nearest to; NaN where
    it does not end within ``tol``."""
    minima = np.array([mm.point for mm in surface.minima], np.float64)
    nearest = np.argmin(np.linalg.norm(points[:, -1, None, :] - minima[None], axis=-1), axis=1)
    dist = np.linalg.norm(points - minima[nearest][:, None, :], axis=-1)
    outside = dist >= tol
    last_out = np.where(outside.any(axis=1),
                        outside.shape[1] - 1 - np.argmax(outside[:, ::-1], axis=1), -1)
    return np.where(dist[:, -1] < tol, last_out + 1, np.nan).astype(np.float64)


def condition_map(config: MapConfig) -> StabilityMap:
    """Rate x condition number on bowls with the same L: one full-path ``sweep`` per bowl
    (its curvatures are the surface's parameters, shared by the runs of a call; a row is
    at most 128 runs, so its paths are small). A row's best rate is the one that
    converged in the fewest steps (ties: the lowest final loss)."""
    c = _check("condition", config)
    rates = rate_axis(c.lo, c.hi, c.n)
    kappas = condition_axis(c)
    codes, gaps, dead, points, steps = [], [], [], [], []
    for i in range(c.rows):
        surface = map_surface(c, i)
        end, code, gap, conv = path_grid(surface, rates, c.steps)
        codes.append(code)
        gaps.append(gap)
        dead.append(np.asarray(end.diverged_at))
        points.append(np.asarray(end.points))
        steps.append(conv)
    dead_at = np.stack(dead)
    diverged = dead_at >= 0
    gap = np.stack(gaps)
    conv = np.stack(steps)
    limit = np.full(c.rows, 2.0 / c.curvature)
    best_rate = np.array([2.0 / (c.curvature + c.curvature / k) for k in kappas])
    best = []
    for i in range(c.rows):
        b = pick_best(conv[i], ~diverged[i], tie_break=gap[i])
        if b is None:  # nothing converged in this row: the lowest final loss
            b = pick_best(gap[i], ~diverged[i])
        best.append(-1 if b is None else b)
    best = np.array(best, int)
    cell, tied = best_cell(np.where(np.isfinite(conv), conv, np.inf), ~diverged)
    return StabilityMap(c, rates, kappas, np.stack(codes), gap, diverged, dead_at,
                        np.stack(points), limit, best_rate, None, best, cell, tied,
                        tol=default_tol(map_surface(c, 0)), steps_to_converge=conv)


def batch_map(config: MapConfig, dataset: str = "digits") -> StabilityMap:
    """Rate x batch size for the digits MLP (64 -> 32 -> 10, tanh), ``seeds`` seeds each
    (a seed sets the initial weights and the mini-batch order). A batch size at least the
    training set's is full-batch gradient descent."""
    c = _check("batch", config)
    rates = rate_axis(c.lo, c.hi, c.n)
    d = datasets.load(dataset)
    sizes = (d.n_features, NET_HIDDEN, d.n_classes)
    seeds = tuple(range(c.seeds))
    curves = np.zeros((len(seeds), len(c.batch_sizes), c.n, c.steps + 1), np.float32)
    dead = np.zeros((len(seeds), len(c.batch_sizes), c.n), int)
    for r, bs in enumerate(c.batch_sizes):
        for k, s in enumerate(seeds):
            run = mlp.train(mlp.init(sizes, seed=s), d.x_train, d.y_train, rates.tolist(), c.steps,
                            batch_size=int(bs), seed=s)
            curves[k, r] = run.train_loss
            dead[k, r] = run.diverged_at
    codes = np.zeros((len(c.batch_sizes), c.n), np.int8)
    for r in range(len(c.batch_sizes)):
        regimes, _ = network_regimes(curves[:, r].astype(np.float64), dead[:, r])
        codes[r] = [CODE[x] for x in regimes]
    final = np.median(curves[..., -1].astype(np.float64), axis=0)
    diverged = codes == CODE["diverged"]
    cell, tied = best_cell(final, ~diverged)
    labels = tuple(f"{b} (full batch)" if b >= len(d.x_train) else str(b) for b in c.batch_sizes)
    return StabilityMap(c, rates, np.array(c.batch_sizes, np.float64), codes, final, diverged,
                        dead, None, None, None, None, _row_best(final, ~diverged), cell, tied,
                        curves=curves, row_labels=labels)


def compute(config: MapConfig) -> StabilityMap:
    """The map ``config`` describes."""
    return {"momentum": momentum_map, "condition": condition_map, "batch": batch_map}[config.kind](config)


def condition_steps(m: StabilityMap) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per bowl of a condition map: steps to converge measured at the row's best grid rate
    (from the map), measured at theory's 2/(L+mu) (one more run per bowl, diagnose on its
    path), and theory's prediction at 2/(L+mu) (``theory.steps_to``: log(tol / d0) / log rho).
    NaN where a run did not converge."""
    from engine.diagnose import diagnose

    c = m.config
    at_best = np.array([m.steps_to_converge[i, b] if b >= 0 else np.nan
                        for i, b in enumerate(m.best)], np.float64)
    at_theory, predicted = [], []
    for i in range(len(m.rows)):
        surface = map_surface(c, i)
        th = quadratic_theory(surface)
        t = descent.run(surface, th.best_rate, c.steps)
        s = diagnose(surface, t).steps_to_converge
        at_theory.append(np.nan if s is None else s)
        d0 = float(np.linalg.norm(np.asarray(surface.start) - np.asarray(surface.minima[0].point)))
        p = th.steps_to(th.best_rate, default_tol(surface), d0)
        predicted.append(np.nan if p is None else p)
    return at_best, np.array(at_theory, np.float64), np.array(predicted, np.float64)


# ----------------------------------------------------------------------------
# One cell: its run again, with the full path, and its Playground scene.
# ----------------------------------------------------------------------------


def cell_momentum(m: StabilityMap, i: int) -> float:
    return float(m.rows[i]) if m.config.kind == "momentum" else 0.0


def cell_run(m: StabilityMap, i: int, j: int) -> descent.Trajectory:
    """The run of cell (row i, column j), path and all: ``descent.run`` with its settings."""
    if m.config.kind == "batch":
        raise ValueError("The network map keeps its runs' curves: use StabilityMap.curves.")
    return descent.run(map_surface(m.config, i), float(m.rates[j]), m.config.steps,
                       momentum=cell_momentum(m, i))


def cell_scene(m: StabilityMap, i: int, j: int) -> Scene:
    """The Playground scene of cell (i, j): the same surface, rate, momentum and steps."""
    if m.config.kind == "batch":
        raise ValueError("The network map's runs are not Playground scenes.")
    surface = map_surface(m.config, i)
    if m.config.kind == "condition":
        params = (("a", surface.params[0]), ("b", surface.params[1]))
        name = "quadratic"
    else:
        params, name = m.config.params, m.config.surface
    custom = name == CUSTOM
    return Scene(surface=name, params=params, rates=(float(m.rates[j]),), steps=m.config.steps,
                 momentum=cell_momentum(m, i), formula=m.config.formula if custom else "",
                 box=m.config.box if custom else None)


# ----------------------------------------------------------------------------
# How well measurement and theory agree, in words computed from the map.
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """Rows whose measured boundary is within one cell of theory's; the best cell's distance
    (in cells, the larger of rows and columns) from theory's optimum."""

    boundary_ok: int = 0
    rows: int = 0
    boundary_measured: np.ndarray | None = None
    boundary_theory: np.ndarray | None = None
    optimum_cells: int | None = None
    best_ok: int = 0  # condition map: rows whose best column is within one of 2/(L+mu)


def agreement(m: StabilityMap) -> Agreement:
    if m.theory_limit is None:
        return Agreement(rows=m.shape[0])
    meas = first_diverged(m.diverged)
    theo = theory_column(m.rates, m.theory_limit)
    ok = int(np.sum(np.abs(meas - theo) <= 1))
    opt = None
    if m.theory_optimum is not None and m.best_cell is not None:
        lr, beta = m.theory_optimum
        ti, tj = nearest_index(m.rows, beta, False), nearest_index(m.rates, lr, True)
        opt = max(abs(m.best_cell[0] - ti), abs(m.best_cell[1] - tj))
    best_ok = 0
    if m.theory_best is not None:
        tb = np.array([nearest_index(m.rates, r, True) for r in m.theory_best])
        best_ok = int(np.sum((m.best >= 0) & (np.abs(m.best - tb) <= 1)))
    return Agreement(ok, m.shape[0], meas, theo, opt, best_ok)


def in_range(m: StabilityMap, lr: float, row: float) -> bool:
    """Whether (lr, row value) lies inside the map's ranges (half a cell of margin)."""
    return (m.rates[0] <= lr <= m.rates[-1]) and (min(m.rows) <= row <= max(m.rows))


def summary(m: StabilityMap) -> list[str]:
    """Sentences, computed from the map, on what it measured and how far theory agrees."""
    c = m.config
    out = []
    counts = m.counts()
    total = m.regimes.size
    parts = [f"{v} {k}" for k, v in counts.items() if v]
    if c.kind == "batch":
        out.append(f"{total:,} cells × {c.seeds} seed(s) = {total * c.seeds:,} training runs of "
                   f"{c.steps} steps: " + ", ".join(parts) + " (cells).")
    else:
        out.append(f"{total:,} runs of {c.steps} steps: " + ", ".join(parts) + ".")
    a = agreement(m)
    if c.kind == "momentum":
        if m.theory_limit is None:
            out.append("This surface is not a quadratic, so theory has no closed-form limit "
                       "here: the hatched region is what the runs measured.")
        else:
            out.append(f"The measured divergence boundary is within one grid cell of theory's "
                       f"2(1+β)/L on {a.boundary_ok} of {a.rows} rows.")
            lr, beta = m.theory_optimum
            if m.best_cell is None:
                out.append("Every run diverged: move the rates down.")
            else:
                i, j = m.best_cell
                where = (f"The lowest final loss is at lr = {fmt(m.rates[j])}, β = {fmt(m.rows[i])}"
                         + (f" (the middle of {m.tied} cells tied at float32's floor)"
                            if m.tied > 1 else ""))
                if in_range(m, lr, beta):
                    out.append(f"{where}: {a.optimum_cells} cell(s) from the heavy ball's optimum "
                               f"lr* = {lr:.4g}, β* = {beta:.3g}.")
                else:
                    out.append(f"{where}; the heavy ball's optimum lr* = {lr:.4g}, β* = {beta:.3g} "
                               "is outside this map.")
    elif c.kind == "condition":
        out.append(f"Every bowl has L = {fmt(c.curvature)}: the measured divergence boundary is "
                   f"within one cell of 2/L = {2 / c.curvature:.4g} on {a.boundary_ok} of {a.rows} "
                   f"rows, and the best rate (fewest steps to converge) is within one cell of 2/(L+μ) on "
                   f"{a.best_ok} of {a.rows} rows.")
    else:
        edge = largest_stable(m)
        ok = [(int(b), r) for b, r in zip(m.rows, edge, strict=True) if r is not None]
        if ok:
            txt = ", ".join(f"{r:.3g} at batch {b}" for b, r in ok)
            out.append(f"Largest rate with no seed diverging: {txt}. A network has no closed-form "
                       "limit; these are measured.")
        else:
            out.append("Every rate diverged at every batch size: move the rates down.")
    return out


def largest_stable(m: StabilityMap) -> list[float | None]:
    """Per row, the rate just below the first diverged cell (None if the first one diverged;
    the last rate if none did)."""
    first = first_diverged(m.diverged)
    return [None if f == 0 else float(m.rates[f - 1]) for f in first]
