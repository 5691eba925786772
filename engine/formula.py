"""A loss surface typed by a user: f(x, y) as text, parsed safely into a jittable function.

The text is never passed to ``eval``, ``exec`` or ``compile``. It goes through
four checks, each bounded by the text's length, and only then through
:func:`ast.parse`, whose tree is checked against a whitelist:

1. at most ``MAX_LENGTH`` (200) characters;
2. printable ASCII only: a look-alike such as the fullwidth ``ｘ`` or the
   Cyrillic ``х`` is refused by name (the parser would otherwise fold some of
   them into ``x``), as are ``^`` (use ``**``), ``#``, backslashes and control
   characters;
3. brackets balanced and nested at most ``MAX_DEPTH`` (30) deep, counted on the
   raw text, because deep brackets can crash the parser itself;
4. the syntax tree holds only numbers, the variables ``x`` and ``y``,
   ``+ - * / **``, unary ``-`` and ``+``, and calls of the functions in
   ``FUNCTIONS`` with the right number of plain arguments. Anything else
   (other names, attributes, subscripts, lambdas, strings, comprehensions,
   comparisons, keyword arguments ...) is refused with a :class:`FormulaError`
   that names the problem and its column (1-based). The expression is at most
   ``MAX_DEPTH`` levels deep (a chain of ``+``/``-`` or of ``*``/``/`` counts
   once), every constant part (no x or y in it) is evaluated in float64 with
   exponents limited to ``MAX_EXPONENT`` (100) and must stay finite and below
   ``MAX_CONSTANT`` in size, so ``9**9**9`` is refused before anything big is
   computed.

:func:`compile_formula` returns a :class:`FormulaFunction`: a
``family(xy, params)`` in ``jnp`` for :class:`engine.surfaces.Surface` (it
ignores ``params``). It is hashable and equal by its normalised text, and one
object per normalised formula comes from a bounded cache, so the engine
compiles once per formula; rates, start points and step counts stay traced.
:func:`minima_report` finds the surface's minima numerically.

>>> f = compile_formula("(1 - x)**2 + 5*(y - x**2)**2")
>>> f.text
'(1 - x) ** 2 + 5 * (y - x ** 2) ** 2'
>>> float(f(jnp.array([1.0, 1.0]), ())), float(f(jnp.array([0.0, 1.0]), ()))
(0.0, 6.0)
>>> compile_formula("(1-x)**2 + 5*(y-x**2)**2") is f
True
>>> parse("__import__('os')")
Traceback (most recent call last):
...
engine.formula.FormulaError: Unknown function '__import__' at column 1: the functions are sin, cos, tan, \
exp, log, sqrt, abs, tanh, sinh, cosh, minimum, maximum.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache, partial

import jax
import jax.numpy as jnp
import numpy as np

MAX_LENGTH = 200
MAX_DEPTH = 30
MAX_NODES = 200
MAX_EXPONENT = 100.0
MAX_CONSTANT = 1e30
VARIABLES = ("x", "y")
FUNCTIONS: dict[str, tuple[object, int]] = {
    "sin": (jnp.sin, 1), "cos": (jnp.cos, 1), "tan": (jnp.tan, 1), "exp": (jnp.exp, 1),
    "log": (jnp.log, 1), "sqrt": (jnp.sqrt, 1), "abs": (jnp.abs, 1), "tanh": (jnp.tanh, 1),
    "sinh": (jnp.sinh, 1), "cosh": (jnp.cosh, 1),
    "minimum": (jnp.minimum, 2), "maximum": (jnp.maximum, 2),
}
_MATH = {  # float64 versions for constant parts; they raise on overflow or a domain error
    "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp, "log": math.log,
    "sqrt": math.sqrt, "abs": abs, "tanh": math.tanh, "sinh": math.sinh, "cosh": math.cosh,
    "minimum": min, "maximum": max,
}
_FUNCTION_LIST = ", ".join(FUNCTIONS)
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_CHAIN = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}
_OTHER_OPERATORS = {ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.BitXor: "^",
                    ast.BitOr: "|", ast.BitAnd: "&", ast.LShift: "<<", ast.RShift: ">>",
                    ast.Invert: "~", ast.Not: "not"}
_REFUSED_NODES = {
    "Attribute": "attributes", "Subscript": "indexing with [...]", "Lambda": "lambda",
    "ListComp": "comprehensions", "SetComp": "comprehensions", "DictComp": "comprehensions",
    "GeneratorExp": "comprehensions", "List": "lists", "Tuple": "tuples (or commas)",
    "Set": "sets", "Dict": "dictionaries", "Compare": "comparisons", "BoolOp": "'and'/'or'",
    "IfExp": "'if ... else'", "NamedExpr": "':='", "JoinedStr": "f-strings",
    "Starred": "'*' unpacking", "Await": "'await'", "Yield": "'yield'", "YieldFrom": "'yield'",
    "Slice": "slices",
}

_work = {"count": 0}


def work_count() -> int:
    """Units of work done by every :func:`parse` so far: characters scanned plus tree
    nodes visited. The property test asserts one parse never exceeds ``WORK_BUDGET``."""
    return _work["count"]


WORK_BUDGET = 5 * MAX_LENGTH + 4 * MAX_NODES


class FormulaError(ValueError):
    """A formula the parser refuses; ``column`` (1-based) is where, when known."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Formula:
    """A checked formula: its normalised ``text``, tree size and depth, and its tree."""

    text: str
    nodes: int
    depth: int
    tree: tuple


