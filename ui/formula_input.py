"""Your own surface, typed as a formula: one widget for every page that picks a surface.

A page offers ``CUSTOM`` in its surface picker (:func:`surface_names`, labelled by
:func:`surface_title`); when it is picked, :func:`formula_input` draws the formula, its
examples and the view box, refuses a formula or box in words (with a caret under the
column), keeps running the last accepted one, and returns what to run. :func:`minima_note`
lists the minima found numerically, each with its own 2/L, and says that they may miss
some. The widgets' keys start with a page's ``prefix`` (``""`` is the Playground's keys).

Links: :func:`surface_from_link` reads ``surface=custom&f=...&xmin=...`` (junk or an unsafe
formula: a warning and the page's default surface), :func:`surface_to_link` writes it, and
:func:`restore_link` / :func:`sync_link` do both for a page that keeps only its surface in
its link (Schedules, Grid search).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import streamlit as st

from engine import formula as formulas
from engine import surfaces
from engine.formula import FormulaError, check_bounds
from engine.grid import loss_grid
from engine.scene import BOX_KEYS, CUSTOM, fmt, markdown_text, named_surface
from engine.scene import custom_surface as build_custom

CUSTOM_TITLE = "Your own formula f(x, y)"
EXAMPLES = ("x**2 + 10*sin(y)**2", "(1-x)**2 + 5*(y-x**2)**2")
FORMULA_HELP = (
    "Type f in x and y with numbers, + - * / ** (powers), parentheses and the functions "
    f"{', '.join(formulas.FUNCTIONS)}. Nothing else is accepted (the text is checked against "
    f"that list, never run as code), at most {formulas.MAX_LENGTH} characters.")
BOX_LABELS = {"xmin": "x from", "xmax": "x to", "ymin": "y from", "ymax": "y to"}
MINIMA_NOTE = (
    f"Found numerically, so they may miss some: Newton's method from a {formulas.GRID_STARTS} × "
    f"{formulas.GRID_STARTS} grid of starts inside the box, each end kept only if its gradient is "
    "tiny and its Hessian positive definite (or f rises all around it). A narrow basin between "
    "the starts, or a minimum on or outside the box's edge, is not listed. Each minimum's own "
    "2/L uses its largest curvature L: plain gradient descent at a rate above it cannot settle "
    "there.")


def surface_title(name: str) -> str:
    """A surface picker's label for a surface name (``custom``: your own formula)."""
    return CUSTOM_TITLE if name == CUSTOM else named_surface(name, ()).title


def surface_names() -> list[str]:
    """Every named surface, then your own formula: the options of a surface picker."""
    return [*surfaces.names(), CUSTOM]


@st.cache_resource(max_entries=64, show_spinner="Finding the minima of your formula (once per "
                   "formula and box)…")
def custom_surface(formula: str, box) -> tuple[surfaces.Surface | None, str | None, int | None]:
    """(surface, None, None) for an accepted formula and box, else (None, the parser's or the
    minima search's message, its column or None). Cached per formula and box, refusals too."""
    try:
        return build_custom(formula, box), None, None
    except (ValueError, ArithmeticError) as err:  # FormulaError is a ValueError
        return None, str(err), getattr(err, "column", None)


@dataclass(frozen=True)
class Custom:
    """What :func:`formula_input` runs: the accepted formula, its box and its surface;
    ``refused`` is the message for what was typed when it was refused (else None)."""

    formula: str
    box: tuple[tuple[float, float], tuple[float, float]]
    surface: surfaces.Surface
    refused: str | None = None


def put(prefix: str, formula: str, box=None) -> None:
    """Put a formula and box into the widgets' state (safe in an on_click callback) and
    remember them as accepted."""
    ss = st.session_state
    box = surfaces.CUSTOM_BOUNDS if box is None else box
    ss[f"{prefix}formula"] = formula
    (x0, x1), (y0, y1) = box
    for key, value in zip(BOX_KEYS, (x0, x1, y0, y1), strict=True):
        ss[f"{prefix}box_{key}"] = float(value)
    ss[f"{prefix}custom_ok"] = (formula, _box(box))


def _box(box) -> tuple[tuple[float, float], tuple[float, float]]:
    (x0, x1), (y0, y1) = box
    return (float(x0), float(x1)), (float(y0), float(y1))


def _box_state(prefix: str) -> tuple[tuple[float, float], tuple[float, float]]:
    ss = st.session_state
    (x0, x1), (y0, y1) = surfaces.CUSTOM_BOUNDS
    for key, default in zip(BOX_KEYS, (x0, x1, y0, y1), strict=True):
        if f"{prefix}box_{key}" not in ss:
            ss[f"{prefix}box_{key}"] = float(default)
    return ((float(ss[f"{prefix}box_xmin"]), float(ss[f"{prefix}box_xmax"])),
            (float(ss[f"{prefix}box_ymin"]), float(ss[f"{prefix}box_ymax"])))


