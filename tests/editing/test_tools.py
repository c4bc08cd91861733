"""Brush, eraser, remove component and fill hole on small label maps."""

import numpy as np
import pytest

from brainseg.editing import EditError, brush, erase, fill_hole, remove_component
from brainseg.editing.history import EditHistory

SPACING = (1.0, 1.0, 1.0)


def _applied(labels, edit):
    return EditHistory.start(labels, SPACING).apply(edit).labels


def test_a_3d_brush_is_a_sphere_in_mm_and_a_2d_one_a_disk_on_the_slice():
    labels = np.zeros((21, 21, 21), np.uint8)
    sphere = brush(labels, (10, 10, 10), "ED", 3.0, SPACING)
    disk = brush(labels, (10, 10, 10), "ED", 3.0, SPACING, axis=2)
    assert sphere.changed == 123  # voxels within 3 mm of the centre in 3D
    assert disk.changed == 29  # ... and within 3 mm on one axial slice
    painted = _applied(labels, disk)
    assert set(np.flatnonzero(painted.any(axis=(0, 1)))) == {10}
    # Anisotropic voxels: a 3 mm radius reaches one 3 mm slice either way, three 1 mm voxels in-plane.
    coarse = brush(labels, (10, 10, 10), "ED", 3.0, (1.0, 1.0, 3.0))
    z = np.unravel_index(coarse.index, labels.shape)[2]
    assert set(z) == {9, 10, 11}


def test_the_eraser_clears_labels_and_counts_what_it_removed():
    labels = np.full((9, 9, 9), 2, np.uint8)
    labels[4, 4, 4] = 3
    edit = erase(labels, (4, 4, 4), 1.0, SPACING)
    assert edit.changed == 7 and edit.voxels_removed() == 7 and edit.label_changes()["background"] == 7


def test_remove_component_removes_one_piece_whole_and_leaves_the_other():
    labels = np.zeros((30, 10, 10), np.uint8)
    labels[2:8, 2:8, 2:8] = 2
    labels[20:24, 2:6, 2:6] = 2
    edit = remove_component(labels, (21, 3, 3), "WT")
    after = _applied(labels, edit)
    assert edit.changed == 64 and not after[18:].any() and after[2:8, 2:8, 2:8].all()
    with pytest.raises(EditError, match=r"there is no WT at voxel \(12, 3, 3\)"):
        remove_component(labels, (12, 3, 3), "WT")


def test_a_removed_enhancing_piece_takes_the_label_around_it():
    labels = np.full((12, 12, 12), 2, np.uint8)  # edema
    labels[5:7, 5:7, 5:7] = 3  # a wrong enhancing blob inside it
    after = _applied(labels, remove_component(labels, (5, 5, 5), "ET"))
    assert not (after == 3).any() and (after == 2).all()


def test_fill_hole_fills_the_enclosed_voxels_of_the_slice_only():
    labels = np.zeros((11, 11, 5), np.uint8)
    labels[2:9, 2:9, :] = 3
    labels[4:7, 4:7, 2] = 1  # a hole in the middle axial slice
    edit = fill_hole(labels, (5, 5, 2), "ET", axis=2)
    assert edit.changed == 9 and set(edit.before) == {1}
    with pytest.raises(EditError, match="is ET already"):
        fill_hole(labels, (3, 3, 2), "ET", axis=2)
    with pytest.raises(EditError, match="not in a hole enclosed by ET"):
        fill_hole(labels, (0, 0, 2), "ET", axis=2)


def test_bad_voxels_labels_and_radii_are_one_line_errors():
    labels = np.zeros((5, 5, 5), np.uint8)
    with pytest.raises(EditError, match=r"voxel \(5, 0, 0\) is outside the volume \(0..4, 0..4, 0..4\)"):
        brush(labels, (5, 0, 0), "ED", 1.0, SPACING)
    with pytest.raises(EditError, match="label 'WT' is not one of NCR, ED, ET"):
        brush(labels, (1, 1, 1), "WT", 1.0, SPACING)
    with pytest.raises(EditError, match="brush radius 80 mm is outside"):
        brush(labels, (1, 1, 1), "ED", 80, SPACING)
