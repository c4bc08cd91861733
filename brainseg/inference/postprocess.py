"""From region probabilities to a label map: nesting, the brain mask, and a per-voxel uncertainty.

All arrays are in the case's canonical RAS frame: probabilities (3, X, Y, Z) for WT, TC, ET.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from brainseg.labels import labels_from_regions

THRESHOLD = 0.5

MIN_COMPONENT_FRACTION = 0.05
"""Tumor components (26-connected WT voxels) smaller than this share of the largest are dropped by default:
on held-out synthetic cases they were isolated false positives far from the tumor (WT HD95 48.6 -> 18.0 mm,
Dice 0.869 -> 0.891 for the bundled clip-unet3d); a satellite lesion of at least 5 % of the main one stays."""

MIN_ENHANCING_ML = 0.5
"""A case whose enhancing tumor adds up to less than this (mL) gets it relabelled non-enhancing tumor core (NCR)
by default, the BraTS-specific post-processing of nnU-Net's BraTS 2020 entry (Isensee et al. 2020, arXiv
2011.00848, threshold chosen on their cross-validation). Under the BraTS rules one false enhancing voxel in a
case without enhancement scores ET Dice 0 and HD95 374 mm; the relabelled voxels stay tumor core, so TC and WT
do not change. Chosen on synthetic validation cases (docs/training-experiments.md, "The 0.5 mL of the
enhancing-tumor relabel")."""

POSTPROCESSING_KEY = "postprocessing"
"""The checkpoint metadata block (``config.json``'s ``brainseg``) holding its own thresholds, as chosen by
``brainseg evaluate-model --folds N --tune-postprocess`` and written by ``export-checkpoint --postprocessing``."""


def checkpoint_thresholds(metadata: dict) -> tuple[float, float]:
    """``(min_component_fraction, min_enhancing_ml)`` a checkpoint's card chose, else the defaults above."""
    chosen = metadata.get(POSTPROCESSING_KEY) or {}
    return (
        float(chosen.get("min_component_fraction", MIN_COMPONENT_FRACTION)),
        float(chosen.get("min_enhancing_ml", MIN_ENHANCING_ML)),
    )


UNCERTAINTY_METHOD = (
    "predictive entropy (bits, in [0, 1]) of the mean of two passes, the input as given and mirrored left-right, "
    "averaged over WT, TC and ET; high where either pass is unsure or where the passes disagree"
)


def nest_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """Force P(ET) <= P(TC) <= P(WT) voxel by voxel (ET within TC within WT).

    Args:
        probabilities: (3, X, Y, Z) float32 in [0, 1], WT, TC, ET.

    Returns:
        (3, X, Y, Z) float32: WT unchanged, TC = min(TC, WT), ET = min(ET, TC nested). Thresholding the result
        at 0.5 gives exactly the regions of :func:`labels_from_probabilities`.
    """
    nested = np.empty_like(probabilities, dtype=np.float32)
    nested[0] = probabilities[0]
    np.minimum(probabilities[1], nested[0], out=nested[1])
    np.minimum(probabilities[2], nested[1], out=nested[2])
    return nested


def restrict_to_regions(probabilities: np.ndarray, supported: tuple[str, ...]) -> np.ndarray:
    """Leave out what a case's sequences cannot show (:func:`brainseg.io.availability.supported_regions`).

    Without FLAIR and T2 there is no edema to see: WT becomes the tumor core (so no ED label). Without T1ce
    there is no core: TC and ET are 0, so the whole tumor is labelled ED (2) and read as WT only. Apply it
    before :func:`nest_probabilities`, so that a core is not cut down to a whole tumor nobody could see.

    Args:
        probabilities: (3, X, Y, Z) float32 WT, TC, ET probabilities (not modified).
        supported: the regions (of WT, TC, ET) the case's sequences can show.

    Returns:
        ``probabilities`` itself when all three are supported, else a restricted copy.
    """
    if all(r in supported for r in ("WT", "TC", "ET")):
        return probabilities
    restricted = probabilities.copy()
    if "WT" not in supported:
        restricted[0] = restricted[1]
    for index, region in ((1, "TC"), (2, "ET")):
        if region not in supported:
            restricted[index] = 0.0
    return restricted


def labels_from_probabilities(probabilities: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """(3, X, Y, Z) WT, TC, ET probabilities -> (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET), nested."""
    masks = probabilities > threshold
    return labels_from_regions(masks[0], masks[1], masks[2])


def drop_small_components(probabilities: np.ndarray, min_fraction: float = MIN_COMPONENT_FRACTION) -> tuple[int, int]:
    """Zero, in place, every tumor component smaller than ``min_fraction`` of the largest one.

    Args:
        probabilities: (3, X, Y, Z) float32 nested WT, TC, ET probabilities (see :func:`nest_probabilities`);
            components are the 26-connected parts of WT > threshold, and all three channels are zeroed on a
            dropped component's voxels, so thresholding still gives the label map.
        min_fraction: 0 keeps everything.

    Returns:
        (components dropped, voxels dropped).
    """
    if min_fraction <= 0:
        return 0, 0
    components, count = ndimage.label(probabilities[0] > THRESHOLD, structure=np.ones((3, 3, 3), dtype=bool))
    if count < 2:
        return 0, 0
    sizes = np.bincount(components.ravel())[1:]
    small = np.flatnonzero(sizes < min_fraction * sizes.max()) + 1
    if small.size == 0:
        return 0, 0
    dropped = np.isin(components, small)
    probabilities[:, dropped] = 0.0
    return int(small.size), int(sizes[small - 1].sum())


def relabel_small_enhancing(probabilities: np.ndarray, min_ml: float, voxel_ml: float) -> int:
    """Relabel, in place, a case's whole enhancing tumor as non-enhancing core when it totals under ``min_ml``.

    Args:
        probabilities: (3, X, Y, Z) float32 nested WT, TC, ET probabilities (see :func:`nest_probabilities`);
            P(ET) is set to 0 everywhere when relabelling, so thresholding gives NCR where ET was (TC unchanged).
        min_ml: volume (mL) below which the enhancing tumor goes; 0 keeps it always.
        voxel_ml: volume of one voxel, mL.

    Returns:
        The number of voxels relabelled (0 when ET is absent or large enough).
    """
    if min_ml <= 0:
        return 0
    enhancing = int(np.count_nonzero(probabilities[2] > THRESHOLD))
    if enhancing == 0 or enhancing * voxel_ml >= min_ml:
        return 0
    probabilities[2] = 0.0
    return enhancing


def clean_tumor(
    probabilities: np.ndarray, min_component_fraction: float, min_enhancing_ml: float, voxel_ml: float
) -> tuple[tuple[int, int], int]:
    """The app's post-processing, in place and in order: :func:`drop_small_components`, then
    :func:`relabel_small_enhancing` (which then sees only the enhancing voxels that survived). One place, so
    that ``brainseg evaluate-model --postprocess`` scores exactly what the app shows.

    Args:
        probabilities: (3, X, Y, Z) float32 nested WT, TC, ET probabilities.
        min_component_fraction: see :func:`drop_small_components`; 0 keeps every component.
        min_enhancing_ml: see :func:`relabel_small_enhancing`; 0 keeps every enhancing voxel.
        voxel_ml: volume of one voxel, mL.

    Returns:
        ``((components removed, voxels removed), enhancing voxels relabelled NCR)``.
    """
    dropped = drop_small_components(probabilities, min_component_fraction)
    return dropped, relabel_small_enhancing(probabilities, min_enhancing_ml, voxel_ml)


def binary_entropy_bits(p: np.ndarray) -> np.ndarray:
    """Entropy in bits of Bernoulli(p), elementwise; 0 at p = 0 or 1, 1 at p = 0.5. float32."""
    p = np.clip(p.astype(np.float32, copy=False), 1e-7, 1 - 1e-7)
    return (-(p * np.log2(p) + (1 - p) * np.log2(1 - p))).astype(np.float32)


def predictive_entropy(passes: Sequence[np.ndarray]) -> np.ndarray:
    """Per-voxel uncertainty of test-time-augmented predictions (see :data:`UNCERTAINTY_METHOD`).

    Args:
        passes: one (3, X, Y, Z) array of WT, TC, ET probabilities per augmented pass, same frame.

    Returns:
        (X, Y, Z) float32 in [0, 1]: the binary entropy (bits) of the mean probability, averaged over the
        three regions. The entropy of the mean is the expected entropy of a pass plus the passes' mutual
        information, so it rises both where a pass is unsure and where the passes disagree.
    """
    mean = np.mean(np.stack(passes), axis=0)  # (3, X, Y, Z)
    return binary_entropy_bits(mean).mean(axis=0).astype(np.float32)