def _use_example(prefix: str, text: str) -> None:
    st.session_state[f"{prefix}formula"] = text


def formula_input(prefix: str = "") -> Custom:
    """Your own surface's controls: the formula, examples, the view box, and a refusal in words
    below the formula (with a caret under its column). Returns the formula, box and surface to
    run: the typed ones if accepted, else the last accepted ones (or the first example)."""
    ss = st.session_state
    key = f"{prefix}formula"
    if key not in ss:
        ss[key] = EXAMPLES[0]
    typed = st.text_input("f(x, y) =", key=key, help=FORMULA_HELP,
                          placeholder=f"e.g. {EXAMPLES[0]}",
                          max_chars=formulas.MAX_LENGTH + 100)  # room to see the parser's refusal
    refusal = st.container()
    st.caption("Examples (click to use):")
    for i, text in enumerate(EXAMPLES):  # one per row: a sidebar is too narrow for two
        st.button(f"`{text}`", key=f"{prefix}example_{i}", on_click=_use_example,
                  args=(prefix, text), use_container_width=True)
    box = _box_state(prefix)
    st.caption("View box (runs start inside it; the minima are searched in it)")
    for row in (("xmin", "xmax"), ("ymin", "ymax")):
        for col, k in zip(st.columns(2), row, strict=True):
            col.number_input(BOX_LABELS[k], -formulas.MAX_COORDINATE, formulas.MAX_COORDINATE,
                             key=f"{prefix}box_{k}", step=0.5, format="%g")
    surface, error, column = custom_surface(typed, box)
    if surface is not None:
        ss[f"{prefix}custom_ok"] = (typed, box)
        ss[f"{prefix}custom_error"] = None
        return Custom(typed, box, surface)
    ss[f"{prefix}custom_error"] = error
    with refusal:
        st.error(f"**Refused:** {markdown_text(error)}", icon=":material/block:")
        if column is not None and 0 < column <= len(typed) + 1 and len(typed) <= 120:
            st.code(f"{typed}\n{' ' * (column - 1)}^ column {column}", language=None)
    last = ss.get(f"{prefix}custom_ok") or (EXAMPLES[0], surfaces.CUSTOM_BOUNDS)
    surface = custom_surface(*last)[0]
    if surface is None:  # cannot happen for a formula once accepted; the example then
        last = (EXAMPLES[0], surfaces.CUSTOM_BOUNDS)
        surface = custom_surface(*last)[0]
    with refusal:
        st.caption("Still running the last formula that worked: "
                   f"f = {markdown_text(last[0])}, x from {fmt(last[1][0][0])} to "
                   f"{fmt(last[1][0][1])}, y from {fmt(last[1][1][0])} to {fmt(last[1][1][1])}.")
    return Custom(last[0], _box(last[1]), surface, error)


@st.cache_data(max_entries=64, show_spinner=False)
def blank_share(text: str, bounds, _surface: surfaces.Surface) -> float:
    """The share of your own surface's box (on the drawn grid) where f is not finite (cached
    per formula text and box; the surface itself is not hashed)."""
    _, _, z = loss_grid(_surface)
    return float(np.mean(~np.isfinite(z)))


def minima_note(surface: surfaces.Surface, heading: str = "Minima of your formula") -> None:
    """Your own surface's minima, each with its curvature and own 2/L, the note that they were
    found numerically, and how much of the box is blank (f not finite)."""
    st.subheader(heading)
    for m in surfaces.custom_minima_report(surface):
        kind = "Global" if m["is_global"] else "Local"
        st.markdown(f"- **{kind} minimum**, f = {m['value']:.4g}: {m['text']}.")
    st.caption(MINIMA_NOTE)
    share = blank_share(surface.family.text, surface.bounds, surface)
    if share > 0:
        st.caption(f"f is not a finite number on {share:.0%} of the box (left blank on the "
                   "surface). A run that steps there is frozen at that step and counted as "
                   "diverged, like a run that blows up.")


def global_limit(surface: surfaces.Surface) -> tuple[str, float] | None:
    """(where, 2/L) of your own surface's lowest minimum, ``where`` as its sentence writes it,
    e.g. "(1, 1)"; None where f is flat there to second order (no 2/L)."""
    found = surfaces.custom_minima_report(surface)
    if not found or found[0]["stable_below"] is None:
        return None
    x, y = (f"{v:.3g}" if abs(v) >= 1e-3 else "0" for v in found[0]["point"])
    return f"({x}, {y})", float(found[0]["stable_below"])


