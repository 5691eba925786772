"""A surface typed by the user: the safe parser (attacks, fuzzing), its values against NumPy,
the minima found numerically, one compile per formula, non-finite values as divergence."""

from __future__ import annotations

import pickle
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import descent, formula, surfaces
from engine.formula import FormulaError, compile_formula, parse


def fuzz(n: int) -> settings:
    """n examples, reproducible (derandomized), no example database, no deadline."""
    return settings(max_examples=n, database=None, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


N_GRAMMAR, N_TEXT, N_TOKENS, N_BYTES = 600, 2000, 3000, 1000

# ----------------------------------------------------------------------------
# Known attacks and junk: refused with FormulaError, naming the problem and the column.
# ----------------------------------------------------------------------------

ATTACKS = {
    "__import__('os')": "Unknown function '__import__' at column 1",
    "__import__('os').system('id')": "'.system' at column 17",
    "().__class__": "'.__class__' at column 3",
    "x.__class__": "'.__class__' at column 2",
    "sin.__globals__": "'.__globals__' at column 4",
    "sin.__globals__['os']": "indexing",
    "(lambda: 0).__code__": "'.__code__'",
    "lambda x: x": "lambda at column 1",
    "9**9**9": "exponent '9**9' at column 4 is too large",
    "2**10**10": "exponent",
    "x**1000": "exponent '1000' at column 4",
    "10**30*10**30": "too large",
    "1e400": "too large",
    "9" * 60: "too large",
    "(" * 10_000 + "x" + ")" * 10_000: "at most 200",
    "(" * 31 + "x" + ")" * 31: "nested more than 30 deep at column 31",
    "-" * 31 + "x": "nested more than 30 deep",
    "sin(" * 31 + "x" + ")" * 31: "nested more than 30 deep",
    "x**" * 31 + "x": "nested more than 30 deep",
    "x" * 201: "at most 200",
    "ｘ**2": "FULLWIDTH LATIN SMALL LETTER X) at column 1",
    "х**2": "CYRILLIC SMALL LETTER HA) at column 1",
    "x + ｙ": "FULLWIDTH LATIN SMALL LETTER Y) at column 5",
    "x\u200b+y": "ZERO WIDTH SPACE) at column 2",
    "x\x00": "U+0000",
    "x\n+y": "U+000A",
    "[x for x in ()]": "comprehensions at column 1",
    "(x for x in ())": "comprehensions",
    "'a'": "Text in quotes at column 1",
    "x + b'a'": "Text in quotes at column 5",
    "f'{x}'": "f-strings",
    "x[0]": "indexing with [...] at column 1",
    "{}": "dictionaries",
    "x, y": "tuples",
    "x if y else 1": "'if ... else'",
    "x < y": "comparisons",
    "x and y": "'and'/'or'",
    "(x := 1)": "':='",
    "not x": "'not'",
    "~x": "'~'",
    "x % 2": "'%'",
    "x // 2": "'//'",
    "x @ y": "'@'",
    "x^2": "'^' at column 2: write powers with **",
    "x # y": "comments",
    "x \\": "backslash",
    "z + 1": "Unknown name 'z' at column 1",
    "pi * x": "Unknown name 'pi'",
    "eval('1')": "Unknown function 'eval'",
    "open('/etc/passwd')": "Unknown function 'open'",
    "sin": "'sin' at column 1 is a function",
    "x(2)": "'x' at column 1 is a variable",
    "2(3)": "cannot be called",
    "sin(x)(y)": "cannot be called",
    "sin(x, y)": "sin takes 1 argument, got 2",
    "minimum(x)": "minimum takes 2 arguments, got 1",
    "sin(x=1)": "Keyword arguments",
    "sin(*x)": "'*' unpacking",
    "True + x": "'True' at column 1 is not a number",
    "1j * x": "Complex numbers",
    "...": "not a number",
    "1/0 + x": "'1/0' at column 1 is not a finite number",
    "log(-1) + x": "'log(-1)' at column 1 is not a finite number",
    "exp(1000)": "not a finite number",
    "2x": "runs into a name at column 2: write 2*x, not 2x",
    "1if x else 2": "runs into a name at column 2",
    "0x1for": "runs into a name",
    "x +": "ends too early",
    "(x": "'(' at column 1 is never closed",
    "x)": "Unmatched ')' at column 2",
    "x y": "Not a formula at column",
    "x = 1": "Not a formula",
    "": "Type a formula",
    "   ": "Type a formula",
}


@pytest.mark.parametrize("text", list(ATTACKS), ids=[repr(k[:30]) for k in ATTACKS])
def test_known_attacks_and_junk_are_refused_with_a_message_and_a_place(text):
    before = formula.work_count()
    with pytest.raises(FormulaError) as err:
        compile_formula(text)
    assert ATTACKS[text] in str(err.value)
    assert formula.work_count() - before <= formula.WORK_BUDGET
    if "column" in str(err.value):
        assert err.value.column is not None and f"column {err.value.column}" in str(err.value)


def test_non_text_is_refused():
    for junk in (b"x + y", None, 3, ["x"]):
        with pytest.raises(FormulaError, match="must be text"):
            parse(junk)


def test_refusal_is_a_value_error_for_callers_that_catch_those():
    assert issubclass(FormulaError, ValueError)


def test_the_worst_allowed_texts_stay_within_the_work_budget():
    for text in ["-" * 30 + "x", "x+" * 99 + "x", "(" * 30 + "x" + ")" * 30,
                 "(" * 30 + ")" * 30, "x" * 200, "sin(" * 15 + "x" + ")" * 15]:
        before = formula.work_count()
        try:
            f = parse(text)
            assert f.nodes <= formula.MAX_NODES and f.depth <= formula.MAX_DEPTH
        except FormulaError:
            pass
        assert formula.work_count() - before <= formula.WORK_BUDGET


# ----------------------------------------------------------------------------
# Fuzzing: random expressions from a grammar, random text, token soup and bytes.
# ----------------------------------------------------------------------------

EPS = 4 * 2.0**-24  # a few float32 ulps per operation (XLA's transcendental functions)
BIG = 1e30


def _leaf(kind):
    def fn(x, y):
        if kind == "x":
            return x, np.zeros_like(x), np.ones_like(x, bool)
        if kind == "y":
            return y, np.zeros_like(y), np.ones_like(y, bool)
        v = np.full_like(x, float(kind))
        return v, EPS * np.abs(v), np.ones_like(x, bool)
    return fn


def _in_range(v):
    a = np.abs(v)
    return np.isfinite(v) & (a < BIG) & ((a == 0) | (a > 1e-30))


def _binary(op, fa, fb):
    def fn(x, y):
        (a, ea, oa), (b, eb, ob) = fa(x, y), fb(x, y)
        if op == "+":
            v = a + b
            e = ea + eb
        elif op == "-":
            v = a - b
            e = ea + eb
        elif op == "*":
            v = a * b
            e = np.abs(a) * eb + np.abs(b) * ea + ea * eb
        else:
            v = a / b
            room = np.abs(b) - eb
            e = np.where(room > 0, (ea + np.abs(v) * eb) / np.where(room > 0, room, 1), np.inf)
        return v, e + EPS * np.abs(v), oa & ob & _in_range(v)
    return fn


def _power(fa, n):
    def fn(x, y):
        a, ea, oa = fa(x, y)
        v = a**n
        e = n * (np.abs(a) + ea) ** (n - 1) * ea
        return v, e + n * EPS * np.abs(v), oa & _in_range(v)
    return fn


def _negate(fa):
    def fn(x, y):
        a, ea, oa = fa(x, y)
        return -a, ea, oa
    return fn


def _slope(name, a, ea):
    """An upper bound of |f'| on [a - ea, a + ea] (inf where f is not smooth there)."""
    lo, hi = a - ea, a + ea
    if name in ("sin", "cos", "tanh", "abs"):
        return np.ones_like(a)
    if name == "exp":
        return np.exp(hi)
    if name == "log":
        return np.where(lo > 0, 1 / np.where(lo > 0, lo, 1), np.inf)
    if name == "sqrt":
        return np.where(lo > 0, 0.5 / np.sqrt(np.where(lo > 0, lo, 1)), np.inf)
    if name == "tan":
        same_branch = np.floor(lo / np.pi + 0.5) == np.floor(hi / np.pi + 0.5)
        return np.where(same_branch, 1 + np.maximum(np.tan(lo) ** 2, np.tan(hi) ** 2), np.inf)
    if name == "sinh":
        return np.cosh(np.abs(a) + ea)
    return np.abs(np.sinh(np.abs(a) + ea))  # cosh


def _call(name, fa, fb=None):
    def fn(x, y):
        a, ea, oa = fa(x, y)
        if fb is not None:
            b, eb, ob = fb(x, y)
            v = (np.minimum if name == "minimum" else np.maximum)(a, b)
            return v, np.maximum(ea, eb), oa & ob
        v = getattr(np, {"abs": "abs"}.get(name, name))(a)
        e = _slope(name, a, ea) * ea + EPS * (np.abs(v) + (np.abs(a) if name in ("sin", "cos", "tan") else 0))
        return v, e, oa & _in_range(v) & _in_range(a)
    return fn


UNARY = ["sin", "cos", "tan", "exp", "log", "sqrt", "abs", "tanh", "sinh", "cosh"]
SPACE = st.sampled_from(["", " "])


def _extend(children):
    pair = st.tuples(children, children)
    return st.one_of(
        st.builds(lambda ab, op, s: (f"({ab[0][0]}{s}{op}{s}{ab[1][0]})", _binary(op, ab[0][1], ab[1][1])),
                  pair, st.sampled_from(["+", "-", "*", "/"]), SPACE),
        st.builds(lambda a, n: (f"({a[0]})**{n}", _power(a[1], n)), children, st.sampled_from([2, 3])),
        st.builds(lambda a: (f"-({a[0]})", _negate(a[1])), children),
        st.builds(lambda a, name: (f"{name}({a[0]})", _call(name, a[1])), children,
                  st.sampled_from(UNARY)),
        st.builds(lambda ab, name: (f"{name}({ab[0][0]},{ab[1][0]})", _call(name, ab[0][1], ab[1][1])),
                  pair, st.sampled_from(["minimum", "maximum"])),
    )


LEAVES = st.sampled_from(["x", "y", "x", "y", "0.5", "1", "2", "3", "1.5", "0.1", "10"]).map(
    lambda k: (k, _leaf(k)))
EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=10)
POINTS = np.random.default_rng(0).uniform(-2, 2, size=(2, 64)).astype(np.float32)


