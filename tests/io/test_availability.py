"""Which regions each subset of the sequences supports, and the refusal of a subset without FLAIR or T1ce."""

import pytest

from brainseg.errors import CaseFilesError
from brainseg.io.availability import (
    check_available,
    describe_subset,
    missing_region_reasons,
    supported_regions,
    usable_subsets,
)

EXPECTED = {
    ("FLAIR",): ("WT",),
    ("T2", "FLAIR"): ("WT",),
    ("T1", "FLAIR"): ("WT",),
    ("T1ce",): ("TC", "ET"),
    ("T1", "T1ce"): ("TC", "ET"),
    ("T1ce", "FLAIR"): ("WT", "TC", "ET"),
    ("T1ce", "T2"): ("WT", "TC", "ET"),
    ("T1", "T1ce", "T2", "FLAIR"): ("WT", "TC", "ET"),
}


def test_usable_subsets_are_the_twelve_holding_flair_or_t1ce():
    subsets = usable_subsets()
    assert len(subsets) == 12 == len(set(subsets))
    assert subsets[-1] == ("T1", "T1ce", "T2", "FLAIR")
    assert all("FLAIR" in s or "T1ce" in s for s in subsets)
    assert ("T1", "T2") not in subsets


@pytest.mark.parametrize(("subset", "regions"), EXPECTED.items())
def test_regions_follow_what_each_sequence_shows(subset, regions):
    assert supported_regions(subset) == regions
    assert set(missing_region_reasons(subset)) == {"WT", "TC", "ET"} - set(regions)


def test_sub_regions_need_the_core_and_edema_needs_both():
    assert supported_regions(("FLAIR",), ("NCR", "ED")) == ()
    assert supported_regions(("T1ce",), ("NCR", "ED")) == ("NCR",)
    assert supported_regions(("T1ce", "T2"), ("NCR", "ED")) == ("NCR", "ED")
    assert missing_region_reasons(("T1ce",), ("ED",)) == {"ED": "needs T1ce and FLAIR or T2"}


def test_describe_and_check():
    assert describe_subset(("FLAIR", "T1")) == (
        "sequences used: T1, FLAIR (missing T1ce, T2); regions predicted: WT; not predicted: TC, ET (need T1ce)"
    )
    assert check_available({"FLAIR", "T1ce"}, "x") == ("T1ce", "FLAIR")
    with pytest.raises(CaseFilesError, match=r"^up.zip: found T1, T2; need FLAIR or T1ce"):
        check_available(["T2", "T1"], "up.zip")
    with pytest.raises(CaseFilesError, match="unknown sequence 'PD'"):
        check_available(["PD", "FLAIR"], "x")
