"""Stability maps (engine/maps.py, charts/maps.py): the measured boundary and optimum agree with
theory, a cell's run is that exact run, the map's regimes agree with diagnose where their rules
coincide, links round-trip with junk handled, and the figure stays small and clickable."""

import doctest
import json

import numpy as np
import plotly.io as pio
import pytest

from charts import maps as chart
from engine import descent, maps, surfaces, theory
from engine.diagnose import diagnose
from engine.scene import run_scene, scene_from_query, scene_to_query

PAYLOAD_LIMIT = 300_000  # bytes of Plotly JSON for a 128 x 128 map


@pytest.fixture(scope="module")
def boundary_map():
    """128 x 128 heavy-ball runs of 500 steps on the bowl with curvatures 1 and 10."""
    return maps.momentum_map(maps.MapConfig(surface="quadratic", params=(("a", 1.0), ("b", 10.0)),
                                            lo=1e-3, hi=1.0, n=128, rows=128, steps=500))


@pytest.fixture(scope="module")
def default_map():
    """The page's default: bowl 1 and 100, rates 1e-4 .. 0.1, beta 0 .. 0.99, 100 steps."""
    return maps.momentum_map(maps.MapConfig())


@pytest.fixture(scope="module")
def small_maps():
    """Small maps on surfaces with every regime between them (for cell-by-cell checks)."""
    configs = [
        maps.MapConfig(n=12, rows=8, steps=100),
        maps.MapConfig(surface="sharp_wide", params=(), lo=0.01, hi=3.0, n=12, rows=8, steps=120),
        maps.MapConfig(surface="rosenbrock", params=(("a", 1.0), ("b", 100.0)), lo=1e-4, hi=0.01,
                       n=10, rows=6, steps=300),
    ]
    return [maps.compute(c) for c in configs]


def test_measured_boundary_within_one_cell_of_two_one_plus_beta_over_l(boundary_map):
    m = boundary_map
    measured = maps.first_diverged(m.diverged)
    th = theory.quadratic(1.0, 10.0)
    expected = np.searchsorted(m.rates, [th.stable_below_momentum(b) for b in m.rows], side="right")
    ok = np.abs(measured - expected) <= 1
    assert ok.mean() >= 0.95, (ok.sum(), np.nonzero(~ok)[0])
    # the boundary is inside the map on every row, so this is not passing vacuously
    assert np.all((measured > 0) & (measured < len(m.rates)))
    # below the boundary (by more than a cell) nothing diverged, above it everything did
    cols = np.arange(len(m.rates))[None, :]
    assert not m.diverged[cols < expected[:, None] - 1].any()
    assert m.diverged[cols > expected[:, None] + 1].all()
    a = maps.agreement(m)
    assert a.boundary_ok == int(ok.sum()) and a.rows == 128
    assert f"within one grid cell of theory's 2(1+β)/L on {a.boundary_ok} of 128 rows" in \
        " ".join(maps.summary(m))


def test_heavy_ball_optimum_cell_within_two_cells_of_theory(default_map):
    m = default_map
    lr_star, beta_star = theory.quadratic(1.0, 100.0).best_momentum()
    assert m.theory_optimum == pytest.approx((lr_star, beta_star))
    i, j = m.best_cell
    assert m.tied == 1  # a single best cell, not a plateau of float32 zeros
    ti = int(np.argmin(np.abs(m.rows - beta_star)))
    tj = int(np.argmin(np.abs(np.log(m.rates) - np.log(lr_star))))
    assert max(abs(i - ti), abs(j - tj)) <= 2, ((i, j), (ti, tj))
    assert maps.agreement(m).optimum_cells == max(abs(i - ti), abs(j - tj))
    # and it really is the lowest final loss among the runs that did not diverge
    assert m.final_loss[i, j] == np.min(m.final_loss[~m.diverged])


