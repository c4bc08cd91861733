"""``brainseg evaluate-model --folds``: out-of-fold scores as ``brainseg predict`` runs, and post-processing
chosen on them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from brainseg.evaluation.cross_validation import OutOfFold, choose_postprocessing, fold_source, score_cases
from brainseg.hub import save_checkpoint
from brainseg.labels import ED, ET, NCR
from brainseg.models import create
from brainseg.synth import generate_case, write_case
from brainseg.training.folds import split_fold

SHAPE = (64, 64, 48)
NAMES = ["Case-A", "Case-B", "Case-C", "Case-D"]


def run(*command: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "brainseg.cli", *command], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def cross_validated(tmp_path_factory):
    """Four synthetic cases in a BraTS folder and two fold checkpoints (differently seeded fresh weights)."""
    root = tmp_path_factory.mktemp("cv")
    for seed, name in enumerate(NAMES):
        write_case(generate_case(4_000_000 + seed, shape=SHAPE), root / "cases", name)
    for fold in (0, 1):
        torch.manual_seed(fold)
        save_checkpoint(create("unet3d", "demo"), root / "runs" / f"fold{fold}")
    template = f"local-dir:{root / 'runs'}/fold{{fold}}"
    out = root / "cv.md"
    result = run(
        "evaluate-model", "--checkpoint", f"tiny={template}", "--data", str(root / "cases"), "--folds", "2",
        "--out", str(out),
    )  # fmt: skip
    return root, template, result.stdout, json.loads(out.with_suffix(".json").read_text())


def test_each_case_is_scored_once_by_the_fold_that_held_it_back(cross_validated):
    _root, _template, stdout, record = cross_validated
    folds = {case["case"]: case["fold"] for case in record["cases"]}
    assert sorted(folds) == NAMES
    for fold in (0, 1):
        assert sorted(name for name, k in folds.items() if k == fold) == split_fold(NAMES, fold, 2)[1]
    names = [row["name"] for row in record["rows"]]
    assert names == ["fold 0", "fold 1", "all"] and [r["cases"] for r in record["rows"]] == [2, 2, 4]
    overall = record["rows"][-1]["regions_dice"]["WT"]
    assert overall == pytest.approx(np.mean([c["regions"]["WT"]["dice"] for c in record["cases"]]))
    assert "| fold 0 | 2 |" in stdout and "| all | 4 |" in stdout and "| Case-C |" in stdout
    assert set(record["cases"][0]["lesionwise"]) == {"WT", "TC", "ET"}


def test_a_case_scores_as_brainseg_predict_then_evaluate_score_it(cross_validated, tmp_path):
    root, template, _stdout, record = cross_validated
    name = split_fold(NAMES, 1, 2)[1][0]
    run(
        "predict",
        str(root / "cases" / name),
        "--model",
        fold_source(template, 1),
        "--labels",
        "brats2021",
        "--out",
        str(tmp_path),
    )
    truth = root / "cases" / name / f"{name}_seg.nii.gz"
    report = json.loads(run("evaluate", "--pred", str(tmp_path / "segmentation.nii.gz"), "--truth", str(truth)).stdout)
    scored = next(c for c in record["cases"] if c["case"] == name)
    for region in ("WT", "TC", "ET"):
        assert scored["regions"][region]["dice"] == pytest.approx(report["regions"][region]["dice"], abs=1e-6)
        assert scored["regions"][region]["volume_pred_ml"] == pytest.approx(
            report["regions"][region]["volume_pred_ml"], abs=1e-3
        )


def _case(name: str, stray_voxels: int, enhancing_voxels: int) -> OutOfFold:
    """A 30^3 case whose truth is a nested tumor without ET; the prediction adds a stray blob and some ET."""
    truth = np.zeros((30, 30, 30), dtype=np.uint8)
    truth[5:20, 5:20, 5:20] = ED
    truth[9:16, 9:16, 9:16] = NCR
    probabilities = np.zeros((3, 30, 30, 30), dtype=np.float16)
    probabilities[0][truth > 0] = 0.9
    probabilities[1][truth == NCR] = 0.9
    probabilities[2].reshape(-1)[np.flatnonzero((truth == NCR).reshape(-1))[:enhancing_voxels]] = 0.9
    probabilities[0].reshape(-1)[
        np.ravel_multi_index(np.nonzero(np.ones((30, 30, 30))), (30, 30, 30))[-stray_voxels:]
    ] = 0.9
    return OutOfFold(0, name, probabilities, truth, (1.0, 1.0, 1.0), 0.0)


def test_post_processing_is_chosen_by_mean_dice_and_ties_keep_the_smaller_thresholds():
    cases = [_case("a", stray_voxels=40, enhancing_voxels=20), _case("b", stray_voxels=30, enhancing_voxels=10)]
    assert not (cases[0].truth == ET).any()
    (fraction, enhancing_ml), grid = choose_postprocessing(cases, (0.0, 0.05, 0.5), (0.0, 0.05, 1.0))
    # The stray blobs (< 2 % of the tumor) go at 0.05; the 10-20 false ET voxels (0.01-0.02 mL) at 0.05 mL.
    assert (fraction, enhancing_ml) == (0.05, 0.05)
    best = max(row["mean_dice"] for row in grid)
    assert [row["mean_dice"] for row in grid].count(best) >= 2  # 0.5 and 1.0 do as well: the smaller is kept
    raw, cleaned = score_cases(cases, (0.0, 0.0)), score_cases(cases, (fraction, enhancing_ml))
    assert all(c["regions"]["ET"]["dice"] == 1.0 for c in cleaned) and all(
        r["regions"]["ET"]["dice"] == 0.0 for r in raw
    )
    assert all(c["regions"]["WT"]["dice"] > r["regions"]["WT"]["dice"] for c, r in zip(cleaned, raw, strict=True))


def test_folds_need_a_folder_and_one_checkpoint(tmp_path):
    command = [sys.executable, "-m", "brainseg.cli", "evaluate-model", "--model", "unet3d", "--folds", "3"]
    result = subprocess.run([*command, "--data", "synth:2"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--folds needs --data DIR" in result.stderr
    result = subprocess.run([*command[:-2], "--tune-postprocess"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--tune-postprocess needs --folds" in result.stderr


def test_tuned_thresholds_travel_in_the_exported_card_and_the_segmenter_applies_them(cross_validated, tmp_path):
    from brainseg.inference import Segmenter
    from brainseg.inference.postprocess import MIN_COMPONENT_FRACTION, MIN_ENHANCING_ML

    root, template, _stdout, _record = cross_validated
    out = tmp_path / "tuned.md"
    result = run(
        "evaluate-model", "--checkpoint", template, "--data", str(root / "cases"), "--folds", "2",
        "--tune-postprocess", "--out", str(out),
    )  # fmt: skip
    tuned = json.loads(out.with_suffix(".json").read_text())
    assert "chosen: min_component_fraction" in result.stdout and len(tuned["postprocessing_grid"]) == 30
    chosen = tuned["postprocessing"]
    best = max(row["mean_dice"] for row in tuned["postprocessing_grid"])
    assert next(
        row["mean_dice"]
        for row in tuned["postprocessing_grid"]
        if (row["min_component_fraction"], row["min_enhancing_ml"])
        == (chosen["min_component_fraction"], chosen["min_enhancing_ml"])
    ) == pytest.approx(best)
    assert Segmenter(fold_source(template, 0), "cpu").min_component_fraction == MIN_COMPONENT_FRACTION  # no card yet
    # A card with other thresholds than the defaults: the Segmenter (hence predict and the app) applies them.
    tuned["postprocessing"] = {"min_component_fraction": 0.3, "min_enhancing_ml": 2.0}
    (tmp_path / "chosen.json").write_text(json.dumps(tuned))
    run(
        "export-checkpoint",
        fold_source(template, 0),
        str(tmp_path / "bundle"),
        "--postprocessing",
        str(tmp_path / "chosen.json"),
    )
    segmenter = Segmenter(f"local-dir:{tmp_path / 'bundle'}", "cpu")
    assert (segmenter.min_component_fraction, segmenter.min_enhancing_ml) == (0.3, 2.0)
    assert (MIN_COMPONENT_FRACTION, MIN_ENHANCING_ML) != (0.3, 2.0)
    assert "cross-validation" in segmenter.checkpoint.metadata["postprocessing"]["chosen_by"]
    assert Segmenter(f"local-dir:{tmp_path / 'bundle'}", "cpu", min_component_fraction=0.0).min_component_fraction == 0
    bad = subprocess.run(
        [sys.executable, "-m", "brainseg.cli", "export-checkpoint", fold_source(template, 0), str(tmp_path / "x"),
         "--postprocessing", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and f"--postprocessing {out}: not the JSON of evaluate-model" in bad.stderr


def test_subsets_are_scored_on_the_regions_they_show_beside_all_four(cross_validated, tmp_path):
    root, _template, _stdout, _record = cross_validated
    for fold in (0, 1):
        torch.manual_seed(fold)
        metadata = {"training": {"sequence_dropout": 0.5}}
        save_checkpoint(create("unet3d", "demo"), tmp_path / f"fold{fold}", metadata=metadata)
    out = tmp_path / "subsets.md"
    result = run(
        "evaluate-model", "--checkpoint", f"local-dir:{tmp_path}/fold{{fold}}", "--data", str(root / "cases"),
        "--folds", "2", "--subsets", "all,flair,T1ce", "--out", str(out),
    )  # fmt: skip
    record = json.loads(out.with_suffix(".json").read_text())
    assert [row["subset"] for row in record["rows"]] == ["all", "FLAIR", "T1ce"]
    assert len(record["cases"]) == 3 * len(NAMES)
    flair = next(row for row in record["rows"] if row["subset"] == "FLAIR")
    assert flair["dice"]["TC"] is None and flair["dice"]["ET"] is None and flair["dice"]["WT"] is not None
    t1ce = next(row for row in record["rows"] if row["subset"] == "T1ce")
    assert t1ce["dice"]["WT"] is None and t1ce["dice"]["TC"] is not None
    full = record["rows"][0]["dice"]["WT"]
    assert flair["difference"]["WT"] == pytest.approx(flair["dice"]["WT"] - full)
    assert "| FLAIR | 4 |" in result.stdout and "| — | — |" in result.stdout
