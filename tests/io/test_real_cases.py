"""The two real cases of ../shared/data/real: different naming and orientation on one grid size.

Skipped when the folder is absent (a user's fresh clone); CI has it.
"""

import nibabel as nib
import numpy as np
import pytest

from brainseg.io import load_case, write_segmentation
from brainseg.labels import ED, ET, NCR
from tests.casefiles import REAL_CASES, real_case_folder


@pytest.fixture(scope="module")
def real_cases():
    return {name: load_case(real_case_folder(name)) for name in REAL_CASES}


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_real_case_reads_with_its_naming_and_orientation(real_cases, name):
    orientation, scheme = REAL_CASES[name]
    case = real_cases[name]
    assert case.scheme == scheme
    assert case.frame.input_orientation == orientation
    assert case.frame.input_shape == (240, 240, 155)
    assert case.spacing == pytest.approx((1.0, 1.0, 1.0))
    assert "".join(nib.aff2axcodes(case.affine)) == "RAS"
    assert case.warnings == []


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_canonical_voxels_keep_their_world_position(real_cases, name):
    case = real_cases[name]
    t1ce_file = real_case_folder(name) / case.sources["T1ce"].file
    raw = np.asarray(nib.load(t1ce_file).dataobj)
    canonical_to_input = np.linalg.inv(case.frame.input_affine) @ case.affine
    rng = np.random.default_rng(0)
    brain = np.argwhere(case.image("T1ce") > 0)
    for index in brain[rng.choice(len(brain), 50, replace=False)]:
        i, j, k = np.rint(canonical_to_input @ np.r_[index, 1])[:3].astype(int)
        assert case.image("T1ce")[tuple(index)] == raw[i, j, k]


def test_both_real_brains_line_up_in_the_canonical_frame(real_cases):
    """Both cases are skull-stripped brains in atlas space: once in RAS their masks must overlap well,
    and clearly better than if either were flipped front-back or top-bottom."""
    a, b = (real_cases[name].images.max(axis=0) > 0 for name in REAL_CASES)

    def dice(x, y):
        return 2 * np.count_nonzero(x & y) / (np.count_nonzero(x) + np.count_nonzero(y))

    aligned = dice(a, b)
    assert aligned > 0.88
    assert aligned > dice(a, b[:, ::-1]) + 0.1
    assert aligned > dice(a, b[:, :, ::-1]) + 0.05


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_segmentation_lands_on_the_input_grid(real_cases, name, tmp_path):
    case = real_cases[name]
    flair = case.image("FLAIR")
    labels = np.zeros(case.shape, np.uint8)
    # Any deterministic labelling of the brain; what matters is where it lands.
    labels[flair > np.percentile(flair[flair > 0], 50)] = ED
    labels[flair > np.percentile(flair[flair > 0], 90)] = NCR
    labels[flair > np.percentile(flair[flair > 0], 99)] = ET
    path = write_segmentation(labels, case.frame, tmp_path / "seg.nii.gz", case.reference_header)
    written = nib.load(path)
    source = nib.load(real_case_folder(name) / case.sources["FLAIR"].file)
    np.testing.assert_array_equal(written.affine, source.affine)
    assert "".join(nib.aff2axcodes(written.affine)) == REAL_CASES[name][0]
    source_flair = np.asarray(source.dataobj, dtype=np.float32)
    expected = np.zeros(source_flair.shape, np.uint8)
    expected[source_flair > np.percentile(flair[flair > 0], 50)] = 2
    expected[source_flair > np.percentile(flair[flair > 0], 90)] = 1
    expected[source_flair > np.percentile(flair[flair > 0], 99)] = 3
    np.testing.assert_array_equal(np.asarray(written.dataobj), expected)
