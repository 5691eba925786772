"""URL round trip: every setting survives, and junk becomes the default plus a warning."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.scene import (
    RATE_MAX,
    STEPS_MAX,
    Scene,
    scene_from_query,
    scene_to_query,
)
from ui.presets import presets


def test_round_trip_restores_the_exact_scene():
    scene = Scene("ravine", (("condition", 40.0), ("angle", 10.0)), (0.02, 0.05, 0.123457),
                  300, (-1.5, 0.25), 0.5)
    back, warnings = scene_from_query(scene_to_query(scene))
    assert back == scene and warnings == []


def test_defaults_when_query_is_empty():
    scene, warnings = scene_from_query({})
    assert scene == Scene() and warnings == []


@pytest.mark.parametrize("query, fragment", [
    ({"surface": "<script>alert(1)</script>"}, "Unknown surface"),
    ({"lr": "abc"}, "not a number"),
    ({"lr": "nan"}, "not a finite number"),
    ({"lr": "-5"}, "not a positive rate"),
    ({"lr": "0.5,0"}, "not a positive rate"),
    ({"steps": "1e9"}, "outside"),
    ({"steps": "ten"}, "not a number"),
    ({"a": "NaN"}, "not a finite number"),
    ({"momentum": "7"}, "outside"),
    ({"x0": "1e99"}, "outside"),
    ({"lr": "0.1,0.2,0.3,0.4,0.5"}, "At most 4"),
])
def test_junk_gets_a_warning_and_a_valid_value(query, fragment):
    scene, warnings = scene_from_query(query)
    assert any(fragment in w for w in warnings), warnings
    assert scene.steps <= STEPS_MAX and all(0 < r <= RATE_MAX for r in scene.rates)
    assert 0 <= scene.momentum < 1
    for w in warnings:  # user text only ever appears inside code spans, shown verbatim
        for raw in query.values():
            if raw in w:
                assert f"`{list(query)[0]}={raw}`" in w or f"`{raw}`" in w
    scene.build_surface()  # always buildable


def test_values_are_clamped_not_dropped():
    scene, _ = scene_from_query({"steps": "5000", "momentum": "7", "lr": "100"})
    assert scene.steps == 1000 and scene.momentum == 0.99 and scene.rates == (10.0,)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["surface", "lr", "steps", "a", "b", "x0", "y0",
                                        "momentum", "condition", "angle"]),
                       st.text(max_size=30)))
def test_any_query_parses_without_exception(query):
    scene, _ = scene_from_query(query)
    assert 1 <= len(scene.rates) <= 4
    scene.build_surface()


def test_presets_are_valid_scenes():
    for scene in presets().values():
        assert scene_from_query(scene_to_query(scene)) == (scene, [])


# ----------------------------------------------------------------------------
# Your own surface in the link: surface=custom&f=...&xmin=&xmax=&ymin=&ymax=
# ----------------------------------------------------------------------------

ROSENBROCK_LIKE = "(1-x)**2 + 5*(y-x**2)**2"
ATTACKS = ["__import__('os').system('id')", "().__class__", "x.__class__", "lambda: 1",
           "9**9**9", "(" * 10_000 + "x" + ")" * 10_000, "\uff58**2", "x**2 # comment",
           "open('/etc/passwd')", "x if y else 1", "[x for x in ()]", "'x'", "x[0]"]


def test_custom_scene_round_trips_with_its_formula_box_and_start():
    scene = Scene("custom", (), (0.01, 0.05), 200, (-1.5, 2.0), 0.0, formula=ROSENBROCK_LIKE,
                  box=((-2.0, 2.0), (-1.0, 3.0)))
    query = scene_to_query(scene)
    assert (query["surface"], query["f"]) == ("custom", ROSENBROCK_LIKE)
    assert [query[k] for k in ("xmin", "xmax", "ymin", "ymax")] == ["-2", "2", "-1", "3"]
    back, warnings = scene_from_query(query)
    assert back == scene and warnings == []
    surface = back.build_surface()
    assert surface.bounds == ((-2.0, 2.0), (-1.0, 3.0))
    assert [tuple(round(v, 3) for v in m.point) for m in surface.minima] == [(1.0, 1.0)]
    # without box keys: the default box, and still an exact round trip
    plain = Scene("custom", (), (0.1,), 100, formula="x**2 + 10*sin(y)**2")
    assert scene_from_query(scene_to_query(plain)) == (plain, [])
    assert plain.build_surface().bounds == ((-3.0, 3.0), (-3.0, 3.0))


@pytest.mark.parametrize("formula", ATTACKS + ["", "x +", "1", "x", "log(x)"])
def test_a_refused_formula_in_a_link_warns_and_uses_the_default_surface(formula):
    scene, warnings = scene_from_query({"surface": "custom", "f": formula, "lr": "0.05"})
    assert scene.surface == "quadratic" and scene.formula == "" and scene.box is None
    assert scene.rates == (0.05,)  # the rest of the link still counts
    refused = [w for w in warnings if w.startswith("The formula in the link was refused: ")]
    assert len(refused) == 1, warnings
    scene.build_surface()


def test_the_refusal_names_the_problem_and_its_column_in_inert_markdown():
    _, warnings = scene_from_query({"surface": "custom", "f": "__import__('os').system('id')"})
    assert "Attributes such as" in warnings[0] and "system" in warnings[0]
    assert "column 17" in warnings[0]
    _, warnings = scene_from_query({"surface": "custom", "f": "__import__('os')"})
    assert "Unknown function" in warnings[0] and "column 1" in warnings[0]
    _, warnings = scene_from_query({"surface": "custom", "f": "x**2 < y['$y$ :red[z]']"})
    text = warnings[0]
    assert "column 1" in text and "comparisons" in text
    body = text.split("`f=")[0]  # the user's text outside the code span is escaped
    assert "**" not in body and "$y$" not in body and ":red[" not in body, text
    # "1" parses but is flat: no minimum, said so
    _, warnings = scene_from_query({"surface": "custom", "f": "1"})
    assert "No minimum" in warnings[0]


@pytest.mark.parametrize("box, fragment", [
    ({"xmin": "3", "xmax": "-3"}, "The box in the link was refused"),
    ({"xmin": "zz"}, "`xmin=zz` is not a number"),
    ({"ymax": "1e9", "ymin": "-1e9"}, "`ymax=1e9` is outside"),
])
def test_junk_box_in_a_link_warns_and_keeps_a_valid_box(box, fragment):
    scene, warnings = scene_from_query({"surface": "custom", "f": "x**2 + y**2", **box})
    assert any(fragment in w for w in warnings), warnings
    assert scene.surface == "custom"
    (x0, x1), (y0, y1) = scene.build_surface().bounds
    assert x0 < x1 and y0 < y1


def test_start_in_a_link_is_checked_against_the_custom_box():
    query = {"surface": "custom", "f": "x**2 + y**2", "xmin": "-1", "xmax": "1", "ymin": "-1",
             "ymax": "1"}
    scene, warnings = scene_from_query({**query, "x0": "0.5", "y0": "-0.25"})
    assert scene.start == (0.5, -0.25) and warnings == []
    scene, warnings = scene_from_query({**query, "x0": "2.5", "y0": "-0.25"})
    assert scene.start == (1.0, -0.25)
    assert any("`x0=2.5` is outside -1 to 1" in w for w in warnings), warnings


def test_a_formula_is_ignored_on_a_named_surface():
    scene, warnings = scene_from_query({"surface": "ravine", "f": "x**2", "xmin": "-1"})
    assert (scene.surface, scene.formula, scene.box, warnings) == ("ravine", "", None, [])


# Junk, attacks, near-formulas, and two good formulas (so the accepted branch runs too; a box
# only changes traced values, so these compile once whatever the box).
FORMULA_TEXT = st.one_of(st.text(max_size=60), st.sampled_from(ATTACKS),
                         st.text(alphabet="xy+-*/()0123456789. sincoexplgqrt_,", max_size=40),
                         st.sampled_from(["x**2 + y**2", ROSENBROCK_LIKE]))
BOX_TEXT = st.one_of(st.text(max_size=12), st.floats(-12, 12).map(str), st.sampled_from(
    ["-3", "3", "0", "1e4", "-1e5", "nan", "inf"]))


@settings(max_examples=150, deadline=None)
@given(FORMULA_TEXT, st.dictionaries(st.sampled_from(["xmin", "xmax", "ymin", "ymax", "x0",
                                                      "y0"]), BOX_TEXT))
def test_any_formula_and_box_in_a_link_parse_without_exception(formula, extra):
    scene, warnings = scene_from_query({"surface": "custom", "f": formula, **extra})
    if scene.surface == "custom":
        assert scene.formula == formula
        surface = scene.build_surface()
        if scene.start is not None:
            (x0, x1), (y0, y1) = surface.bounds
            assert x0 <= scene.start[0] <= x1 and y0 <= scene.start[1] <= y1
    else:
        assert scene.surface == "quadratic" and scene.box is None
        assert any(w.startswith("The formula in the link was refused: ") for w in warnings)
        scene.build_surface()


def test_custom_scene_runs_and_compiles_once_per_formula():
    from engine import descent
    from engine.scene import run_scene

    scene = Scene("custom", (), (0.01, 0.05, 0.3), 100, formula="x**2 + 10*sin(y)**2 + 0.1*x*y")
    surface, sweep, diagnoses = run_scene(scene)
    assert surface.name == "custom" and sweep.points.shape == (3, 101, 2)
    assert len(diagnoses) == 3 and np.isfinite(sweep.losses).all()
    before = descent.trace_count()
    for changed in (replace(scene, rates=(0.02, 0.2)), replace(scene, start=(1.0, -1.5)),
                    replace(scene, steps=700), replace(scene, rates=(0.04,), steps=30,
                                                       start=(2.0, 2.0))):
        surface2, sweep2, _ = run_scene(changed)
        assert surface2 is surface
        assert sweep2.points.shape[1] == changed.steps + 1
    assert descent.trace_count() == before, "rates, start or steps recompiled a custom surface"
    # the same formula typed with other spacing is the same compiled function
    respaced = replace(scene, formula="x**2+10*sin(y)**2+0.1*x*y", rates=(0.07,))
    run_scene(respaced)
    assert descent.trace_count() == before


def test_custom_runs_freeze_where_f_is_not_finite():
    from engine.scene import run_scene

    # log(x) is -inf at 0 and NaN left of it: a large step lands there and the run is frozen
    scene = Scene("custom", (), (0.05, 3.0), 100, (1.5, 1.0),
                  formula="x*log(x) + y**2", box=((-1.0, 2.0), (-2.0, 2.0)))
    _, sweep, diagnoses = run_scene(scene)
    assert np.isfinite(sweep.points).all() and np.isfinite(sweep.losses).all()
    assert sweep.diverged_at[0] == -1 and sweep.diverged_at[1] >= 0
    assert diagnoses[1].regime.value == "diverged"
