"""Pages in Streamlit's AppTest: they render, react to widgets, and survive junk URLs."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def playground(query: dict | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.switch_page("app_pages/playground.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def spec(at: AppTest, i: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[i].proto.spec)


def badges(at: AppTest) -> list[str]:
    return [b.proto.body for b in at.get("markdown") if "badge" in b.proto.body]


def test_home_renders_with_link_to_playground():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "Learning Rate Lab" in at.title[0].value
    links = [e.proto.page for e in at.get("page_link")]
    assert any("playground" in p for p in links)


def test_playground_defaults_show_three_regimes_and_theory():
    at = playground()
    rows = at.dataframe[0].value
    assert list(rows["regime"]) == ["slow", "converged", "oscillating"]
    assert len(at.get("plotly_chart")) == 3
    assert any("2/L" in m.label for m in at.metric)
    assert float(at.metric[0].value) == pytest.approx(0.2)


def test_changing_a_rate_changes_the_run():
    at = playground()
    before = spec(at)["data"][2]["x"]
    at.number_input(key="lr_num_0").set_value(0.25).run()
    assert not at.exception
    assert at.dataframe[0].value["regime"][0] == "diverged"
    assert at.select_slider(key="lr_sl_0").value == pytest.approx(0.251, rel=0.01)
    assert spec(at)["data"][2]["x"] != before
    lr = at.query_params["lr"]
    assert (lr if isinstance(lr, str) else lr[0]).startswith("0.25,")


def test_slider_moves_the_number_entry():
    at = playground()
    at.select_slider(key="lr_sl_1").set_value(0.0501).run()
    assert at.number_input(key="lr_num_1").value == pytest.approx(0.0501)


def test_default_figure_payload_is_small():
    at = playground()
    payload = len(at.get("plotly_chart")[0].proto.spec)
    assert payload < 300_000, payload
    assert len(spec(at)["frames"]) <= 100


def test_share_link_restores_the_scene():
    at = playground({"surface": "ravine", "condition": "40", "angle": "10", "lr": "0.02,0.05",
                     "steps": "300", "x0": "-1.5", "y0": "0.25", "momentum": "0.5"})
    assert at.selectbox(key="surface").value == "ravine"
    assert at.number_input(key="p_ravine_condition").value == 40
    assert [at.number_input(key=f"lr_num_{i}").value for i in range(2)] == [0.02, 0.05]
    assert at.slider(key="steps").value == 300
    assert at.slider(key="momentum").value == 0.5
    assert (at.number_input(key="x0").value, at.number_input(key="y0").value) == (-1.5, 0.25)
    assert not at.warning


def test_junk_url_gives_warnings_and_defaults_not_tracebacks():
    at = playground({"surface": "<b>evil</b>", "lr": "abc,-5,nan", "steps": "1e9",
                     "momentum": "7", "x0": "zz"})
    text = " ".join(w.value for w in at.warning)
    assert "Unknown surface" in text and "not a number" in text and "outside" in text
    assert "`<b>evil</b>`" in text  # verbatim inside a code span, never rendered as HTML
    assert at.selectbox(key="surface").value == "quadratic"
    assert at.slider(key="steps").value == 1000
    assert at.slider(key="momentum").value == 0.99
    assert len(at.get("plotly_chart")) == 3


def test_preset_stuck_in_local_minimum():
    at = playground()
    next(b for b in at.button if b.label == "Stuck in a local minimum").click().run()
    assert not at.exception
    rows = at.dataframe[0].value
    assert at.selectbox(key="surface").value == "sharp_wide"
    assert list(rows["regime"]) == ["local minimum", "converged"]


@pytest.mark.parametrize("name, expected", [
    ("Too small", ["slow"]),
    ("Best fixed rate 2/(L+μ)", ["oscillating", "converged"]),  # 2/(L+mu) zig-zags; 1/L does not
    ("Oscillating, converging", ["oscillating"]),
    ("Diverging", ["diverged"]),
])
def test_quadratic_presets_show_their_regime(name, expected):
    at = playground()
    next(b for b in at.button if b.label == name).click().run()
    assert list(at.dataframe[0].value["regime"]) == expected


def test_presets_tell_one_story():
    """Too small crawls; the best fixed rate arrives first, before 1/L and before the
    oscillating-but-converging rate; diverging diverges."""
    from engine.scene import run_scene
    from ui.presets import BEST, OSCILLATING, presets

    runs = {name: run_scene(scene)[2] for name, scene in presets().items()}
    assert list(presets()) == ["Too small", BEST, OSCILLATING, "Diverging",
                               "Stuck in a local minimum"]
    (small,) = runs["Too small"]
    best, one_over_l = runs[BEST]
    (osc,) = runs[OSCILLATING]
    (div,) = runs["Diverging"]
    assert small.regime == "slow" and small.steps_to_converge is None
    assert best.steps_to_converge is not None and osc.steps_to_converge is not None
    assert best.steps_to_converge < osc.steps_to_converge
    assert osc.regime == "oscillating"
    assert best.steps_to_converge < one_over_l.steps_to_converge and one_over_l.overshoots == 0
    assert div.regime == "diverged"


def test_why_not_one_over_l_line_is_computed():
    at = playground({"a": "2", "b": "8"})
    line = next(m.value for m in at.markdown if "Why not 1/L?" in m.value)
    # L = 8, mu = 2: 1/L = 0.125, 1 - mu/L = 0.75, 2/(L+mu) = 0.2, (L-mu)/(L+mu) = 0.6
    for fragment in ("1/L = 0.125", "1 − μ/L = 0.75", "2/(L+μ) = 0.2", "(L−μ)/(L+μ) = 0.6"):
        assert fragment in line, line


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_heavy_ball_caption_says_what_its_rate_is_and_measures_the_growth():
    """Issue 9 item 3: at beta 0.5, lr 0.2 on the default bowl the rate per step (0.7071) is a
    spectral radius, and the distance grows on some early steps: the page must not claim that
    every step shrinks it, and must show the run's own count."""
    import numpy as np

    from engine import surfaces
    from engine.descent import run

    at = playground({"lr": "0.2", "momentum": "0.5"})
    text = captions(at)
    assert "multiplies the distance to the minimum by at most" not in text
    assert "spectral radius" in text and "need not shrink every step" in text
    assert at.dataframe[0].value["rate/step (theory)"][0] == "0.7071"
    d = np.linalg.norm(run(surfaces.quadratic(1.0, 10.0), 0.2, 100, momentum=0.5).points, axis=1)
    grew = int(np.sum(d[1:61] > d[:60]))
    assert grew > 5
    assert f"the distance grew on {grew} of the first 60 steps, by up to ×" in text, text
    assert at.dataframe[0].value["distance grew on"][0].startswith(f"{grew} of 60 steps")