@fuzz(N_GRAMMAR)
@given(EXPRESSIONS)
def test_random_formulas_from_a_grammar_parse_and_equal_numpy(expr):
    text, reference = expr
    before = formula.work_count()
    try:
        f = compile_formula(text)
    except FormulaError as err:  # only a constant part (e.g. log(0.1 - 1)) or the length
        assert "constant part" in str(err) or len(text) > formula.MAX_LENGTH or "deep" in str(err)
        return
    finally:
        assert formula.work_count() - before <= formula.WORK_BUDGET
    assert parse(f.text).text == f.text  # the normalised form is a fixed point
    got = np.asarray(f((jnp.asarray(POINTS[0]), jnp.asarray(POINTS[1]))), dtype=np.float64)
    assert got.shape == (64,)
    with np.errstate(all="ignore"):
        want, err, ok = reference(POINTS[0].astype(np.float64), POINTS[1].astype(np.float64))
        ok = ok & np.isfinite(err) & (err < 1e-2 * np.maximum(np.abs(want), 1e-6)) & _in_range(want)
        bad = ok & ~(np.abs(got - want) <= 4 * err + 1e-30)
    assert not bad.any(), (text, POINTS[:, bad], got[bad], want[bad], err[bad])


def _parse_or_refuse(text):
    """Parse ``text``: anything but a FormulaError fails the test, as does too much work."""
    before = formula.work_count()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = parse(text)
    except FormulaError as err:
        assert str(err)
        assert formula.work_count() - before <= formula.WORK_BUDGET
        assert not caught, [str(w.message) for w in caught]  # the parser was left nothing to warn about
        return None
    assert not caught, [str(w.message) for w in caught]
    assert formula.work_count() - before <= formula.WORK_BUDGET
    assert f.nodes <= formula.MAX_NODES and f.depth <= formula.MAX_DEPTH
    assert isinstance(text, str) and len(text) <= formula.MAX_LENGTH and text.isascii()
    return f


