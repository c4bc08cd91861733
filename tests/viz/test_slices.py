"""Display orientation and scaling: where a voxel of known RAS position lands on screen."""

import nibabel as nib
import numpy as np
import pytest

from brainseg.io import load_case
from brainseg.viz import LAYOUTS, PLANES, CaseRenderer, DisplayGrid, ViewOptions, extract_slice, render_view
from brainseg.viz.slices import (
    fit_pixels_per_mm,
    native_shape,
    native_to_voxel,
    shared_canvas,
    voxel_to_native,
)
from tests.casefiles import LPS_AFFINE

SHAPE = (6, 8, 5)  # X, Y, Z
PLAIN = ViewOptions(crosshair=False, letters=False, interpolation="nearest")


def marker_volume(voxel, shape=SHAPE):
    volume = np.zeros(shape, np.uint8)
    volume[voxel] = 255
    return volume


def test_the_display_convention_is_radiological():
    assert LAYOUTS["axial"].edge_letters == ("R", "L", "A", "P")
    assert LAYOUTS["coronal"].edge_letters == ("R", "L", "S", "I")
    assert LAYOUTS["sagittal"].edge_letters == ("A", "P", "S", "I")


@pytest.mark.parametrize(
    ("plane", "index", "expected_pixel"),
    [
        # Marker at x=5 (the patient's rightmost column), y=6 (anterior), z=3 (upper half).
        ("axial", 3, (1, 0)),  # row Y-1-y = 1 (anterior at the top), column X-1-x = 0 (right on the viewer's left)
        ("coronal", 6, (1, 0)),  # row Z-1-z = 1 (superior at the top), column 0 (right on the left)
        ("sagittal", 5, (1, 1)),  # row 1 (superior), column Y-1-y = 1 (anterior on the left)
    ],
)
def test_marker_voxel_lands_where_the_convention_says(plane, index, expected_pixel):
    image = extract_slice(marker_volume((5, 6, 3)), plane, index)
    assert image.shape == native_shape(SHAPE, plane)
    assert list(zip(*np.nonzero(image), strict=True)) == [expected_pixel]
    assert voxel_to_native((5, 6, 3), SHAPE, plane) == expected_pixel
    assert native_to_voxel(*expected_pixel, index, SHAPE, plane) == (5, 6, 3)


def test_native_slice_shapes():
    volume = np.zeros((240, 230, 155), np.uint8)
    assert extract_slice(volume, "axial", 0).shape == (230, 240)
    assert extract_slice(volume, "coronal", 0).shape == (155, 240)
    assert extract_slice(volume, "sagittal", 0).shape == (155, 230)


def test_bad_plane_and_index_are_refused():
    with pytest.raises(ValueError, match="expected one of: axial, coronal, sagittal"):
        extract_slice(np.zeros(SHAPE), "transverse", 0)
    with pytest.raises(ValueError, match=r"axial slice index 5 is outside 0\.\.4"):
        extract_slice(np.zeros(SHAPE), "axial", 5)


def test_anisotropic_spacing_gives_square_millimetre_pixels():
    shape, spacing = (40, 20, 10), (0.5, 1.0, 2.0)  # every axis spans 20 mm
    ppmm = fit_pixels_per_mm(shape, spacing, max_size=480)
    assert ppmm == pytest.approx(24.0)
    for plane in PLANES:
        assert DisplayGrid.for_volume(shape, spacing, plane, ppmm).size == (480, 480)
    # One voxel is 0.5 mm x 1 mm on an axial view: 12 pixels wide, 24 pixels tall.
    volume = np.zeros(shape, np.uint8)
    volume[39, 19, 5] = 255  # the top-left voxel of axial slice 5
    image = render_view(volume, "axial", (39, 19, 5), spacing, ppmm, options=PLAIN)
    rows, columns = np.nonzero(image[:, :, 0])
    assert (rows.min(), rows.max(), columns.min(), columns.max()) == (0, 23, 0, 11)


def test_brats_case_shows_at_two_pixels_per_mm():
    shape, spacing = (240, 240, 155), (1.0, 1.0, 1.0)
    ppmm = fit_pixels_per_mm(shape, spacing)
    assert ppmm == 2.0
    sizes = {plane: DisplayGrid.for_volume(shape, spacing, plane, ppmm).size for plane in PLANES}
    assert sizes == {"axial": (480, 480), "coronal": (310, 480), "sagittal": (310, 480)}
    assert shared_canvas(shape, spacing, ppmm) == (480, 480)


def test_canvas_centres_the_slice_and_clicks_map_back():
    grid = DisplayGrid.for_volume((240, 240, 155), (1.0, 1.0, 1.0), "coronal", 2.0, canvas=(480, 480))
    assert grid.offset == (85, 0)
    assert grid.to_display(0, 0) == (86, 1)  # centre of the first native pixel, below the top border
    assert grid.to_native(86, 1) == (0, 0)
    assert grid.to_native(0, 0) == (0, 0)  # a click on the border snaps to the nearest voxel
    assert grid.to_native(479, 479) == (154, 239)
    for native in [(0, 0), (77, 120), (154, 239)]:
        assert grid.to_native(*grid.to_display(*native)) == native


def test_a_file_voxel_on_the_patients_right_shows_on_the_viewers_left(tmp_path):
    """End to end from an LPS file: world +x is the patient's right; it must appear on the left."""
    shape = (12, 14, 10)
    data = np.full(shape, 100, np.int16)
    i, j, k = 1, 2, 7  # LPS voxel -> world (10 - i, 20 - j, k - 5) = (9, 18, 2): right, anterior, superior
    data[i, j, k] = 1000
    for name in ("t1", "t1c", "t2", "flair"):
        nib.save(nib.Nifti1Image(data, LPS_AFFINE), tmp_path / f"{name}.nii.gz")
    case = load_case(tmp_path)
    world = LPS_AFFINE @ np.r_[i, j, k, 1]
    assert world[0] > 0 and world[1] > 0  # on the patient's right and front
    renderer = CaseRenderer.from_case(case)
    cursor = tuple(int(v) for v in np.argwhere(case.image("T1") == 1000)[0])
    views = renderer.render_all(cursor, "T1", ViewOptions(crosshair=False, letters=False, interpolation="nearest"))
    for plane, image in views.items():
        rows, columns = np.nonzero(image[:, :, 0] == 255)
        grid = renderer.grids[plane]
        top, left = grid.offset
        centre_row, centre_column = top + grid.size[0] / 2, left + grid.size[1] / 2
        assert columns.mean() < centre_column, f"{plane}: expected on the viewer's left"
        assert rows.mean() < centre_row, f"{plane}: expected in the upper half (anterior or superior)"
    # Exactly one native pixel from the corner: axial row 2 (anterior), column 1 (right).
    assert voxel_to_native(cursor, case.shape, "axial") == (j, i)
