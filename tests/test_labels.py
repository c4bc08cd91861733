import numpy as np
import pytest

from brainseg.errors import LabelConventionError
from brainseg.labels import (
    CONVENTIONS,
    detect_convention,
    from_internal,
    get_convention,
    labels_from_regions,
    region_mask,
    to_internal,
)


def test_regions_nest():
    internal = np.array([0, 1, 2, 3])
    assert region_mask(internal, "WT").tolist() == [False, True, True, True]
    assert region_mask(internal, "TC").tolist() == [False, True, False, True]
    assert region_mask(internal, "ET").tolist() == [False, False, False, True]
    assert region_mask(internal, "NCR").tolist() == [False, True, False, False]
    assert region_mask(internal, "ED").tolist() == [False, False, True, False]


@pytest.mark.parametrize(
    ("convention", "file_values", "internal"),
    [
        ("brats2015", [0, 1, 2, 3, 4], [0, 1, 2, 1, 3]),
        ("brats2021", [0, 1, 2, 4], [0, 1, 2, 3]),
        ("brats2023", [0, 1, 2, 3], [0, 1, 2, 3]),
        ("brats2024", [0, 1, 2, 3, 4], [0, 1, 2, 3, 0]),
        ("msd", [0, 1, 2, 3], [0, 2, 1, 3]),
    ],
)
def test_to_internal(convention, file_values, internal):
    assert to_internal(np.array(file_values), convention).tolist() == internal


def test_from_internal_round_trips_output_conventions():
    internal = np.array([0, 1, 2, 3], np.uint8)
    assert from_internal(internal, "brats2021").tolist() == [0, 1, 2, 4]
    assert from_internal(internal, "brats2023").tolist() == [0, 1, 2, 3]
    for name in ("brats2021", "brats2023"):
        np.testing.assert_array_equal(to_internal(from_internal(internal, name), name), internal)
    with pytest.raises(LabelConventionError, match="labels can be written as brats2023 or brats2021"):
        from_internal(internal, "msd")


def test_to_internal_refuses_values_outside_the_convention():
    with pytest.raises(LabelConventionError, match=r"seg.nii.gz: label values \[3\] do not exist in BraTS 2017-2021"):
        to_internal(np.array([0, 1, 3]), "brats2021", "seg.nii.gz")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([0], "brats2023"),
        ([0, 1, 2], "brats2023"),
        ([0, 2, 4], "brats2021"),
        ([0, 1, 2, 4], "brats2021"),
        ([0, 1, 2, 3, 4], "brats2015"),
    ],
)
def test_detect(values, expected):
    assert detect_convention(np.array(values)).name == expected


def test_detect_refuses_invalid_and_ambiguous():
    with pytest.raises(LabelConventionError, match=r"truth.nii: label values \[7\] are not BraTS labels"):
        detect_convention(np.array([0, 1, 7]), "truth.nii")
    with pytest.raises(LabelConventionError, match="non-integer values"):
        detect_convention(np.array([0, 1.5]))
    with pytest.raises(LabelConventionError, match="label 3 without label 4 is ambiguous"):
        detect_convention(np.array([0, 1, 2, 3]))
    assert detect_convention(np.array([0, 1, 2, 3]), hint="brats2023").name == "brats2023"


def test_unknown_convention_lists_valid_names():
    with pytest.raises(LabelConventionError, match="expected one of: " + ", ".join(CONVENTIONS)):
        get_convention("brats2099")


def test_labels_from_regions_forces_nesting():
    wt = np.array([1, 1, 1, 0, 1], bool)
    tc = np.array([0, 1, 1, 1, 0], bool)
    et = np.array([0, 0, 1, 1, 1], bool)
    # ET outside TC (index 4) or outside WT (index 3) is dropped.
    assert labels_from_regions(wt, tc, et).tolist() == [2, 1, 3, 0, 2]
