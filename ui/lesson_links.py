"""Links between lessons that open in the same tab, at the experiment, keeping progress.

Streamlit renders a Markdown link to another path with ``target="_blank"`` (only
``#anchor`` links stay in the tab), so a FAQ link opened a new tab, which is a new
session without the student's progress. Links to another lesson (``/<lesson slug>``,
optionally ``#anchor``) are rendered instead as an HTML anchor with ``target="_self"``, the ``#anchor``
kept and the progress parameters (``seen=``, ``quiz=``) added to the query, so the
page that opens knows what the student has done. The anchor is repeated as ``goto=``:
Streamlit rewrites the URL (dropping the ``#anchor``) as soon as the page stores its
progress, so the page scrolls to ``goto`` itself once the experiment is drawn.

Links to the tool pages stay Markdown links (a new tab, the lesson kept open in this one).

>>> to_html("[See it](/02-too-large#limit), [Grid](/grid)", {"seen": "1,2"}, {"02-too-large"})
'<a href="/02-too-large?seen=1%2C2&amp;goto=limit#limit" target="_self">See it</a>, [Grid](/grid)'
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import urlencode

import streamlit as st
import streamlit.components.v1 as components

# [label](/path#anchor) but not an image ![alt](...), nor a protocol-relative //host link
INTERNAL_LINK = re.compile(r"(?<!!)\[([^\]\n]+)\]\((/(?!/)[\w\-/]*)(#[\w\-]+)?\)")

ANCHOR = re.compile(r"[\w\-]{1,80}")
SCROLL_JS = """
<script>
const doc = window.parent.document, id = %s;
let tries = 0;
const timer = setInterval(() => {
  const el = doc.getElementById(id);
  if (el) el.scrollIntoView({block: "start"});
  if (el || ++tries > 150) clearInterval(timer);
}, 100);
</script>
"""


def to_html(markdown: str, query: dict[str, str] | None, slugs) -> str:
    """Rewrite links to the lessons named in ``slugs`` as same-tab HTML anchors carrying ``query``."""
    def anchor(m: re.Match) -> str:
        if m[2].strip("/") not in slugs:
            return m[0]
        params = {**(query or {}), **({"goto": m[3][1:]} if m[3] else {})}
        href = m[2] + ("?" + urlencode(params) if params else "") + (m[3] or "")
        return f'<a href="{html.escape(href, quote=True)}" target="_self">{m[1]}</a>'

    return INTERNAL_LINK.sub(anchor, markdown)


def render_markdown(markdown: str) -> None:
    """st.markdown, with links to other lessons opening in the same tab at their anchor."""
    from ui import progress as prog
    from ui.lesson_pages import lesson_slugs

    slugs = lesson_slugs()
    if not any(m[2].strip("/") in slugs for m in INTERNAL_LINK.finditer(markdown)):
        st.markdown(markdown)
        return
    st.markdown(to_html(markdown, prog.current().to_query(), slugs), unsafe_allow_html=True)


def goto_target() -> str | None:
    """The experiment named by ``?goto=`` (None if absent or malformed).

    Read it before the page stores its progress in the URL, which drops ``goto``: so
    a followed link scrolls once, and a later rerun or reload does not jump again."""
    goto = st.query_params.get("goto")
    return goto if goto and ANCHOR.fullmatch(goto) else None


def scroll_to(anchor: str | None) -> None:
    """Scroll the page to ``anchor`` once it has been drawn (the browser tries too early)."""
    if anchor and ANCHOR.fullmatch(anchor):
        components.html(SCROLL_JS % json.dumps(anchor), height=0)