@fuzz(N_TEXT)
@given(st.text(max_size=260))
def test_random_text_never_raises_anything_but_formula_error(text):
    _parse_or_refuse(text)


TOKENS = ["x", "y", "1", "2.5", "1e3", "9", "0", "0b1", "0o7", ".5", "+", "-", "*", "/", "**",
          "(", ")", ",", " ",
          "sin", "log", "exp", "sqrt", "minimum", "maximum", "abs", "tan", "__import__", "'os'",
          ".", "__class__", "[", "]", "lambda", ":", "e", "j", "_", "=", "if", "else", "not",
          "{", "}", "%", "@", "~", "<", "and", "in", "is", "or", "for", "0x1f", "1_0", "\\", "#", "ｘ",
          "х", "\t", "\"\\d\""]


@fuzz(N_TOKENS)
@given(st.lists(st.sampled_from(TOKENS), max_size=90).map("".join))
def test_token_soup_parses_or_is_refused_and_what_parses_evaluates(text):
    f = _parse_or_refuse(text)
    if f is not None:
        fn = compile_formula(text)
        with np.errstate(all="ignore"):
            v = np.asarray(fn((jnp.asarray(POINTS[0, :4]), jnp.asarray(POINTS[1, :4]))))
        assert v.shape == (4,) and v.dtype == np.float32


