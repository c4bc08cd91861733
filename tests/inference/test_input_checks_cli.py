"""``brainseg predict`` says what is wrong with the input and registers the sequences on request."""

from __future__ import annotations

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainseg.cli import main
from brainseg.io import load_case
from tests.inference.helpers import pointwise_checkpoint

pytestmark = pytest.mark.usefixtures("torch_one_thread", "pointwise_variant")

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "examples" / "BrainSeg-Synth-001"


@pytest.fixture(scope="module")
def shifted_files(tmp_path_factory):
    """The example case around its brain, its T1ce moved 6 mm to the right of the others."""
    folder = tmp_path_factory.mktemp("shifted")
    example = load_case(EXAMPLE)
    box = (slice(40, 200), slice(30, 215), slice(0, 150))
    files = {}
    for sequence in ("T1", "T1ce", "T2", "FLAIR"):
        image = example.image(sequence)[box]
        image = np.roll(image, 6, axis=0) if sequence == "T1ce" else image
        files[sequence.lower()] = folder / f"scan_{sequence.lower()}.nii.gz"
        nib.save(nib.Nifti1Image(image, example.affine), files[sequence.lower()])
    return files


@pytest.fixture(scope="module")
def source(tmp_path_factory, pointwise_variant):
    return f"local-dir:{pointwise_checkpoint(tmp_path_factory.mktemp('model') / 'pointwise')}"


def _predict(files, source, out, *extra):
    arguments = [item for key, path in files.items() for item in (f"--{key}", str(path))]
    return main(["predict", *arguments, "--model", source, "--device", "cpu", "--out", str(out), *extra])


def test_predict_warns_of_a_misregistered_sequence_naming_the_file(shifted_files, source, tmp_path, capsys):
    assert _predict(shifted_files, source, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    assert "warning: scan_t1ce.nii.gz (T1ce) looks misregistered to FLAIR" in printed and "--register" in printed
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert any("misregistered" in line for line in report["warnings"])


def test_predict_register_moves_the_sequences_onto_flair(shifted_files, source, tmp_path, capsys):
    assert _predict(shifted_files, source, tmp_path / "out", "--register") == 0
    printed = capsys.readouterr().out
    assert "misregistered" not in printed
    assert "warning: registered scan_t1ce.nii.gz (T1ce) to FLAIR: moved " in printed
    moved = float(printed.split("(T1ce) to FLAIR: moved ")[1].split(" mm")[0])
    assert 5.5 < moved < 6.5  # the 6 mm roll, whatever ITK's random sample
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert sum(line.startswith("registered scan_") for line in report["warnings"]) == 3
