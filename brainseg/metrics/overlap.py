"""Voxel overlap metrics: confusion counts -> Dice, IoU, precision, sensitivity, specificity.

All metrics are pure functions of :class:`ConfusionCounts`, so one pass over the masks serves all five.

Empty-case convention (stated in every report): a ratio whose denominator is 0 is 1.0 when both masks
are empty (perfect agreement on absence, as BraTS scores Dice) and 0.0 otherwise (what the official BraTS
2023 code's ``x / (d + eps)`` gives). So with an empty truth and a non-empty prediction: Dice 0, IoU 0,
precision 0, sensitivity 0; with both empty every metric is 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainseg.metrics._grid import check_same_grid


@dataclass(frozen=True)
class ConfusionCounts:
    """Voxel counts of a binary prediction against a binary truth.

    Args:
        tp: voxels in both. fp: in the prediction only. fn: in the truth only. tn: in neither.
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def pred_count(self) -> int:
        """Voxels in the prediction."""
        return self.tp + self.fp

    @property
    def truth_count(self) -> int:
        """Voxels in the truth."""
        return self.tp + self.fn

    @property
    def both_empty(self) -> bool:
        """True when neither mask has a voxel (the case the empty-case convention is about)."""
        return self.pred_count == 0 and self.truth_count == 0


def confusion_counts(pred_mask: np.ndarray, truth_mask: np.ndarray, total_voxels: int | None = None) -> ConfusionCounts:
    """Count TP, FP, FN, TN voxels.

    Args:
        pred_mask: (X, Y, Z) bool (or 0/1) prediction mask.
        truth_mask: (X, Y, Z) bool (or 0/1) truth mask, same shape.
        total_voxels: voxels in the whole volume when the masks are a crop of it, so that TN also counts
            the voxels outside the crop (which are in neither mask). Defaults to ``pred_mask.size``.

    Example:
        >>> pred = np.zeros((2, 2, 2), bool); pred[0, 0, :] = True
        >>> confusion_counts(pred, np.ones((2, 2, 2), bool))
        ConfusionCounts(tp=2, fp=0, fn=6, tn=0)
    """
    pred_mask = np.asarray(pred_mask, dtype=bool)
    truth_mask = np.asarray(truth_mask, dtype=bool)
    check_same_grid(pred_mask, truth_mask)
    total = pred_mask.size if total_voxels is None else int(total_voxels)
    tp = int(np.count_nonzero(pred_mask & truth_mask))
    fp = int(np.count_nonzero(pred_mask)) - tp
    fn = int(np.count_nonzero(truth_mask)) - tp
    tn = total - tp - fp - fn
    if tn < 0:
        raise ValueError(f"total_voxels={total} is smaller than the {tp + fp + fn} voxels in either mask")
    return ConfusionCounts(tp, fp, fn, tn)


def _ratio(numerator: int, denominator: int, counts: ConfusionCounts) -> float:
    if denominator == 0:
        return 1.0 if counts.both_empty else 0.0
    return numerator / denominator


def dice(counts: ConfusionCounts) -> float:
    """Dice = 2 TP / (2 TP + FP + FN), in [0, 1]; 1.0 when both masks are empty."""
    return _ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn, counts)


def iou(counts: ConfusionCounts) -> float:
    """IoU (Jaccard) = TP / (TP + FP + FN), in [0, 1]; 1.0 when both masks are empty."""
    return _ratio(counts.tp, counts.tp + counts.fp + counts.fn, counts)


def precision(counts: ConfusionCounts) -> float:
    """Precision (PPV) = TP / (TP + FP); 1.0 when both empty, 0.0 for an empty prediction of a non-empty truth."""
    return _ratio(counts.tp, counts.tp + counts.fp, counts)


def sensitivity(counts: ConfusionCounts) -> float:
    """Sensitivity (recall) = TP / (TP + FN); 1.0 when both empty, 0.0 when only the truth is empty."""
    return _ratio(counts.tp, counts.tp + counts.fn, counts)


def specificity(counts: ConfusionCounts) -> float:
    """Specificity = TN / (TN + FP); 0.0 in the degenerate case of a truth that fills the whole volume."""
    return _ratio(counts.tn, counts.tn + counts.fp, counts)


def overlap_metrics(counts: ConfusionCounts) -> dict[str, float]:
    """All five overlap metrics as ``{"dice", "iou", "precision", "sensitivity", "specificity"}`` floats."""
    return {
        "dice": dice(counts),
        "iou": iou(counts),
        "precision": precision(counts),
        "sensitivity": sensitivity(counts),
        "specificity": specificity(counts),
    }
