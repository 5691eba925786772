"""A page's settings in its URL: typed fields, parsed with a warning per problem, written back.

Pure Python (no Streamlit), so every page can share it and tests can call it directly. A
page lists its fields once; :func:`parse` turns a query string into values (junk becomes
the field's default plus a warning sentence, never an exception) and :func:`to_query`
writes values back, so ``parse(to_query(v))`` gives ``v`` again.

>>> fields = (Choice("data", "moons", ("moons", "circles")),
...           Numbers("lr", (0.1,), lo=1e-4, hi=10, max_items=4),
...           Number("steps", 300, lo=50, hi=1000, integer=True),
...           Flag("sharp", False))
>>> values, warnings = parse({"data": "circles", "lr": "0.05,nan,50", "steps": "abc"}, fields)
>>> values
{'data': 'circles', 'lr': (0.05,), 'steps': 300, 'sharp': False}
>>> for w in warnings: print(w)
`lr=nan` is not a finite number; dropping it.
`lr=50` is outside 0.0001 to 10; dropping it.
`steps=abc` is not a number; using 300.
>>> to_query(values, fields)
{'data': 'circles', 'lr': '0.05', 'steps': '300', 'sharp': '0'}
>>> parse(to_query(values, fields), fields)[0] == values
True

A default may depend on the fields before it (a callable of the values parsed so far),
e.g. each optimizer's own rates:

>>> rates = {"sgd": (0.1, 1.0), "adam": (0.001,)}
>>> f = (Choice("opt", "sgd", ("sgd", "adam")),
...      Numbers("lr", lambda v: rates[v["opt"]], lo=1e-4, hi=10))
>>> parse({"opt": "adam"}, f)[0]
{'opt': 'adam', 'lr': (0.001,)}

A field may apply only when the fields before it say so (``when``, a callable of the values
parsed so far): otherwise the link's value is ignored and none is written, e.g. a
schedule's own options. ``to_query(..., sparse=True)`` leaves out every value that equals
its default, for a short link that parses back to the same values:

>>> f = (Choice("schedule", "cosine", ("cosine", "step")),
...      Number("factor", 0.5, lo=0, hi=1, when=lambda v: v["schedule"] == "step"))
>>> parse({"schedule": "cosine", "factor": "0.1"}, f)
({'schedule': 'cosine'}, [])
>>> to_query({"schedule": "step", "factor": 0.5}, f, sparse=True)
{'schedule': 'step'}
>>> parse({"schedule": "step"}, f)[0]
{'schedule': 'step', 'factor': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Default = Any  # a value, or a callable of the values parsed so far


def fmt(x: float) -> str:
    """A number as the URL writes it: the shortest text that reads back as exactly the same
    float ('0.05', '300', '1e-05', '0.0123456789').

    >>> fmt(0.05), fmt(300.0), fmt(1e-05), fmt(float(0.1 + 0.2))
    ('0.05', '300', '1e-05', '0.30000000000000004')
    """
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def literal(raw: Any) -> str:
    """User text for a warning: cut short and safe inside a Markdown code span."""
    return str(raw)[:40].replace("`", "'").replace("\n", " ")


def _number(raw: str, key: str, warnings: list[str], instead: str) -> float | None:
    """``raw`` as a finite float, or None with a warning (``instead`` says what happens)."""
    try:
        value = float(str(raw).strip())
    except ValueError:
        warnings.append(f"`{key}={literal(raw)}` is not a number; {instead}.")
        return None
    if not math.isfinite(value):
        warnings.append(f"`{key}={literal(raw)}` is not a finite number; {instead}.")
        return None
    return value


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@dataclass(frozen=True)
class Field:
    key: str
    default: Default
    # Whether the field applies, given the values parsed before it (None: always).
    when: Callable[[Mapping[str, Any]], bool] | None = field(default=None, kw_only=True)

    def applies(self, values: Mapping[str, Any]) -> bool:
        return self.when is None or bool(self.when(values))

    def default_for(self, values: Mapping[str, Any]) -> Any:
        return self.default(values) if callable(self.default) else self.default

    def parse(self, raw: str, values: Mapping[str, Any], warnings: list[str]) -> Any:
        raise NotImplementedError

    def text(self, value: Any) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class Number(Field):
    """One number in [lo, hi] (clamped, with a warning; ``hi`` may be a callable of the values
    parsed so far); ``integer``: a whole number; ``choices``: only these values (anything
    else: the default); ``step``: rounded to multiples of it from ``lo`` (a slider's grid)."""

    lo: float = -math.inf
    hi: Default = math.inf
    integer: bool = False
    choices: tuple[float, ...] | None = None
    step: float | None = None

    def parse(self, raw, values, warnings):
        default = self.default_for(values)
        v = _number(raw, self.key, warnings, f"using {fmt(default)}")
        if v is None:
            return default
        if self.choices is not None:
            match = [c for c in self.choices if _same(v, c)]
            if not match:
                warnings.append(f"`{self.key}={literal(raw)}` is not one of "
                                f"{', '.join(fmt(c) for c in self.choices)}; using {fmt(default)}.")
                return default
            return match[0]
        hi = self.hi(values) if callable(self.hi) else self.hi
        if not self.lo <= v <= hi:
            v = min(max(v, self.lo), hi)
            warnings.append(f"`{self.key}={literal(raw)}` is outside {fmt(self.lo)} to "
                            f"{fmt(hi)}; using {fmt(v)}.")
        if self.step:
            snapped = round(self.lo + round((v - self.lo) / self.step) * self.step, 10)
            if not _same(snapped, v):
                warnings.append(f"`{self.key}={literal(raw)}` is not a multiple of "
                                f"{fmt(self.step)}; using {fmt(snapped)}.")
            v = snapped
        if self.integer:
            if v != int(v):
                warnings.append(f"`{self.key}={literal(raw)}` is not a whole number; "
                                f"using {int(round(v))}.")
            return int(round(v))
        return float(v)

    def text(self, value):
        return str(int(value)) if self.integer else fmt(float(value))


@dataclass(frozen=True)
class Numbers(Field):
    """A comma-separated list of numbers in [lo, hi] (``integer``: whole numbers), at most
    ``max_items`` and distinct; bad items are dropped with a warning, and an empty result
    (or fewer than ``min_items``) gives the default."""

    lo: float = -math.inf
    hi: float = math.inf
    integer: bool = False
    max_items: int = 100
    min_items: int = 1
    unique: bool = True

    def parse(self, raw, values, warnings):
        default = tuple(self.default_for(values))
        parts = [p.strip() for p in str(raw).split(",") if p.strip()]
        good: list[float] = []
        for part in parts:
            v = _number(part, self.key, warnings, "dropping it")
            if v is None:
                continue
            if not self.lo <= v <= self.hi:
                warnings.append(f"`{self.key}={literal(part)}` is outside {fmt(self.lo)} to "
                                f"{fmt(self.hi)}; dropping it.")
                continue
            if self.integer and v != int(v):
                warnings.append(f"`{self.key}={literal(part)}` is not a whole number; dropping it.")
                continue
            v = int(v) if self.integer else float(v)
            if self.unique and v in good:
                continue
            good.append(v)
        if len(good) > self.max_items:
            warnings.append(f"`{self.key}` takes at most {self.max_items}; keeping the first "
                            f"{self.max_items}.")
            good = good[: self.max_items]
        if len(good) < self.min_items:
            shown = ",".join(self.text_item(v) for v in default)
            need = "no usable value" if not good else f"fewer than {self.min_items} values"
            warnings.append(f"`{self.key}={literal(raw)}` has {need}; using {shown}.")
            return default
        return tuple(good)

    def text_item(self, v) -> str:
        return str(int(v)) if self.integer else fmt(float(v))

    def text(self, value):
        return ",".join(self.text_item(v) for v in value)


@dataclass(frozen=True)
class Choice(Field):
    """One of ``options`` (strings, matched exactly)."""

    options: tuple[str, ...] = ()

    def parse(self, raw, values, warnings):
        default = self.default_for(values)
        if str(raw) in self.options:
            return str(raw)
        warnings.append(f"`{self.key}={literal(raw)}` is not one of {', '.join(self.options)}; "
                        f"using {default}.")
        return default

    def text(self, value):
        return str(value)


@dataclass(frozen=True)
class Flag(Field):
    """On or off: '1'/'true'/'yes'/'on' or '0'/'false'/'no'/'off'."""

    def parse(self, raw, values, warnings):
        text = str(raw).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        default = bool(self.default_for(values))
        warnings.append(f"`{self.key}={literal(raw)}` is not 1 or 0; using {int(default)}.")
        return default

    def text(self, value):
        return "1" if value else "0"


def _raw(value: Any) -> str:
    """A query value as one string (a list, as some servers give repeated keys: the last)."""
    if isinstance(value, list | tuple):
        return str(value[-1]) if value else ""
    return str(value)


def parse(query: Mapping[str, Any], fields: Sequence[Field]) -> tuple[dict[str, Any], list[str]]:
    """Every field's value from ``query`` (its default when absent or junk), and a warning
    sentence per problem, in the fields' order. Keys that no field knows are ignored, and so
    are those of a field that does not apply (its ``when``): it gets no value."""
    values: dict[str, Any] = {}
    warnings: list[str] = []
    for f in fields:
        if not f.applies(values):
            continue
        if f.key in query and query[f.key] is not None:
            values[f.key] = f.parse(_raw(query[f.key]), values, warnings)
        else:
            values[f.key] = f.default_for(values)
    return values, warnings


def to_query(values: Mapping[str, Any], fields: Sequence[Field], sparse: bool = False
             ) -> dict[str, str]:
    """The query parameters that restore ``values``: every field that applies, in order
    (``sparse``: only those whose value differs from its default)."""
    query: dict[str, str] = {}
    for f in fields:
        if not f.applies(values):
            continue
        text = f.text(values[f.key])
        if sparse and text == f.text(f.default_for(values)):
            continue
        query[f.key] = text
    return query
