"""The `>>>` examples in the engine's and helpers' docstrings are true."""

import doctest
import importlib

import pytest

MODULES = ["engine.surfaces", "engine.descent", "engine.diagnose", "engine.theory",
           "engine.grid", "engine.schedules", "engine.data", "engine.mlp", "engine.scene",
           "engine.limits", "engine.optimizers", "engine.schedule_runs", "engine.formula",
           "engine.urlstate", "engine.maps",
           "store.classroom", "ui.presets", "ui.progress", "lessons.loader"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0 or name in ("engine.grid",)
