"""Downloads built only when clicked, for any page.

``st.download_button`` accepts a callable as ``data``: Streamlit runs it when
the button is clicked (on its download thread), not on every rerun.
:func:`on_demand` wraps a builder in such a callable and keeps the result per
(kind, key) in this process, so a file is built at most once per setting and
never for a rerun nobody downloads from.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

_EXPORTS: OrderedDict = OrderedDict()
_EXPORTS_LOCK = threading.Lock()
EXPORTS_KEPT = 16


def on_demand(kind: str, key: Hashable, build: Callable[[], bytes | str]) -> Callable[[], bytes | str]:
    """A no-argument callable for ``st.download_button(data=...)``: it runs ``build`` when the
    button is clicked (on Streamlit's download thread), once per (kind, key) in this process
    (the last ``EXPORTS_KEPT`` are kept), so a rerun never builds a file nobody asked for.
    ``key`` is whatever fixes the file's content (a Playground scene, a page's settings)."""
    slot = (kind, key)

    def data() -> bytes | str:
        with _EXPORTS_LOCK:
            if slot in _EXPORTS:
                _EXPORTS.move_to_end(slot)
                return _EXPORTS[slot]
        value = build()
        with _EXPORTS_LOCK:
            _EXPORTS[slot] = value
            while len(_EXPORTS) > EXPORTS_KEPT:
                _EXPORTS.popitem(last=False)
        return value

    return data
