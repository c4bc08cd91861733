import numpy as np
import pytest

from brainseg.errors import GridMismatchError
from brainseg.metrics.overlap import (
    ConfusionCounts,
    confusion_counts,
    dice,
    iou,
    overlap_metrics,
    precision,
    sensitivity,
    specificity,
)


def masks(shape=(4, 5, 3), pred_idx=(), truth_idx=()):
    pred, truth = np.zeros(shape, bool), np.zeros(shape, bool)
    for i in pred_idx:
        pred.flat[i] = True
    for i in truth_idx:
        truth.flat[i] = True
    return pred, truth


def test_hand_computed_counts_and_ratios():
    # 60 voxels; prediction 4 (voxels 0-3), truth 6 (voxels 1-6): overlap 3.
    pred, truth = masks(pred_idx=range(4), truth_idx=range(1, 7))
    counts = confusion_counts(pred, truth)
    assert counts == ConfusionCounts(tp=3, fp=1, fn=3, tn=53)
    assert dice(counts) == pytest.approx(6 / 10)
    assert iou(counts) == pytest.approx(3 / 7)
    assert precision(counts) == pytest.approx(3 / 4)
    assert sensitivity(counts) == pytest.approx(3 / 6)
    assert specificity(counts) == pytest.approx(53 / 54)


def test_total_voxels_counts_the_outside_of_a_crop_as_true_negative():
    pred, truth = masks(pred_idx=range(4), truth_idx=range(1, 7))
    counts = confusion_counts(pred, truth, total_voxels=1000)
    assert counts.tn == 1000 - 7
    assert specificity(counts) == pytest.approx(993 / 994)
    with pytest.raises(ValueError, match="total_voxels=5 is smaller than the 7 voxels"):
        confusion_counts(pred, truth, total_voxels=5)


def test_both_empty_is_perfect_agreement():
    pred, truth = masks()
    assert overlap_metrics(confusion_counts(pred, truth)) == {
        "dice": 1.0,
        "iou": 1.0,
        "precision": 1.0,
        "sensitivity": 1.0,
        "specificity": 1.0,
    }


def test_empty_truth_with_prediction_scores_zero_not_nan():
    pred, truth = masks(pred_idx=(0, 1))
    assert overlap_metrics(confusion_counts(pred, truth)) == {
        "dice": 0.0,
        "iou": 0.0,
        "precision": 0.0,
        "sensitivity": 0.0,  # 0 / 0 with only one mask empty -> 0 by convention
        "specificity": pytest.approx(58 / 60),
    }


def test_empty_prediction_of_non_empty_truth():
    pred, truth = masks(truth_idx=(0, 1))
    assert overlap_metrics(confusion_counts(pred, truth)) == {
        "dice": 0.0,
        "iou": 0.0,
        "precision": 0.0,  # 0 / 0 with only one mask empty -> 0 by convention
        "sensitivity": 0.0,
        "specificity": 1.0,
    }


def test_shape_mismatch_names_both_shapes():
    with pytest.raises(GridMismatchError, match=r"\(2, 2, 2\) and truth shape \(2, 2, 3\)"):
        confusion_counts(np.zeros((2, 2, 2), bool), np.zeros((2, 2, 3), bool))