# ----------------------------------------------------------------------------
# Text checks (before the parser sees anything).
# ----------------------------------------------------------------------------


def _describe(ch: str) -> str:
    code = f"U+{ord(ch):04X}"
    name = unicodedata.name(ch, "")
    shown = f"'{ch}' " if ch.isprintable() and unicodedata.category(ch) != "Cs" else ""
    return f"{shown}({code}{' ' + name if name else ''})"


def _check_characters(text: str) -> None:
    for i, ch in enumerate(text):
        _work["count"] += 1
        col = i + 1
        if ch == "^":
            raise FormulaError(f"'^' at column {col}: write powers with ** (e.g. x**2).", col)
        if ch == "#":
            raise FormulaError(f"'#' at column {col}: comments are not allowed.", col)
        if ch == "\\":
            raise FormulaError(f"A backslash at column {col} is not allowed.", col)
        if not " " <= ch <= "~":
            kind = "A control or invisible character" \
                if ord(ch) < 128 or unicodedata.category(ch)[0] == "C" else "The character"
            raise FormulaError(
                f"{kind} {_describe(ch)} at column {col} is not allowed: type plain ASCII "
                "(letters, digits, + - * / ** and parentheses).", col)


def _check_brackets(text: str) -> None:
    """Balanced (), [] and {} at most MAX_DEPTH deep, on the raw text."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        _work["count"] += 1
        if ch in "([{":
            stack.append((ch, i + 1))
            if len(stack) > MAX_DEPTH:
                raise FormulaError(f"Brackets nested more than {MAX_DEPTH} deep at column {i + 1}.",
                                   i + 1)
        elif ch in pairs:
            if not stack or stack[-1][0] != pairs[ch]:
                raise FormulaError(f"Unmatched '{ch}' at column {i + 1}.", i + 1)
            stack.pop()
    if stack:
        ch, col = stack[-1]
        raise FormulaError(f"'{ch}' at column {col} is never closed.", col)


_DIGITS = r"\d(?:_?\d)*"
_NUMBER = re.compile(  # Python's number literals, at a place where no name or number continues
    r"(?<![A-Za-z0-9_.])(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|"
    rf"(?:{_DIGITS}(?:\.(?:{_DIGITS})?)?|\.{_DIGITS})(?:[eE][+-]?{_DIGITS})?[jJ]?)")


def _check_numbers(text: str) -> None:
    """A number run into a name (2x, 1if): refused here, before the parser warns about it."""
    _work["count"] += len(text)
    for m in _NUMBER.finditer(text):
        nxt = text[m.end(): m.end() + 1]
        if nxt and (nxt.isalnum() or nxt == "_"):
            raise FormulaError(f"A number runs into a name at column {m.end() + 1}: write 2*x, "
                               "not 2x.", m.end() + 1)


def _syntax_message(err: SyntaxError, text: str) -> FormulaError:
    col = err.offset if isinstance(err.offset, int) and 0 < err.offset <= len(text) + 1 else None
    where = f" at column {col}" if col else ""
    msg = (err.msg or "invalid syntax").split(". ")[0].rstrip(".")
    if "decimal literal" in msg or "imaginary literal" in msg:
        return FormulaError(f"A number runs into a name{where}: write 2*x, not 2x.", col)
    if "unexpected EOF" in msg or "was never closed" in msg or col == len(text) + 1:
        return FormulaError(f"The formula ends too early{where}.", col)
    return FormulaError(f"Not a formula{where}: {msg}.", col)


# ----------------------------------------------------------------------------
# The tree check. The checked tree is nested tuples:
#   ("num", value) ("var", "x"|"y") ("neg", a) ("bin", op, a, b) ("pow", a, b, int|None)
#   ("call", name, (args...))
# ----------------------------------------------------------------------------


def _col(node: ast.AST) -> int:
    return getattr(node, "col_offset", 0) + 1


def _segment(text: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(text, node) or ""
    return seg if len(seg) <= 40 else seg[:37] + "..."


def _safe(fn, *args) -> float:
    """A float64 result, or nan on overflow, a domain error or division by zero."""
    try:
        v = float(fn(*args))
    except (OverflowError, ValueError, ZeroDivisionError):
        return math.nan
    return v


def _const_pow(a: float, b: float) -> float:
    if a == 0.0 and b < 0:
        return math.nan
    return math.pow(a, b)


_FOLD = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
         "/": lambda a, b: a / b, "**": _const_pow}


class _Checker:
    def __init__(self, text: str):
        self.text = text
        self.nodes = 0
        self.depth = 0

    def refuse(self, message: str, node: ast.AST, col: int | None = None):
        col = col or _col(node)
        raise FormulaError(message.replace("{col}", str(col)), col)

    def check(self, node: ast.AST, depth: int) -> tuple[tuple, float | None]:
        """(tree, its float64 value if it has no variable, else None)."""
        _work["count"] += 1
        self.nodes += 1
        self.depth = max(self.depth, depth)
        if self.nodes > MAX_NODES:
            self.refuse(f"The formula is too long (more than {MAX_NODES} parts).", node)
        if depth > MAX_DEPTH:
            self.refuse(f"The formula is nested more than {MAX_DEPTH} deep at column {{col}}.", node)
        kind = type(node).__name__
        method = getattr(self, "_" + kind, None)
        if method is None:
            what = _REFUSED_NODES.get(kind, f"'{kind}'")
            if kind == "Attribute":
                col = max(1, node.end_col_offset - len(node.attr))
                self.refuse(f"Attributes such as '.{node.attr}' at column {col} are not allowed.",
                            node, col)
            self.refuse(f"Not allowed: {what} at column {{col}} ('{_segment(self.text, node)}').",
                        node)
        return method(node, depth)

    def _Constant(self, node: ast.Constant, depth):
        v = node.value
        if isinstance(v, bool) or v is None or v is Ellipsis:
            self.refuse(f"'{v}' at column {{col}} is not a number.", node)
        if isinstance(v, str | bytes):
            self.refuse("Text in quotes at column {col} is not allowed.", node)
        if isinstance(v, complex):
            self.refuse("Complex numbers (like 1j) at column {col} are not allowed.", node)
        if not isinstance(v, int | float):
            self.refuse("Only numbers are allowed at column {col}.", node)
        if not (abs(v) <= MAX_CONSTANT):  # big ints compare exactly; inf and nan fail
            self.refuse(f"The number at column {{col}} is too large (at most {MAX_CONSTANT:g}).", node)
        value = float(v)
        return ("num", value), value

    def _Name(self, node: ast.Name, depth):
        if node.id in VARIABLES:
            return ("var", node.id), None
        if node.id in FUNCTIONS:
            self.refuse(f"'{node.id}' at column {{col}} is a function: write {node.id}(...).", node)
        self.refuse(f"Unknown name '{node.id[:30]}' at column {{col}}: the variables are x and y.",
                    node)

    def _UnaryOp(self, node: ast.UnaryOp, depth):
        if isinstance(node.op, ast.UAdd | ast.USub):
            tree, value = self.check(node.operand, depth + 1)
            if isinstance(node.op, ast.UAdd):
                return tree, value
            return ("neg", tree), None if value is None else -value
        sym = _OTHER_OPERATORS.get(type(node.op), type(node.op).__name__)
        self.refuse(f"The operator '{sym}' at column {{col}} is not allowed: use + - * / **.", node)

    def _BinOp(self, node: ast.BinOp, depth):
        op = _BINARY.get(type(node.op))
        if op is None:
            sym = _OTHER_OPERATORS.get(type(node.op), type(node.op).__name__)
            hint = " (write powers with **)" if sym == "^" else ""
            self.refuse(f"The operator '{sym}' at column {{col}} is not allowed: use + - * / **{hint}.",
                        node)
        chain = _CHAIN.get(type(node.op))
        left_same = isinstance(node.left, ast.BinOp) and chain is not None \
            and _CHAIN.get(type(node.left.op)) == chain
        left, lv = self.check(node.left, depth if left_same else depth + 1)
        right, rv = self.check(node.right, depth + 1)
        int_exp = None
        if op == "**" and rv is not None:
            if not (math.isfinite(rv) and abs(rv) <= MAX_EXPONENT):
                self.refuse(f"The exponent '{_segment(self.text, node.right)}' at column {{col}} is "
                            f"too large (at most {MAX_EXPONENT:g} in size).", node.right)
            if rv == int(rv):
                int_exp = int(rv)
        value = None
        if lv is not None and rv is not None:
            value = self.fold(node, _safe(_FOLD[op], lv, rv))
        if op == "**":
            return ("pow", left, right, int_exp), value
        return ("bin", op, left, right), value

    def _Call(self, node: ast.Call, depth):
        func = node.func
        if isinstance(func, ast.Attribute):
            self.check(func, depth + 1)  # refused there, naming the attribute
        if not isinstance(func, ast.Name):
            self.refuse(f"'{_segment(self.text, func)}' at column {{col}} cannot be called: only "
                        f"the functions {_FUNCTION_LIST} can.", func)
        name = func.id
        if name in VARIABLES:
            self.refuse(f"'{name}' at column {{col}} is a variable, not a function: "
                        f"write {name}*(...).", node)
        if name not in FUNCTIONS:
            self.refuse(f"Unknown function '{name[:30]}' at column {{col}}: the functions are "
                        f"{_FUNCTION_LIST}.", node)
        if node.keywords:
            self.refuse(f"Keyword arguments in {name}(...) at column {{col}} are not allowed.",
                        node)
        arity = FUNCTIONS[name][1]
        if len(node.args) != arity:
            self.refuse(f"{name} takes {arity} argument{'s' if arity > 1 else ''}, got "
                        f"{len(node.args)} at column {{col}}.", node)
        checked = [self.check(a, depth + 1) for a in node.args]
        args = tuple(t for t, _ in checked)
        values = [v for _, v in checked]
        value = None
        if all(v is not None for v in values):
            value = self.fold(node, _safe(_MATH[name], *values))
        return ("call", name, args), value

    def fold(self, node: ast.AST, value: float) -> float:
        """A constant part's float64 value, refused if it is not a finite, moderate number."""
        seg = _segment(self.text, node)
        if math.isnan(value) or math.isinf(value):
            self.refuse(f"The constant part '{seg}' at column {{col}} is not a finite number "
                        "(division by zero, overflow or outside the function's domain).", node)
        if abs(value) > MAX_CONSTANT:
            self.refuse(f"The constant part '{seg}' at column {{col}} is too large "
                        f"(at most {MAX_CONSTANT:g}).", node)
        return value


