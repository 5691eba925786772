"""Charts for a dark page: regions, maps and surfaces deeper than on a light page (no glaring
pale squares), animation controls not white, and the light page unchanged."""

import numpy as np

from charts import style
from charts.maps import REGIME_COLORS, map_figure, regime_colors
from charts.networks import boundary_figure
from engine.maps import MapConfig, momentum_map


def luminance(hex_color: str) -> float:
    """WCAG relative luminance of '#rrggbb'."""
    c = np.array([int(hex_color[k: k + 2], 16) for k in (1, 3, 5)]) / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def test_dark_regime_colours_are_deeper_and_still_distinct():
    dark = regime_colors(dark=True)
    assert regime_colors(dark=False) == REGIME_COLORS
    for r, c in REGIME_COLORS.items():
        assert luminance(dark[r]) < 0.6 * luminance(c), (r, c, dark[r])
        assert luminance(dark[r]) > luminance(style.DARK_PAGE), (r, dark[r])
    assert len(set(dark.values())) == len(dark)


def test_map_figure_uses_the_dark_colours():
    m = momentum_map(MapConfig(n=8, rows=6, steps=40))
    light = map_figure(m).to_dict()["data"][0]["colorscale"]
    dark = map_figure(m, dark=True).to_dict()["data"][0]["colorscale"]
    assert {c for _, c in dark} == set(regime_colors(dark=True).values())
    assert {c for _, c in light} == set(REGIME_COLORS.values())


def test_decision_regions_are_pale_on_light_and_deep_on_dark():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 2))
    y = (x[:, 0] > 0).astype(int)
    grid = np.linspace(-1, 1, 6)
    classes = np.zeros((2, 6, 6), int)
    classes[:, :, 3:] = 1
    for dark in (False, True):
        fig = boundary_figure(x, y, grid, grid, classes, np.array([0, 10]), dark=dark)
        fills = [c for _, c in fig.data[0].marker.colorscale]
        lum = [luminance(c) for c in fills]
        assert (min(lum) > 0.4) if not dark else (max(lum) < 0.15), (dark, fills)
        slider = fig.layout.sliders[0]
        assert slider.currentvalue.prefix == "step " and len(slider.steps) == 2
        if dark:
            assert luminance(slider.bgcolor) < 0.1 and luminance(fig.layout.updatemenus[0].bgcolor) < 0.1


def test_dark_surface_scale_stops_short_of_white():
    top = style.surface_colorscale(dark=True)[-1][1]
    assert luminance(top) < 0.5 < luminance(style.surface_colorscale()[-1][1])


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_neutral_lines_read_on_both_pages():
    assert contrast(style.NEUTRAL, "#ffffff") >= 3 and contrast(style.NEUTRAL, style.DARK_PAGE) >= 3


def test_grid_curve_is_not_black_on_a_dark_page():
    from charts.tuning import grid_figure

    rates = np.logspace(-3, 0, 8)
    fig = grid_figure(rates, np.linspace(1, 1e-3, 8), ["slow"] * 4 + ["converged"] * 4,
                      title="t", y_title="loss", best_index=5)
    curves = [t for t in fig.data if t.mode and "lines" in t.mode and t.line.color]
    assert curves and all(contrast(t.line.color, style.DARK_PAGE) >= 3 for t in curves
                          if t.line.color.startswith("#")), [t.line.color for t in curves]


def lightest(colors) -> float:
    """The largest luminance among '#rrggbb' colours."""
    return max(luminance(c) for c in colors)


def image_pixels(uri: str) -> np.ndarray:
    """(n, 3) RGB pixels of a figure's PNG data URI (the opaque ones)."""
    import base64
    import io

    from PIL import Image

    rgba = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGBA"))
    return rgba[rgba[..., 3] == 255][:, :3]


def pixel_luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ [0.2126, 0.7152, 0.0722]


def test_surface_image_is_darker_on_a_dark_page_and_unchanged_on_a_light_one():
    """The trajectory chart's surface (a PNG under the paths): on a dark page its lightest pixel
    (the high-loss background that fills most of the chart) is far darker; the light page's
    figure is the one a caller without ``dark`` gets, topped by the light scale's near-white."""
    from charts.playground import trajectory_spec
    from engine.scene import Scene, run_scene

    surface, sweep, _ = run_scene(Scene(surface="himmelblau", params=(), rates=(0.01,)))
    light = trajectory_spec(surface, sweep)
    dark = trajectory_spec(surface, sweep, dark=True)
    assert trajectory_spec(surface, sweep, dark=False) == light
    lum_light = pixel_luminance(image_pixels(light["layout"]["images"][0]["source"]))
    lum_dark = pixel_luminance(image_pixels(dark["layout"]["images"][0]["source"]))
    top = luminance(style.SURFACE_COLORSCALE[-1][1])
    assert abs(lum_light.max() - top) < 0.02, (lum_light.max(), top)  # the light scale, as before
    assert lum_dark.max() < 0.5 * lum_light.max(), (lum_dark.max(), lum_light.max())
    assert np.median(lum_dark) < np.median(lum_light)
    # the dark page's Play/Pause and slider are dark too; the light page keeps Plotly's own
    assert luminance(dark["layout"]["updatemenus"][0]["bgcolor"]) < 0.1
    assert "bgcolor" not in light["layout"]["updatemenus"][0]
    assert light["data"] == dark["data"] and light["frames"] == dark["frames"]  # only colours differ


