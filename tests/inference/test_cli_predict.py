"""``brainseg predict``: the files it writes, and one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import torch
from PIL import Image

from brainseg.cli import main
from brainseg.hub import save_checkpoint
from brainseg.models import create
from tests.casefiles import REPO
from tests.inference.helpers import pointwise_checkpoint, registered_pointwise_variant, write_brain_case

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def case_folder(tmp_path_factory):
    return write_brain_case(tmp_path_factory.mktemp("cli") / "case")


@pytest.fixture(scope="module")
def unet_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    return save_checkpoint(create("unet3d", "demo"), tmp_path_factory.mktemp("cli") / "unet3d")


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "brainseg.cli", *map(str, args)], capture_output=True, text=True, cwd=REPO, timeout=300
    )


def assert_one_line_error(returncode, stderr, *fragments):
    assert returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_predict_writes_segmentation_uncertainty_and_report(case_folder, unet_checkpoint, tmp_path):
    out = tmp_path / "out"
    result = run_cli(
        "predict", case_folder, "--model", f"local-dir:{unet_checkpoint}", "--prompt", "whole tumour",
        "--labels", "brats2021", "--device", "cpu", "--uncertainty", "--out", out,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["report.json", "segmentation.nii.gz", "uncertainty.nii.gz"]
    t1c = nib.load(next(case_folder.glob("*-t1c.nii.gz")))
    segmentation, uncertainty = nib.load(out / "segmentation.nii.gz"), nib.load(out / "uncertainty.nii.gz")
    for image in (segmentation, uncertainty):
        assert image.shape == t1c.shape
        np.testing.assert_array_equal(image.affine, t1c.affine)
    labels = np.asarray(segmentation.dataobj)
    assert set(np.unique(labels)) <= {0, 1, 2, 4}, "brats2021: ET is 4"
    assert np.asarray(uncertainty.dataobj).min() >= 0
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["model"] == "unet3d" and report["model"]["source"] == f"local-dir:{unet_checkpoint}"
    assert len(report["model"]["sha256"]) == 64
    assert report["prompt"] == "whole tumour" and report["interpretation"]["regions"] == ["WT"]
    assert report["regions"]["WT"]["voxels"] == np.count_nonzero(labels)
    assert {"load_case", "load_checkpoint", "preprocess", "inference", "uncertainty", "write"} <= set(
        report["timings_s"]
    )
    assert report["files"]["segmentation"]["file"] == "segmentation.nii.gz"
    assert "wrote" in result.stdout and "WT" in result.stdout


def test_small_components_are_removed_unless_kept_and_the_report_says_so(case_folder, tmp_path, capsys):
    with registered_pointwise_variant():
        checkpoint = pointwise_checkpoint(tmp_path / "pointwise")
        reports = {}
        for name, extra in [
            ("default", []),
            ("kept", ["--keep-small-components"]),
            ("enhancing kept", ["--keep-small-enhancing"]),
        ]:
            out = tmp_path / name
            args = ["predict", str(case_folder), "--model", f"local-dir:{checkpoint}", "--out", str(out), *extra]
            status = main(args)
            assert status == 0, capsys.readouterr().err
            reports[name] = json.loads((out / "report.json").read_text())
    step = next(s for s in reports["default"]["postprocessing"] if s.startswith("tumor components"))
    dropped_ml = float(step.split("(")[-1].split(" mL")[0])
    assert "smaller than 5% of the largest removed" in step
    assert any(s.startswith("every tumor component kept") for s in reports["kept"]["postprocessing"])
    kept, default = (reports[n]["regions"]["WT"]["volume_ml"] for n in ("kept", "default"))
    assert dropped_ml > 0 and kept - default == pytest.approx(dropped_ml, abs=0.006)
    # The toy tumor's enhancing part is under 0.5 mL: relabelled NCR by default, the tumor core unchanged.
    enhancing = reports["enhancing kept"]["regions"]
    relabelled = next(s for s in reports["default"]["postprocessing"] if s.startswith("enhancing tumor under 0.5 mL"))
    assert 0 < enhancing["ET"]["volume_ml"] < 0.5 and reports["default"]["regions"]["ET"]["voxels"] == 0
    relabelled_ml = float(relabelled.split(": ")[-1].split(" mL")[0])
    assert relabelled_ml == pytest.approx(enhancing["ET"]["volume_ml"], abs=0.006)
    assert reports["default"]["regions"]["TC"]["voxels"] == enhancing["TC"]["voxels"]
    assert any(s == "enhancing tumor kept whatever its volume" for s in reports["enhancing kept"]["postprocessing"])


def test_refused_prompt_exits_2_without_a_traceback(case_folder, unet_checkpoint, tmp_path):
    result = run_cli("predict", case_folder, "--model", f"local-dir:{unet_checkpoint}", "--prompt", "the liver",
                     "--out", tmp_path / "out")  # fmt: skip
    assert_one_line_error(result.returncode, result.stderr, "'liver' is outside what BrainSeg segments")
    assert not (tmp_path / "out").exists()


def test_explicit_sequence_files(case_folder, tmp_path, capsys):
    files = {s: next(case_folder.glob(f"*-{suffix}.nii.gz")) for s, suffix in
             [("t1", "t1n"), ("t1ce", "t1c"), ("t2", "t2w"), ("flair", "t2f")]}  # fmt: skip
    with registered_pointwise_variant():
        checkpoint = pointwise_checkpoint(tmp_path / "pointwise")
        args = [f"--{s}={p}" for s, p in files.items()]
        out = tmp_path / "out"
        # The toy tumor's enhancing part (0.1 mL) is kept as ET, so the overlay shows all three colours.
        extra = ["--snapshot", "--keep-small-enhancing"]
        status = main(["predict", *args, "--model", f"local-dir:{checkpoint}", "--out", str(out), *extra])
    assert status == 0, capsys.readouterr().err
    report = json.loads((out / "report.json").read_text())
    assert report["case"]["files"]["T1ce"] == files["t1ce"].name
    assert report["target_regions"] == ["WT", "TC", "ET"] and report["prompt"] is None
    assert "overlay.png" in capsys.readouterr().out
    # Two rows (FLAIR, T1ce) of three views through the predicted tumor, in its colours, under a caption.
    overlay = np.asarray(Image.open(out / "overlay.png").convert("RGB")).astype(int)
    assert overlay.shape[1] > overlay.shape[0] > 200
    assert report["regions"]["ET"]["voxels"] > 0
    red, green, blue = overlay.transpose(2, 0, 1)
    assert ((red > 180) & (green > 150) & (blue < red - 60)).sum() > 200  # ET's yellow over grey


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["predict", "--out", "OUT"], ["give a CASE folder or .zip, or --t1 --t1ce --t2 --flair"]),
        (["predict", "CASE"], ["the following arguments are required: --out"]),
        (["predict", "CASE", "--labels", "brats2015", "--out", "OUT"], ["argument --labels: invalid choice"]),
        (["predict", "CASE", "--device", "tpu", "--out", "OUT"], ["argument --device: invalid choice"]),
        (["predict", "CASE", "--prompt", "", "--out", "OUT"], ["the prompt is empty"]),
        (["predict", "CASE", "--prompt", "not the edema", "--out", "OUT"], ["negation"]),
        (["predict", "CASE", "--model", "hf-hub:org/repo", "--out", "OUT"], ["has no revision"]),
        (["predict", "CASE", "--model", "local-dir:/no/such/dir", "--out", "OUT"], ["/no/such/dir does not exist"]),
        (["predict", "CASE", "--model", "unet3d", "--out", "OUT"], ["no bundled checkpoint 'unet3d'"]),
        (["predict", "/no/such/case", "--out", "OUT"], ["/no/such/case: no such file or folder"]),
        (["predict", "CASE", "--out", "FILE"], ["exists and is not a folder"]),
    ],
)
def test_bad_input_is_one_line_exit_2(args, fragments, case_folder, tmp_path, monkeypatch, capsys):
    import brainseg.hub.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "BUNDLED_DIR", tmp_path / "no-bundled")  # deterministic, whatever ships
    (tmp_path / "file").write_text("x")
    names = {"CASE": str(case_folder), "OUT": str(tmp_path / "out"), "FILE": str(tmp_path / "file")}
    status = main([names.get(a, a) for a in args])
    assert_one_line_error(status, capsys.readouterr().err, *fragments)