def parse(text) -> Formula:
    """Check a formula in x and y and return it normalised, or raise :class:`FormulaError`.

    >>> parse("x**2+10*sin(y)**2").text
    'x ** 2 + 10 * sin(y) ** 2'
    >>> parse("x^2")
    Traceback (most recent call last):
    ...
    engine.formula.FormulaError: '^' at column 2: write powers with ** (e.g. x**2).
    """
    if not isinstance(text, str):
        raise FormulaError(f"A formula must be text, got {type(text).__name__}.")
    if len(text) > MAX_LENGTH:
        raise FormulaError(f"The formula is {len(text)} characters long; at most {MAX_LENGTH}.",
                           MAX_LENGTH + 1)
    _check_characters(text)
    _check_brackets(text)
    if not text.strip():
        raise FormulaError("Type a formula in x and y, e.g. x**2 + 10*y**2.")
    # strip() would shift the columns the parser reports; a leading space is an
    # indentation error in Python, so wrap in parentheses instead (balanced above).
    source = "(" + text + ")"
    _check_numbers(text)
    try:
        # only a tree is built (no compile step); the checks above leave the parser nothing to
        # warn about (escapes need a backslash, "invalid decimal literal" a number run into a
        # name), and warnings.catch_warnings is not thread-safe, so none is used
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        if isinstance(err.offset, int):
            err.offset -= 1
        raise _syntax_message(err, text) from None
    except (ValueError, RecursionError, MemoryError, OverflowError) as err:
        raise FormulaError(f"Not a formula: {type(err).__name__}.") from None
    _shift_columns(tree)
    checker = _Checker(text)
    body, value = checker.check(tree.body, 0)
    normalised = ast.unparse(tree.body)
    return Formula(text=normalised, nodes=checker.nodes, depth=checker.depth, tree=body)


