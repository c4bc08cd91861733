"""Fusing several variants' segmentations: the rules, STAPLE, and ``brainseg predict --model A,B``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainseg.inference.fusion import fuse, staple
from brainseg.inference.result import Segmentation, no_prompt_interpretation
from brainseg.labels import ED, ET, NCR, labels_from_regions, region_mask

EXAMPLE = Path(__file__).resolve().parents[2] / "assets" / "examples" / "BrainSeg-Synth-001"


def member(labels: np.ndarray, probability: float = 0.9) -> Segmentation:
    """A Segmentation whose probabilities are ``probability`` inside each of its regions, 0.1 outside."""
    probabilities = np.stack([np.where(region_mask(labels, r), probability, 0.1) for r in ("WT", "TC", "ET")]).astype(
        np.float32
    )
    return Segmentation(labels, probabilities, {}, None, no_prompt_interpretation(), ("WT", "TC", "ET"), {"total": 1.0})


def blob(centre: int, radius: int, shape=(20, 20, 20)) -> np.ndarray:
    x, y, z = np.ogrid[: shape[0], : shape[1], : shape[2]]
    return (x - centre) ** 2 + (y - 10) ** 2 + (z - 10) ** 2 <= radius**2


def test_majority_takes_what_more_than_half_say_and_nests_the_regions():
    a = labels_from_regions(blob(9, 6), blob(9, 3), blob(9, 2))
    b = labels_from_regions(blob(10, 6), blob(10, 3), blob(10, 1))
    c = labels_from_regions(blob(11, 6), np.zeros((20,) * 3, bool), np.zeros((20,) * 3, bool))  # no core at all
    fusion = fuse([member(a), member(b), member(c)], ["a", "b", "c"])
    for index, region in enumerate(("WT", "TC", "ET")):
        votes = sum(region_mask(m, region).astype(int) for m in (a, b, c))
        np.testing.assert_array_equal(fusion.agreement[index], votes)
        np.testing.assert_array_equal(region_mask(fusion.labels, region), votes >= 2)
    assert set(np.unique(fusion.labels)) <= {0, NCR, ED, ET}
    assert fusion.disagreement("WT").any() and not fusion.disagreement("WT")[10, 10, 10]
    assert fusion.pairwise_dice["TC"]["a | c"] == 0.0 and 0 < fusion.pairwise_dice["WT"]["a | b"] < 1


def test_two_members_tie_by_mean_probability_and_mean_thresholds_the_average():
    a = labels_from_regions(blob(9, 6), blob(9, 3), blob(9, 2))
    b = labels_from_regions(blob(11, 6), blob(11, 3), blob(11, 2))
    sure, unsure = member(a, 0.95), member(b, 0.55)  # mean inside only b: (0.55 + 0.1) / 2 < 0.5
    majority = fuse([sure, unsure], ["sure", "unsure"], "majority")
    only_a = blob(9, 6) & ~blob(11, 6)
    assert region_mask(majority.labels, "WT")[only_a].all()  # (0.95 + 0.1) / 2 > 0.5
    assert not region_mask(majority.labels, "WT")[blob(11, 6) & ~blob(9, 6)].any()
    mean = fuse([sure, unsure], ["sure", "unsure"], "mean")
    np.testing.assert_array_equal(region_mask(mean.labels, "WT"), mean.probabilities[0] > 0.5)
    with pytest.raises(ValueError, match="unknown fusion rule"):
        fuse([sure, unsure], ["a", "b"], "vote")
    with pytest.raises(ValueError, match="two or more members"):
        fuse([sure], ["a"])


def test_staple_recovers_the_truth_from_raters_of_unequal_quality():
    rng = np.random.default_rng(0)
    truth = blob(10, 6, (20, 20, 20))
    raters = []
    for sensitivity, false_rate in ((0.95, 0.01), (0.9, 0.02), (0.6, 0.3), (0.55, 0.35)):
        raters.append(np.where(truth, rng.random(truth.shape) < sensitivity, rng.random(truth.shape) < false_rate))
    posterior = staple(np.stack(raters)) > 0.5
    majority = np.sum(raters, axis=0) >= 3
    errors = lambda mask: int((mask != truth).sum())  # noqa: E731
    assert errors(posterior) < errors(majority)  # two good raters outweigh two poor ones
    assert staple(np.zeros((3, 4, 4, 4), bool)).max() == 0


def test_predict_with_two_models_writes_the_fusion_and_the_agreement_map(tmp_path):
    def predict(model: str, out: Path, *extra: str) -> dict:
        command = [sys.executable, "-m", "brainseg.cli", "predict", str(EXAMPLE), "--model", model, "--out", str(out)]
        result = subprocess.run([*command, *extra], capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        return json.loads((out / "report.json").read_text())

    report = predict("clip-unet3d,unet3d", tmp_path / "fused")
    singles = [predict(m, tmp_path / m) for m in ("clip-unet3d", "unet3d")]
    agreement = np.asarray(nib.load(tmp_path / "fused" / "agreement.nii.gz").dataobj)
    masks = [np.asarray(nib.load(tmp_path / m / "segmentation.nii.gz").dataobj) for m in ("clip-unet3d", "unet3d")]
    wt = sum((m > 0).astype(int) for m in masks)
    np.testing.assert_array_equal(agreement[..., 0], wt)  # on the input grid, like the segmentations
    fused = np.asarray(nib.load(tmp_path / "fused" / "segmentation.nii.gz").dataobj)
    assert np.all((fused > 0) <= (wt >= 1)) and np.all((wt == 2) <= (fused > 0))  # both say it: it is tumor
    fusion = report["fusion"]
    assert fusion["rule"] == "majority" and [m["model"] for m in fusion["members"]] == ["clip-unet3d", "unet3d"]
    for single, listed in zip(singles, fusion["members"], strict=True):
        assert listed["volumes_ml"]["WT"] == pytest.approx(single["regions"]["WT"]["volume_ml"], abs=1e-3)
    assert 0 < fusion["pairwise_dice"]["WT"]["clip-unet3d | unet3d"] <= 1
    assert report["files"]["agreement"]["file"] == "agreement.nii.gz"
    staple_report = predict("clip-unet3d,unet3d", tmp_path / "staple", "--fusion", "staple")
    assert staple_report["fusion"]["rule"] == "staple"
    command = [sys.executable, "-m", "brainseg.cli", "predict", str(EXAMPLE), "--fusion", "mean"]
    bad = subprocess.run([*command, "--out", str(tmp_path / "x")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "give two or more models" in bad.stderr