def test_narrow_trajectory_puts_play_above_a_full_width_slider():
    """On a phone (narrow) Play/Pause get a row of their own above the step slider, which then
    spans the chart; the default (wide) layout is the one before: side by side."""
    from charts.playground import trajectory_spec
    from engine.scene import Scene, run_scene

    surface, sweep, _ = run_scene(Scene())
    wide = trajectory_spec(surface, sweep)["layout"]
    narrow = trajectory_spec(surface, sweep, narrow=True)["layout"]
    menu, slider = wide["updatemenus"][0], wide["sliders"][0]
    assert (menu["x"], menu["y"], slider["x"], slider["len"], slider["y"], wide["margin"]["b"]) == \
        (0.0, -0.2, 0.2, 0.8, -0.14, 120)
    menu, slider = narrow["updatemenus"][0], narrow["sliders"][0]
    assert slider["x"] == 0.0 and slider["len"] == 1.0
    assert menu["y"] > slider["y"]  # buttons above (both anchored at their top)
    assert narrow["margin"]["b"] > wide["margin"]["b"]


def test_map_regions_lightest_colour_is_darker_on_a_dark_page():
    m = momentum_map(MapConfig(n=8, rows=6, steps=40))
    light = map_figure(m).to_dict()
    dark = map_figure(m, dark=True).to_dict()
    lum_light = lightest(c for _, c in light["data"][0]["colorscale"])
    lum_dark = lightest(c for _, c in dark["data"][0]["colorscale"])
    assert lum_dark < 0.6 * lum_light, (lum_dark, lum_light)
    assert map_figure(m, dark=False).to_dict() == light  # the default is the light figure


def test_decision_regions_lightest_colour_is_darker_on_a_dark_page():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, (40, 2))
    y = (x[:, 1] > 0).astype(int) + (x[:, 0] > 0.5).astype(int)  # three classes
    grid = np.linspace(-1, 1, 5)
    classes = np.zeros((2, 5, 5), int)
    classes[:, 2:, :] = 1
    classes[:, :, 4] = 2
    steps = np.array([0, 20])
    light = boundary_figure(x, y, grid, grid, classes, steps)
    dark = boundary_figure(x, y, grid, grid, classes, steps, dark=True)
    lum_light = lightest(c for _, c in light.data[0].marker.colorscale)
    lum_dark = lightest(c for _, c in dark.data[0].marker.colorscale)
    assert lum_dark < 0.5 * lum_light, (lum_dark, lum_light)
    assert boundary_figure(x, y, grid, grid, classes, steps, dark=False).to_dict() == light.to_dict()


def test_finetune_figure_titles_wrap_on_a_phone_only():
    from types import SimpleNamespace

    from charts.networks import finetune_figure

    acc = np.array([[0.1, 0.5, 0.9], [0.2, 0.6, 0.8]])
    run = SimpleNamespace(b_acc=acc, a_acc=acc[::-1], rates=(0.01, 0.1), diverged_at=np.array([-1, -1]))
    wide = [a.text for a in finetune_figure(run).layout.annotations]
    narrow = finetune_figure(run, narrow=True)
    assert wide == ["task B accuracy (learning the new task)", "task A accuracy (what is kept)"]
    assert [a.text.replace("<br>", " ") for a in narrow.layout.annotations] == wide
    assert all("<br>" in a.text for a in narrow.layout.annotations)
    assert narrow.layout.margin.t > finetune_figure(run).layout.margin.t


def test_lesson_experiment_figures_follow_the_page_theme():
    """A lesson's surface experiment (read or presented) draws its surface and Play/Pause for the
    page's theme, as the Playground does: they were always the light ones (a pale square and a
    white slider bar on a dark slide, seen in a dark presenter screenshot)."""
    from engine.scene import Scene
    from ui.lesson_view import PRESENTER_CHART_HEIGHT, PRESENTER_CHART_PX, experiment_figures

    scene = Scene(surface="himmelblau", params=(), rates=(0.01, 0.02), steps=50)
    for size in ((430, None), (PRESENTER_CHART_HEIGHT, PRESENTER_CHART_PX)):
        light, _ = experiment_figures(scene, ["a", "b"], *size)
        dark, _ = experiment_figures(scene, ["a", "b"], *size, dark=True)
        light, dark = light.to_dict(), dark.to_dict()
        assert luminance(dark["layout"]["updatemenus"][0]["bgcolor"]) < 0.1
        assert "bgcolor" not in light["layout"]["updatemenus"][0]
        lum_light = pixel_luminance(image_pixels(light["layout"]["images"][0]["source"]))
        lum_dark = pixel_luminance(image_pixels(dark["layout"]["images"][0]["source"]))
        assert lum_dark.max() < 0.5 * lum_light.max()
