"""Segmentation metrics: overlap, surface distance, volume, BraTS 2023 lesion-wise, and one report.

Pure functions in the style of ``monai.metrics``; MONAI itself is only a cross-check in the tests.

* :func:`evaluate` -- two internal label maps + spacing -> JSON-able report of every region and rule.
* :mod:`~brainseg.metrics.overlap` -- :func:`confusion_counts` -> :func:`dice`, :func:`iou`, ...
* :mod:`~brainseg.metrics.distance` -- :func:`surface_distances`, :func:`hausdorff_distance` (HD95, mm).
* :mod:`~brainseg.metrics.volume` -- :func:`volume_ml`.
* :mod:`~brainseg.metrics.lesionwise` -- :func:`lesionwise_scores` with :data:`LESIONWISE_RULES`.
"""

from brainseg.metrics.distance import hausdorff_distance, surface_distances, surface_mask
from brainseg.metrics.evaluate import evaluate, report_conventions
from brainseg.metrics.lesionwise import (
    DEFAULT_CHALLENGE,
    INFINITE_HD95_MM,
    LESIONWISE_RULES,
    LesionWiseResult,
    LesionWiseRules,
    TruthLesion,
    get_lesionwise_rules,
    label_pred_lesions,
    label_truth_lesions,
    lesionwise_scores,
)
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
from brainseg.metrics.volume import volume_ml, voxel_volume_ml

__all__ = [
    "DEFAULT_CHALLENGE",
    "INFINITE_HD95_MM",
    "LESIONWISE_RULES",
    "ConfusionCounts",
    "LesionWiseResult",
    "LesionWiseRules",
    "TruthLesion",
    "confusion_counts",
    "dice",
    "evaluate",
    "get_lesionwise_rules",
    "hausdorff_distance",
    "iou",
    "label_pred_lesions",
    "label_truth_lesions",
    "lesionwise_scores",
    "overlap_metrics",
    "precision",
    "report_conventions",
    "sensitivity",
    "specificity",
    "surface_distances",
    "surface_mask",
    "volume_ml",
    "voxel_volume_ml",
]
