"""Charts' text alternatives say what the runs drawn did, from the runs themselves."""

import doctest
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from charts import describe
from engine import descent, diagnose, surfaces

PAGES = Path(__file__).resolve().parents[1] / "app_pages"


def test_docstring_examples():
    result = doctest.testmod(describe, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_paths_text_reports_each_run_of_a_real_sweep():
    bowl = surfaces.quadratic(1.0, 10.0)  # 2/L = 0.2: 0.05 converges, 0.25 diverges
    sweep = descent.sweep(bowl, [0.05, 0.25], 200)
    diagnoses = [diagnose.diagnose(bowl, t) for t in sweep]
    text = describe.paths_text_of(bowl, sweep, diagnoses, ["lr = 0.05", "lr = 0.25"])
    assert text.startswith(f"Paths of 2 runs on {bowl.title}: ")
    assert f"lr = 0.05 converged in {diagnoses[0].steps_to_converge} steps" in text
    assert f"lr = 0.25 diverged at step {int(sweep.diverged_at[1])}" in text


def test_curves_text_gives_no_final_value_for_a_run_that_blew_up():
    text = describe.curves_text("Loss", ["ok", "bad"], [[3.0, 1.0, 0.25], [3.0, 50.0, 50.0]], [None, 1])
    assert "ok ended at 0.25 (lowest 0.25)" in text
    assert "bad blew up at step 1" in text and "bad ended" not in text


def test_rates_text_names_peak_and_end():
    text = describe.rates_text(["constant", "cosine"], [np.full(10, 0.1), np.linspace(0.1, 0.0, 10)])
    assert "constant stays at 0.1" in text and "cosine goes from 0.1 (peak 0.1) to 0" in text


def test_schedules_page_puts_a_sentence_after_each_chart():
    at = AppTest.from_file(str(PAGES / "schedules.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    hidden = [m.value for m in at.markdown if "lrl-chart-text" in m.value]
    assert len(hidden) == 3, hidden
    assert any("Paths of 2 runs on" in h for h in hidden), hidden
    assert any(h.count("Rate against step") == 1 for h in hidden), hidden


def test_grid_search_page_describes_its_charts_from_the_grid():
    at = AppTest.from_file(str(PAGES / "grid_search.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    hidden = [m.value for m in at.markdown if "lrl-chart-text" in m.value]
    assert any("Final loss above the minimum for 128 rates from 0.001 to 1:" in h for h in hidden), hidden
    assert any("Steps to converge for 128 rates" in h for h in hidden), hidden
