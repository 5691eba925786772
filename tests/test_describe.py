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


def test_training_text_of_a_real_run_reports_its_final_numbers():
    from engine import data, mlp

    d = data.load("moons", 0)
    p0 = mlp.init((d.n_features, 8, d.n_classes), 0)
    run = mlp.train(p0, d.x_train, d.y_train, [0.5, 1e6], 40, evals=[(d.x_val, d.y_val)])
    text = describe.training_text_of(run, ["lr = 0.5", "lr = 1e+06"])
    assert text.startswith("Training and validation loss and accuracy against step, 2 runs over 40 steps: ")
    assert int(run.diverged_at[0]) < 0 <= int(run.diverged_at[1])  # the huge rate blows up
    acc = float(run.eval_acc[0, 0, -1])
    assert (f"lr = 0.5 ended at training loss {float(run.train_loss[0, -1]):.3g}, validation accuracy "
            f"{100 * acc:.1f}%") in text
    assert f"lr = 1e+06 blew up at step {int(run.diverged_at[1])}" in text
    assert "lr = 1e+06 ended" not in text


def test_finetune_text_reports_learning_and_forgetting_per_rate():
    b = np.array([[0.1, 0.5, 0.93], [0.1, 0.9, 0.97]])
    a = np.array([[0.99, 0.985, 0.98], [0.99, 0.4, 0.31]])
    text = describe.finetune_text(["lr = 0.01", "lr = 0.5"], b, a, [None, None])
    assert "lr = 0.01: task B 10.0% to 93.0%, task A 99.0% to 98.0%" in text
    assert "lr = 0.5: task B 10.0% to 97.0%, task A 99.0% to 31.0%" in text
    assert "over 2 steps" in text


def test_map_text_of_a_real_map_counts_its_cells():
    from engine.maps import REGIMES, MapConfig, momentum_map

    m = momentum_map(MapConfig(n=8, rows=6, steps=40))
    text = describe.map_text_of(m)
    assert text.startswith(f"Map of {m.regimes.size} runs, rate from ")
    for k, r in enumerate(REGIMES):
        n = int(np.sum(m.regimes == k))
        assert (f"{n} {r}" in text) == (n > 0), (r, n, text)


def test_network_finetune_and_maps_pages_put_a_sentence_after_their_main_chart():
    for page, start in (("train_network.py", "Training and validation loss and accuracy against step, 4"),
                        ("finetune.py", "Task B accuracy (learning) and task A accuracy (what is kept)"),
                        ("stability_maps.py", "Map of ")):
        at = AppTest.from_file(str(PAGES / page), default_timeout=240)
        at.run()
        assert not at.exception, (page, [e.value for e in at.exception])
        hidden = [m.value for m in at.markdown if "lrl-chart-text" in m.value]
        assert any(start in h for h in hidden), (page, hidden)
