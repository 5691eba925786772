"""Figures that are already plain JSON-able dicts, for st.plotly_chart without Plotly's per-call work.

``st.plotly_chart(fig)`` calls ``fig.to_dict()``, which deep-copies every list of the
figure and walks it looking for NumPy arrays (about 70 ms for the Playground's trajectory
figure with its 100 frames), before it encodes the JSON (about 2 ms). A chart builder that
already produces the final plain spec (lists of floats, no NumPy, no validation needed)
can hand it over as a :class:`ReadyFigure`: ``to_dict()`` returns the spec itself, so only
the JSON encoding is left. The spec is shared, never copied: nobody may mutate it (which
is what lets a page cache one per scene and serve it to every session).

Unlike ``go.Figure`` it does not add Plotly's default template (``layout.template``, about
7 KB of JSON per figure): ``st.plotly_chart``'s default theme="streamlit" styles the chart
over it. The Playground's three charts were screenshotted in Chromium with and without it:
the trajectory chart pixel-identical, the two log charts differing only in the
anti-aliasing of ~200 pixels of a dotted line.

:func:`figure_from_spec` builds the ordinary ``go.Figure`` of the same spec (unvalidated,
as the builders always did), for tests and any caller that wants to inspect or edit.
"""

from __future__ import annotations

import plotly.graph_objects as go


class ReadyFigure(go.Figure):
    """A frozen figure: ``to_dict()`` returns its plain spec without copying or checking it.

    Only ``to_dict``/``to_plotly_json``/``to_json`` and ``spec`` are meant to be used; it is a
    ``go.Figure`` so that ``st.plotly_chart`` and ``plotly.io`` accept it, but it skips
    ``go.Figure.__init__`` (about 4 ms even for an empty figure), so attribute access such as
    ``fig.data`` is not supported: use :func:`figure_from_spec` for that.
    """

    def __init__(self, spec: dict):  # noqa: D107  (deliberately not calling go.Figure.__init__)
        object.__setattr__(self, "_ready_spec", spec)

    @property
    def spec(self) -> dict:
        return self._ready_spec

    def to_dict(self) -> dict:
        return self._ready_spec

    to_plotly_json = to_dict

    def __getattr__(self, name):
        raise AttributeError(f"ReadyFigure has no {name!r}; use figure_from_spec(fig.spec)")

    def __setattr__(self, name, value):
        raise AttributeError("a ReadyFigure is frozen")

    def __eq__(self, other) -> bool:
        return isinstance(other, ReadyFigure) and other.spec == self.spec

    __hash__ = None

    def __repr__(self) -> str:
        return (f"ReadyFigure({len(self.spec.get('data', []))} traces, "
                f"{len(self.spec.get('frames', []))} frames)")


def figure_from_spec(spec: dict) -> go.Figure:
    """The ``go.Figure`` of a plain spec (data, layout, frames), unvalidated.

    Plotly re-validates every frame given to ``go.Figure`` (about 2 ms each, even with
    ``_validate=False``); the spec holds only plain numbers and strings built by the chart
    builders, so frames are attached unvalidated too.
    """
    fig = go.Figure(data=spec.get("data", []), layout=spec.get("layout", {}), _validate=False)
    frames = spec.get("frames")
    if frames:
        fig._frame_objs = tuple(go.Frame(f, _validate=False) for f in frames)
    return fig


def larger_text(spec: dict, size: int, height: int | None = None) -> dict:
    """A copy of ``spec`` whose every text (ticks, axis and chart titles, legend, annotations,
    colour bars, buttons, slider, trace labels) is at least ``size`` px, and ``height`` tall
    if given: a projector's charts are read from the back of a room. Lists of numbers are
    shared with ``spec``, not copied.

    >>> s = {"data": [{"type": "scatter", "textfont": {"size": 11}}],
    ...      "layout": {"xaxis": {"tickfont": {"size": 12}}, "annotations": [{"text": "a"}]}}
    >>> big = larger_text(s, 20, height=400)
    >>> big["layout"]["xaxis"]["tickfont"]["size"], big["layout"]["annotations"][0]["font"]["size"]
    (20, 20)
    >>> big["data"][0]["textfont"]["size"], big["layout"]["height"], s["layout"]["xaxis"]["tickfont"]
    (20, 400, {'size': 12})
    """

    def font(d: dict | None) -> dict:
        d = dict(d or {})
        d["size"] = max(size, d.get("size") or 0)
        return d

    def titled(d: dict) -> dict:
        d = dict(d)
        title = d.get("title")
        if isinstance(title, dict):
            d["title"] = {**title, "font": font(title.get("font"))}
        elif isinstance(title, str):
            d["title"] = {"text": title, "font": font(None)}
        return d

    def trace(t: dict) -> dict:
        t = dict(t)
        if "textfont" in t or "text" in t:
            t["textfont"] = font(t.get("textfont"))
        if isinstance(t.get("colorbar"), dict):
            t["colorbar"] = titled({**t["colorbar"], "tickfont": font(t["colorbar"].get("tickfont"))})
        return t

    layout = titled(dict(spec.get("layout", {})))
    layout["font"] = font(layout.get("font"))
    for key, value in list(layout.items()):
        if key.startswith(("xaxis", "yaxis")) and isinstance(value, dict):
            layout[key] = titled({**value, "tickfont": font(value.get("tickfont"))})
        elif key == "legend" and isinstance(value, dict):
            layout[key] = {**value, "font": font(value.get("font"))}
        elif key in ("annotations", "updatemenus") and isinstance(value, list | tuple):
            layout[key] = [{**a, "font": font(a.get("font"))} for a in value]
        elif key == "sliders" and isinstance(value, list | tuple):
            layout[key] = [{**s, "font": font(s.get("font")),
                            "currentvalue": {**s.get("currentvalue", {}),
                                             "font": font(s.get("currentvalue", {}).get("font"))}}
                           for s in value]
    if "legend" not in layout:
        layout["legend"] = {"font": font(None)}
    if height is not None:
        layout["height"] = height
    out = {**spec, "layout": layout, "data": [trace(t) for t in spec.get("data", [])]}
    if spec.get("frames"):
        out["frames"] = [{**f, "data": [trace(t) for t in f.get("data", [])]} for f in spec["frames"]]
    return out
