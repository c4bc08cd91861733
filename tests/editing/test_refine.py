"""Click and box refinement on a phantom with a known tumor, and the simulated user's clicks."""

import numpy as np
import pytest

from brainseg.editing import Click, EditError, EditHistory, IntensityScale, refine_box, refine_click
from brainseg.editing.simulate import next_click
from brainseg.labels import region_mask
from tests.editing.phantom import CENTRE, SPACING, phantom


def _dice(labels, truth, region):
    a, b = region_mask(labels, region), region_mask(truth, region)
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_a_positive_click_in_missed_edema_grows_the_whole_tumor_through_the_slices():
    images, truth = phantom()
    start = np.where(truth == 2, 0, truth).astype(np.uint8)  # the model found the core, missed the edema
    click = next_click(start, truth, "WT", SPACING)
    assert click.positive and truth[click.voxel] == 2
    edit = refine_click(start, images, SPACING, click)
    after = EditHistory.start(start, SPACING).apply(edit).labels
    assert _dice(start, truth, "WT") < 0.4 < 0.9 < _dice(after, truth, "WT")
    slices = np.flatnonzero(region_mask(after, "WT").any(axis=(0, 1)))
    assert len(slices) >= 20  # grown in 3D, not on one slice
    assert (after[truth == 3] == 3).all()  # the tumor already there keeps its labels


def test_a_negative_click_removes_a_stray_false_positive_whole():
    images, truth = phantom()
    start = truth.copy()
    start[4:8, 20:24, 18:22] = 2  # a false edema blob at the brain's edge
    click = next_click(start, truth, "WT", SPACING)
    assert not click.positive
    edit = refine_click(start, images, SPACING, click)
    after = EditHistory.start(start, SPACING).apply(edit).labels
    assert np.array_equal(after, truth)


def test_a_negative_click_cuts_what_looks_like_it_out_of_the_main_region():
    images, truth = phantom()
    start = truth.copy()
    start[(truth == 0) & (np.indices(truth.shape)[0] < 12) & (np.indices(truth.shape)[0] > 6)] = 0
    leak = np.zeros(truth.shape, bool)
    leak[CENTRE[0] + 11 : CENTRE[0] + 20, 18:30, 15:25] = True  # over-segmented healthy tissue joined to the edema
    start[leak & (truth == 0)] = 2
    click = next_click(start, truth, "WT", SPACING)
    assert not click.positive and truth[click.voxel] == 0
    after = EditHistory.start(start, SPACING).apply(refine_click(start, images, SPACING, click)).labels
    assert _dice(after, truth, "WT") > max(_dice(start, truth, "WT"), 0.97)
    assert np.count_nonzero(region_mask(after, "WT") & region_mask(truth, "WT")) >= 0.99 * np.count_nonzero(truth)


def test_a_positive_enhancing_click_is_told_apart_from_the_edema_around_it():
    images, truth = phantom()
    start = np.where(truth == 3, 2, truth).astype(np.uint8)  # the enhancing rim called edema
    click = next_click(start, truth, "ET", SPACING)
    after = EditHistory.start(start, SPACING).apply(refine_click(start, images, SPACING, click)).labels
    assert _dice(after, truth, "ET") > 0.8 and np.count_nonzero(after == 3) < 1.3 * np.count_nonzero(truth == 3)


def test_clicks_need_a_known_region_and_a_voxel_inside():
    images, truth = phantom()
    with pytest.raises(EditError, match="click region 'NCR' is not one of WT, TC, ET"):
        Click((1, 1, 1), True, "NCR")
    with pytest.raises(EditError, match=r"click \(99, 1, 1\) is outside the volume"):
        refine_click(truth, images, SPACING, Click((99, 1, 1), True, "WT"))


def test_a_box_segments_the_region_inside_it_and_nothing_outside():
    images, truth = phantom()
    start = np.zeros_like(truth)
    low = tuple(c - 15 for c in CENTRE)
    high = tuple(c + 15 for c in CENTRE)
    edit = refine_box(start, images, SPACING, (low, high), "WT", IntensityScale.of(images))
    after = EditHistory.start(start, SPACING).apply(edit).labels
    assert _dice(after, truth, "WT") > 0.9
    with pytest.raises(EditError, match="too thin"):
        refine_box(start, images, SPACING, ((3, 3, 3), (3, 10, 10)), "WT")


def test_the_simulated_user_clicks_the_innermost_voxel_of_the_largest_error():
    truth = np.zeros((30, 30, 30), np.uint8)
    truth[5:25, 5:25, 5:25] = 2
    predicted = truth.copy()
    predicted[10:21, 10:21, 10:21] = 0  # a cube of 11 voxels missed: its centre is (15, 15, 15)
    click = next_click(predicted, truth, "WT", (1.0, 1.0, 1.0))
    assert click == Click((15, 15, 15), True, "WT")
    assert next_click(truth, truth, "WT", (1.0, 1.0, 1.0)) is None


def test_a_core_miss_that_looks_like_edema_is_bridged_to_the_core_found():
    images, truth = phantom()
    ed_look = np.median(images[:, truth == 2], axis=1)
    images[:, truth == 1] = ed_look[:, None]  # the necrosis now looks like the edema on every sequence
    start = np.where(truth == 1, 2, truth).astype(np.uint8)  # ... and was called edema
    click = Click(CENTRE, True, "TC")
    after = EditHistory.start(start, SPACING).apply(refine_click(start, images, SPACING, click)).labels
    necrosis = truth == 1
    assert np.count_nonzero(region_mask(after, "TC") & necrosis) >= 0.9 * np.count_nonzero(necrosis)
    assert _dice(after, truth, "TC") > 0.95 > _dice(start, truth, "TC")
