"""Grid helpers: same-grid test, the grid's text, resampling onto another grid of the same world."""

import numpy as np

from brainseg.io.grid import describe_grid, resample_to_grid, same_grid
from tests.casefiles import LPS_AFFINE


def test_same_grid_needs_the_same_shape_and_affine_within_tolerance():
    assert same_grid((4, 5, 6), LPS_AFFINE, (4, 5, 6), LPS_AFFINE + 1e-6)
    assert not same_grid((4, 5, 6), LPS_AFFINE, (4, 5, 7), LPS_AFFINE)
    shifted = LPS_AFFINE.copy()
    shifted[0, 3] += 1.0
    assert not same_grid((4, 5, 6), LPS_AFFINE, (4, 5, 6), shifted)


def test_describe_grid_names_shape_spacing_and_orientation():
    affine = np.diag([-1.0, -1.0, 2.5, 1.0])
    assert describe_grid((240, 240, 155), affine) == "240x240x155 @ 1.00x1.00x2.50 mm LPS"


def test_resampling_onto_a_finer_grid_keeps_labels_and_world_positions():
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[1, 2, 3] = 3
    coarse = np.diag([2.0, 2.0, 2.0, 1.0])
    fine = np.diag([1.0, 1.0, 1.0, 1.0])
    out = resample_to_grid(labels, coarse, (8, 8, 8), fine, order=0)
    assert out.dtype == np.uint8 and out.shape == (8, 8, 8)
    assert out[2, 4, 6] == 3  # world (2, 4, 6) mm is source voxel (1, 2, 3)
    assert set(np.unique(out)) == {0, 3}
    outside = np.diag([2.0, 2.0, 2.0, 1.0])
    outside[:3, 3] = 100.0  # a grid beyond the source: all 0
    assert not resample_to_grid(labels, coarse, (2, 2, 2), outside, order=0).any()
