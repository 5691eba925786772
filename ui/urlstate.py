"""A page's settings in the address bar, with Streamlit: restore them from a link, warn about
junk in it, and keep the URL in step with the widgets (the fields and their parsing are pure,
in :mod:`engine.urlstate`).

A page calls :func:`restore` before drawing its widgets (it returns the link's values when
the widgets are fresh: the first visit in a session, or back from another page), puts
them into the widgets' session state, and after reading the widgets calls :func:`sync`,
which writes the URL and returns the link's warnings for the page to show while it still
shows what the link asked for.

A page that picks a surface (your own formula too) passes ``surface=SurfaceLink(...)``:
:func:`restore` then also reads ``surface``, ``f`` and the box keys (through
:func:`ui.formula_input.surface_from_link`) into the picker's and the formula's state, and the
page hands :func:`ui.formula_input.surface_to_link` to :func:`sync` as ``extra`` keys.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import streamlit as st

from engine.scene import BOX_KEYS, CUSTOM
from engine.urlstate import Field, parse, to_query
from ui import formula_input

SURFACE_KEYS = ("surface", "f", *BOX_KEYS)


class SurfaceLink(NamedTuple):
    """A page's surface picker in its link: the formula widgets' key ``prefix``, the picker's
    key and the page's default surface."""

    prefix: str
    picker_key: str
    default: str


def current_query() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


def restore(page: str, fields: Sequence[Field], sentinel: str,
            surface: SurfaceLink | None = None) -> dict[str, Any] | None:
    """The link's values (defaults where it has none) when the widget keyed ``sentinel`` has
    no state yet, else None. Their warnings are kept for :func:`sync`. A URL without any of
    the page's keys (back from another page, whose switch clears the query) gives the
    settings this session last had here, so a visit elsewhere does not reset them.
    ``surface``: also put the link's surface (and formula and box) into the picker's state;
    the values then hold it as ``surface`` (a name, ``custom`` for your own formula)."""
    ss = st.session_state
    if sentinel in ss:
        return None
    query = current_query()
    keys = [f.key for f in fields] + (list(SURFACE_KEYS) if surface else [])
    if not any(k in query for k in keys) and f"_url_{page}_last" in ss:
        query = ss[f"_url_{page}_last"]
    warnings: list[str] = []
    if surface is not None:
        name, formula, box, warnings = formula_input.surface_from_link(query, surface.default)
        ss[surface.picker_key] = name
        if name == CUSTOM:
            formula_input.put(surface.prefix, formula, box)
    values, field_warnings = parse(query, fields)
    if surface is not None:
        values["surface"] = ss[surface.picker_key]
    warnings = [*warnings, *field_warnings]
    ss[f"_url_{page}_warnings"] = warnings
    ss[f"_url_{page}_asked"] = None  # set by the next sync: what the page shows from the link
    return values


def sync(page: str, values: Mapping[str, Any], fields: Sequence[Field],
         extra: Mapping[str, str] | None = None, sparse: bool = False) -> list[str]:
    """Write ``values`` to the URL (when they changed); return the link's warnings while the
    page's settings are still those it restored from the link (afterwards: none). ``extra``:
    more keys written first (a surface's); ``sparse``: leave out values at their defaults."""
    ss = st.session_state
    query = {**(extra or {}), **to_query(values, fields, sparse=sparse)}
    asked = f"_url_{page}_asked"
    if ss.get(asked) is None:
        ss[asked] = query
    shown = list(ss.get(f"_url_{page}_warnings", [])) if ss[asked] == query else []
    ss[f"_url_{page}_last"] = query
    if current_query() != query:
        st.query_params.from_dict(query)
    return shown


def init(key: str, value: Any) -> str:
    """``key``, with ``value`` put in its session state if it has none (a widget then takes its
    value from the state only, so a link can set it)."""
    if key not in st.session_state:
        st.session_state[key] = value
    return key
