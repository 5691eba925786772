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