def _shift_columns(tree: ast.AST) -> None:
    """Columns of the wrapped source ``(text`` minus the added parenthesis."""
    for node in ast.walk(tree):
        _work["count"] += 1
        for attr in ("col_offset", "end_col_offset"):
            v = getattr(node, attr, None)
            if isinstance(v, int):
                setattr(node, attr, max(0, v - 1))


# ----------------------------------------------------------------------------
# The jnp function.
# ----------------------------------------------------------------------------


def _emit(tree: tuple, x, y):
    kind = tree[0]
    if kind == "num":
        return tree[1]
    if kind == "var":
        return x if tree[1] == "x" else y
    if kind == "neg":
        return -_emit(tree[1], x, y)
    if kind == "bin":
        a, b = _emit(tree[2], x, y), _emit(tree[3], x, y)
        op = tree[1]
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        return jnp.true_divide(a, b)  # 1/0 is inf, never a Python ZeroDivisionError
    if kind == "pow":
        a = _emit(tree[1], x, y)
        if tree[3] is not None:  # a constant integer exponent: exact repeated products
            return jnp.asarray(a) ** tree[3]
        return jnp.power(a, _emit(tree[2], x, y))
    fn = FUNCTIONS[tree[1]][0]
    return fn(*(_emit(arg, x, y) for arg in tree[2]))