def test_plain_descent_keeps_its_per_step_bound():
    text = captions(playground())
    assert "multiplies the distance to the minimum by at most max|1 − lr·curvature|" in text
    assert "spectral radius" not in text


def test_adam_against_sgd_at_the_same_rate():
    at = playground()
    at.number_input(key="n_rates").set_value(2).run()
    at.number_input(key="lr_num_1").set_value(0.1).run()
    at.number_input(key="lr_num_0").set_value(0.1).run()
    at.selectbox(key="opt_0").set_value("adam").run()
    assert not at.exception, [e.value for e in at.exception]
    rows = at.dataframe[0].value
    assert list(rows["run"]) == ["Adam, lr = 0.1", "SGD, lr = 0.1"]
    assert rows["final distance"][0] != rows["final distance"][1]
    assert rows["steps to converge"][1] == "57"  # plain GD at 1/L on the default bowl
    assert rows["steps (theory)"][0] == "—"  # no closed form for Adam
    assert any(b.startswith(":") and "Adam, lr = 0.1: " in b for b in badges(at))
    legend = [d.get("name") for d in spec(at)["data"] if d.get("mode") == "lines"]
    assert "Adam, lr = 0.1" in legend and "SGD, lr = 0.1" in legend
    assert [d["name"] for d in spec(at, 1)["data"] if "name" in d] == ["Adam, lr = 0.1",
                                                                       "SGD, lr = 0.1"]
    limits = at.dataframe[1].value
    assert list(limits["optimizer"]) == ["Adam", "SGD"]
    assert limits["diverges above (theory)"][0] == "—"
    assert limits["largest rate that did not diverge (measured)"][0] == "none diverged up to 10"
    assert float(limits["largest rate that did not diverge (measured)"][1]) == pytest.approx(
        0.2, rel=0.05)
    assert "No 2/L limit applies to Adam" in captions(at)
    q = at.query_params
    assert q["opt"] in ("adam,sgd", ["adam,sgd"]) and q["lr"] in ("0.1,0.1", ["0.1,0.1"])


def _q(at: AppTest, key: str):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


