import zipfile

import nibabel as nib
import numpy as np
import pytest

from brainseg.errors import CaseFilesError, LabelConventionError
from brainseg.io import case_summary, format_summary, load_case, write_segmentation
from brainseg.io.naming import SEQUENCES
from brainseg.labels import ET, NCR
from tests.casefiles import LPS_AFFINE, tiny_images, tiny_truth, write_case


def test_folder_case_is_canonical_and_complete(tiny_case):
    case = load_case(tiny_case["T1"].parent)
    assert case.name == "Case-001"
    assert case.scheme == "brats2021"
    assert case.images.shape == (4, 12, 14, 10)
    assert case.frame.input_orientation == "LPS"
    assert "".join(nib.aff2axcodes(case.affine)) == "RAS"
    # LPS -> RAS flips the first two axes: input voxel (0, 0, 0) is canonical (11, 13, 0).
    raw = tiny_images()
    for index, sequence in enumerate(SEQUENCES):
        assert case.images[index, 11, 13, 0] == raw[sequence][0, 0, 0]
    assert case.truth_convention.name == "brats2021"
    assert case.truth.max() == ET
    assert case.warnings == []


@pytest.mark.parametrize("scheme", ["brats2021", "brats2023", "plain"])
def test_zip_and_file_list_give_the_same_case(tmp_path, scheme):
    paths = write_case(
        tmp_path / "c", scheme=scheme, truth_convention="brats2023" if scheme != "brats2021" else "brats2021"
    )
    archive = tmp_path / "upload.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths.values():
            zf.write(path, f"nested/{path.name}")
    kwargs = {"labels": "brats2023"} if scheme == "plain" else {}
    from_zip = load_case(archive, **kwargs)
    from_list = load_case(list(paths.values()), **kwargs)
    np.testing.assert_array_equal(from_zip.images, from_list.images)
    np.testing.assert_array_equal(from_zip.truth, from_list.truth)
    assert from_zip.sources["T1"].file.startswith("upload.zip:nested/")


def test_plain_truth_with_label_3_needs_a_named_convention(tmp_path):
    paths = write_case(tmp_path / "c", scheme="plain", truth_convention="brats2023")
    with pytest.raises(LabelConventionError, match="seg.nii.gz: label 3 without label 4 is ambiguous"):
        load_case(tmp_path / "c")
    assert load_case(tmp_path / "c", labels="brats2023").truth.max() == ET
    # The same map read as BraTS 2013-2015 has no enhancing tumor: 3 is non-enhancing core (NCR).
    as2015 = load_case(list(paths.values()), labels="brats2015").truth
    assert ET not in as2015
    assert np.count_nonzero(as2015 == NCR) == 4 * 4 * 4  # NCR core 4^3 including the former ET voxels


def test_a_brats2023_truth_in_its_own_slot_is_read_by_its_name(tmp_path):
    paths = write_case(tmp_path / "c", scheme="brats2023", case_id="BraTS-GLI-00001-000", truth_convention="brats2023")
    slots = {role.lower(): tmp_path / f"scan{i}.nii.gz" for i, role in enumerate(("T1", "T1ce", "T2", "FLAIR"))}
    for role, path in zip(("T1", "T1ce", "T2", "FLAIR"), slots.values(), strict=True):
        paths[role].rename(path)  # sequences of any names: nothing says the scheme but the truth's own name
    case = load_case(**slots, truth=paths["truth"])
    assert case.truth_convention.name == "brats2023" and case.truth.max() == ET
    plain = paths["truth"].rename(tmp_path / "mask.nii.gz")
    with pytest.raises(LabelConventionError, match="the app's 'Truth label convention', the CLI's --labels"):
        load_case(**slots, truth=plain)


def test_explicit_files_take_their_roles_whatever_their_names(tmp_path):
    paths = write_case(tmp_path / "c")
    renamed = {}
    for role, path in paths.items():
        renamed[role] = path.rename(tmp_path / f"{role.lower()}_scan_a.nii.gz")
    case = load_case(t1=renamed["T1"], t1ce=renamed["T1ce"], t2=renamed["T2"], flair=renamed["FLAIR"])
    assert case.scheme == "explicit" and case.truth is None
    assert case.sources["T2"].file == "t2_scan_a.nii.gz"


def test_a_case_lacking_a_sequence_loads_with_that_channel_zero_and_says_so(tmp_path):
    paths = write_case(tmp_path / "c")
    paths["T2"].unlink()
    case = load_case(tmp_path / "c")
    assert case.available == ("T1", "T1ce", "FLAIR") and case.missing == ("T2",)
    assert not case.image("T2").any() and case.image("FLAIR").any()
    assert case.reference_sequence == "T1ce" and "T2" not in case.sources
    assert "c: sequences used: T1, T1ce, FLAIR (missing T2); regions predicted: WT, TC, ET" in case.warnings


def test_flair_alone_is_put_on_its_own_grid_and_named_from_it(tmp_path):
    paths = write_case(tmp_path / "c")
    case = load_case(flair=paths["FLAIR"])
    assert case.available == ("FLAIR",) and case.reference_sequence == "FLAIR"
    assert case.images.shape == (4, 12, 14, 10) and case.images[:3].max() == 0
    assert any("regions predicted: WT; not predicted: TC, ET (need T1ce)" in w for w in case.warnings)
    from_folder = load_case([paths["FLAIR"], paths["T1"]])
    assert from_folder.available == ("T1", "FLAIR") and from_folder.name == "Case-001"


