from pathlib import Path

import pytest

from brainseg.errors import CaseFilesError
from brainseg.io.naming import assign_roles, recognize


@pytest.mark.parametrize(
    ("name", "role", "scheme"),
    [
        ("BraTS-GLI-00001-000-t1n.nii.gz", "T1", "brats2023"),
        ("BraTS-GLI-00001-000-T1C.nii.gz", "T1ce", "brats2023"),
        ("BraTS-GLI-00001-000-t2w.nii", "T2", "brats2023"),
        ("BraTS-GLI-00001-000-t2f.NII.GZ", "FLAIR", "brats2023"),
        ("BraTS-GLI-00001-000-seg.nii.gz", "truth", "brats2023"),
        ("BraTS20_Training_001_t1.nii.gz", "T1", "brats2021"),
        ("BraTS20_Training_001_T1CE.nii.gz", "T1ce", "brats2021"),
        ("BraTS20_Training_001_t2.nii.gz", "T2", "brats2021"),
        ("BraTS20_Training_001_flair.nii.gz", "FLAIR", "brats2021"),
        ("BraTS20_Training_001_seg.nii.gz", "truth", "brats2021"),
        ("t1.nii.gz", "T1", "plain"),
        ("T1c.nii.gz", "T1ce", "plain"),
        ("t1gd.nii", "T1ce", "plain"),
        ("t1ce.nii.gz", "T1ce", "plain"),
        ("T2.nii.gz", "T2", "plain"),
        ("FLAIR.nii.gz", "FLAIR", "plain"),
        ("patient7_t1gd.nii.gz", "T1ce", "plain"),
    ],
)
def test_recognize(name, role, scheme):
    found = recognize(Path(name))
    assert found is not None
    assert (found.role, found.scheme) == (role, scheme)


@pytest.mark.parametrize("name", ["brainmask.nii.gz", "t1.png", "notes.txt", "t1_mprage.nii.gz"])
def test_unrecognized(name):
    assert recognize(Path(name)) is None


def test_assign_roles_reports_missing_and_found():
    files = [Path(n) for n in ("a_t1.nii.gz", "a_t1ce.nii.gz", "a_flair.nii.gz", "mask.nii.gz", "readme.txt")]
    with pytest.raises(CaseFilesError) as err:
        assign_roles(files, "upload.zip")
    message = str(err.value)
    assert message.startswith("upload.zip: missing T2")
    assert "T1ce=a_t1ce.nii.gz" in message and "unrecognized: mask.nii.gz" in message


def test_assign_roles_refuses_duplicates():
    files = [Path(n) for n in ("t1.nii.gz", "t1c.nii.gz", "x_t1ce.nii.gz", "t2.nii.gz", "flair.nii.gz")]
    with pytest.raises(CaseFilesError, match=r"2 files look like T1ce \(t1c.nii.gz, x_t1ce.nii.gz\)"):
        assign_roles(files, "folder")


def test_assign_roles_scheme_and_truth():
    names = ["C-t1n.nii.gz", "C-t1c.nii.gz", "C-t2w.nii.gz", "C-t2f.nii.gz", "C-seg.nii.gz", "C-extra.nii.gz"]
    found = assign_roles([Path(n) for n in names], "folder")
    assert found.scheme == "brats2023"
    assert found.truth == Path("C-seg.nii.gz")
    assert found.sequences["FLAIR"] == Path("C-t2f.nii.gz")
    assert found.ignored == (Path("C-extra.nii.gz"),)
