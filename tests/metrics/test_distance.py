import math

import numpy as np
import pytest

from brainseg.errors import BrainSegError, GridMismatchError
from brainseg.metrics.distance import hausdorff_distance, surface_distances, surface_mask


def box(shape, *slices):
    mask = np.zeros(shape, bool)
    mask[slices] = True
    return mask


def test_surface_is_what_a_6_connected_erosion_removes():
    cube3 = box((5, 5, 5), slice(1, 4), slice(1, 4), slice(1, 4))
    surface = surface_mask(cube3)
    assert surface.sum() == 26 and not surface[2, 2, 2]
    assert surface_mask(box((7, 7, 7), slice(1, 6), slice(1, 6), slice(1, 6))).sum() == 125 - 27
    # The outside of the array is background: a full 3x3x3 array still has 26 surface voxels.
    assert surface_mask(np.ones((3, 3, 3), bool)).sum() == 26
    # A slab two voxels thick is all surface.
    assert surface_mask(box((6, 6, 6), slice(1, 5), slice(1, 5), slice(1, 3))).sum() == 32


def test_line_against_a_voxel_interpolates_the_95th_percentile():
    pred = box((12, 3, 3), slice(0, 10), 1, 1)  # 10 voxels along X
    truth = box((12, 3, 3), 0, 1, 1)
    spacing = (0.5, 1.0, 1.0)
    np.testing.assert_allclose(np.sort(surface_distances(pred, truth, spacing)), np.arange(10) * 0.5)
    np.testing.assert_allclose(surface_distances(truth, pred, spacing), [0.0])
    # Linear interpolation between the 9th and 10th of 10 sorted distances: 4.0 + 0.55 * 0.5.
    assert hausdorff_distance(pred, truth, spacing) == pytest.approx(4.275)
    assert hausdorff_distance(pred, truth, spacing, percentile=None) == pytest.approx(4.5)


def test_anisotropic_diagonal_offset():
    pred = box((6, 6, 6), 2, 2, 2)
    truth = box((6, 6, 6), 3, 3, 3)
    assert hausdorff_distance(pred, truth, (2.0, 1.0, 3.0)) == pytest.approx(math.sqrt(4 + 1 + 9))


def test_half_cube_uses_spacing_per_axis():
    truth = box((8, 8, 8), slice(2, 6), slice(2, 6), slice(2, 6))  # 4x4x4 cube, 56 surface voxels
    pred = box((8, 8, 8), slice(2, 6), slice(2, 6), slice(2, 4))  # its lower 4x4x2 half, all surface
    # truth -> pred: 28 zeros, 12 at one z step, 16 at two z steps; the 95th percentile is two z steps.
    # pred -> truth: 28 zeros and 4 at one x step (1 mm); 95th percentile 1 mm.
    assert hausdorff_distance(pred, truth, (1.0, 1.0, 1.0)) == pytest.approx(2.0)
    assert hausdorff_distance(pred, truth, (1.0, 1.0, 2.5)) == pytest.approx(5.0)
    assert hausdorff_distance(pred, truth, (2.5, 1.0, 1.0)) == pytest.approx(2.0)


def test_crop_does_not_change_masks_touching_the_border():
    rng = np.random.default_rng(3)
    pred = rng.random((9, 8, 7)) < 0.4
    truth = rng.random((9, 8, 7)) < 0.4
    padded = [np.pad(m, 4) for m in (pred, truth)]
    spacing = (0.7, 1.3, 2.0)
    assert hausdorff_distance(pred, truth, spacing) == pytest.approx(hausdorff_distance(*padded, spacing))


@pytest.mark.parametrize("seed", [0, 1])
def test_kdtree_and_distance_transform_give_the_same_distances(seed):
    rng = np.random.default_rng(seed)
    pred = rng.random((20, 15, 12)) < 0.2
    truth = np.zeros_like(pred)
    truth[5:14, 3:11, 2:9] = True
    spacing = (0.9, 1.4, 2.2)
    np.testing.assert_allclose(
        surface_distances(pred, truth, spacing, method="kdtree"), surface_distances(pred, truth, spacing, "edt")
    )
    np.testing.assert_allclose(
        surface_distances(truth, pred, spacing, method="kdtree"), surface_distances(truth, pred, spacing, "edt")
    )


def test_empty_masks():
    empty = np.zeros((4, 4, 4), bool)
    one = box((4, 4, 4), 1, 1, 1)
    assert hausdorff_distance(empty, empty) == 0.0
    assert hausdorff_distance(one, empty) == math.inf
    assert hausdorff_distance(empty, one) == math.inf
    assert surface_distances(empty, one).shape == (0,)
    assert np.all(np.isinf(surface_distances(one, empty)))


def test_bad_arguments():
    a = np.zeros((4, 4, 4), bool)
    with pytest.raises(GridMismatchError, match=r"\(4, 4, 4\) and truth shape \(4, 4, 5\)"):
        hausdorff_distance(a, np.zeros((4, 4, 5), bool))
    with pytest.raises(BrainSegError, match="spacing_mm must have 3 values"):
        hausdorff_distance(a, a, (1.0, 1.0))
    with pytest.raises(ValueError, match="percentile must be in"):
        hausdorff_distance(a, a, percentile=101)
    with pytest.raises(ValueError, match="method must be 'kdtree' or 'edt', got 'fast'"):
        hausdorff_distance(a, a, method="fast")
