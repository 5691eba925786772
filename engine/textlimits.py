"""Bounds on typed lists, checked before any parsing work.

A text box's ``max_chars`` is only a hint to the browser: a client can send any
string over the websocket, or a link can carry one. Every list parser therefore
first refuses text longer than ``MAX_LIST_CHARS`` or with more than
``MAX_LIST_ITEMS`` items, in O(1) work per refusal (a length and a count), so a
24 MB string costs microseconds and one warning instead of a warning per item.

>>> list_parts("0.1, 1; 2", seps=",;")
(['0.1', '1', '2'], None)
>>> list_parts("1," * 300)[1]
'The list is 600 characters long; at most 200.'
"""

from __future__ import annotations

MAX_LIST_CHARS = 200   # a list box: "0.0001, 0.001, 0.01, 0.1" is 24
MAX_LIST_ITEMS = 16    # no list box takes more than 8 items


def list_parts(text, seps: str = ",", max_chars: int = MAX_LIST_CHARS,
               max_items: int = MAX_LIST_ITEMS) -> tuple[list[str] | None, str | None]:
    """The non-empty, stripped items of ``text`` split at any of ``seps``: (items, None); or
    (None, a refusal) when the text is longer than ``max_chars`` or has more than ``max_items``
    items. The length and item count are checked before the text is split."""
    text = "" if text is None else str(text)
    if len(text) > max_chars:
        return None, f"The list is {len(text):,} characters long; at most {max_chars}."
    if sum(text.count(s) for s in seps) + 1 > max_items:
        return None, f"The list has more than {max_items} items."
    for s in seps[1:]:
        text = text.replace(s, seps[0])
    return [p.strip() for p in text.split(seps[0]) if p.strip()], None
