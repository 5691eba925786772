"""A page's settings in the address bar, with Streamlit: restore them from a link, warn about
junk in it, and keep the URL in step with the widgets (the fields and their parsing are pure,
in :mod:`engine.urlstate`).

A page calls :func:`restore` before drawing its widgets (it returns the link's values when
the widgets are fresh: the first visit in a session, or back from another page), puts
them into the widgets' session state, and after reading the widgets calls :func:`sync`,
which writes the URL and returns the link's warnings for the page to show while it still
shows what the link asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from engine.urlstate import Field, parse, to_query


def current_query() -> dict[str, str]:
    return {k: st.query_params.get(k) for k in st.query_params}


def restore(page: str, fields: Sequence[Field], sentinel: str) -> dict[str, Any] | None:
    """The link's values (defaults where it has none) when the widget keyed ``sentinel`` has
    no state yet, else None. Their warnings are kept for :func:`sync`. A URL without any of
    the page's keys (back from another page, whose switch clears the query) gives the
    settings this session last had here, so a visit elsewhere does not reset them."""
    ss = st.session_state
    if sentinel in ss:
        return None
    query = current_query()
    if not any(f.key in query for f in fields) and f"_url_{page}_last" in ss:
        query = ss[f"_url_{page}_last"]
    values, warnings = parse(query, fields)
    ss[f"_url_{page}_warnings"] = warnings
    ss[f"_url_{page}_asked"] = None  # set by the next sync: what the page shows from the link
    return values


def sync(page: str, values: Mapping[str, Any], fields: Sequence[Field]) -> list[str]:
    """Write ``values`` to the URL (when they changed); return the link's warnings while the
    page's settings are still those it restored from the link (afterwards: none)."""
    ss = st.session_state
    query = to_query(values, fields)
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
