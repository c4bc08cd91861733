"""``brainseg refine`` and its Python API on real NIfTI files: the refined file, the report, the errors."""

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.cli import main as cli_main
from brainseg.editing.session import refine_files
from brainseg.labels import region_mask
from tests.editing.phantom import LPS, SHAPE, input_voxel, phantom, write_phantom

MISSED_EDEMA = (24 + 10, 24, 20)
"""A canonical voxel of the phantom's edema, 10 mm right of the centre (the start misses it)."""


def _argv(paths, out, *extra):
    files = [arg for role in ("T1", "T1ce", "T2", "FLAIR") for arg in (f"--{role.lower()}", str(paths[role]))]
    return ["refine", *files, "--seg", str(paths["start"]), "--out", str(out), *extra]


def _dice(a, b):
    return 2 * np.count_nonzero(a & b) / (np.count_nonzero(a) + np.count_nonzero(b))


def test_a_click_given_in_input_grid_voxels_adds_the_missed_edema_on_the_input_grid(tmp_path, capsys):
    paths = write_phantom(tmp_path / "case")
    i, j, k = input_voxel(MISSED_EDEMA)
    assert cli_main(_argv(paths, tmp_path / "out", "--click", f"{i},{j},{k},+,WT")) == 0
    printed = capsys.readouterr().out
    assert "start.nii.gz + 1 edit" in printed and f"click +WT at [{i}, {j}, {k}]" in printed
    written = nib.load(tmp_path / "out" / "segmentation.nii.gz")
    assert written.shape == SHAPE and np.allclose(written.affine, LPS)
    refined = np.asarray(written.dataobj)
    truth = np.asarray(nib.load(paths["truth"]).dataobj)
    start = np.asarray(nib.load(paths["start"]).dataobj)
    assert _dice(start > 0, truth > 0) < 0.4 < 0.9 < _dice(refined > 0, truth > 0)
    assert np.array_equal(refined[start > 0], start[start > 0])  # what the start had is kept
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["segmentation_is"] == "start.nii.gz + 1 edit" and report["edit_count"] == 1
    edit = report["edits"][0]
    assert (edit["tool"], edit["region"], edit["sign"]) == ("click", "WT", "+")
    assert edit["input_voxel"] == [i, j, k] and edit["voxel"] == list(MISSED_EDEMA)
    added = np.count_nonzero((refined > 0) & (start == 0))
    assert edit["voxels_added"] == added and edit["voxels_removed"] == 0 and edit["ml_added"] == added / 1000
    assert report["volumes_ml_after"]["WT"] > report["volumes_ml_before"]["WT"]


def test_clicks_then_boxes_apply_in_order_and_the_python_api_writes_the_same(tmp_path):
    paths = write_phantom(tmp_path / "case")
    i, j, k = input_voxel(MISSED_EDEMA)
    clicks = [f"{i},{j},{k},+,WT", "0,0,0,-,ET"]  # the second changes nothing: no ET there
    box = "10,10,6,37,37,33,WT"
    argv = _argv(paths, tmp_path / "cli", *[a for c in clicks for a in ("--click", c)], "--box", box)
    assert cli_main([*argv, "--labels", "brats2021"]) == 0
    sequences = {role.lower(): paths[role] for role in ("T1", "T1ce", "T2", "FLAIR")}
    refined = refine_files(sequences, paths["start"], "; ".join(clicks), [box], tmp_path / "api", labels="brats2021")
    from_cli = np.asarray(nib.load(tmp_path / "cli" / "segmentation.nii.gz").dataobj)
    assert np.array_equal(from_cli, np.asarray(nib.load(refined.segmentation).dataobj))
    assert set(np.unique(from_cli)) <= {0, 1, 2, 4}  # BraTS 2021 labels: ET written as 4
    report = json.loads(refined.report.read_text())
    assert [e["tool"] for e in report["edits"]] == ["click", "box"] and report["changed_nothing"] == [clicks[1]]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--click", "48,0,0,+,WT"], "click '48,0,0,+,WT': voxel (48, 0, 0) is outside the input grid (48 x 48 x 40"),
        (["--click", "1,2,3,*,WT"], "SIGN must be + (belongs to the region) or - (does not), not '*'"),
        (["--click", "1,2,3,+,liver"], "region 'liver' is not one of WT, TC, ET"),
        (["--click", "1,2,+,WT"], "expected I,J,K,SIGN,REGION"),
        (["--box", "1,2,3,4,5,6"], "expected I0,J0,K0,I1,J1,K1,REGION"),
        ([], "give at least one --click"),
    ],
)
def test_bad_clicks_and_boxes_are_one_error_line_and_exit_2(tmp_path, capsys, extra, message):
    paths = write_phantom(tmp_path / "case")
    assert cli_main(_argv(paths, tmp_path / "out", *extra)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and "\n" not in err
    assert not (tmp_path / "out" / "segmentation.nii.gz").exists()


def test_a_start_segmentation_on_another_grid_is_refused_by_name(tmp_path, capsys):
    paths = write_phantom(tmp_path / "case")
    other = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((40, 48, 40), np.uint8), LPS), other)
    argv = _argv(paths, tmp_path / "out", "--click", "1,2,3,+,WT")
    argv[argv.index(str(paths["start"]))] = str(other)
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert "other.nii.gz" in err and err.startswith("error: ")


def test_the_phantom_written_reads_back_as_the_canonical_arrays(tmp_path):
    from brainseg.io import load_case

    paths = write_phantom(tmp_path / "case")
    images, truth = phantom()
    case = load_case(t1=paths["T1"], t1ce=paths["T1ce"], t2=paths["T2"], flair=paths["FLAIR"], truth=paths["truth"],
                     labels="brats2023")  # fmt: skip
    assert np.array_equal(case.truth, truth) and np.allclose(case.images, images)
    assert region_mask(case.truth, "WT")[MISSED_EDEMA] and case.truth[MISSED_EDEMA] == 2