@fuzz(N_BYTES)
@given(st.binary(max_size=260))
def test_random_bytes_never_raise_anything_but_formula_error(data):
    with pytest.raises(FormulaError):
        parse(data)
    _parse_or_refuse(data.decode("latin-1"))
    _parse_or_refuse(data.decode("utf-8", errors="surrogateescape"))


# ----------------------------------------------------------------------------
# Values, normal form, caching.
# ----------------------------------------------------------------------------

KNOWN = {
    "x**2 + 10*sin(y)**2": lambda x, y: x**2 + 10 * np.sin(y) ** 2,
    "(1-x)**2 + 5*(y-x**2)**2": lambda x, y: (1 - x) ** 2 + 5 * (y - x**2) ** 2,
    "-x**2 + y": lambda x, y: -(x**2) + y,
    "2**-x + y/3 - -y": lambda x, y: 2.0 ** (-x) + y / 3 + y,
    "exp(-(x**2+y**2)) * cos(3*x) + tanh(y)": lambda x, y: np.exp(-(x**2 + y**2)) * np.cos(3 * x)
    + np.tanh(y),
    "sqrt(abs(x)) + log(1 + y**2)": lambda x, y: np.sqrt(np.abs(x)) + np.log(1 + y**2),
    "minimum(x**2, (x-1)**2 + 0.5) + maximum(y, -y)": lambda x, y: np.minimum(x**2, (x - 1) ** 2 + 0.5)
    + np.maximum(y, -y),
    "sinh(x)/cosh(y) + tan(0.3*x*y)": lambda x, y: np.sinh(x) / np.cosh(y) + np.tan(0.3 * x * y),
    "x**(1/2) + +y": lambda x, y: np.sqrt(x) + y,
    "3": lambda x, y: np.full_like(x, 3.0),
    "1/x": lambda x, y: 1 / x,
}


