"""Segmenting a case that lacks sequences: only with a model trained for it, only the regions it supports."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.cli import main
from brainseg.errors import BrainSegError
from brainseg.hub.checkpoint import MISSING_SEQUENCES_FOLDER
from brainseg.inference.segmenter import Segmenter
from brainseg.io import load_case
from brainseg.labels import ED, ET, NCR
from tests.inference.helpers import pointwise_checkpoint, write_brain_case

pytestmark = pytest.mark.usefixtures("torch_one_thread", "pointwise_variant")

DROPOUT = {"training": {"sequence_dropout": 0.5}}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("missing")


@pytest.fixture(scope="module")
def folder(workdir):
    return write_brain_case(workdir / "case")


@pytest.fixture(scope="module")
def dropout_source(workdir, pointwise_variant):
    return f"local-dir:{pointwise_checkpoint(workdir / 'dropout', metadata=DROPOUT)}"


@pytest.fixture(scope="module")
def complete_only_source(workdir, pointwise_variant):
    return f"local-dir:{pointwise_checkpoint(workdir / 'complete')}"


def files(folder, *sequences):
    suffix = {"T1": "t1n", "T1ce": "t1c", "T2": "t2w", "FLAIR": "t2f"}
    return {s.lower(): next(folder.glob(f"*-{suffix[s]}.nii.gz")) for s in sequences}


def test_flair_alone_gives_the_whole_tumor_only(folder, dropout_source):
    case = load_case(**files(folder, "FLAIR"))
    full = Segmenter(dropout_source, "cpu").segment(load_case(folder))
    result = Segmenter(dropout_source, "cpu").segment(case)
    assert result.sequences_used == ("FLAIR",) and result.regions_predicted == ("WT",)
    assert result.target_regions == ("WT",)
    assert set(np.unique(result.labels)) == {0, ED}  # the whole tumor, read as WT only
    assert not result.probabilities[1:].any()
    # The pointwise model reads WT from FLAIR alone: the same whole tumor as with all four sequences.
    np.testing.assert_array_equal(result.labels > 0, full.labels > 0)


def test_t1ce_alone_gives_core_and_enhancing_and_no_edema(folder, dropout_source):
    result = Segmenter(dropout_source, "cpu").segment(load_case(**files(folder, "T1ce")))
    assert result.regions_predicted == ("TC", "ET")
    assert ED not in np.unique(result.labels) and {NCR, ET} & set(np.unique(result.labels))
    np.testing.assert_array_equal(result.probabilities[0], result.probabilities[1])  # WT is the core


def test_a_prompt_for_a_region_the_sequences_cannot_show_is_refused_or_narrowed(folder, dropout_source):
    segmenter = Segmenter(dropout_source, "cpu")
    flair_only = load_case(**files(folder, "FLAIR"))
    with pytest.raises(BrainSegError, match=r"has FLAIR only: ET \(needs T1ce\) cannot be segmented on it"):
        segmenter.segment(flair_only, "enhancing tumor")
    narrowed = segmenter.segment(flair_only, "whole tumor and enhancing tumor")
    assert narrowed.target_regions == ("WT",)
    assert any("not segmented on these sequences: ET (needs T1ce)" in w for w in narrowed.warnings)


def test_a_model_trained_on_complete_cases_refuses_an_incomplete_one(folder, complete_only_source):
    segmenter = Segmenter(complete_only_source, "cpu")
    assert not segmenter.runs_on_missing
    with pytest.raises(BrainSegError, match=r"needs T1, T1ce, T2 and FLAIR .*lacks T1, T2"):
        segmenter.segment(load_case(**files(folder, "T1ce", "FLAIR")))
    assert segmenter.segment(load_case(folder)).regions_predicted == ("WT", "TC", "ET")


@pytest.fixture(scope="module")
def paired_source(workdir, pointwise_variant):
    """A complete-case checkpoint with a sequence-dropout one beside it (its sequence-dropout/ sub-folder)."""
    primary = pointwise_checkpoint(workdir / "paired")
    pointwise_checkpoint(primary / MISSING_SEQUENCES_FOLDER, bias_shift=0.5, metadata=DROPOUT)
    return f"local-dir:{primary}"


def test_a_case_lacking_sequences_switches_to_the_checkpoint_kept_beside(folder, paired_source, tmp_path):
    segmenter = Segmenter(paired_source, "cpu")
    assert not segmenter.runs_on_missing
    complete = load_case(folder)
    assert segmenter.for_case(complete) is segmenter
    assert segmenter.report(complete, segmenter.segment(complete))["model"]["source"] == paired_source
    incomplete = load_case(**files(folder, "T1ce", "FLAIR"))
    companion = segmenter.for_case(incomplete)
    assert companion is not segmenter and companion.runs_on_missing and segmenter.for_case(incomplete) is companion
    result = segmenter.segment(incomplete)
    assert result.regions_predicted == ("WT", "TC", "ET")
    report = segmenter.report(incomplete, result)
    assert report["model"]["source"] == f"{paired_source}/{MISSING_SEQUENCES_FOLDER}"
    assert report["model"]["sha256"] == companion.info["sha256"] != segmenter.info["sha256"]
    _, written = segmenter.write(incomplete, result, tmp_path / "out")
    assert json.loads(written.read_text())["model"]["source"].endswith(MISSING_SEQUENCES_FOLDER)


def test_cli_predict_with_flair_alone_writes_wt_and_says_so(folder, dropout_source, tmp_path, capsys):
    out = tmp_path / "out"
    status = main(["predict", "--flair", str(files(folder, "FLAIR")["flair"]), "--model", dropout_source,
                   "--device", "cpu", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert status == 0
    assert "TC not predicted (needs T1ce)" in printed and "regions predicted: WT" in printed
    report = json.loads((out / "report.json").read_text())
    assert report["sequences"] == {
        "used": ["FLAIR"],
        "missing": ["T1", "T1ce", "T2"],
        "regions_predicted": ["WT"],
        "regions_not_predicted": {"TC": "needs T1ce", "ET": "needs T1ce"},
    }
    assert report["regions"]["WT"]["predicted"] and not report["regions"]["ET"]["predicted"]
    written = np.asarray(nib.load(out / "segmentation.nii.gz").dataobj)
    assert set(np.unique(written)) == {0, 2}
    flair = nib.load(files(folder, "FLAIR")["flair"])
    np.testing.assert_allclose(nib.load(out / "segmentation.nii.gz").affine, flair.affine)


def test_cli_predict_without_flair_or_t1ce_is_one_line(folder, dropout_source, tmp_path, capsys):
    status = main(["predict", "--t1", str(files(folder, "T1")["t1"]), "--t2", str(files(folder, "T2")["t2"]),
                   "--model", dropout_source, "--out", str(tmp_path / "o")])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1
    assert err[0].startswith("error: missing FLAIR and T1ce (given: T1, T2)")


def test_thick_slices_are_resampled_for_the_network_and_back(workdir, dropout_source):
    from tests.casefiles import LPS_AFFINE

    thick = LPS_AFFINE.copy()
    thick[:3, 2] *= 5.0  # 5 mm slices
    folder = write_brain_case(workdir / "thick", shape=(40, 36, 8), affine=thick)
    case = load_case(folder)
    assert case.spacing[2] == pytest.approx(5.0)
    result = Segmenter(dropout_source, "cpu").segment(case)
    assert result.labels.shape == case.shape  # back on the case's own grid
    assert result.labels.any() and result.probabilities.shape == (3, *case.shape)
    assert any("resampled to the model's 1 x 1 x 1 mm for the network and back" in w for w in result.warnings)
    assert any("to the model's spacing (40x36x40)" in step for step in result.preprocessing)
    assert not any("segmented at the case's own spacing" in w for w in result.warnings)
