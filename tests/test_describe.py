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


def test_votes_text_counts_every_option_of_the_tally_and_marks_the_right_one():
    text = describe.votes_text(["0", "1", "2"], {"0": 3, "2": 9}, ["0.05", "0.08", "0.5"], right={"1"})
    assert text == "Votes: 3 of 12 for '0.05', 0 of 12 for '0.08' (right), 9 of 12 for '0.5'."
    assert describe.votes_text(["a"], {"a": 0}, what="Votes so far") == "Votes so far: none yet, for 'a'."


def test_curves_text_counts_steps_of_a_per_step_curve():
    sizes = np.array([[0.5, 0.25, 0.125]])  # 3 step sizes: a run of 3 steps, 4 points
    assert "1 run over 3 steps" in describe.curves_text("Step size", ["a"], sizes, [None], steps=3)
    assert "1 run over 2 steps" in describe.curves_text("Step size", ["a"], sizes, [None])


def test_rate_sweep_text_of_a_real_sweep_reports_its_fastest_rate_and_first_divergence():
    from lessons.claims import run_rate_sweep
    from lessons.loader import RateSweepSpec

    spec = RateSweepSpec(surface="quadratic", params=(("a", 1.0), ("b", 10.0)), lo=0.01, hi=0.3, n=24,
                         steps=300)
    runs = run_rate_sweep(spec)
    text = describe.rate_sweep_text(runs.rates, runs.steps, runs.distance, runs.regimes,
                                    runs.fastest_index, spec.steps, {"2/L": 0.2})
    assert "300 steps per run" in text and "for 24 rates from 0.01 to 0.3" in text
    assert f"fastest {runs.fastest_rate:.3g} ({int(runs.fastest_steps)} steps)" in text
    assert f"diverged from {runs.smallest_diverged:.3g} up" in text
    assert runs.largest_stable <= 0.2 < runs.smallest_diverged  # 2/L = 0.2 on this bowl
    assert text.endswith("marked: 2/L = 0.2.")


def test_series_text_reports_ends_and_gaps():
    text = describe.series_text("Steps", "κ", [1, 10, 100], [("measured", [None, 30, 300])])
    assert "measured from 30 at κ = 10 to 300 at κ = 100 (no value at 1 of them)" in text


def test_sharpness_text_of_a_real_network_run():
    from engine import data, mlp, networks

    d = data.load("moons", 0)
    p0 = mlp.init((d.n_features, 8, d.n_classes), 0)
    rates = [0.5, 50.0]
    snaps = networks.train_snapshots(p0, d.x_train, d.y_train, rates, 40, n_frames=5)
    sharp = networks.sharpness_track(snaps, d.x_train, d.y_train)
    text = describe.sharpness_text(["lr = 0.5", "lr = 50"], snaps.steps, sharp, rates, snaps.diverged_at)
    assert f"over {int(snaps.steps[-1])} steps" in text
    assert f"lr = 0.5 from {float(sharp[0, 0]):.3g} to " in text and "limit 4, " in text
    assert "limit 0.04, " in text or "lr = 50 has no recorded value" in text


def test_boundary_text_counts_points_in_their_own_region():
    grid = np.linspace(-1, 1, 5)
    classes = np.zeros((2, 5, 5), int)
    classes[1][:, 3:] = 1  # the last frame: class 1 right of x = 0.25
    x = np.array([[-0.5, 0.0], [0.5, 0.0], [1.0, 1.0], [0.9, -0.9]])
    y = np.array([0, 1, 1, 0])
    text = describe.boundary_text("lr = 1", x, y, grid, grid, classes, [0, 20])
    assert "at step 20 the regions cover class 0 60%, class 1 40% of the plane" in text
    assert "2 of the 4 points (50.0%) lie in their own class's region at step 0, 3 (75.0%) at step 20" in text


def test_digits_text_lists_the_misread_digits():
    text = describe.digits_text(np.arange(10), np.r_[np.arange(9), 3], listed=1)
    assert text == "10 validation digits with their predicted labels: 9 right, 1 wrong (a 9 read as 3)."
    many = describe.digits_text(np.zeros(12, int), np.ones(12, int), listed=2)
    assert many.endswith("(a 0 read as 1, a 0 read as 1, and 10 more).")