@pytest.mark.parametrize("text", list(KNOWN))
def test_values_equal_numpy_on_random_points(text):
    x, y = np.random.default_rng(1).uniform(-2, 2, size=(2, 200)).astype(np.float32)
    f = compile_formula(text)
    got = np.asarray(f((jnp.asarray(x), jnp.asarray(y))), dtype=np.float64)
    with np.errstate(all="ignore"):
        want = KNOWN[text](x.astype(np.float64), y.astype(np.float64))
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isfinite(got), np.isfinite(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=2e-5, atol=1e-5)
    # a single point (the engine's loss_grid passes a (2,) array) gives a scalar
    assert np.shape(f(jnp.array([0.5, -1.0]), ())) == ()


def test_one_function_object_per_normalised_formula_from_a_bounded_cache():
    a = compile_formula("x**2+10*y**2")
    b = compile_formula("  x ** 2 + 10 * y**2 ")
    c = compile_formula("(x**2) + (10*(y**2))")
    assert a is b is c and a.text == "x ** 2 + 10 * y ** 2"
    assert compile_formula("x**2+11*y**2") is not a
    assert a != compile_formula("x**2+11*y**2") and hash(a) == hash(b)
    assert formula._function.cache_info().maxsize == 64
    assert pickle.loads(pickle.dumps(a)) is a  # unpickles through the cache


# ----------------------------------------------------------------------------
# Custom surfaces: minima, compiles, non-finite values.
# ----------------------------------------------------------------------------


def test_rosenbrock_like_formula_has_its_minimum_at_one_one_with_the_right_curvature():
    s = surfaces.custom("(1-x)**2 + 5*(y-x**2)**2")
    assert s.name == "custom" and s.title.startswith("Your own") and "custom" not in surfaces.names()
    assert len(s.minima) == 1 and s.minima[0].is_global
    np.testing.assert_allclose(s.minima[0].point, (1.0, 1.0), atol=1e-4)
    assert abs(s.minima[0].value) < 1e-8
    (r,) = surfaces.custom_minima_report(s)
    hessian = np.array([[42.0, -20.0], [-20.0, 10.0]])  # by hand at (1, 1)
    lo, hi = np.linalg.eigvalsh(hessian)
    assert r["curvature"] == pytest.approx(hi, rel=1e-4)
    assert r["min_curvature"] == pytest.approx(lo, rel=1e-3)
    assert r["stable_below"] == pytest.approx(2 / hi, rel=1e-4) and r["positive_definite"]
    assert r["text"] == (f"at (1, 1) the largest curvature is {hi:.3g}, so rates above {2 / hi:.3g} "
                         "cannot stay")


def test_himmelblau_and_camel_formulas_find_every_known_minimum():
    h = surfaces.custom("(x**2 + y - 11)**2 + (x + y**2 - 7)**2", bounds=((-5, 5), (-5, 5)))
    assert len(h.minima) == 4 and all(m.is_global for m in h.minima)
    for known in surfaces.HIMMELBLAU_MINIMA:
        assert min(np.hypot(*np.subtract(m.point, known)) for m in h.minima) < 1e-3
    c = surfaces.custom("(4 - 2.1*x**2 + x**4/3)*x**2 + x*y + (-4 + 4*y**2)*y**2",
                        bounds=((-2.2, 2.2), (-1.2, 1.2)))
    assert len(c.minima) == 6
    for point, value, is_global in surfaces.CAMEL_MINIMA:
        (m,) = [m for m in c.minima if np.hypot(*np.subtract(m.point, point)) < 1e-3]
        assert m.value == pytest.approx(value, abs=1e-5) and m.is_global == is_global


def test_a_saddle_is_not_a_minimum_and_a_flat_minimum_has_no_two_over_l_limit():
    s = surfaces.custom("0.5*x**2 + 0.25*y**4 - 0.5*y**2", bounds=((-2, 2), (-2, 2)))
    assert sorted(np.round(m.point, 4).tolist() for m in s.minima) == [[0.0, -1.0], [0.0, 1.0]]
    (flat,) = surfaces.custom_minima_report(surfaces.custom("x**4 + y**4"))
    assert not flat["positive_definite"] and flat["stable_below"] is None
    assert np.hypot(*flat["point"]) < 1e-3 and "no limit" in flat["text"]


