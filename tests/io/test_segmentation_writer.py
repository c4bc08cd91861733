"""A segmentation written back on the input's own grid: voxel order, affine, label values, clean header."""

import nibabel as nib
import numpy as np
import pytest

from brainseg.io import load_case
from brainseg.io.segmentation_writer import write_segmentation
from brainseg.labels import ED, ET, NCR
from tests.casefiles import LPS_AFFINE, write_case


@pytest.mark.parametrize(("convention", "et_value"), [("brats2023", 3), ("brats2021", 4)])
def test_round_trip_onto_an_lps_input_grid(tmp_path, convention, et_value):
    paths = write_case(tmp_path / "c")  # LPS on disk: canonical RAS flips x and y
    case = load_case(tmp_path / "c")
    internal = np.zeros(case.shape, np.uint8)
    internal[0, 0, 0], internal[1, 0, 0], internal[2, 0, 0] = NCR, ED, ET  # RAS voxels
    out = write_segmentation(internal, case.frame, tmp_path / "out" / "seg.nii.gz", case.reference_header, convention)
    image = nib.load(out)
    reference = nib.load(paths["T1ce"])
    assert image.shape == reference.shape and np.allclose(image.affine, LPS_AFFINE)
    data = np.asarray(image.dataobj)
    assert data.dtype == np.uint8
    x, y = image.shape[0] - 1, image.shape[1] - 1  # RAS voxel (i, 0, 0) is LPS voxel (X-1-i, Y-1, 0)
    assert (data[x, y, 0], data[x - 1, y, 0], data[x - 2, y, 0]) == (1, 2, et_value)
    assert np.count_nonzero(data) == 3
    assert image.header["descrip"].tobytes().strip(b"\0") == b""  # the T1ce's free text is not copied