class FormulaFunction:
    """``family(xy, params)`` for a checked formula: f(xy[0], xy[1]) in ``jnp``.

    ``xy[0]`` and ``xy[1]`` may be scalars or equal-shape arrays (the engine
    passes (n,) batches); the result has their shape, in floating point.
    ``params`` is ignored. Equal and hashable by the normalised text, so a
    repeated formula hits ``jax.jit``'s cache; it pickles by its text and tree.
    """

    __slots__ = ("text", "tree")

    def __init__(self, text: str, tree: tuple):
        self.text = text
        self.tree = tree

    def __call__(self, xy, params=()):
        x, y = xy[0], xy[1]
        shape = jnp.broadcast_shapes(jnp.shape(x), jnp.shape(y))
        dtype = jnp.result_type(x, y, jnp.float32)
        value = jnp.asarray(_emit(self.tree, x, y), dtype=dtype)
        return value if value.shape == shape else jnp.broadcast_to(value, shape)

    def __eq__(self, other):
        return isinstance(other, FormulaFunction) and other.text == self.text

    def __hash__(self):
        return hash(("FormulaFunction", self.text))

    def __repr__(self):
        return f"FormulaFunction({self.text!r})"

    def __reduce__(self):
        return (_function, (self.text, self.tree))


@lru_cache(maxsize=64)
def _function(normalised: str, tree: tuple) -> FormulaFunction:
    """One object per normalised formula (its tree follows from the text)."""
    return FormulaFunction(normalised, tree)