@pytest.mark.parametrize("kept", [("T1", "T2"), ("T1",), ()])
def test_a_case_without_flair_and_t1ce_is_refused_naming_what_was_found(tmp_path, kept):
    paths = write_case(tmp_path / "c")
    for sequence in SEQUENCES:
        if sequence not in kept:
            paths[sequence].unlink()
    with pytest.raises(CaseFilesError) as caught:
        load_case(tmp_path / "c")
    message = str(caught.value)
    assert message.startswith("c: missing FLAIR and T1ce (found: ") and "need FLAIR or T1ce at least" in message
    assert all(f"{s}=Case-001_" in message for s in kept)
    with pytest.raises(CaseFilesError, match=r"^missing FLAIR and T1ce \(given: T1\)"):
        load_case(t1=tmp_path / "c" / "Case-001_t1.nii.gz")


def test_different_grid_is_resampled_and_reported(tmp_path):
    paths = write_case(tmp_path / "c")
    # FLAIR at 2 mm on half the grid covering the same field of view.
    coarse = LPS_AFFINE.copy()
    coarse[:3, :3] *= 2
    coarse[:3, 3] += np.array([-0.5, -0.5, 0.5])  # voxel centres of a 2x downsampling
    nib.save(nib.Nifti1Image(np.full((6, 7, 5), 500, np.int16), coarse), paths["FLAIR"])
    case = load_case(tmp_path / "c")
    assert case.sources["FLAIR"].resampled and not case.sources["T1"].resampled
    assert any(
        "Case-001_flair.nii.gz: 6x7x5 @ 2.00x2.00x2.00 mm LPS differs from the T1ce grid" in w for w in case.warnings
    )
    flair = case.image("FLAIR")
    assert flair.shape == (12, 14, 10)
    assert np.all(flair[2:-2, 2:-2, 2:-2] == pytest.approx(500))


def test_segmentation_written_on_input_grid_round_trips(tiny_case, tmp_path):
    case = load_case(tiny_case["T1"].parent)
    written = write_segmentation(
        case.truth, case.frame, tmp_path / "seg2021.nii.gz", case.reference_header, "brats2021"
    )
    image = nib.load(written)
    np.testing.assert_array_equal(image.affine, LPS_AFFINE)
    np.testing.assert_array_equal(np.asarray(image.dataobj), tiny_truth())
    assert image.get_data_dtype() == np.uint8
    for field in ("descrip", "aux_file", "intent_name", "db_name"):
        assert image.header[field].item() == b""
    as2023 = write_segmentation(case.truth, case.frame, tmp_path / "seg2023.nii.gz", case.reference_header)
    np.testing.assert_array_equal(np.asarray(nib.load(as2023).dataobj), tiny_truth(convention="brats2023"))


def test_summary_text_names_everything(tiny_case):
    summary = case_summary(load_case(tiny_case["T1"].parent))
    assert summary["input_grid"]["orientation"] == "LPS"
    # tiny_truth: ED shell 6x6x6 = 216 voxels of 1 mm^3 = 0.216 mL whole tumor.
    assert summary["truth"]["volumes_ml"]["WT"] == pytest.approx(0.216)
    assert summary["truth"]["volumes_ml"]["ET"] == pytest.approx(0.008)
    text = format_summary(summary)
    assert "orientation LPS" in text and "T1ce  Case-001_t1ce.nii.gz  int16" in text


def test_the_users_assignment_replaces_the_names(tmp_path):
    paths = write_case(tmp_path / "c")
    archive = tmp_path / "up.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths.values():
            zf.write(path, path.name)
    case = load_case(archive)
    assert set(case.candidates) >= {f"up.zip:{paths[s].name}" for s in SEQUENCES}
    swapped = load_case(
        archive, assign={"T1": f"up.zip:{paths['T1ce'].name}", "T1ce": f"up.zip:{paths['T1'].name}", "T2": ""}
    )
    assert swapped.available == ("T1", "T1ce", "FLAIR")
    np.testing.assert_array_equal(swapped.image("T1"), case.image("T1ce"))
    np.testing.assert_array_equal(swapped.image("T1ce"), case.image("T1"))
    assert swapped.sources["T1"].file == f"up.zip:{paths['T1ce'].name}"
    with pytest.raises(CaseFilesError, match=r"^up.zip: no file named x.nii.gz to use as T2; files: up.zip:"):
        load_case(archive, assign={"T2": "x.nii.gz"})
    twice = f"up.zip:{paths['T2'].name}"
    with pytest.raises(CaseFilesError, match=r"is assigned to both T2 and FLAIR; one file per sequence"):
        load_case(archive, assign={"T2": twice, "FLAIR": twice})
    with pytest.raises(CaseFilesError, match="need FLAIR or T1ce"):
        load_case(archive, assign={"T1ce": "", "FLAIR": ""})


def test_an_assignment_settles_two_files_named_alike(tmp_path):
    paths = write_case(tmp_path / "c")
    (tmp_path / "c" / "other_t1ce.nii.gz").write_bytes(paths["T1ce"].read_bytes())
    with pytest.raises(CaseFilesError, match="2 files look like T1ce"):
        load_case(tmp_path / "c")
    case = load_case(tmp_path / "c", assign={"T1ce": "other_t1ce.nii.gz"})
    assert case.sources["T1ce"].file == "other_t1ce.nii.gz" and case.available == SEQUENCES
