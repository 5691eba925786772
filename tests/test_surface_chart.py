"""charts.surface on a surface undefined on part of its box: blank there (alpha 0), colours and
contour levels from the finite values only, and no warning (pytest turns warnings into errors)."""

from __future__ import annotations

import base64
import doctest
import io

import numpy as np
import pytest
from PIL import Image

import charts.surface
from charts.playground import surface_background, trajectory_figure
from charts.surface import contour_lines, image_rgba, image_uri, log_gap
from engine import descent, surfaces
from engine.grid import loss_grid


def _png(uri: str) -> Image.Image:
    assert uri.startswith("data:image/png;base64,")
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


@pytest.fixture(scope="module")
def xlogx():
    """x*log(x) + y**2 on x in [-1, 2]: NaN left of 0 (about a third of the box)."""
    s = surfaces.custom("x*log(x) + y**2", bounds=((-1, 2), (-2, 2)))
    xs, ys, z = loss_grid(s)
    return s, xs, ys, z


def test_docstring_examples():
    assert doctest.testmod(charts.surface).failed == 0


def test_non_finite_region_is_transparent_and_the_rest_keeps_its_colours(xlogx):
    s, xs, ys, z = xlogx
    bad = ~np.isfinite(z)
    assert 0.25 < bad.mean() < 0.45  # the measured share: x < 0 of x in [-1, 2]
    im = _png(image_uri(z, s.global_value))
    assert im.mode == "RGBA" and im.size == (len(xs), len(ys))
    rgba = np.asarray(im)[::-1]  # back to row 0 = y min, like z
    assert np.array_equal(rgba[..., 3] == 0, bad)
    assert (rgba[~bad, 3] == 255).all()
    # colours spread over the finite values: many distinct ones, both ends of the scale used
    colours = {tuple(c) for c in rgba[~bad, :3].reshape(-1, 3)}
    assert len(colours) > 100, len(colours)
    lum = rgba[~bad, :3].astype(int).sum(axis=-1)
    assert lum.max() - lum.min() > 400


def test_a_finite_surface_is_unchanged_an_opaque_rgb_image():
    s = surfaces.quadratic()
    xs, ys, z = loss_grid(s)
    im = _png(image_uri(z, s.global_value))
    assert im.mode == "RGB"
    assert len({tuple(c) for c in np.asarray(im).reshape(-1, 3)}) > 100


def test_an_all_non_finite_grid_gives_a_transparent_image_and_no_lines():
    z = np.full((20, 30), np.nan)
    z[::3] = np.inf
    im = _png(image_uri(z, 0.0))
    assert im.mode == "RGBA" and im.size == (30, 20)
    assert (np.asarray(im)[..., 3] == 0).all()
    xs, ys = np.linspace(0, 1, 30), np.linspace(0, 1, 20)
    assert contour_lines(xs, ys, z, 0.0) == ([], [])
    assert np.isnan(log_gap(z, 0.0)).all()


def test_contour_lines_stop_at_the_blank_region(xlogx):
    s, xs, ys, z = xlogx
    lx, ly = contour_lines(xs, ys, z, s.global_value)
    pts = np.array([(a, b) for a, b in zip(lx, ly, strict=True) if a is not None])
    assert len(pts) > 100  # there are lines (the old code drew none on this surface)
    assert pts[:, 0].min() >= -0.02  # none crosses into x < 0, where f is NaN
    # levels spread over the finite values: lines reach both near the minimum and far from it
    assert pts[:, 0].max() > 1.5 and np.abs(pts[:, 1]).max() > 1.5


def test_a_few_infinities_do_not_flatten_the_colours():
    xs = np.linspace(-1, 1, 50)
    gx, gy = np.meshgrid(xs, xs)
    z = gx**2 + gy**2
    z[0, 0], z[5, 7], z[-1, -1] = np.inf, -np.inf, np.nan
    rgba = image_rgba(z, 0.0)
    assert (rgba[..., 3] == 0).sum() == 3
    assert len({tuple(c) for c in rgba[rgba[..., 3] == 255, :3]}) > 50


def test_trajectory_figure_draws_a_custom_surface_with_blanks(xlogx):
    s = xlogx[0]
    sw = descent.sweep(s, [0.05, 3.0], 100, start=(1.5, 1.0))
    uri, lx, ly = surface_background(s)
    assert _png(uri).mode == "RGBA" and len(lx) > 100
    fig = trajectory_figure(s, sw)
    assert fig.layout.images[0].source == uri
    assert "NaN" not in fig.to_json()
