"""URL round trip: every setting survives, and junk becomes the default plus a warning."""

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
