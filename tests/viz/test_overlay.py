"""Label overlays: exact colours on labelled pixels, everything else untouched."""

import numpy as np
import pytest

from brainseg.labels import ED, ET, NCR
from brainseg.viz import FILL_REGIONS, OUTLINE_REGIONS, REGION_COLORS, blend_labels, draw_outlines
from brainseg.viz.overlay import draw_crosshair, region_outline


@pytest.fixture
def scene():
    rgb = np.full((6, 6, 3), 100, np.uint8)
    labels = np.zeros((6, 6), np.uint8)
    labels[1, 1], labels[2, 2], labels[3, 3] = NCR, ED, ET
    return rgb, labels


def test_one_colour_table_covers_every_drawable_region():
    assert set(FILL_REGIONS) == {"NCR", "ED", "ET"}
    assert set(OUTLINE_REGIONS) == {"WT", "TC", "ET"}
    assert set(REGION_COLORS) == {"NCR", "ED", "ET", "WT", "TC"}
    assert len(set(REGION_COLORS.values())) == len(REGION_COLORS)


def test_full_opacity_paints_exact_region_colours(scene):
    rgb, labels = scene
    out = blend_labels(rgb, labels, FILL_REGIONS, 1.0)
    assert tuple(out[1, 1]) == REGION_COLORS["NCR"]
    assert tuple(out[2, 2]) == REGION_COLORS["ED"]
    assert tuple(out[3, 3]) == REGION_COLORS["ET"]
    untouched = labels == 0
    np.testing.assert_array_equal(out[untouched], rgb[untouched])
    assert np.all(rgb == 100)  # the input is not modified


def test_zero_opacity_leaves_the_image_unchanged(scene):
    rgb, labels = scene
    np.testing.assert_array_equal(blend_labels(rgb, labels, FILL_REGIONS, 0.0), rgb)


def test_half_opacity_mixes_grey_and_colour(scene):
    rgb, labels = scene
    out = blend_labels(rgb, labels, ["NCR"], 0.5)
    r, g, b = REGION_COLORS["NCR"]  # (235, 64, 52) over grey 100: halfway, rounded
    assert tuple(out[1, 1]) == (round(100 + (r - 100) / 2), round(100 + (g - 100) / 2), round(100 + (b - 100) / 2))
    assert tuple(out[1, 1]) == (168, 82, 76)


def test_only_chosen_regions_are_filled(scene):
    rgb, labels = scene
    out = blend_labels(rgb, labels, ["ET"], 1.0)
    assert tuple(out[3, 3]) == REGION_COLORS["ET"]
    assert tuple(out[1, 1]) == (100, 100, 100)
    assert tuple(out[2, 2]) == (100, 100, 100)


def test_outlines_follow_the_nested_regions():
    rgb = np.zeros((9, 9, 3), np.uint8)
    labels = np.zeros((9, 9), np.uint8)
    labels[1:8, 1:8] = ED  # WT is 7x7; TC (NCR + ET) is the 3x3 centre
    labels[3:6, 3:6] = NCR
    labels[4, 4] = ET
    out = draw_outlines(rgb, labels, ["WT", "TC"])
    wt_ring = region_outline(labels > 0)
    assert wt_ring.sum() == 24  # perimeter of a 7x7 square
    assert np.all(out[wt_ring] == REGION_COLORS["WT"])
    tc_ring = region_outline(np.isin(labels, (NCR, ET)))
    assert tc_ring.sum() == 8
    assert np.all(out[tc_ring] == REGION_COLORS["TC"])
    assert tuple(out[4, 4]) == (0, 0, 0)  # inside TC: no outline
    assert tuple(out[2, 2]) == (0, 0, 0)  # between the two outlines


def test_thick_outlines_grow_inwards():
    mask = np.zeros((9, 9), bool)
    mask[1:8, 1:8] = True
    band = region_outline(mask, thickness=2)
    assert band.sum() == 49 - 9  # the 7x7 square minus its 3x3 core
    assert not band[4, 4] and band[2, 2] and not band[0, 0]
    with pytest.raises(ValueError, match="at least 1 pixel"):
        region_outline(mask, thickness=0)


def test_unknown_regions_are_refused(scene):
    rgb, labels = scene
    with pytest.raises(ValueError, match="expected some of: NCR, ED, ET"):
        blend_labels(rgb, labels, ["WT"], 0.5)
    with pytest.raises(ValueError, match="expected some of: WT, TC, ET"):
        draw_outlines(rgb, labels, ["ED"])
    with pytest.raises(ValueError, match="opacity"):
        blend_labels(rgb, labels, ["ET"], 1.5)


def test_crosshair_leaves_a_gap_at_the_crossing():
    rgb = np.zeros((21, 21, 3), np.uint8)
    draw_crosshair(rgb, 10, 10, color=(200, 0, 0), opacity=1.0, gap=3)
    assert tuple(rgb[10, 0]) == (200, 0, 0)
    assert tuple(rgb[0, 10]) == (200, 0, 0)
    assert tuple(rgb[10, 6]) == (200, 0, 0)
    assert tuple(rgb[10, 7]) == (0, 0, 0)  # inside the gap
    assert tuple(rgb[10, 10]) == (0, 0, 0)
    assert tuple(rgb[3, 3]) == (0, 0, 0)  # off the lines
    assert np.count_nonzero(rgb[:, :, 0]) == 2 * (21 - 7)


def test_difference_map_codes_agreement_false_positives_and_misses():
    from brainseg.viz.overlay import AGREE, FALSE_NEGATIVE, FALSE_POSITIVE, difference_map

    pred = np.array([[0, 1, 2, 3, 0]], np.uint8)
    truth = np.array([[0, 1, 0, 2, 3]], np.uint8)
    assert difference_map(pred, truth, "WT").tolist() == [[0, AGREE, FALSE_POSITIVE, AGREE, FALSE_NEGATIVE]]
    assert difference_map(pred, truth, "ET").tolist() == [[0, 0, 0, FALSE_POSITIVE, FALSE_NEGATIVE]]
    with pytest.raises(ValueError, match="unknown region"):
        difference_map(pred, truth, "XX")
    with pytest.raises(ValueError, match="differ in shape"):
        difference_map(pred, truth[:, :4], "WT")


def test_codes_are_filled_in_their_colours():
    from brainseg.viz.overlay import DIFFERENCE_COLORS, FALSE_POSITIVE, blend_codes

    rgb = np.zeros((1, 2, 3), np.uint8)
    out = blend_codes(rgb, np.array([[0, FALSE_POSITIVE]], np.uint8), DIFFERENCE_COLORS, 1.0)
    assert tuple(out[0, 0]) == (0, 0, 0) and tuple(out[0, 1]) == DIFFERENCE_COLORS[FALSE_POSITIVE]
