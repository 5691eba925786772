"""Charts readable by everyone (issue 10): run colours that stay apart under colour-vision
deficiencies, a second cue per run (dash pattern, marker), the rate written at each path's end,
log axes labelled with plain powers of ten (no SI prefixes, no labelled minor ticks), and loss
floors below every value a page prints.

Colour vision is simulated with Machado, Oliveira & Fernandes (2009), severity 1.0, applied in
linear RGB; colour differences are CIEDE2000 (Sharma, Wu & Dalal 2005), both in NumPy here.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import plotly.io as pio
import pytest

from charts import style
from charts.networks import finetune_figure, sharpness_figure, training_curves_figure
from charts.playground import loss_figure, step_size_figure, trajectory_figure
from charts.rate_sweep import rate_sweep_figure
from charts.tuning import grid_figure, loss_curves_figure, range_test_figure, rate_figure
from engine import surfaces
from engine.descent import sweep
from engine.scene import MAX_RATES

# ---------------------------------------------------------------------------
# Colour science: Machado 2009 dichromacy matrices and CIEDE2000
# ---------------------------------------------------------------------------

MACHADO = {  # severity 1.0, for linear RGB
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}
OLD_PALETTE = ("#ff4d4d", "#ffb000", "#e040fb", "#39d353")  # before issue 10
MIN_DISTANCE = 10.0  # CIEDE2000; about 2.3 is a just-noticeable difference


def srgb_to_linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def hex_to_linear(h: str) -> np.ndarray:
    h = h.lstrip("#")
    return srgb_to_linear(np.array([int(h[k: k + 2], 16) for k in (0, 2, 4)]) / 255.0)


def simulate(linear_rgb: np.ndarray, kind: str | None) -> np.ndarray:
    """Linear RGB as seen with ``kind`` (None: normal vision), clipped to the gamut."""
    if kind is None:
        return linear_rgb
    return np.clip(linear_rgb @ np.asarray(MACHADO[kind]).T, 0.0, 1.0)


def linear_to_lab(lin: np.ndarray) -> np.ndarray:
    """Linear sRGB -> CIELAB (D65)."""
    m = np.array([[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])
    xyz = lin @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1)."""
    (l1, a1, b1), (l2, a2, b2) = lab1, lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dlp, dcp = l2 - l1, c2p - c1p
    dhp = 0.0
    if c1p * c2p:
        dhp = h2p - h1p
        dhp -= 360 if dhp > 180 else 0
        dhp += 360 if dhp < -180 else 0
    big_dhp = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dhp / 2))
    lbp, cbp = (l1 + l2) / 2, (c1p + c2p) / 2
    if not c1p * c2p:
        hbp = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        hbp = (h1p + h2p) / 2
    else:
        hbp = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(hbp - 30)) + 0.24 * math.cos(math.radians(2 * hbp))
         + 0.32 * math.cos(math.radians(3 * hbp + 6)) - 0.20 * math.cos(math.radians(4 * hbp - 63)))
    d_theta = 30 * math.exp(-(((hbp - 275) / 25) ** 2))
    rc = 2 * math.sqrt(cbp ** 7 / (cbp ** 7 + 25.0 ** 7))
    sl = 1 + 0.015 * (lbp - 50) ** 2 / math.sqrt(20 + (lbp - 50) ** 2)
    sc, sh = 1 + 0.045 * cbp, 1 + 0.015 * cbp * t
    rt = -math.sin(math.radians(2 * d_theta)) * rc
    return math.sqrt((dlp / sl) ** 2 + (dcp / sc) ** 2 + (big_dhp / sh) ** 2
                     + rt * (dcp / sc) * (big_dhp / sh))


def closest_pair(palette, kind: str | None) -> tuple[float, tuple[str, str]]:
    """The smallest pairwise CIEDE2000 distance in ``palette`` as seen with ``kind``."""
    labs = {c: linear_to_lab(simulate(hex_to_linear(c), kind)) for c in palette}
    return min((ciede2000(labs[a], labs[b]), (a, b)) for a, b in itertools.combinations(palette, 2))


@pytest.mark.parametrize("lab1, lab2, expected", [  # Sharma, Wu & Dalal (2005), table 1
    ((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
    ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
    ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0009), 7.1792),
    ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
    ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082),
])
def test_ciede2000_matches_the_published_pairs(lab1, lab2, expected):
    assert ciede2000(lab1, lab2) == pytest.approx(expected, abs=1e-4)


