"""The class's votes on one question as a bar chart: one bar per option, in the question's order.

A bar's length is its count; its label says the count and the share of all votes,
share = count / total. After a reveal the right options are drawn in a second colour and
marked with a tick, so the chart reads without colour too.

>>> fig = votes_figure(["converge", "diverge"], {"diverge": 2, "converge": 1}, right={"diverge"})
>>> [bar.y for bar in fig.data][0], fig.data[0].x
(('converge', 'diverge'), (1, 2))
>>> fig.data[0].text
('1 (33%)', '2 (67%) ✓')
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection, Mapping, Sequence

import plotly.graph_objects as go

from charts.ready import figure_from_spec

VOTE_COLOR = "#0072B2"  # Okabe-Ito blue, as the charts' run colours
RIGHT_COLOR = "#009E73"  # Okabe-Ito bluish green: a right answer after the reveal
WRAP = 28  # characters per line of an option's label


def share_labels(counts: Sequence[int]) -> list[str]:
    """"n (p%)" per count, p = 100 * n / total (0% each when nobody voted)."""
    total = sum(counts)
    return [f"{n} ({(100 * n / total if total else 0):.0f}%)" for n in counts]


def wrap_label(option: str, width: int = WRAP, lines: int = 3) -> str:
    """A long option on at most ``lines`` lines (Plotly breaks lines at <br>), cut with … ."""
    parts = textwrap.wrap(option, width) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1] + "…"
    return "<br>".join(parts)


def votes_figure(options: Sequence[str], tally: Mapping[str, int], *,
                 right: Collection[str] = (), labels: Sequence[str] | None = None,
                 title: str | None = None, height: int | None = None) -> go.Figure:
    """Horizontal bars of ``tally`` (choice -> votes) over ``options``, first option on top.

    ``right``: options drawn as right answers (after a reveal). ``labels``: what to show for
    each option (defaults to the options themselves; long ones are wrapped). Choices in
    ``tally`` that are not options are ignored. The figure of :func:`votes_spec`.
    """
    return figure_from_spec(votes_spec(options, tally, right=right, labels=labels, title=title,
                                       height=height))


def votes_spec(options: Sequence[str], tally: Mapping[str, int], *,
               right: Collection[str] = (), labels: Sequence[str] | None = None,
               title: str | None = None, height: int | None = None) -> dict:
    """:func:`votes_figure` as a plain dict, ready for :class:`charts.ready.ReadyFigure` (the
    instructor's chart is redrawn every poll)."""
    counts = [int(tally.get(o, 0)) for o in options]
    text = [s + (" ✓" if o in right else "") for s, o in zip(share_labels(counts), options, strict=True)]
    names = [wrap_label(x) for x in (labels or options)]
    colors = [RIGHT_COLOR if o in right else VOTE_COLOR for o in options]
    top = max(counts + [1])
    rows = sum(name.count("<br>") + 1 for name in names)
    bar = {"type": "bar", "x": counts, "y": names, "orientation": "h", "text": text,
           "textposition": "outside", "cliponaxis": False, "textfont": {"size": 16},
           "marker": {"color": colors}, "hovertemplate": "%{y}: %{x} votes<extra></extra>"}
    layout = {
        "height": height or max(180, 60 + 34 * rows),
        # the count labels run on into the right margin, so a long bar never hides its label
        "margin": {"l": 10, "r": 80, "t": 40 if title else 10, "b": 30},
        "xaxis": {"range": [0, top * 1.25], "dtick": max(1, round(top / 5)), "title": {"text": "votes"},
                  "tickfont": {"size": 14}, "fixedrange": True},
        "yaxis": {"autorange": "reversed", "fixedrange": True, "automargin": True,
                  "tickfont": {"size": 16}},
        "showlegend": False, "uirevision": "votes", "font": {"size": 15},
    }
    if title:
        layout["title"] = {"text": title}
    return {"data": [bar], "layout": layout}