def compile_formula(text: str) -> FormulaFunction:
    """Parse ``text`` (see :func:`parse`) and return its function, one object per
    normalised formula (a bounded cache of 64).

    >>> f = compile_formula("x**2 + 10*y**2")
    >>> float(f(jnp.array([1.0, 2.0]), ()))
    41.0
    """
    formula = parse(text)
    return _function(formula.text, formula.tree)


# ----------------------------------------------------------------------------
# The view box and the start point.
# ----------------------------------------------------------------------------

MAX_COORDINATE = 1e4
MIN_SIDE = 1e-3


def check_bounds(bounds) -> tuple[tuple[float, float], tuple[float, float]]:
    """((xmin, xmax), (ymin, ymax)) as floats: finite, |v| <= 1e4, each side at least 1e-3.

    >>> check_bounds([[-1, 2], [0, 1]])
    ((-1.0, 2.0), (0.0, 1.0))
    """
    try:
        (x0, x1), (y0, y1) = bounds
        box = ((float(x0), float(x1)), (float(y0), float(y1)))
    except (TypeError, ValueError):
        raise FormulaError(f"The box must be ((xmin, xmax), (ymin, ymax)), got {bounds!r}.") from None
    for lo, hi in box:
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise FormulaError("The box's limits must be finite numbers.")
        if max(abs(lo), abs(hi)) > MAX_COORDINATE:
            raise FormulaError(f"The box's limits must be at most {MAX_COORDINATE:g} in size.")
        if not hi - lo >= MIN_SIDE:
            raise FormulaError(f"Each side of the box needs min < max (by at least {MIN_SIDE:g}); "
                               f"got {lo:g} to {hi:g}.")
    return box


def check_start(start, bounds) -> tuple[float, float]:
    """A start point as two finite floats inside the box."""
    try:
        sx, sy = (float(v) for v in start)
    except (TypeError, ValueError):
        raise FormulaError(f"The start must be two numbers, got {start!r}.") from None
    (x0, x1), (y0, y1) = bounds
    if not (math.isfinite(sx) and math.isfinite(sy) and x0 <= sx <= x1 and y0 <= sy <= y1):
        raise FormulaError(f"The start ({sx:g}, {sy:g}) must lie inside the box "
                           f"x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}].")
    return (sx, sy)


# ----------------------------------------------------------------------------
# Minima, found numerically.
# ----------------------------------------------------------------------------

GRID_STARTS = 12  # a GRID_STARTS x GRID_STARTS grid of starts inside the box
NEWTON_STEPS = 150
MAX_MINIMA = 12
DEFAULT_START = (0.1, 0.8)  # where in the box (as fractions) a custom surface starts