def test_a_cell_is_that_exact_run(small_maps):
    for m in small_maps:
        surface = maps.map_surface(m.config)
        for i, j in [(0, 0), (m.shape[0] // 2, m.shape[1] // 2), (m.shape[0] - 1, m.shape[1] - 1),
                     (1, m.shape[1] - 2)]:
            t = maps.cell_run(m, i, j)
            assert float(t.lrs[0]) == pytest.approx(m.rates[j], rel=1e-7)
            assert (t.diverged_at is not None) == bool(m.diverged[i, j])
            if t.diverged_at is None:
                np.testing.assert_allclose(t.points[-1], m.final_points[i, j], rtol=1e-5, atol=1e-6)
            else:
                assert t.diverged_at == m.diverged_at[i, j]
            # the Playground link restores the same scene, and the Playground runs the same run
            scene = maps.cell_scene(m, i, j)
            again, warnings = scene_from_query(scene_to_query(scene))
            assert warnings == [] and again == scene
            _, sw, _ = run_scene(again)
            assert surface.name == again.build_surface().name
            np.testing.assert_array_equal(sw.points[0], t.points)


def test_map_regimes_agree_with_diagnose_where_their_rules_coincide(small_maps):
    seen = set()
    for m in small_maps:
        surface = maps.map_surface(m.config)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                d = diagnose(surface, maps.cell_run(m, i, j))
                r = m.regime(i, j)
                seen.add(r)
                assert (r == "diverged") == (d.regime.value == "diverged"), (m.config.surface, i, j)
                assert (r == "local minimum") == (d.regime.value == "local minimum")
                assert (r == "converged") == (d.converged and d.regime.value not in
                                              ("diverged", "local minimum"))
                if r == "oscillating":  # swinging at the end means overshoots on the path
                    assert d.regime.value == "oscillating" and d.overshoots >= 2
    assert seen == set(maps.REGIMES)  # the maps cover every regime, so each rule was tested


def test_the_end_window_replays_the_last_steps_of_the_runs(default_map):
    m = default_map
    surface = maps.map_surface(m.config)
    lr, beta = np.meshgrid(m.rates, m.rows)
    counts, ends = maps.end_window(surface, lr.ravel(), beta.ravel(), m.config.steps)
    live = ~m.diverged.ravel()
    np.testing.assert_allclose(ends[live], m.final_points.reshape(-1, 2)[live], atol=1e-4)
    codes = m.regimes.ravel()
    swinging = (codes == maps.CODE["oscillating"])
    assert np.all(counts[swinging] >= 2) and swinging.sum() > 100
    # near beta = 0.99 the runs have not settled and swing: the top row is mostly oscillating
    top = m.regimes[-1][~m.diverged[-1]]
    assert np.mean(top == maps.CODE["oscillating"]) > 0.5


def test_condition_map_boundary_best_rate_and_steps():
    m = maps.condition_map(maps.MapConfig(kind="condition", lo=1e-3, hi=1.0, n=96, rows=24,
                                          steps=400, curvature=10.0, kappa_max=100.0))
    a = maps.agreement(m)
    assert a.boundary_ok >= 0.95 * 24
    assert a.best_ok >= 0.9 * 24  # fewest steps next to 2/(L+mu), row by row
    assert m.rows[0] == pytest.approx(1.0) and m.rows[-1] == pytest.approx(100.0)
    for i in (0, 23):  # the bowls: the same L, mu = L / kappa
        s = maps.map_surface(m.config, i)
        assert s.params[1] == 10.0 and s.params[0] == pytest.approx(10.0 / m.rows[i], rel=1e-5)
    at_best, at_theory, predicted = maps.condition_steps(m)
    ok = np.isfinite(at_theory) & np.isfinite(predicted)
    assert ok.all()
    # the steps grow with conditioning, as theory's count does, and agree with it closely
    assert at_theory[-1] > 20 * at_theory[0] and np.all(np.diff(predicted) >= 0)
    assert np.all(np.abs(at_theory - predicted) <= np.maximum(2, 0.1 * predicted))
    np.testing.assert_array_equal(at_best, [m.steps_to_converge[i, b] for i, b in enumerate(m.best)])


def test_steps_to_converge_matches_diagnose():
    s = surfaces.quadratic(1.0, 10.0)
    sw = descent.sweep(s, [0.001, 0.05, 0.15, 0.19, 0.25], 200)
    got = maps.steps_to_converge(s, np.asarray(sw.points, np.float64), 0.004)
    want = [diagnose(s, t).steps_to_converge for t in sw]
    assert [None if np.isnan(g) else int(g) for g in got] == want
    assert want[0] is None and want[1] is not None


def test_batch_map_measures_the_largest_stable_rate_per_batch_size():
    m = maps.batch_map(maps.MapConfig(kind="batch", lo=0.1, hi=100.0, n=4, batch_sizes=(16, 256),
                                      seeds=1, steps=30))
    assert m.shape == (2, 4) and m.curves.shape == (1, 2, 4, 31)
    assert m.diverged[:, -1].all() and not m.diverged[:, 0].any()  # 100 blows up, 0.1 does not
    edges = maps.largest_stable(m)
    first = maps.first_diverged(m.diverged)
    assert edges == [float(m.rates[f - 1]) for f in first]
    assert "Largest rate with no seed diverging" in " ".join(maps.summary(m))


def test_links_round_trip_and_junk_gets_a_warning_and_the_default():
    for kind in maps.KINDS:
        c = maps.default_config(kind)
        assert maps.config_from_query(maps.config_to_query(c)) == (c, [])
    c, w = maps.config_from_query({"map": "volcano", "n": "lots", "steps": "-5", "lo": "1",
                                   "hi": "0.5", "surface": "moon", "blo": "0.9", "bhi": "0.1",
                                   "color": "plaid"})
    d = maps.default_config("momentum")
    assert (c.kind, c.n, c.steps, c.lo, c.hi, c.surface, c.beta_lo, c.beta_hi, c.color) == \
        ("momentum", d.n, maps.STEPS_MIN, d.lo, d.hi, "quadratic", d.beta_lo, d.beta_hi, "regime")
    text = " ".join(w)
    for fragment in ("Unknown map `volcano`", "`n=lots` is not a number", "`steps=-5` is outside",
                     "smallest rate (1) must be below the largest (0.5)", "Unknown surface `moon`",
                     "smallest momentum (0.9)", "Unknown colouring `plaid`"):
        assert fragment in text, (fragment, w)
    c, w = maps.config_from_query({"map": "batch", "bs": "8,abc,0,64", "seeds": "99"})
    assert c.batch_sizes == (8, 64) and c.seeds == maps.MAX_SEEDS and len(w) == 3
    c, w = maps.config_from_query({"map": "condition", "L": "10", "kmax": "5000"})
    assert c.kappa_max == 100.0 and "outside" in w[0]  # mu = L / kappa stays >= 0.1
    assert maps.config_from_query({"map": "momentum", "color": "steps"})[0].color == "regime"
    assert maps.parse_cell("3,4", (8, 8)) == (3, 4) and maps.parse_cell("x,1", (8, 8)) is None


def test_check_config_fixes_bad_values_with_messages():
    c, w = maps.check_config(maps.MapConfig(n=0, rows=500, steps=0, lo=-1.0))
    d = maps.MapConfig()
    assert (c.n, c.rows, c.steps, c.lo, c.hi) == (d.n, d.rows, d.steps, d.lo, d.hi) and len(w) == 4
    with pytest.raises(ValueError, match="rates"):
        maps.momentum_map(maps.MapConfig(n=1))


def test_grid_values_survive_a_link_exactly():
    rates = maps.rate_axis(1e-4, 0.1, 128)
    assert np.all(rates == maps.round_sig(rates)) and rates[0] == 1e-4 and rates[-1] == 0.1
    assert len(np.unique(rates)) == 128
    kappas = maps.condition_axis(maps.default_config("condition"))
    for k in kappas:
        s = maps.bowl(10.0, float(k))
        assert s.params[1] / s.params[0] == pytest.approx(k, rel=1e-12)


def test_map_figure_payload_is_at_most_300_kb(boundary_map):
    sizes = {color: len(pio.to_json(chart.map_figure(boundary_map, color, selected=(5, 7)),
                                    validate=False))
             for color in ("regime", "loss")}
    assert max(sizes.values()) <= PAYLOAD_LIMIT, sizes
    cond = maps.condition_map(maps.MapConfig(kind="condition", n=128, rows=128, steps=100))
    size = len(pio.to_json(chart.map_figure(cond, "steps"), validate=False))
    assert size <= PAYLOAD_LIMIT, size


def test_figure_cells_are_clickable_and_map_back_to_their_cell(small_maps):
    m = small_maps[0]
    fig = chart.map_figure(m, "regime", selected=(2, 3))
    spec = json.loads(pio.to_json(fig, validate=False))
    cells = [t for t in spec["data"] if t.get("name") == chart.CELL_TRACE_NAME]
    assert len(cells) == len(m.rates)
    for j, t in enumerate(cells):
        assert t["x0"] == j and t["dx"] == 0 and t["hovertemplate"].startswith(f"lr {m.rates[j]:.4g}")
    others = [t for t in spec["data"] if t.get("name") != chart.CELL_TRACE_NAME
              and t["type"] == "scatter" and t.get("x") not in ([None], None)]
    assert all(t.get("hoverinfo") == "skip" for t in others)  # only cells can be clicked
    # a click's selection point (as st.plotly_chart reports it) names its cell
    assert chart.cell_of(m, {"x": 3, "y": float(m.rows[2]), "point_index": 2, "curve_number": 40}) \
        == (2, 3)
    assert chart.cell_of(m, {"x": 3.4, "y": 0.1, "point_index": 2}) is None
    assert chart.cell_of(m, {"x": 99, "point_index": 2}) is None


def test_legend_does_not_rely_on_colour(default_map):
    spec = json.loads(pio.to_json(chart.map_figure(default_map, "regime"), validate=False))
    names = [t.get("name") for t in spec["data"] if t.get("showlegend", True)]
    hatched = [t for t in spec["data"] if t.get("name") == "diverged (hatched)"]
    assert hatched and hatched[0]["fillpattern"]["shape"] == "/"
    for regime in ("converged", "oscillating", "slow"):
        assert regime in names
    assert "theory: diverges above 2(1+β)/L" in names
    assert any(n and n.startswith("theory: fastest heavy ball") for n in names)
    assert "measured: lowest final loss" in names
    # the hatch covers exactly the diverged cells: one rectangle per run of them in a row
    xs = hatched[0]["x"]
    rects = [xs[k:k + 5] for k in range(0, len(xs), 6)]
    cells = sum(int(round(r[1] - r[0])) for r in rects)
    assert cells == int(default_map.diverged.sum())


def test_theory_boundary_line_is_drawn_where_theory_puts_it(boundary_map):
    m = boundary_map
    traces = chart.theory_traces(m)
    line = next(t for t in traces if t.get("name") == "theory: diverges above 2(1+β)/L")
    xs = np.array([np.nan if x is None else x for x in line["x"]], float)
    ys = np.array([np.nan if y is None else y for y in line["y"]], float)
    ok = np.isfinite(xs)
    want = chart.rate_position(m, 2 * (1 + ys[ok]) / 10.0)
    np.testing.assert_allclose(xs[ok], want)
    # position 0 is the first rate's column and n-1 the last's
    assert chart.rate_position(m, m.rates[[0, -1]]).tolist() == pytest.approx([0, 127])


@pytest.mark.parametrize("module", [maps, chart])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0