def test_link_with_optimizers_noise_and_seed_round_trips():
    query = {"surface": "rosenbrock", "lr": "0.001,0.05,0.002", "opt": "sgd,adam,nesterov",
             "noise": "0.5", "seed": "7", "steps": "200"}
    at = playground(query)
    assert not at.warning, [w.value for w in at.warning]
    assert [at.selectbox(key=f"opt_{i}").value for i in range(3)] == ["sgd", "adam", "nesterov"]
    assert at.slider(key="noise").value == 0.5 and at.number_input(key="seed").value == 7
    assert {k: _q(at, k) for k in query} == query
    rows = at.dataframe[0].value
    assert list(rows["run"]) == ["SGD, lr = 0.001", "Adam, lr = 0.05", "Nesterov, lr = 0.002"]
    share = next(c.value for c in at.code if "?" in c.value)
    for k, v in query.items():
        assert f"{k}={v.replace(',', '%2C')}" in share, share
    # A changed seed is a changed scene: the link follows it, and so do the paths.
    before = spec(at)["data"][2]["x"]
    at.number_input(key="seed").set_value(8).run()
    assert _q(at, "seed") == "8" and spec(at)["data"][2]["x"] != before


def test_noise_slider_changes_the_paths_and_zero_noise_drops_it_from_the_link():
    at = playground()
    before = [d["x"] for d in spec(at)["data"][2:5]]
    assert _q(at, "noise") is None
    at.slider(key="noise").set_value(1.0).run()
    assert not at.exception
    after = [d["x"] for d in spec(at)["data"][2:5]]
    assert all(a != b for a, b in zip(before, after, strict=True))
    assert _q(at, "noise") == "1" and _q(at, "seed") == "0"
    assert at.dataframe[0].value["steps (theory)"][0] == "—"  # exact gradients only
    assert "left empty here: the gradients are noisy" in captions(at)
    assert "mini-batch" in captions(at)
    at.slider(key="noise").set_value(0.0).run()
    assert [d["x"] for d in spec(at)["data"][2:5]] == before
    assert _q(at, "noise") is None


def test_junk_optimizer_and_noise_in_the_link_warn_and_use_defaults():
    at = playground({"opt": "evil", "noise": "nan", "seed": "-3"})
    text = " ".join(w.value for w in at.warning)
    assert "Unknown optimizer `evil`" in text and "`noise=nan` is not a finite number" in text
    assert "`seed=-3` is outside" in text
    assert at.selectbox(key="opt_0").value == "sgd"
    assert at.slider(key="noise").value == 0.0
    assert len(at.get("plotly_chart")) == 3
    assert list(at.dataframe[0].value["regime"]) == ["slow", "converged", "oscillating"]


def test_noise_above_the_slider_warns_and_is_clamped():
    at = playground({"noise": "50"})
    assert any("above the slider" in w.value for w in at.warning)
    assert at.slider(key="noise").value == 5.0
    assert _q(at, "noise") == "5"


def test_every_surface_renders():
    at = playground()
    for name in at.selectbox(key="surface").options:
        at.selectbox(key="surface").set_value(name).run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert len(at.get("plotly_chart")) == 3


def test_sliders_never_recompile_with_four_optimizers():
    """Each optimizer compiles once (its runs and its measured limit); rates, noise, seed, steps,
    momentum, start and curvature are traced, so changing them reruns without compiling."""
    from engine.descent import trace_count

    at = playground({"lr": "0.05,0.05,0.01,0.1", "opt": "sgd,momentum,nesterov,adam",
                     "noise": "0.2", "steps": "150"})
    assert len(at.dataframe[0].value) == 4
    compiled = trace_count()
    changes = [("number_input", "lr_num_0", 0.07), ("number_input", "lr_num_3", 0.3),
               ("slider", "noise", 0.6), ("number_input", "seed", 3), ("slider", "steps", 400),
               ("slider", "momentum", 0.5), ("number_input", "x0", 1.0),
               ("number_input", "p_quadratic_b", 20.0)]
    for kind, key, value in changes:
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, (key, [e.value for e in at.exception])
        assert trace_count() == compiled, f"changing {key} compiled the engine again"
    assert _q(at, "steps") == "400" and _q(at, "b") == "20"


# ----------------------------------------------------------------------------
# Your own formula, and the downloads (issue 12).
# ----------------------------------------------------------------------------

ROSENBROCK_LIKE = "(1-x)**2 + 5*(y-x**2)**2"


def minima_lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "minimum**" in m.value]