def test_simulation_reproduces_the_collapse_reported_in_issue_10():
    """The measure tells palettes apart: the old colours collapse as issue 10 measured
    (deuteranopia red-green 6.8, protanopia amber-green 4.5)."""
    d, pair = closest_pair(OLD_PALETTE, "deuteranopia")
    assert d == pytest.approx(6.8, abs=0.05) and set(pair) == {"#ff4d4d", "#39d353"}
    p, pair = closest_pair(OLD_PALETTE, "protanopia")
    assert p == pytest.approx(4.5, abs=0.05) and set(pair) == {"#ffb000", "#39d353"}


@pytest.mark.parametrize("kind", [None, "protanopia", "deuteranopia", "tritanopia"])
def test_run_colours_stay_apart_under_colour_vision_deficiencies(kind):
    assert len(style.RATE_COLORS) >= MAX_RATES
    d, pair = closest_pair(style.RATE_COLORS, kind)
    assert d > MIN_DISTANCE, f"{kind or 'normal vision'}: {pair} only {d:.1f} apart"


def relative_luminance(h: str) -> float:
    return float(hex_to_linear(h) @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    la, lb = sorted([relative_luminance(a), relative_luminance(b)])
    return (lb + 0.05) / (la + 0.05)


@pytest.mark.parametrize("page", ["#ffffff", "#0e1117"])  # Streamlit's light and dark pages
def test_run_colours_have_graphics_contrast_on_light_and_dark_pages(page):
    for c in style.RATE_COLORS:
        assert contrast(c, page) >= 3.0, (c, page, contrast(c, page))  # WCAG 1.4.11


def test_each_run_has_its_own_dash_and_marker():
    n = len(style.RATE_COLORS)
    assert len(set(style.RATE_DASHES[:n])) == n and len(set(style.RATE_SYMBOLS[:n])) == n
    assert [style.dash(i) for i in range(n)] == list(style.RATE_DASHES[:n])
    assert [style.symbol(i) for i in range(n)] == list(style.RATE_SYMBOLS[:n])
    assert len({style.glyph(i) for i in range(n)}) == n


# ---------------------------------------------------------------------------
# The cues in the figures
# ---------------------------------------------------------------------------

RATES = [0.01, 0.05, 0.1, 0.19]


def _json(fig) -> dict:
    return json.loads(pio.to_json(fig, validate=False))


@pytest.fixture(scope="module")
def bowl():
    s = surfaces.quadratic()
    return s, sweep(s, RATES, 300)


def test_trajectory_paths_and_heads_carry_a_second_cue(bowl):
    s, sw = bowl
    fig = _json(trajectory_figure(s, sw))
    names = [f"lr = {r:g}" for r in RATES]
    paths = {d["name"]: d for d in fig["data"] if d.get("name") in names}
    assert len(paths) == 4
    cues = {(paths[n]["line"]["color"], paths[n]["line"]["dash"]) for n in names}
    assert cues == {(style.color(i), style.dash(i)) for i in range(4)}
    heads = fig["data"][-4:]
    assert [h["marker"]["symbol"] for h in heads] == [style.symbol(i) for i in range(4)]
    assert [h["marker"]["color"] for h in heads] == [style.color(i) for i in range(4)]
    # The legend keeps the runs' order though the paths are drawn longest first.
    ranks = [paths[n]["legendrank"] for n in names]
    assert ranks == sorted(ranks)


def test_shorter_paths_are_drawn_on_top(bowl):
    s, sw = bowl
    data = _json(trajectory_figure(s, sw))["data"]
    order = [d["name"] for d in data if d.get("name", "").startswith("lr = ")]
    lengths = {f"lr = {r:g}": float(np.sum(np.hypot(*np.diff(sw.points[i], axis=0).T)))
               for i, r in enumerate(RATES)}
    assert [lengths[n] for n in order] == sorted(lengths.values(), reverse=True)


def test_each_path_ends_with_its_rate_written_there(bowl):
    s, sw = bowl
    notes = _json(trajectory_figure(s, sw))["layout"]["annotations"]
    assert len(notes) == 4
    for i, (note, r) in enumerate(zip(notes, RATES, strict=True)):
        assert note["text"].endswith(f"lr = {r:g}") and style.glyph(i) in note["text"]
        assert (note["x"], note["y"]) == pytest.approx(tuple(sw.points[i, -1]))
        assert note["bordercolor"] == style.color(i) and note["showarrow"]
    # Runs that end at the same minimum put their labels on different sides of it.
    assert len({(n["ax"], n["ay"]) for n in notes}) == 4


def test_a_diverged_paths_label_sits_where_it_left_the_view():
    s = surfaces.quadratic()
    sw = sweep(s, [0.05, 0.3], 200)
    assert sw[1].diverged_at is not None
    note = _json(trajectory_figure(s, sw, labels=["slow", "fast"]))["layout"]["annotations"][1]
    (x0, x1), (y0, y1) = s.bounds
    assert note["text"].endswith("fast")
    assert x0 <= note["x"] <= x1 and y0 <= note["y"] <= y1


def test_line_charts_give_every_run_a_dash_and_an_end_marker(bowl):
    s, sw = bowl
    figs = [loss_figure(s, sw), step_size_figure(sw),
            loss_curves_figure([(f"lr = {r:g}", sw.losses[i]) for i, r in enumerate(RATES)],
                               "Loss", "loss"),
            rate_figure([(f"lr = {r:g}", np.full(10, r)) for r in RATES])]
    for fig in figs:
        runs = [d for d in _json(fig)["data"] if d.get("name", "").startswith("lr = ")]
        assert [d["line"]["dash"] for d in runs] == [style.dash(i) for i in range(4)]
        assert [d["line"]["color"] for d in runs] == [style.color(i) for i in range(4)]
        for i, d in enumerate(runs):
            if "marker" in d:  # the run's marker on its last point only
                assert d["marker"]["symbol"] == style.symbol(i)
                assert d["marker"]["size"][-1] > 0 and not any(d["marker"]["size"][:-1])


class _Run:  # the parts of engine.mlp's TrainRun / finetune's run the figures read
    def __init__(self, n=3, steps=20):
        t = np.arange(steps + 1)
        self.train_loss = np.stack([np.exp(-0.1 * (i + 1) * t) for i in range(n)])
        self.eval_loss = self.train_loss[:, None, :] * 1.1
        self.train_acc = self.eval_acc = np.clip(1 - self.train_loss, 0, 1)[:, None, :]
        self.train_acc = self.train_acc[:, 0]
        self.a_acc = self.b_acc = self.train_acc
        self.rates = [0.01, 0.1, 1.0][:n]
        self.diverged_at = np.array([-1] * (n - 1) + [5])


def test_network_figures_use_the_run_cues():
    run = _Run()
    for fig in (training_curves_figure(run, run.rates), finetune_figure(run)):
        runs = [d for d in _json(fig)["data"] if d.get("mode") == "lines+markers"]
        firsts = {}
        for d in runs:
            firsts.setdefault(d["name"], d)
        assert [(d["line"]["dash"], d["marker"]["symbol"]) for d in firsts.values()] == [
            (style.dash(i), style.symbol(i)) for i in range(3)]
    steps = np.arange(0, 21, 5)
    sharp = np.array([[1.0, 2, 3, 4, 5], [1, 5, 9, 12, 15], [1, 2, 2, 2, 2]])
    data = _json(sharpness_figure(steps, sharp, run.rates, run.diverged_at))["data"]
    assert [d["marker"]["symbol"] for d in data[::2]] == [style.symbol(i) for i in range(3)]
    assert {d["line"]["dash"] for d in data[1::2]} == {"longdashdot"}  # limits: no run's dash
    assert "longdashdot" not in style.RATE_DASHES


# ---------------------------------------------------------------------------
# Log axes: plain powers of ten, no SI prefixes, unlabelled minor ticks
# ---------------------------------------------------------------------------

SI = re.compile(r"[0-9.]\s*[yzafpnµumkMGTPEZY]$")
_SUP = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")


def label_value(text: str) -> float:
    """The number a tick label writes: '0.05', '10⁻⁴', '2×10⁻⁷'."""
    text = text.translate(_SUP)
    if "×10" in text:
        m, k = text.split("×10")
        return float(m) * 10.0 ** int(k)
    if text.startswith("10") and text != "10":
        return 10.0 ** int(text[2:])
    return float(text)


def log_axes(fig: dict) -> list[tuple[str, dict]]:
    return [(k, v) for k, v in fig["layout"].items()
            if re.fullmatch(r"[xy]axis\d*", k) and v.get("type") == "log"]


def check_log_axis(name: str, axis: dict) -> None:
    assert axis.get("exponentformat") in ("power", "e"), (name, axis)  # Plotly's default "B" is SI
    if axis.get("tickmode") == "array":
        texts, vals = axis["ticktext"], axis["tickvals"]
        assert texts and len(texts) == len(vals)
        for t, v in zip(texts, vals, strict=True):
            assert not SI.search(t), (name, t)
            # every label is the tick's whole value (never a bare mantissa such as "5")
            assert label_value(t) == pytest.approx(v, rel=1e-9), (name, t, v)
    else:
        # majors at powers of ten only: an integer number of decades apart, from 10⁰
        assert axis.get("tickmode") == "linear" and axis.get("tick0") == 0, (name, axis)
        assert isinstance(axis["dtick"], int) and axis["dtick"] >= 1, (name, axis)
    # minor ticks are marks only (Plotly never labels them), between the majors
    assert axis["minor"]["ticks"] == "outside"


def all_log_figures() -> dict[str, dict]:
    s = surfaces.quadratic()
    sw = sweep(s, [0.01, 0.1, 0.19, 0.25], 1000)
    rates = np.logspace(-4, 1, 40)
    values = np.concatenate([np.linspace(500, 5, 20), np.linspace(5, 1e-9, 20)])
    regimes = ["slow"] * 10 + ["converged"] * 20 + ["diverged"] * 10
    run = _Run()

    class _Test:
        lrs = np.logspace(-5, 0, 50)
        raw = smoothed = np.linspace(2.3, 0.4, 50)
        skip, steepest, steepest_index, min_lr_10, min_index = 3, 1e-3, 20, 1e-2, 40

    figs = {
        "playground loss": loss_figure(s, sw),
        "playground step size": step_size_figure(sw),
        "schedules loss": loss_curves_figure([("a", sw.losses[0]), ("b", sw.losses[1])], "L", "loss"),
        "grid": grid_figure(rates, values, regimes, title="g", y_title="loss", best_index=20),
        "grid seeds": grid_figure(rates, np.stack([values, values * 2]), regimes, title="g",
                                  y_title="loss"),
        "range test": range_test_figure([_Test()]),
        "lesson sweep": rate_sweep_figure(rates, np.arange(40.0), values, regimes),
        "network curves": training_curves_figure(run, run.rates),
    }
    return {k: _json(f) for k, f in figs.items()}


def test_every_log_axis_labels_plain_powers_of_ten():
    figs = all_log_figures()
    seen = 0
    for name, fig in figs.items():
        axes = log_axes(fig)
        assert axes, f"{name}: no log axis"
        for axis_name, axis in axes:
            check_log_axis(f"{name} {axis_name}", axis)
            seen += 1
    assert seen >= 11


def test_log_axis_choice_of_ticks():
    wide = style.log_axis(np.logspace(-45, 0, 10))
    assert wide["dtick"] == 6 and wide["minor"]["dtick"] == 1  # at most 8 labelled decades
    few = style.log_axis([0.001, 0.2])
    assert few["dtick"] == 1 and few["minor"]["dtick"] == "D1"
    narrow = style.log_axis([0.07, 0.6])  # less than two powers of ten inside: 1-2-5 in full
    assert narrow["tickmode"] == "array" and narrow["ticktext"] == ["0.05", "0.1", "0.2", "0.5"]
    tiny = style.log_axis([3e-7, 9e-7])
    assert tiny["ticktext"] == ["2×10⁻⁷", "5×10⁻⁷", "10⁻⁶"]
    assert style.tick_text(1e-4) == "0.0001" and style.tick_text(1e5) == "10⁵"
    assert style.power_text(-4) == "10⁻⁴" and style.power_text(0) == "1"


# ---------------------------------------------------------------------------
# Floors: below every value a page prints, and said when used
# ---------------------------------------------------------------------------


def test_log_floor_is_below_every_positive_value():
    assert style.log_floor([0.0, 2.3e-13, 0.5]) == 1e-14
    assert style.log_floor([2.3e-17, -1.0]) == 1e-18
    assert style.log_floor([1e-45, 0.0]) == style.LOSS_FLOOR  # float32's smallest positive
    assert style.log_floor([0.0, np.nan]) == 1e-12  # nothing positive: the default
    ys, raised = style.floored([0.0, 2.3e-17, np.inf, -3.0], 1e-18)
    assert ys == [1e-18, 2.3e-17, None, 1e-18] and raised


def test_lesson_sweep_shows_a_distance_of_2_3e_17_and_says_where_zero_is():
    rates = np.logspace(-2, 0, 5)
    distance = np.array([0.3, 2.3e-17, 0.0, 1e-3, np.inf])
    fig = _json(rate_sweep_figure(rates, [50.0, 12, 9, 80, np.inf], distance,
                                  ["slow", "converged", "converged", "oscillating", "diverged"]))
    bottom = next(d for d in fig["data"] if d.get("name", "").startswith("mean distance"))
    assert bottom["y"] == [0.3, 2.3e-17, 1e-18, 1e-3, None]  # true value shown, 0 at the floor
    notes = [a["text"] for a in fig["layout"]["annotations"]]
    assert "0 or below is drawn at 10⁻¹⁸" in notes


def test_playground_loss_chart_draws_every_loss_the_table_can_print():
    """Issue 10: the chart floored losses at 1e-12 while the text printed 2.3e-13 or smaller.
    Now every positive loss of the run is drawn at its own value."""
    s = surfaces.quadratic()
    sw = sweep(s, [0.1, 0.15], 1000)
    fig = _json(loss_figure(s, sw))
    for i, trace in enumerate(t for t in fig["data"] if t.get("name")):
        gap = np.asarray(sw.losses[i] - s.global_value, np.float64)
        y = np.asarray(trace["y"], np.float64)
        positive = gap > 0
        assert gap[positive].min() < 1e-12  # these runs go below the old floor
        np.testing.assert_allclose(y[positive], gap[positive], rtol=1e-6)
        assert (~positive).any() and np.all(y[~positive] < gap[positive].min())  # zeros: below
    # float32 flushes to 0 below about 1.2e-38: the zeros are drawn a decade under the smallest
    # positive loss, and the chart says where.
    assert [a["text"] for a in fig["layout"]["annotations"]] == ["0 or below is drawn at 10⁻³⁹"]


def test_end_labels_point_away_from_each_other():
    from charts.playground import end_label_offsets

    same = end_label_offsets(np.zeros((4, 2)))  # four runs settle in one minimum
    assert sorted((ax > 0, ay > 0) for ax, ay in same) == [(False, False), (False, True),
                                                          (True, False), (True, True)]
    apart = end_label_offsets(np.array([[-0.1, 0.0], [0.0, 0.0]]))  # the left end: label left
    assert apart[0][0] < 0 < apart[1][0]
    three = end_label_offsets(np.array([[0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]))
    assert len(set(three)) == 3


def test_end_labels_point_inwards_from_the_edges():
    """A label is not drawn out of the chart: from the outer quarter of the view it points
    inwards, and near the top or bottom all labels on that side stack towards the middle."""
    from charts.playground import end_label_offsets

    bounds = ((-1.0, 1.0), (-1.0, 1.0))
    # two runs ending at the right edge (rank alone would send one of them right, out of view)
    right = end_label_offsets(np.array([[0.9, 0.0], [0.95, 0.0]]), bounds)
    assert all(ax < 0 for ax, _ in right) and len(set(right)) == 2
    left = end_label_offsets(np.array([[-0.9, 0.0], [-0.95, 0.0]]), bounds)
    assert all(ax > 0 for ax, _ in left) and len(set(left)) == 2
    top = end_label_offsets(np.array([[0.0, 0.95]] * 3), bounds)  # ay > 0: downwards
    assert all(ay > 0 for _, ay in top) and len(set(top)) == 3
    bottom = end_label_offsets(np.array([[0.0, -0.95]] * 3), bounds)
    assert all(ay < 0 for _, ay in bottom) and len(set(bottom)) == 3
    # in the middle, the rank rule stays (labels of runs ending together point apart)
    middle = end_label_offsets(np.zeros((2, 2)), bounds)
    assert middle[0][0] * middle[1][0] < 0


def simulate_screenshots(prefix: str, *images: str) -> None:
    """Write ``{prefix}-{protanopia,deuteranopia,tritanopia}.png``: the images stacked and seen
    with each deficiency (the docs/colour-vision-*.png files were made so, from the Playground's
    trajectory and loss charts)."""
    from PIL import Image

    ims = [Image.open(p).convert("RGB") for p in images]
    sheet = Image.new("RGB", (max(i.width for i in ims), sum(i.height for i in ims)), "white")
    y = 0
    for im in ims:
        sheet.paste(im, (0, y))
        y += im.height
    lin = srgb_to_linear(np.asarray(sheet, np.float64) / 255)
    for kind, m in MACHADO.items():
        seen = np.clip(lin @ np.asarray(m).T, 0, 1)
        srgb = np.where(seen <= 0.0031308, 12.92 * seen, 1.055 * seen ** (1 / 2.4) - 0.055)
        out = Image.fromarray(np.round(srgb * 255).astype(np.uint8))
        out.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(f"{prefix}-{kind}.png",
                                                                        optimize=True)


if __name__ == "__main__":  # python tests/test_chart_style.py docs/colour-vision a.png b.png
    import sys

    simulate_screenshots(sys.argv[1], *sys.argv[2:])