@partial(jax.jit, static_argnames=("family", "iters"))
def _minimise(family, params, starts, lo, hi, iters):
    """A safeguarded Newton method from every start at once, kept inside [lo, hi].

    Each step is -V diag(1 / max(|e|, delta)) V^T g for the Hessian's eigenpairs
    (e, V) (so it goes downhill at saddles too), cut to a trust radius that
    doubles on a step that lowers f and shrinks 4x on one that does not.
    Returns the end points, f, gradients and Hessian eigenvalues there.
    """
    extent = jnp.max(hi - lo)

    def f(p):
        return family(p, params)

    grad = jax.grad(f)
    hess = jax.hessian(f)

    def one(p0):
        def body(_, carry):
            p, fp, r = carry
            g, h = grad(p), hess(p)
            e, v = jnp.linalg.eigh(h)
            delta = 1e-6 * (1.0 + jnp.max(jnp.abs(e)))
            d = -v @ ((v.T @ g) / jnp.maximum(jnp.abs(e), delta))
            norm = jnp.linalg.norm(d)
            d = jnp.where(norm > r, d * (r / jnp.maximum(norm, 1e-30)), d)
            p_new = jnp.clip(p + d, lo, hi)
            f_new = f(p_new)
            ok = jnp.isfinite(f_new) & (f_new < fp) & jnp.all(jnp.isfinite(p_new))
            p = jnp.where(ok, p_new, p)
            fp = jnp.where(ok, f_new, fp)
            r = jnp.where(ok, jnp.minimum(2.0 * r, 0.5 * extent), r / 4.0)
            return p, fp, r

        f0 = f(p0)
        p, fp, _ = jax.lax.fori_loop(0, iters, body, (p0, f0, 0.1 * extent))
        return p, fp, grad(p), jnp.linalg.eigvalsh(hess(p))

    return jax.vmap(one)(starts)


@partial(jax.jit, static_argnames=("family",))
def _values_and_grads(family, params, pts):
    def one(p):
        return jax.value_and_grad(lambda q: family(q, params))(p)

    return jax.vmap(one)(pts)


def _grid(bounds, n: int) -> np.ndarray:
    (x0, x1), (y0, y1) = bounds
    fx = (np.arange(n) + 0.5) / n
    gx, gy = np.meshgrid(x0 + fx * (x1 - x0), y0 + fx * (y1 - y0))
    return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


EVAL_BLOCK = 1664  # one shape for the 40 x 40 grid (+ the wanted start) and the rings: one compile


