"""write_case / write_cases: BraTS 2021 file layout, header, labels and round trip."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.labels import ET, to_internal
from brainseg.synth import generate_case, write_case, write_cases
from tests.casefiles import REAL_DATA
from tests.synth.conftest import SMALL

SUFFIXES = ("t1", "t1ce", "t2", "flair", "seg")


@pytest.fixture(scope="module")
def written(full_case, tmp_path_factory):
    return write_case(full_case, tmp_path_factory.mktemp("out"), "BrainSeg-Synth-042")


def test_folder_holds_the_five_brats_2021_files(written):
    assert written.name == "BrainSeg-Synth-042"
    assert sorted(p.name for p in written.iterdir()) == sorted(f"BrainSeg-Synth-042_{s}.nii.gz" for s in SUFFIXES)


def test_files_have_the_brats_grid_header_and_dtypes(written):
    expected = np.array([[-1, 0, 0, 0], [0, -1, 0, 239], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    for suffix in SUFFIXES:
        image = nib.load(written / f"BrainSeg-Synth-042_{suffix}.nii.gz")
        assert image.shape == (240, 240, 155)
        assert image.header.get_zooms() == (1.0, 1.0, 1.0)
        assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
        np.testing.assert_array_equal(image.affine, expected)
        np.testing.assert_array_equal(image.header.get_qform(), expected)
        assert int(image.header["qform_code"]) == 1 and int(image.header["sform_code"]) == 1
        assert image.get_data_dtype() == (np.uint8 if suffix == "seg" else np.int16)


def test_affine_matches_a_real_brats_file(written):
    real = REAL_DATA / "BraTS-GLI-00001-000" / "BraTS-GLI-00001-000-t1n.nii.gz"
    if not real.exists():
        pytest.skip(f"real data not available at {real}")
    ours = nib.load(written / "BrainSeg-Synth-042_t1.nii.gz")
    reference = nib.load(real)
    np.testing.assert_allclose(ours.affine, reference.affine)
    assert ours.shape == reference.shape and ours.get_data_dtype() == reference.get_data_dtype()


def test_images_round_trip_exactly(written, full_case):
    for name, suffix in (("T1", "t1"), ("T1ce", "t1ce"), ("T2", "t2"), ("FLAIR", "flair")):
        data = np.asanyarray(nib.load(written / f"BrainSeg-Synth-042_{suffix}.nii.gz").dataobj)
        assert data.dtype == np.int16
        np.testing.assert_array_equal(data, full_case.images[name].astype(np.int16))


def test_segmentation_uses_brats_2021_labels(written, full_case):
    seg = np.asanyarray(nib.load(written / "BrainSeg-Synth-042_seg.nii.gz").dataobj)
    assert set(np.unique(seg)) == {0, 1, 2, 4}
    np.testing.assert_array_equal(seg == 4, full_case.labels == ET)
    np.testing.assert_array_equal(to_internal(seg, "brats2021"), full_case.labels)


@pytest.mark.parametrize("bad", ["", "../escape", "a/b", "with space", 7])
def test_bad_case_id_is_refused(full_case, tmp_path, bad):
    with pytest.raises(ValueError, match="case_id must be a plain name"):
        write_case(full_case, tmp_path, bad)
    assert not any(tmp_path.iterdir())


def test_write_cases_numbers_folders_and_uses_consecutive_seeds(tmp_path):
    folders = write_cases(tmp_path, 2, 20, shape=SMALL)
    assert [f.name for f in folders] == ["BrainSeg-Synth-001", "BrainSeg-Synth-002"]
    manifest = json.loads((tmp_path / "synth_cases.json").read_text())
    assert [(m["case_id"], m["seed"]) for m in manifest] == [("BrainSeg-Synth-001", 20), ("BrainSeg-Synth-002", 21)]
    again = generate_case(21, shape=SMALL)
    seg = np.asanyarray(nib.load(folders[1] / "BrainSeg-Synth-002_seg.nii.gz").dataobj)
    np.testing.assert_array_equal(to_internal(seg, "brats2021"), again.labels)
    flair = np.asanyarray(nib.load(folders[1] / "BrainSeg-Synth-002_flair.nii.gz").dataobj)
    np.testing.assert_array_equal(flair, again.images["FLAIR"].astype(np.int16))


@pytest.mark.parametrize("n_cases,seed,message", [(0, 1, "n_cases"), (2.5, 1, "n_cases"), (1, -3, "seed")])
def test_write_cases_rejects_bad_counts_and_seeds(tmp_path, n_cases, seed, message):
    with pytest.raises(ValueError, match=message):
        write_cases(tmp_path, n_cases, seed)


def test_same_case_gives_byte_identical_files(small_cases, tmp_path):
    first = write_case(small_cases[1], tmp_path / "a", "case")
    second = write_case(generate_case(1, shape=SMALL), tmp_path / "b", "case")
    for path in sorted(first.iterdir()):
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name
