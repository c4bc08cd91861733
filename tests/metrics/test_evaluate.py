import json

import numpy as np
import pytest

from brainseg.errors import BrainSegError, GridMismatchError, LabelConventionError
from brainseg.metrics import evaluate
from tests.metrics.test_lesionwise import multi_lesion_case

REGION_KEYS = {"dice", "iou", "precision", "sensitivity", "specificity", "hd95_mm", "volume_pred_ml", "volume_truth_ml"}
LESION_KEYS = {
    "dice",
    "hd95_mm",
    "num_truth_lesions",
    "num_pred_lesions",
    "tp",
    "fp",
    "fn",
    "num_ignored_truth_lesions",
}


def ncr_versus_et_case():
    """8^3 grid: both maps hold a 4^3 block (ED) around a 2^3 core, NCR (1) in truth, ET (3) in prediction."""
    truth = np.zeros((8, 8, 8), np.uint8)
    truth[1:5, 1:5, 1:5] = 2
    truth[2:4, 2:4, 2:4] = 1
    pred = truth.copy()
    pred[2:4, 2:4, 2:4] = 3
    return pred, truth


def test_hand_computed_regions_with_anisotropic_spacing():
    pred, truth = ncr_versus_et_case()
    report = evaluate(pred, truth, (2.0, 1.5, 1.0))  # 3 mm^3 per voxel
    regions = report["regions"]
    assert set(regions) == {"WT", "TC", "ET", "NCR", "ED"}
    assert all(set(r) == REGION_KEYS for r in regions.values())
    # WT, TC (NCR + ET) and ED are identical in both maps.
    for name, voxels in (("WT", 64), ("TC", 8), ("ED", 56)):
        assert regions[name]["dice"] == 1.0 and regions[name]["hd95_mm"] == 0.0
        assert regions[name]["volume_pred_ml"] == pytest.approx(voxels * 0.003)
    # ET: 8 predicted voxels, none true.
    assert regions["ET"] == {
        "dice": 0.0,
        "iou": 0.0,
        "precision": 0.0,
        "sensitivity": 0.0,
        "specificity": pytest.approx(504 / 512),
        "hd95_mm": 374.0,
        "volume_pred_ml": pytest.approx(0.024),
        "volume_truth_ml": 0.0,
    }
    # NCR: 8 true voxels, none predicted.
    assert regions["NCR"] == {
        "dice": 0.0,
        "iou": 0.0,
        "precision": 0.0,
        "sensitivity": 0.0,
        "specificity": 1.0,
        "hd95_mm": 374.0,
        "volume_pred_ml": 0.0,
        "volume_truth_ml": pytest.approx(0.024),
    }
    lesionwise = report["lesionwise"]
    assert set(lesionwise) == {"WT", "TC", "ET"} and all(set(r) == LESION_KEYS for r in lesionwise.values())
    assert lesionwise["WT"] == {
        "dice": 1.0,
        "hd95_mm": 0.0,
        "num_truth_lesions": 1,
        "num_pred_lesions": 1,
        "tp": 1,
        "fp": 0,
        "fn": 0,
        "num_ignored_truth_lesions": 0,
    }
    # TC's only lesion is 8 voxels = 24 mm^3 <= 50: ignored, its hit is no FP, so 0/0 -> Dice 1, HD95 0.
    assert lesionwise["TC"] == {**lesionwise["WT"], "num_truth_lesions": 0, "tp": 0, "num_ignored_truth_lesions": 1}
    # ET: one predicted lesion, no truth: a false positive.
    assert (lesionwise["ET"]["dice"], lesionwise["ET"]["hd95_mm"], lesionwise["ET"]["fp"]) == (0.0, 374.0, 1)


def test_multi_lesion_case_through_evaluate():
    pred_mask, truth_mask = multi_lesion_case()
    pred, truth = (np.where(m, 3, 0).astype(np.uint8) for m in (pred_mask, truth_mask))  # all ET
    report = evaluate(pred, truth, (1.0, 1.0, 1.0))
    for name in ("WT", "TC", "ET"):
        assert report["lesionwise"][name]["dice"] == pytest.approx(1 / 3)
        assert report["lesionwise"][name]["hd95_mm"] == pytest.approx(189.5)
        assert (report["lesionwise"][name]["tp"], report["lesionwise"][name]["fn"]) == (2, 1)
    # 150 predicted voxels, 283 true, 123 shared.
    assert report["regions"]["ET"]["dice"] == pytest.approx(246 / 433)
    assert report["regions"]["NCR"]["dice"] == 1.0  # both empty


def test_both_maps_empty_is_perfect_and_json_has_no_nan():
    empty = np.zeros((10, 12, 9), np.uint8)
    report = evaluate(empty, empty, (1.0, 1.0, 1.0))
    for region in report["regions"].values():
        assert region == dict.fromkeys(REGION_KEYS, 1.0) | {
            "hd95_mm": 0.0,
            "volume_pred_ml": 0.0,
            "volume_truth_ml": 0.0,
        }
    assert report["lesionwise"]["ET"]["dice"] == 1.0 and report["lesionwise"]["ET"]["hd95_mm"] == 0.0
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report


def test_conventions_state_empty_cases_rules_and_units():
    pred, truth = ncr_versus_et_case()
    conventions = evaluate(pred, truth, (2.0, 1.5, 1.0))["conventions"]
    assert conventions["spacing_mm"] == [2.0, 1.5, 1.0]
    assert conventions["empty_masks"]["both_empty"].startswith("dice 1")
    assert "hd95_mm 374" in conventions["empty_masks"]["one_empty"]
    assert conventions["lesionwise"]["challenge"] == "BraTS-GLI"
    assert "dilated 3 times" in conventions["lesionwise"]["truth_lesions"]
    assert "<= 50 mm^3" in conventions["lesionwise"]["ignored_truth_lesions"]
    assert conventions["units"]["hd95_mm"].startswith("millimetres")
    json.dumps(conventions, allow_nan=False)


def test_refuses_bad_input_with_one_line_messages():
    a = np.zeros((10, 10, 10), np.uint8)
    with pytest.raises(GridMismatchError, match=r"prediction shape \(10, 10, 10\) and truth shape \(10, 10, 9\)"):
        evaluate(a, np.zeros((10, 10, 9), np.uint8), (1, 1, 1))
    with pytest.raises(GridMismatchError, match=r"must be 3D"):
        evaluate(a[0], a[0], (1, 1, 1))
    b = a.copy()
    b[0, 0, 0] = 4
    with pytest.raises(LabelConventionError, match=r"truth has label values \[4\] outside the internal labels"):
        evaluate(a, b, (1, 1, 1))
    with pytest.raises(LabelConventionError, match="dtype float32"):
        evaluate(a.astype(np.float32), a, (1, 1, 1))
    with pytest.raises(BrainSegError, match="finite and positive"):
        evaluate(a, a, (1, -1, 1))
    with pytest.raises(BrainSegError, match="unknown lesion-wise challenge"):
        evaluate(a, a, (1, 1, 1), lesionwise_rules="BraTS-XYZ")
