"""render_view and CaseRenderer: sizes, overlay on the right voxels, validation."""

import numpy as np
import pytest

from brainseg.labels import ED, ET, NCR
from brainseg.viz import PLANES, REGION_COLORS, CaseRenderer, ViewOptions, render_view

PLAIN = ViewOptions(crosshair=False, letters=False, interpolation="nearest")


def test_brats_size_views():
    volume = np.zeros((240, 240, 155), np.uint8)
    shapes = {plane: render_view(volume, plane, (120, 120, 77), (1, 1, 1), 2.0).shape for plane in PLANES}
    assert shapes == {"axial": (480, 480, 3), "coronal": (310, 480, 3), "sagittal": (310, 480, 3)}
    framed = render_view(volume, "sagittal", (120, 120, 77), (1, 1, 1), 2.0, canvas=(480, 480))
    assert framed.shape == (480, 480, 3) and framed.dtype == np.uint8


def test_truth_overlay_colours_exactly_the_labelled_voxels():
    grey = np.full((4, 4, 4), 60, np.uint8)
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[3, 3, 2], labels[0, 0, 2], labels[2, 1, 2] = NCR, ED, ET
    options = ViewOptions(opacity=1.0, crosshair=False, letters=False, interpolation="nearest")
    image = render_view(grey, "axial", (0, 0, 2), (1, 1, 1), 1.0, labels, options)  # 1 pixel per voxel
    # Axial: row = 3 - y, column = 3 - x.
    assert tuple(image[0, 0]) == REGION_COLORS["NCR"]
    assert tuple(image[3, 3]) == REGION_COLORS["ED"]
    assert tuple(image[2, 1]) == REGION_COLORS["ET"]
    labelled = np.zeros((4, 4), bool)
    labelled[[0, 3, 2], [0, 3, 1]] = True
    assert np.all(image[~labelled] == 60)
    hidden = render_view(grey, "axial", (0, 0, 2), (1, 1, 1), 1.0, labels, ViewOptions(opacity=0.0, **_plain()))
    assert np.all(hidden == 60)


def _plain():
    return {"crosshair": False, "letters": False, "interpolation": "nearest"}


def test_crosshair_passes_through_the_cursor():
    grey = np.zeros((10, 10, 10), np.uint8)
    options = ViewOptions(crosshair=True, letters=False, interpolation="nearest")
    image = render_view(grey, "axial", (7, 2, 5), (1, 1, 1), 1.0, options=options)
    lit = image[:, :, 1] > 0
    # The horizontal line runs along row 9 - y = 7, the vertical one along column 9 - x = 2, with a gap
    # of 6 pixels around the crossing.
    assert set(np.flatnonzero(lit.any(axis=1))) == {0, 7}
    assert set(np.flatnonzero(lit.any(axis=0))) == {2, 9}
    assert lit[7, 9] and lit[0, 2] and not lit[7, 2]


def test_orientation_letters_sit_on_each_edge():
    grey = np.zeros((240, 240, 155), np.uint8)
    image = render_view(grey, "coronal", (120, 120, 77), (1, 1, 1), 2.0, options=ViewOptions(crosshair=False))
    height, width = image.shape[:2]
    white = image[:, :, 0] > 200
    assert white[height // 2 - 15 : height // 2 + 15, :30].any()  # R
    assert white[height // 2 - 15 : height // 2 + 15, -30:].any()  # L
    assert white[:30, width // 2 - 15 : width // 2 + 15].any()  # S
    assert white[-30:, width // 2 - 15 : width // 2 + 15].any()  # I
    assert not white[40:-40, 40:-40].any()


def test_bad_arguments_are_refused():
    grey = np.zeros((4, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="outside the volume"):
        render_view(grey, "axial", (0, 0, 4), (1, 1, 1), 1.0)
    with pytest.raises(ValueError, match="uint8"):
        render_view(grey.astype(np.float32), "axial", (0, 0, 0), (1, 1, 1), 1.0)
    with pytest.raises(ValueError, match="do not match"):
        render_view(grey, "axial", (0, 0, 0), (1, 1, 1), 1.0, labels=np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match="interpolation"):
        ViewOptions(interpolation="cubic")


def test_case_renderer_views_share_one_canvas_and_follow_the_sequence():
    rng = np.random.default_rng(1)
    images = np.zeros((4, 24, 20, 12), np.float32)
    images[:, 4:20, 4:16, 2:10] = rng.uniform(100, 200, (4, 16, 12, 8))  # a different texture per sequence
    truth = np.zeros((24, 20, 12), np.uint8)
    truth[10:14, 8:12, 4:8] = ED
    renderer = CaseRenderer(images, (1.0, 1.0, 2.0), truth)
    assert renderer.pixels_per_mm == pytest.approx(20.0)  # the longest extent is 24 mm
    assert renderer.canvas == (480, 480)
    views = renderer.render_all((12, 10, 6), "T2", PLAIN)
    assert {plane: view.shape for plane, view in views.items()} == {plane: (480, 480, 3) for plane in PLANES}
    assert not np.array_equal(views["axial"], renderer.render("axial", (12, 10, 6), "T1", PLAIN))
    with pytest.raises(ValueError, match="unknown sequence 'PD'"):
        renderer.render("axial", (0, 0, 0), "PD")


def test_outline_labels_and_difference_replace_the_label_layers():
    from brainseg.viz.overlay import DIFFERENCE_COLORS, FALSE_NEGATIVE

    grey = np.full((4, 4, 4), 60, np.uint8)
    labels = np.zeros((4, 4, 4), np.uint8)
    truth = np.zeros((4, 4, 4), np.uint8)
    labels[3, 3, 2] = NCR  # axial pixel (0, 0)
    truth[0, 0, 2] = ET  # axial pixel (3, 3)
    options = ViewOptions(opacity=1.0, outline=("ET",), **_plain())
    image = render_view(grey, "axial", (0, 0, 2), (1, 1, 1), 1.0, labels, options, outline_labels=truth)
    assert tuple(image[0, 0]) == REGION_COLORS["NCR"]  # the fill comes from labels
    assert tuple(image[3, 3]) == REGION_COLORS["ET"]  # the outline from the truth
    codes = np.zeros((4, 4, 4), np.uint8)
    codes[0, 0, 2] = FALSE_NEGATIVE
    image = render_view(grey, "axial", (0, 0, 2), (1, 1, 1), 1.0, labels, options, difference=codes)
    assert tuple(image[3, 3]) == DIFFERENCE_COLORS[FALSE_NEGATIVE]
    assert tuple(image[0, 0]) == (60, 60, 60)  # the label fill is replaced by the difference
    with pytest.raises(ValueError, match="difference"):
        render_view(grey, "axial", (0, 0, 2), (1, 1, 1), 1.0, difference=codes[:2])
