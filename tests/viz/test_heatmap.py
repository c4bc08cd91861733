"""Heat maps: quantization, blending over the anatomy, colorbar."""

import numpy as np
import pytest

from brainseg.viz import CaseRenderer, ViewOptions, render_view
from brainseg.viz.heatmap import HEAT_OPACITY, HeatVolume, blend_heat, colorbar_html, colormap_lut


def test_values_are_quantized_over_the_given_range():
    values = np.array([-0.5, 0.0, 0.5, 1.0, 2.0, np.nan], np.float32).reshape(6, 1, 1)
    heat = HeatVolume.from_values(values, "semantic attention", 0.0, 1.0)
    assert heat.levels.ravel().tolist() == [0, 0, 128, 255, 255, 0]
    assert heat.levels.dtype == np.uint8
    auto = HeatVolume.from_values(np.array([0.0, 0.1, 0.2], np.float32).reshape(3, 1, 1), "uncertainty")
    assert (auto.low, auto.high) == (0.0, pytest.approx(0.2)) and auto.levels.ravel().tolist() == [0, 128, 255]
    flat = HeatVolume.from_values(np.zeros((2, 2, 2)), "empty")
    assert flat.high == 1.0 and not flat.levels.any()


def test_bad_maps_are_refused():
    with pytest.raises(ValueError, match=r"must be an \(X, Y, Z\) array"):
        HeatVolume.from_values(np.zeros((2, 2)), "x")
    with pytest.raises(ValueError, match="needs low < high"):
        HeatVolume.from_values(np.zeros((2, 2, 2)), "x", 1.0, 1.0)
    with pytest.raises(ValueError, match="unknown colormap 'nope'"):
        colormap_lut("nope")


def test_zero_leaves_the_image_and_one_blends_at_full_weight():
    rgb = np.full((1, 2, 3), 100, np.uint8)
    levels = np.array([[0, 255]], np.uint8)
    lut = np.zeros((256, 3), np.uint8)
    lut[255] = (255, 0, 0)
    out = blend_heat(rgb, levels, lut, opacity=HEAT_OPACITY)
    assert tuple(out[0, 0]) == (100, 100, 100)
    assert tuple(out[0, 1]) == tuple(np.rint(100 + HEAT_OPACITY * (np.array([255, 0, 0]) - 100)).astype(int))


def test_inferno_runs_from_black_to_pale_yellow():
    lut = colormap_lut()
    assert lut.shape == (256, 3) and lut.dtype == np.uint8
    assert lut[0].max() < 10 and lut[255][0] > 240 and lut[255][2] < 180


def test_heat_views_follow_the_display_convention():
    grey = np.zeros((4, 4, 4), np.uint8)
    values = np.zeros((4, 4, 4), np.float32)
    values[3, 3, 1] = 1.0  # axial row 3 - y = 0, column 3 - x = 0
    heat = HeatVolume.from_values(values, "x", 0.0, 1.0)
    image = render_view(grey, "axial", (0, 0, 1), (1, 1, 1), 1.0, options=_plain(), heat=heat)
    lit = np.argwhere(image.any(axis=2))
    assert lit.tolist() == [[0, 0]]
    renderer = CaseRenderer(np.ones((4, 4, 4, 4), np.float32), (1, 1, 1), max_size=16)
    with pytest.raises(ValueError, match="heat map"):
        renderer.render("axial", (0, 0, 0), "T1", heat=HeatVolume.from_values(np.zeros((2, 2, 2)), "x"))


def _plain():
    return ViewOptions(crosshair=False, letters=False, interpolation="nearest")


def test_colorbar_names_the_map_and_its_range():
    heat = HeatVolume.from_values(np.linspace(0, 0.4, 8, dtype=np.float32).reshape(2, 2, 2), "uncertainty <0>")
    html = colorbar_html(heat)
    assert "uncertainty &lt;0&gt;" in html
    assert "<span>0.00</span><span>0.20</span><span>0.40</span>" in html
    assert html.count("rgb(") == 11
