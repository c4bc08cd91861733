"""The installed ``brainseg`` command, run as a user would (a subprocess)."""

import json
import subprocess
import sys

import pytest

from tests.casefiles import write_case

BRAINSEG = [sys.executable, "-m", "brainseg.cli"]


def run(*args, cwd=None):
    return subprocess.run([*BRAINSEG, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_inspect_folder(tiny_case):
    result = run("inspect", tiny_case["T1"].parent)
    assert result.returncode == 0, result.stderr
    assert "naming: brats2021" in result.stdout
    assert "orientation LPS" in result.stdout
    assert "labels brats2021" in result.stdout


def test_inspect_explicit_files_json(tiny_case):
    result = run(
        "inspect", "--t1", tiny_case["T1"], "--t1ce", tiny_case["T1ce"], "--t2", tiny_case["T2"],
        "--flair", tiny_case["FLAIR"], "--truth", tiny_case["truth"], "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["input_grid"]["shape"] == [12, 14, 10]
    assert summary["truth"]["convention"] == "brats2021"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((), ("the following arguments are required",)),
        (("inspect",), ("give a CASE folder or .zip",)),
        (("inspect", "/no/such/case"), ("/no/such/case: no such file or folder",)),
        (("inspect", "--bogus"), ("unrecognized arguments: --bogus",)),
        (("evaluate", "--pred", "x.nii.gz"), ("--truth",)),
    ],
)
def test_usage_errors_are_one_line(args, fragments):
    assert_one_line_error(run(*args), *fragments)


def test_synth_writes_metastasis_cases(tmp_path):
    result = run("synth", "--out", tmp_path, "--seed", "4", "--lesion", "metastasis")
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "synth_cases.json").read_text())
    assert [case["lesion"] for case in manifest] == ["metastasis"]
    assert_one_line_error(run("synth", "--out", tmp_path, "--lesion", "lymphoma"), "invalid choice: 'lymphoma'")


def test_bad_case_is_one_line_error(tmp_path):
    paths = write_case(tmp_path / "c")
    paths["FLAIR"].write_bytes(b"garbage")
    assert_one_line_error(run("inspect", tmp_path / "c"), "Case-001_flair.nii.gz: not a readable NIfTI file")
    paths["FLAIR"].unlink()
    paths["T1ce"].unlink()
    assert_one_line_error(run("inspect", tmp_path / "c"), "c: missing FLAIR and T1ce (found: ")


def _save_labels(path, labels, affine=None):
    import nibabel as nib
    import numpy as np

    nib.save(nib.Nifti1Image(labels.astype(np.uint8), np.eye(4) if affine is None else affine), path)
    return path


def test_evaluate_prints_the_documented_json(tmp_path):
    import numpy as np

    truth = np.zeros((20, 20, 20), np.uint8)
    truth[5:15, 5:15, 5:15] = 2
    truth[8:12, 8:12, 8:12] = 4  # BraTS 2021 ET
    pred = truth.copy()
    pred[5:8, 5:15, 5:15] = 0  # 300 of the 1000 whole-tumor voxels missed, ET untouched
    result = run(
        "evaluate", "--pred", _save_labels(tmp_path / "p.nii.gz", pred), "--truth",
        _save_labels(tmp_path / "t.nii.gz", truth), "--out", tmp_path / "report.json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert json.loads((tmp_path / "report.json").read_text()) == report
    for region in ("WT", "TC", "ET", "NCR", "ED"):
        assert set(report["regions"][region]) >= {
            "dice", "iou", "precision", "sensitivity", "specificity", "hd95_mm", "volume_pred_ml", "volume_truth_ml",
        }  # fmt: skip
    # WT: truth 1000 voxels, prediction 700 of them -> Dice 2*700/1700.
    assert report["regions"]["WT"]["dice"] == pytest.approx(1400 / 1700)
    assert report["regions"]["WT"]["volume_truth_ml"] == pytest.approx(1.0)
    assert report["regions"]["ET"]["dice"] == pytest.approx(1.0)
    assert report["conventions"]["labels"]["truth"]["convention"] == "brats2021"
    assert "lesionwise" in report and "WT" in report["lesionwise"]


def test_evaluate_refuses_different_grids_and_bad_labels(tmp_path):
    import numpy as np

    labels = np.zeros((10, 10, 10), np.uint8)
    labels[2:5, 2:5, 2:5] = 1
    shifted = np.eye(4)
    shifted[0, 3] = 5.0
    pred = _save_labels(tmp_path / "p.nii.gz", labels, shifted)
    truth = _save_labels(tmp_path / "t.nii.gz", labels)
    assert_one_line_error(run("evaluate", "--pred", pred, "--truth", truth), "are on different grids")
    labels[0, 0, 0] = 7
    bad = _save_labels(tmp_path / "bad.nii.gz", labels)
    assert_one_line_error(run("evaluate", "--pred", bad, "--truth", truth), "label values [7] are not BraTS labels")


def test_models_lists_every_variant():
    from brainseg.models import get_variant, list_models

    result = run("models")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(list_models())
    for line, name in zip(lines, list_models(), strict=True):
        assert line.startswith(name) and f"({get_variant(name).paper or 'baseline'})" in line
