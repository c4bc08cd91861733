"""One call from two internal label maps to a JSON-able report of every metric, conventions stated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from brainseg.errors import LabelConventionError
from brainseg.labels import BACKGROUND, EVALUATION_REGIONS, REGION_NAMES, REGIONS, SUBREGIONS, region_mask
from brainseg.metrics._grid import bounding_slices, check_same_grid, check_spacing
from brainseg.metrics.distance import hausdorff_distance
from brainseg.metrics.lesionwise import (
    DEFAULT_CHALLENGE,
    LesionWiseRules,
    get_lesionwise_rules,
    lesionwise_scores,
)
from brainseg.metrics.overlap import confusion_counts, overlap_metrics
from brainseg.metrics.volume import voxel_volume_ml

_INTERNAL_LABELS = {BACKGROUND: "background", **{value: name for name, value in SUBREGIONS.items()}}


def _check_label_map(labels: np.ndarray, role: str) -> np.ndarray:
    """An internal label map as an array, or a one-line error naming the bad values."""
    labels = np.asarray(labels)
    if labels.dtype == bool or not np.issubdtype(labels.dtype, np.integer):
        raise LabelConventionError(
            f"{role} must be an integer internal label map (0, 1 NCR, 2 ED, 3 ET), got dtype {labels.dtype}"
        )
    top = max(_INTERNAL_LABELS)
    if labels.size and (labels.min() < 0 or labels.max() > top):
        bad = sorted(int(v) for v in np.unique(labels) if not 0 <= v <= top)[:5]
        raise LabelConventionError(
            f"{role} has label values {bad} outside the internal labels 0, 1 NCR, 2 ED, 3 ET; convert it with "
            "brainseg.labels.to_internal first"
        )
    return labels


def report_conventions(spacing_mm: Sequence[float], rules: LesionWiseRules) -> dict[str, Any]:
    """The ``conventions`` block of a report: units, region definitions and every empty-case rule."""
    inf_hd = rules.infinite_hd95_mm
    return {
        "units": {
            "dice, iou, precision, sensitivity, specificity": "fraction in [0, 1]",
            "hd95_mm": "millimetres, from the voxel spacing",
            "volume_pred_ml, volume_truth_ml": "millilitres (1 mL = 1000 mm^3)",
        },
        "spacing_mm": list(spacing_mm),
        "internal_labels": {str(k): v for k, v in _INTERNAL_LABELS.items()},
        "regions": {name: REGION_NAMES[name] for name in REGIONS},
        "empty_masks": {
            "both_empty": "dice 1, iou 1, precision 1, sensitivity 1, specificity 1, hd95_mm 0",
            "one_empty": f"dice 0, iou 0, hd95_mm {inf_hd:g} (the BraTS 2023 value for an infinite distance)",
            "zero_denominator": "any other ratio with a zero denominator is 0 (as the BraTS code's +eps gives)",
            "nan": "never reported",
        },
        "hd95": (
            "MONAI HausdorffDistanceMetric(percentile=95) with spacing: surface = mask minus its 6-connected "
            "erosion; Euclidean distances in mm from each surface voxel to the other mask's surface; "
            "95th percentile (linear interpolation) in each direction; the larger of the two"
        ),
        "lesionwise": {
            "reference": "BraTS 2023 get_LesionWiseResults (github.com/rachitsaluja/BraTS-2023-Metrics)",
            "challenge": rules.challenge,
            "regions": list(EVALUATION_REGIONS),
            "truth_lesions": (
                f"26-connected components of the truth dilated {rules.dilation_iterations} times "
                "(18-connected structure), restricted to truth voxels"
            ),
            "pred_lesions": "26-connected components of the prediction",
            "hits": "predicted lesions touching the truth lesion dilated by the same rule",
            "ignored_truth_lesions": (
                f"volume <= {rules.min_lesion_volume_mm3:g} mm^3 (voxels x voxel volume); "
                "left out of the scores and of tp/fn, their hits are not fp"
            ),
            "dice": "sum of counted lesions' Dice / (counted truth lesions + fp)",
            "hd95_mm": (
                f"(sum of counted lesions' HD95, a missed lesion as {inf_hd:g}, + {inf_hd:g} per fp) / "
                "(counted truth lesions + fp)"
            ),
            "no_lesions": "no counted truth lesion and no fp: dice 1, hd95_mm 0",
            "per_lesion_hd95": (
                "MONAI definition as above; the official code uses DeepMind surface_distance (surfel "
                "areas on the voxel-corner grid), which can differ slightly, typically by less than a voxel"
            ),
            "num_truth_lesions": "counted truth lesions (tp + fn); num_ignored_truth_lesions the others",
        },
    }


def _finite(value: float, name: str) -> float:
    """Guard the no-NaN promise: a NaN or infinity here is a bug, not a convention."""
    if not math.isfinite(value):
        raise AssertionError(f"internal error: {name} is {value}")
    return float(value)


def evaluate(
    pred: np.ndarray,
    truth: np.ndarray,
    spacing_mm: Sequence[float],
    lesionwise_rules: LesionWiseRules | str = DEFAULT_CHALLENGE,
) -> dict[str, Any]:
    """Compare a predicted segmentation with the truth: region metrics, lesion-wise scores, conventions.

    Args:
        pred: (X, Y, Z) integer internal label map (0 background, 1 NCR, 2 ED, 3 ET), e.g. uint8.
        truth: (X, Y, Z) integer internal label map on the same voxel grid.
        spacing_mm: voxel size in mm along X, Y, Z (e.g. ``(1.0, 1.0, 1.0)`` for BraTS).
        lesionwise_rules: lesion-wise parameters or a challenge name (default ``BraTS-GLI``).

    Returns:
        JSON-able dict without NaN::

            {"regions": {"WT" | "TC" | "ET" | "NCR" | "ED": {"dice", "iou", "precision", "sensitivity",
                         "specificity", "hd95_mm", "volume_pred_ml", "volume_truth_ml"}},
             "lesionwise": {"WT" | "TC" | "ET": {"dice", "hd95_mm", "num_truth_lesions", "num_pred_lesions",
                            "tp", "fp", "fn", "num_ignored_truth_lesions"}},
             "conventions": {...}}

    Raises:
        GridMismatchError: shapes differ (the message names both) or are not 3D.
        LabelConventionError: a value outside 0-3 or a non-integer dtype.
        BrainSegError: a bad spacing or an unknown challenge name.
    """
    pred = _check_label_map(pred, "prediction")
    truth = _check_label_map(truth, "truth")
    check_same_grid(pred, truth, what="label maps")
    spacing = check_spacing(spacing_mm)
    rules = get_lesionwise_rules(lesionwise_rules)

    # Every region lies inside WT, so one crop to WT of both (plus the lesion-wise reach) serves all metrics
    # exactly; TN still counts the whole volume through total_voxels.
    total_voxels = int(pred.size)
    box = bounding_slices((pred > 0) | (truth > 0), margin=rules.dilation_iterations + 1)
    if box is None:  # nothing anywhere: an empty crop gives the both-empty conventions below
        box = (slice(0, 0),) * 3
    pred, truth = pred[box], truth[box]
    voxel_ml = voxel_volume_ml(spacing)

    regions: dict[str, dict[str, float]] = {}
    masks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in REGIONS:
        pred_mask, truth_mask = region_mask(pred, name), region_mask(truth, name)
        masks[name] = (pred_mask, truth_mask)
        counts = confusion_counts(pred_mask, truth_mask, total_voxels=total_voxels)
        hd95 = hausdorff_distance(pred_mask, truth_mask, spacing)
        metrics = overlap_metrics(counts)
        metrics["hd95_mm"] = rules.infinite_hd95_mm if math.isinf(hd95) else hd95
        metrics["volume_pred_ml"] = counts.pred_count * voxel_ml
        metrics["volume_truth_ml"] = counts.truth_count * voxel_ml
        regions[name] = {key: _finite(value, f"{name} {key}") for key, value in metrics.items()}

    lesionwise: dict[str, dict[str, float | int]] = {}
    for name in EVALUATION_REGIONS:
        result = lesionwise_scores(*masks[name], spacing, rules).as_dict()
        lesionwise[name] = {
            key: _finite(value, f"lesion-wise {name} {key}") if isinstance(value, float) else value
            for key, value in result.items()
        }

    return {"regions": regions, "lesionwise": lesionwise, "conventions": report_conventions(spacing, rules)}
