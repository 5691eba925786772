"""Shared test set-up: strict JAX promotion rules, and the repo root on sys.path."""

import sys
from pathlib import Path

import jax
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

jax.config.update("jax_numpy_rank_promotion", "raise")


_MEASURED = pytest.StashKey[list]()


@pytest.fixture
def measured(request):
    """``measured(line)`` keeps a measurement (axe results, chart positions) for the end of the
    test output, where pytest -q shows it even for tests that pass."""
    lines = request.config.stash.setdefault(_MEASURED, [])
    return lines.append


def pytest_terminal_summary(terminalreporter, config):
    lines = config.stash.get(_MEASURED, [])
    if lines:
        terminalreporter.section("measured in the browser tests")
        for line in lines:
            terminalreporter.write_line(line)
