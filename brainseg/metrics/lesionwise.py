"""BraTS 2023 lesion-wise Dice and HD95, following the official ``get_LesionWiseResults``.

Reference: rachitsaluja/BraTS-2023-Metrics (``eval.py`` / ``brats_metrics.py``). Per region mask:

1. Truth lesions: dilate the truth ``dilation_iterations`` times with the 18-connected structure
   (``generate_binary_structure(3, 2)``), take 26-connected components of the dilated mask, and give each
   truth voxel the label of the dilated component it lies in. So truth blobs closer than the dilation
   reach form one lesion (two blobs along an axis merge when at most 2 x iterations empty voxels part them).
2. Predicted lesions: 26-connected components of the prediction (no dilation, no size limit).
3. For each truth lesion, its hits are the predicted lesions that touch the lesion dilated again by the
   same rule. Its Dice and HD95 are computed against the union of its hits; with no hit it is a false
   negative with Dice 0 and HD95 infinite. A predicted lesion may be the hit of several truth lesions.
4. False positives: predicted lesions that are the hit of no truth lesion (small truth lesions included).
5. Truth lesions with volume <= ``min_lesion_volume_mm3`` (voxels x voxel volume; 50 mm^3 = 50 voxels at
   BraTS' 1 mm, so a 50-voxel lesion is ignored and a 51-voxel one counts) are left out of the scores and
   of TP / FN, but their hits are not false positives.
6. Lesion-wise Dice = sum of counted lesions' Dice / (counted lesions + FP); lesion-wise HD95 = (sum of
   counted lesions' HD95, infinite ones as 374 mm, + 374 mm per FP) / (counted lesions + FP). With no
   counted lesion and no FP (0 / 0) the scores are Dice 1 and HD95 0, as the official code sets them.

One deliberate difference: the per-lesion HD95 uses this package's MONAI definition
(:mod:`brainseg.metrics.distance`, surface voxels); the official code uses DeepMind's ``surface_distance``
(surfel areas on the voxel-corner grid), whose HD95 can differ from it by up to about one voxel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from brainseg.errors import BrainSegError
from brainseg.metrics._grid import bounding_slices, check_same_grid, check_spacing, grow_slices, union_slices
from brainseg.metrics.distance import hausdorff_distance

INFINITE_HD95_MM = 374.0
"""The value BraTS 2023 reports for an infinite HD95 (about the diagonal of a 240x240x155 mm volume)."""

# Official code: scipy.ndimage.generate_binary_structure(3, 2) for dilation, cc3d connectivity=26 for labels.
_DILATION_STRUCTURE = ndimage.generate_binary_structure(3, 2)
_COMPONENT_STRUCTURE = np.ones((3, 3, 3), dtype=bool)


@dataclass(frozen=True)
class LesionWiseRules:
    """Parameters of the lesion-wise metrics for one BraTS 2023 challenge.

    Args:
        challenge: name as the official code spells it (``BraTS-GLI``).
        dilation_iterations: dilations of the truth (18-connected structure) that merge nearby blobs into
            one lesion and widen the reach within which predicted lesions count as hits.
        min_lesion_volume_mm3: truth lesions with volume at or below this are ignored.
        infinite_hd95_mm: HD95 reported for a missed lesion and charged per false-positive lesion.
    """

    challenge: str
    dilation_iterations: int
    min_lesion_volume_mm3: float
    infinite_hd95_mm: float = INFINITE_HD95_MM

    def __post_init__(self) -> None:
        if self.dilation_iterations < 0:
            raise ValueError(f"dilation_iterations must be >= 0, got {self.dilation_iterations}")
        if not self.min_lesion_volume_mm3 >= 0:
            raise ValueError(f"min_lesion_volume_mm3 must be >= 0, got {self.min_lesion_volume_mm3}")


LESIONWISE_RULES: dict[str, LesionWiseRules] = {
    r.challenge: r
    for r in (
        LesionWiseRules("BraTS-GLI", 3, 50.0),
        LesionWiseRules("BraTS-SSA", 3, 50.0),
        LesionWiseRules("BraTS-MEN", 1, 50.0),
        LesionWiseRules("BraTS-PED", 3, 50.0),
        LesionWiseRules("BraTS-MET", 1, 2.0),
    )
}
"""Official ``get_challenge_parameters`` values. Adult glioma (GLI) is the default everywhere."""

DEFAULT_CHALLENGE = "BraTS-GLI"


def get_lesionwise_rules(rules: LesionWiseRules | str = DEFAULT_CHALLENGE) -> LesionWiseRules:
    """Rules by challenge name (or passed through); an unknown name raises an error listing the valid ones."""
    if isinstance(rules, LesionWiseRules):
        return rules
    try:
        return LESIONWISE_RULES[rules]
    except KeyError:
        raise BrainSegError(
            f"unknown lesion-wise challenge {rules!r}; expected one of: {', '.join(LESIONWISE_RULES)}"
        ) from None


def label_truth_lesions(truth_mask: np.ndarray, dilation_iterations: int) -> tuple[np.ndarray, int]:
    """Split a truth mask into lesions, blobs within the dilation reach of each other merged.

    Args:
        truth_mask: (X, Y, Z) bool mask.
        dilation_iterations: dilations with the 18-connected structure before 26-connected labelling.

    Returns:
        (X, Y, Z) int32 labels (0 outside the truth, 1..n on it) and n.
    """
    truth_mask = np.asarray(truth_mask, dtype=bool)
    # scipy treats iterations=0 as "dilate until nothing changes"; 0 here means no dilation.
    reach = (
        ndimage.binary_dilation(truth_mask, _DILATION_STRUCTURE, iterations=dilation_iterations)
        if dilation_iterations > 0
        else truth_mask
    )
    labels, count = ndimage.label(reach, structure=_COMPONENT_STRUCTURE)
    labels[~truth_mask] = 0  # the lesions are truth voxels; the dilation only decided which belong together
    return labels, int(count)


def label_pred_lesions(pred_mask: np.ndarray) -> tuple[np.ndarray, int]:
    """26-connected components of a prediction mask: (X, Y, Z) int32 labels 1..n, and n."""
    labels, count = ndimage.label(np.asarray(pred_mask, dtype=bool), structure=_COMPONENT_STRUCTURE)
    return labels, int(count)


@dataclass(frozen=True)
class TruthLesion:
    """Scores of one truth lesion.

    Args:
        label: its label in :func:`label_truth_lesions` of the cropped truth (for debugging).
        voxels: its size in voxels; volume_mm3 the same in mm^3.
        counted: False when ignored for being at or under the volume threshold.
        hits: labels of the predicted lesions matched to it.
        dice: Dice against the union of its hits (0.0 when missed).
        hd95_mm: HD95 against the union of its hits; the rules' infinite value when missed.
    """

    label: int
    voxels: int
    volume_mm3: float
    counted: bool
    hits: tuple[int, ...]
    dice: float
    hd95_mm: float


@dataclass(frozen=True)
class LesionWiseResult:
    """Lesion-wise scores of one region (see the module docstring for the rules).

    Args:
        dice: lesion-wise Dice in [0, 1]. hd95_mm: lesion-wise HD95 in mm.
        tp: counted truth lesions with at least one hit. fn: counted truth lesions without one.
        fp: predicted lesions matched to no truth lesion.
        num_truth_lesions: counted truth lesions (tp + fn).
        num_ignored_truth_lesions: truth lesions at or under the volume threshold.
        num_pred_lesions: all predicted lesions (26-connected components).
        lesions: every truth lesion, counted or not.
    """

    dice: float
    hd95_mm: float
    tp: int
    fp: int
    fn: int
    num_truth_lesions: int
    num_ignored_truth_lesions: int
    num_pred_lesions: int
    lesions: tuple[TruthLesion, ...] = ()

    def as_dict(self) -> dict[str, float | int]:
        """JSON-able summary (the per-lesion list left out)."""
        return {
            "dice": self.dice,
            "hd95_mm": self.hd95_mm,
            "num_truth_lesions": self.num_truth_lesions,
            "num_pred_lesions": self.num_pred_lesions,
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "num_ignored_truth_lesions": self.num_ignored_truth_lesions,
        }


def lesionwise_scores(
    pred_mask: np.ndarray,
    truth_mask: np.ndarray,
    spacing_mm: Sequence[float] = (1.0, 1.0, 1.0),
    rules: LesionWiseRules | str = DEFAULT_CHALLENGE,
) -> LesionWiseResult:
    """BraTS 2023 lesion-wise Dice and HD95 of one region.

    Args:
        pred_mask: (X, Y, Z) bool mask of the region in the prediction (e.g. ``region_mask(pred, "ET")``).
        truth_mask: (X, Y, Z) bool mask of the region in the truth, same shape.
        spacing_mm: voxel size in mm along X, Y, Z (for HD95 and lesion volumes; dilation is in voxels).
        rules: a :class:`LesionWiseRules` or a challenge name from :data:`LESIONWISE_RULES`.

    Returns:
        A :class:`LesionWiseResult`; never NaN (0 / 0 gives Dice 1 and HD95 0, as the official code).
    """
    rules = get_lesionwise_rules(rules)
    pred_mask = np.asarray(pred_mask, dtype=bool)
    truth_mask = np.asarray(truth_mask, dtype=bool)
    check_same_grid(pred_mask, truth_mask)
    spacing = check_spacing(spacing_mm)
    voxel_mm3 = math.prod(spacing)
    iterations = rules.dilation_iterations

    # Exact crop: with a margin beyond the dilation reach, every dilation and component fits inside.
    box = bounding_slices(pred_mask | truth_mask, margin=iterations + 1)
    if box is None:
        return LesionWiseResult(1.0, 0.0, 0, 0, 0, 0, 0, 0)
    pred_mask, truth_mask = pred_mask[box], truth_mask[box]
    shape = pred_mask.shape

    truth_labels, num_truth = label_truth_lesions(truth_mask, iterations)
    pred_labels, num_pred = label_pred_lesions(pred_mask)
    truth_sizes = np.bincount(truth_labels.ravel(), minlength=num_truth + 1)
    pred_sizes = np.bincount(pred_labels.ravel(), minlength=num_pred + 1)
    truth_boxes = ndimage.find_objects(truth_labels)  # index k - 1 holds lesion k's box
    pred_boxes = ndimage.find_objects(pred_labels)

    lesions: list[TruthLesion] = []
    matched: set[int] = set()
    for k in range(1, num_truth + 1):
        reach_box = grow_slices(truth_boxes[k - 1], iterations, shape)
        lesion = truth_labels[reach_box] == k
        reach = ndimage.binary_dilation(lesion, _DILATION_STRUCTURE, iterations=iterations) if iterations else lesion
        hits = np.unique(pred_labels[reach_box][reach])
        hits = hits[hits != 0]
        matched.update(int(h) for h in hits)
        if hits.size:
            window = truth_boxes[k - 1]
            for h in hits:
                window = union_slices(window, pred_boxes[h - 1])
            window = grow_slices(window, 1, shape)  # one voxel of background around both, for the surfaces
            lesion_w = truth_labels[window] == k
            hits_w = np.isin(pred_labels[window], hits)
            overlap = int(np.count_nonzero(lesion_w & hits_w))
            dice = 2.0 * overlap / (int(truth_sizes[k]) + int(pred_sizes[hits].sum()))
            hd95 = hausdorff_distance(hits_w, lesion_w, spacing)
        else:
            dice, hd95 = 0.0, math.inf
        volume = int(truth_sizes[k]) * voxel_mm3
        lesions.append(
            TruthLesion(
                label=k,
                voxels=int(truth_sizes[k]),
                volume_mm3=volume,
                counted=volume > rules.min_lesion_volume_mm3,
                hits=tuple(int(h) for h in hits),
                dice=dice,
                hd95_mm=rules.infinite_hd95_mm if math.isinf(hd95) else hd95,
            )
        )

    counted = [lesion for lesion in lesions if lesion.counted]
    fp = num_pred - len(matched)
    tp = sum(1 for lesion in counted if lesion.hits)
    denominator = len(counted) + fp
    if denominator == 0:
        dice_score, hd95_score = 1.0, 0.0
    else:
        dice_score = sum(lesion.dice for lesion in counted) / denominator
        hd95_score = (sum(lesion.hd95_mm for lesion in counted) + fp * rules.infinite_hd95_mm) / denominator
    return LesionWiseResult(
        dice=dice_score,
        hd95_mm=hd95_score,
        tp=tp,
        fp=fp,
        fn=len(counted) - tp,
        num_truth_lesions=len(counted),
        num_ignored_truth_lesions=len(lesions) - len(counted),
        num_pred_lesions=num_pred,
        lesions=tuple(lesions),
    )