def test_no_minimum_in_the_box_bad_boxes_and_bad_starts_are_refused():
    for text in ("x + y", "maximum(x**2 + y**2 - 1, 0)"):
        with pytest.raises(FormulaError, match="No minimum"):
            surfaces.custom(text)
    with pytest.raises(FormulaError, match="not a finite number anywhere"):
        surfaces.custom("log(-1 - x**2) + y")
    for bounds in [((1, -1), (0, 1)), ((0, float("nan")), (0, 1)), ((0, 1e9), (0, 1)), "junk",
                   ((0, 1),)]:
        with pytest.raises(FormulaError):
            surfaces.custom("x**2 + y**2", bounds=bounds)
    for start in [(5, 0), (float("inf"), 0), ("a", 0), 3]:
        with pytest.raises(FormulaError, match="start"):
            surfaces.custom("x**2 + y**2", start=start)
    with pytest.raises(ValueError, match="not a custom surface"):
        surfaces.custom_minima_report(surfaces.quadratic())


def test_default_start_is_upper_left_or_the_nearest_finite_point():
    assert surfaces.custom("x**2 + y**2").start == (-2.4, 1.8)
    s = surfaces.custom("(x - 1)**2 + y**2 + sqrt(x)", bounds=((-1, 3), (-2, 2)))
    assert s.start[0] >= 0 and np.isfinite(float(s.loss(jnp.asarray(s.start))))


def test_rates_starts_and_steps_never_recompile_a_custom_surface():
    s = surfaces.custom("x**2 + 3*sin(y)**2 + 0.1*x*y")
    descent.sweep(s, [0.01, 0.1], 50)
    before = descent.trace_count()
    descent.sweep(s, [0.2, 0.05, 0.3], 120, start=(1.0, -1.0))
    descent.run(s, 0.02, 700, start=(0.5, 0.5))
    descent.sweep(surfaces.custom(" x**2 + 3*sin(y)**2 + 0.1*x*y", bounds=((-4, 4), (-2, 2))),
                  [0.1], 30)
    assert descent.trace_count() == before


def test_a_custom_quadratic_runs_exactly_like_the_named_one():
    named = surfaces.quadratic(1.0, 10.0)
    mine = surfaces.custom("0.5*(x**2 + 10*y**2)", bounds=((-2, 2), (-2, 2)), start=named.start)
    a = descent.sweep(named, [0.05, 0.19, 0.21], 200)
    b = descent.sweep(mine, [0.05, 0.19, 0.21], 200)
    np.testing.assert_allclose(b.points, a.points, rtol=1e-5, atol=1e-6)
    assert a.diverged_at.tolist() == b.diverged_at.tolist()
    assert b.diverged_at[2] > 0  # 0.21 > 2/10
    (r,) = surfaces.custom_minima_report(mine)
    assert r["stable_below"] == pytest.approx(0.2, rel=1e-4)


@pytest.mark.parametrize("text, bounds, start, lr", [
    ("x*log(x) + y**2", ((-1, 2), (-2, 2)), (1.5, 0.0), 1.5),  # log of a negative: NaN
    ("exp(x**2) + y**2", ((-3, 3), (-3, 3)), (2.0, 0.5), 0.1),  # overflow: inf
])
def test_non_finite_values_freeze_the_run_like_divergence(text, bounds, start, lr):
    s = surfaces.custom(text, bounds=bounds, start=start)
    t = descent.run(s, lr, 50)
    assert t.diverged_at == 1
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))
    np.testing.assert_array_equal(t.points[1:], np.broadcast_to(t.points[0], t.points[1:].shape))
    small = descent.run(s, 1e-3, 50)  # a small rate stays where f is finite
    assert small.diverged_at is None and np.all(np.isfinite(small.losses))