def _evaluate(family, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and its gradient at ``pts`` (n, 2), padded to a multiple of EVAL_BLOCK so shapes repeat."""
    n = len(pts)
    padded = np.zeros((-(-n // EVAL_BLOCK) * EVAL_BLOCK, 2), np.float32)
    padded[:n] = pts
    f, g = _values_and_grads(family, jnp.zeros((0,), jnp.float32), jnp.asarray(padded))
    return np.asarray(f, np.float64)[:n], np.asarray(g, np.float64)[:n]


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) >= 1e-3 else "0"


def _sentence(point, curvature: float, limit: float | None) -> str:
    where = f"at ({_fmt(point[0])}, {_fmt(point[1])})"
    if limit is None:
        return (f"{where} the surface is flat to second order (largest curvature "
                f"{curvature:.3g}), so the 2/L rule sets no limit there")
    return (f"{where} the largest curvature is {curvature:.3g}, so rates above {limit:.3g} "
            "cannot stay")


@lru_cache(maxsize=32)
def _minima(family: FormulaFunction, bounds) -> tuple:
    lo = np.array([bounds[0][0], bounds[1][0]], np.float32)
    hi = np.array([bounds[0][1], bounds[1][1]], np.float32)
    extent = float(np.max(hi - lo))
    starts = _grid(bounds, GRID_STARTS)
    fs, _ = _evaluate(family, _grid(bounds, 40))
    finite = fs[np.isfinite(fs)]
    if finite.size == 0:
        raise FormulaError("f(x, y) is not a finite number anywhere in the box: change f or the box.")
    scale = max(float(np.percentile(finite, 90) - finite.min()), 1e-12)
    p, f, g, e = (np.asarray(a, np.float64) for a in _minimise(
        family, jnp.zeros((0,), jnp.float32), jnp.asarray(starts), jnp.asarray(lo), jnp.asarray(hi),
        iters=NEWTON_STEPS))
    margin = 1e-3 * (hi - lo)
    eig_tol = 1e-4 * scale / extent**2
    candidates = []
    for i in range(len(p)):
        if not (np.all(np.isfinite(p[i])) and np.isfinite(f[i]) and np.all(np.isfinite(g[i]))
                and np.all(np.isfinite(e[i]))):
            continue
        if np.any(p[i] < lo + margin) or np.any(p[i] > hi - margin):
            continue  # on the box's edge: not a critical point of f
        lmin, lmax = float(e[i].min()), float(e[i].max())
        gnorm = float(np.linalg.norm(g[i]))
        if lmin > eig_tol:  # positive definite: the Newton step must be tiny
            if gnorm / lmin > 1e-4 * extent:
                continue
            definite = True
        elif lmin > -eig_tol and gnorm <= 1e-4 * scale / extent:
            definite = False  # flat to second order: checked on a ring below
        else:
            continue
        candidates.append((float(f[i]), p[i], lmin, lmax, definite))
    candidates.sort(key=lambda c: c[0])
    kept: list = []
    for c in candidates:
        if all(np.linalg.norm(c[1] - k[1]) > 1e-2 * extent for k in kept):
            if not c[4] and not _ring_is_higher(family, c[1], c[0], extent):
                continue
            kept.append(c)
        if len(kept) == MAX_MINIMA:
            break
    if not kept:
        return ()
    lowest = kept[0][0]
    report = []
    for value, point, lmin, lmax, definite in kept:
        limit = 2.0 / lmax if definite else None
        pt = (float(point[0]), float(point[1]))
        report.append(dict(
            point=pt, value=value,
            is_global=bool(value <= lowest + 1e-5 * scale + 1e-6 * abs(lowest)),
            curvature=lmax, min_curvature=lmin, stable_below=limit, positive_definite=definite,
            text=_sentence(pt, lmax, limit)))
    return tuple(report)


def _ring_is_higher(family, point: np.ndarray, value: float, extent: float) -> bool:
    """f is strictly higher than ``value`` on two small rings of 16 points around ``point``."""
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    pts = np.concatenate([point + r * extent * ring for r in (1e-3, 1e-2)])
    f, _ = _evaluate(family, pts)
    return bool(np.all(np.isfinite(f)) and np.all(f > value))


def minima_report(family: FormulaFunction, bounds) -> list[dict]:
    """The minima of f inside the box, found numerically, lowest first.

    A safeguarded Newton method runs from a 12 x 12 grid of starts; an end point
    counts if it lies inside the box, its gradient is tiny and its Hessian is
    positive definite (or, flat to second order, f is strictly higher on small
    rings around it); points closer than 1% of the box are merged, at most 12
    are kept. It may miss minima (a narrow basin between the starts). Each entry:
    ``point``, ``value``, ``is_global`` (lowest found), ``curvature`` (largest
    Hessian eigenvalue L), ``min_curvature``, ``stable_below`` (2/L, None where
    flat), ``positive_definite`` and a sentence ``text``. Empty if none is found.

    >>> r = minima_report(compile_formula("(1-x)**2 + 5*(y-x**2)**2"), ((-3, 3), (-3, 3)))
    >>> [round(v, 3) for v in r[0]["point"]], round(r[0]["stable_below"], 4)
    ([1.0, 1.0], 0.0388)
    """
    box = check_bounds(bounds)
    return [dict(m) for m in _minima(family, box)]


def default_start(family: FormulaFunction, bounds) -> tuple[float, float]:
    """The point at ``DEFAULT_START`` (fractions of the box, upper left), or the nearest point
    of a 40 x 40 grid where f and its gradient are finite."""
    box = check_bounds(bounds)
    (x0, x1), (y0, y1) = box
    want = np.array([x0 + DEFAULT_START[0] * (x1 - x0), y0 + DEFAULT_START[1] * (y1 - y0)],
                    np.float32)
    pts = np.concatenate([want[None], _grid(box, 40)])
    f, g = _evaluate(family, pts)
    ok = np.isfinite(f) & np.all(np.isfinite(g), axis=1)
    if not ok.any():
        raise FormulaError("f(x, y) is not a finite number anywhere in the box: change f or the box.")
    d = np.where(ok, np.linalg.norm(pts - want, axis=1), np.inf)
    best = pts[int(np.argmin(d))]
    return (round(float(best[0]), 6), round(float(best[1]), 6))