def test_typing_a_formula_runs_it_and_lists_its_minima():
    at = playground({"lr": "0.01,0.03"})
    at.selectbox(key="surface").set_value("custom").run()
    assert not at.exception, [e.value for e in at.exception]
    at.text_input(key="formula").set_value(ROSENBROCK_LIKE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    # the minimum at (1, 1), its curvature and its own 2/L, from the numerical search
    (line,) = minima_lines(at)
    assert line.startswith("- **Global minimum**, f = 0: at (1, 1) the largest curvature is")
    assert "so rates above 0.0388 cannot stay" in line
    assert "Found numerically, so they may miss some" in captions(at)
    # the runs are there: badges, table rows, paths on the chart, the scene in the link
    rows = at.dataframe[0].value
    assert list(rows["run"]) == ["lr = 0.01", "lr = 0.03"]
    names = [d.get("name") for d in spec(at)["data"] if d.get("mode") == "lines"]
    assert {"lr = 0.01", "lr = 0.03"} <= set(names)
    # from the start (-2.4, 1.8) the valley is steep: 0.03 blows up, 0.01 crawls along it
    assert list(rows["regime"]) == ["slow", "diverged"]
    paths = {d["name"]: d for d in spec(at)["data"] if d.get("mode") == "lines"}
    assert len(paths["lr = 0.01"]["x"]) == 101 and len(paths["lr = 0.03"]["x"]) < 10
    assert spec(at)["layout"]["xaxis"]["range"] == [-3, 3]
    assert _q(at, "surface") == "custom" and _q(at, "f") == ROSENBROCK_LIKE
    assert len(at.get("download_button")) == 3


def test_an_unsafe_formula_is_refused_in_words_with_its_column_and_no_traceback():
    at = playground({"surface": "custom", "f": ROSENBROCK_LIKE, "lr": "0.01"})
    before = spec(at)["data"]
    at.text_input(key="formula").set_value("__import__('os').system('id')").run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert error.value.startswith("**Refused:**") and "column 17" in error.value
    assert "system" in error.value
    assert any(c.value.endswith("^ column 17") for c in at.code)
    assert "Still running the last formula that worked" in captions(at)
    # the page still runs the last accepted formula, and the link keeps it
    assert spec(at)["data"] == before and _q(at, "f") == ROSENBROCK_LIKE
    at.text_input(key="formula").set_value("x + ").run()
    assert not at.exception and "ends too early" in at.error[0].value
    at.text_input(key="formula").set_value("x**2 + y**2").run()
    assert not at.error and _q(at, "f") == "x**2 + y**2"


def test_a_box_with_no_minimum_is_refused_and_a_bad_box_named():
    at = playground({"surface": "custom", "f": "x**2 + y**2"})
    at.number_input(key="box_xmin").set_value(1.0).run()  # x from 1 to 3: the minimum is outside
    assert not at.exception and "No minimum of f was found inside the box" in at.error[0].value
    at.number_input(key="box_xmin").set_value(5.0).run()
    assert not at.exception and "Each side of the box needs min" in at.error[0].value


def test_custom_link_round_trips_and_junk_formula_in_a_link_falls_back():
    query = {"surface": "custom", "f": ROSENBROCK_LIKE, "xmin": "-2", "xmax": "2",
             "ymin": "-1", "ymax": "3", "lr": "0.02", "steps": "150", "x0": "-1.5",
             "y0": "2.5"}
    at = playground(query)
    assert not at.warning, [w.value for w in at.warning]
    assert at.selectbox(key="surface").value == "custom"
    assert at.text_input(key="formula").value == ROSENBROCK_LIKE
    assert [at.number_input(key=f"box_{k}").value for k in ("xmin", "xmax", "ymin", "ymax")] == [
        -2, 2, -1, 3]
    assert (at.number_input(key="x0").value, at.number_input(key="y0").value) == (-1.5, 2.5)
    assert {k: _q(at, k) for k in query} == query
    share = next(c.value for c in at.code if "?" in c.value)
    assert "f=%281-x%29%2A%2A2" in share
    # an unsafe formula in a link: a warning naming the problem, the default surface
    at = playground({"surface": "custom", "f": "__import__('os').system('id')", "lr": "0.05"})
    text = " ".join(w.value for w in at.warning)
    assert "The formula in the link was refused: Attributes such as" in text
    assert "column 17" in text
    assert at.selectbox(key="surface").value == "quadratic" and _q(at, "lr") == "0.05"
    assert len(at.get("plotly_chart")) == 3


def test_custom_sliders_never_recompile():
    from engine.descent import trace_count

    at = playground({"surface": "custom", "f": "x**2 + 10*sin(y)**2 + 0.5*x", "lr": "0.01,0.05"})
    compiled = trace_count()
    for kind, key, value in [("number_input", "lr_num_0", 0.02), ("slider", "steps", 300),
                             ("number_input", "x0", 1.0), ("number_input", "y0", -2.0),
                             ("number_input", "box_xmax", 4.0)]:
        getattr(at, kind)(key=key).set_value(value).run()
        assert not at.exception, (key, [e.value for e in at.exception])
        assert trace_count() == compiled, f"changing {key} compiled the engine again"


def test_downloads_are_built_on_demand_once_per_scene():
    import csv
    import io

    from PIL import Image

    from engine.scene import Scene, run_scene
    from ui import playground_state as state

    scene = Scene("custom", (), (0.01, 0.05), 60, formula=ROSENBROCK_LIKE)
    surface, sweep, _ = run_scene(scene)
    calls = []

    def build():
        calls.append(1)
        from charts.export import trajectory_gif
        return trajectory_gif(surface, sweep, ["a", "b"])

    get = state.on_demand("gif", scene, build)
    assert calls == []  # nothing is built until the button is clicked
    data = get()
    assert state.on_demand("gif", scene, build)() is data and calls == [1]
    im = Image.open(io.BytesIO(data))
    assert im.format == "GIF" and im.n_frames == 61
    runs = state.on_demand("runs", scene, lambda: __import__("charts.export").export.runs_csv(
        sweep, ["a", "b"], ["sgd", "sgd"]))()
    rows = list(csv.DictReader(io.StringIO(runs)))
    assert len(rows) == 2 * 61 and float(rows[61]["rate"]) == pytest.approx(0.05)


def test_an_example_button_puts_its_formula_in_and_runs_it():
    at = playground({"surface": "custom", "f": "x**2 + y**2"})
    at.button(key="example_1").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.text_input(key="formula").value == ROSENBROCK_LIKE == _q(at, "f")
    assert "at (1, 1)" in minima_lines(at)[0]


def test_where_f_is_not_finite_the_page_says_how_much_and_the_run_is_frozen():
    import numpy as np

    from engine.grid import loss_grid
    from engine.scene import build_surface

    box = {"xmin": "-1", "xmax": "2", "ymin": "-2", "ymax": "2"}
    at = playground({"surface": "custom", "f": "x*log(x) + y**2", **box, "lr": "0.05,3",
                     "x0": "1.5", "y0": "1"})
    assert not at.warning, [w.value for w in at.warning]
    _, _, z = loss_grid(build_surface("custom", (), "x*log(x) + y**2", ((-1, 2), (-2, 2))))
    share = float(np.mean(~np.isfinite(z)))
    assert 0.3 < share < 0.4
    assert f"f is not a finite number on {share:.0%} of the box (left blank" in captions(at)
    rows = at.dataframe[0].value
    assert list(rows["regime"]) == ["converged", "diverged"] and rows["diverged at step"][1] == "1"
    assert "NaN" not in at.get("plotly_chart")[0].proto.spec


@pytest.mark.parametrize("typed", [0.0, -0.5, 1e308])
def test_an_invalid_typed_rate_is_refused_in_words_beside_the_box(typed):
    at = playground()
    before = at.number_input(key="lr_num_0").value
    at.number_input(key="lr_num_0").set_value(typed).run()
    assert not at.exception, [e.value for e in at.exception]
    said = [m.value for m in at.markdown if "Rate 1:" in m.value]
    assert len(said) == 1 and f"Still using {before:g}" in said[0], said
    assert at.number_input(key="lr_num_0").value == before
    assert f"lr = {before:.4g}" in badges(at)[0]
    # a valid rate clears the sentence
    at.number_input(key="lr_num_0").set_value(0.2).run()
    assert not [m.value for m in at.markdown if "Rate 1:" in m.value]
    assert at.number_input(key="lr_num_0").value == 0.2


def _lesson_two(path: str) -> None:
    from lessons.loader import load
    from ui.lesson_view import render_lesson

    render_lesson(load(path))


def test_an_invalid_rate_typed_in_a_lesson_is_refused_in_words():
    path = str(Path(APP).parent / "lessons" / "02-too-large.md")
    at = AppTest.from_function(_lesson_two, args=(path,), default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    key = "02-too-large:across-the-limit:lr:0"
    at.number_input(key=key).set_value(0.0).run()
    assert not at.exception, [e.value for e in at.exception]
    said = [m.value for m in at.markdown if "Using the lesson's 0.19" in m.value]
    assert len(said) == 1 and "0 is not a learning rate" in said[0], said
    assert any("lr = 0.19" in b.proto.body for b in at.get("markdown") if "badge" in b.proto.body)