# ----------------------------------------------------------------------------
# Links.
# ----------------------------------------------------------------------------


def _literal(raw) -> str:
    return str(raw)[:40].replace("`", "'").replace("\n", " ")


def _raw(value) -> str:
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def surface_from_link(query: dict, default: str, names=None
                      ) -> tuple[str, str, tuple | None, list[str]]:
    """(surface name, formula, box, warnings) from a link's ``surface``, ``f`` and box keys.
    An unknown surface, or a formula or box the parser refuses, gets a warning naming the
    problem and the page's ``default`` surface; a junk box alone gets a warning and the
    default box. Never raises.

    >>> surface_from_link({"surface": "custom", "f": "x**2 + y**2", "xmin": "-1"}, "quadratic")
    ('custom', 'x**2 + y**2', ((-1.0, 3.0), (-3.0, 3.0)), [])
    >>> name, _, _, warnings = surface_from_link({"surface": "custom", "f": "().__class__"},
    ...                                          "himmelblau")
    >>> name, warnings[0][:55]
    ('himmelblau', 'The formula in the link was refused: Attributes such as')
    """
    names = list(surfaces.names() if names is None else names)
    warnings: list[str] = []
    if "surface" not in query:
        return default, "", None, warnings
    name = _raw(query["surface"])
    if name not in names and name != CUSTOM:
        warnings.append(f"Unknown surface `{_literal(name)}`; using `{default}`. Choose one of: "
                        f"{', '.join([*names, CUSTOM])}.")
        return default, "", None, warnings
    if name != CUSTOM:
        return name, "", None, warnings
    (dx0, dx1), (dy0, dy1) = surfaces.CUSTOM_BOUNDS
    box = None
    if any(k in query for k in BOX_KEYS):
        values = []
        for k, d in zip(BOX_KEYS, (dx0, dx1, dy0, dy1), strict=True):
            raw = _raw(query.get(k, d))
            try:
                v = float(raw)
            except ValueError:
                v = math.nan
            if not math.isfinite(v):
                warnings.append(f"`{k}={_literal(raw)}` is not a finite number; using {fmt(d)}.")
                v = d
            values.append(v)
        try:
            box = check_bounds(((values[0], values[1]), (values[2], values[3])))
        except FormulaError as err:
            warnings.append(f"The box in the link was refused: {markdown_text(err)} Using x and "
                            f"y from {fmt(dx0)} to {fmt(dx1)}.")
    text = _raw(query.get("f", ""))
    surface, error, _ = custom_surface(text, box)
    if surface is None:
        warnings.append(f"The formula in the link was refused: {markdown_text(error)} "
                        f"(`f={_literal(text)}`); using the default surface, `{default}`.")
        return default, "", None, warnings
    return CUSTOM, text, _box(surface.bounds), warnings


def surface_to_link(name: str, formula: str = "", box=None) -> dict[str, str]:
    """The link keys of a surface: its name, and for your own its formula and box.

    >>> surface_to_link("custom", "x**2", ((-1.0, 2.0), (-3.0, 3.0)))
    {'surface': 'custom', 'f': 'x**2', 'xmin': '-1', 'xmax': '2', 'ymin': '-3', 'ymax': '3'}
    """
    q = {"surface": name}
    if name == CUSTOM:
        (x0, x1), (y0, y1) = surfaces.CUSTOM_BOUNDS if box is None else box
        q["f"] = formula
        q.update(zip(BOX_KEYS, map(fmt, (x0, x1, y0, y1)), strict=True))
    return q


def current_query() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


def restore_link(prefix: str, picker_key: str, default: str, names=None) -> bool:
    """On a fresh page (its picker ``picker_key`` has no state yet), put the link's surface,
    formula and box into the widgets' state and keep its warnings for :func:`sync_link`.
    Returns whether the link named a surface (so the page can show one)."""
    ss = st.session_state
    if picker_key in ss:
        return False
    query = current_query()
    name, formula, box, warnings = surface_from_link(query, default, names)
    ss[picker_key] = name
    if name == CUSTOM:
        put(prefix, formula, box)
    ss[f"{prefix}link_warnings"] = warnings
    ss[f"{prefix}link_asked"] = None
    return "surface" in query


def sync_link(prefix: str, query: dict[str, str]) -> list[str]:
    """Write ``query`` to the address bar (when it changed); return the link's warnings while
    the page still shows what it restored from the link (afterwards none)."""
    ss = st.session_state
    asked = f"{prefix}link_asked"
    if ss.get(asked) is None:
        ss[asked] = query
    shown = list(ss.get(f"{prefix}link_warnings", [])) if ss.get(asked) == query else []
    if current_query() != query:
        st.query_params.from_dict(query)
    return shown
