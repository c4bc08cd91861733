"""Several variants' segmentations of one case fused into one, with a per-voxel agreement count.

Each member is a :class:`~brainseg.inference.result.Segmentation` of the same case (canonical RAS grid),
post-processed as its own checkpoint does. Rules (:data:`FUSION_RULES`), per region WT, TC, ET:

- ``majority`` (default): a voxel is in the region when more than half of the members put it there; with an
  even count, exactly half decides by the members' mean probability (> 0.5).
- ``mean``: the members' nested probabilities averaged, then thresholded at 0.5 (probability averaging, as
  ensembles of nnU-Net folds do).
- ``staple``: binary STAPLE per region (Warfield et al., IEEE TMI 2004): each member's sensitivity and
  specificity estimated by expectation-maximization, the voxel's posterior thresholded at 0.5.

The fused regions are made to nest (ET within TC within WT) and turned into labels
(:func:`~brainseg.labels.labels_from_regions`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np

from brainseg.inference.postprocess import THRESHOLD
from brainseg.inference.result import Segmentation
from brainseg.labels import EVALUATION_REGIONS, labels_from_regions, region_mask
from brainseg.metrics.overlap import confusion_counts, dice

FUSION_RULES = {
    "majority": "per-region majority vote of the members (more than half; a tie by mean probability > 0.5)",
    "mean": "per-region mean of the members' probabilities, thresholded at 0.5",
    "staple": "per-region binary STAPLE (Warfield et al. 2004): members weighted by their EM-estimated "
    "sensitivity and specificity, posterior > 0.5",
}
DEFAULT_RULE = "majority"
STAPLE_ITERATIONS = 30


@dataclass(frozen=True)
class Fusion:
    """A fused segmentation and how the members agreed.

    Attributes:
        labels: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET), nested.
        probabilities: (3, X, Y, Z) float32 mean of the members' WT, TC, ET probabilities.
        agreement: (3, X, Y, Z) uint8: how many members put each voxel in WT, TC, ET.
        rule: a key of :data:`FUSION_RULES`.
        members: the members' names, in order.
        pairwise_dice: region -> {"A | B": Dice between members A and B}.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    agreement: np.ndarray
    rule: str
    members: tuple[str, ...]
    pairwise_dice: dict[str, dict[str, float]]

    def disagreement(self, region: str) -> np.ndarray:
        """(X, Y, Z) bool: voxels that some but not all members put in ``region``."""
        count = self.agreement[EVALUATION_REGIONS.index(region)]
        return (count > 0) & (count < len(self.members))


def fuse(results: Sequence[Segmentation], names: Sequence[str], rule: str = DEFAULT_RULE) -> Fusion:
    """Fuse two or more members' segmentations of one case by ``rule`` (see the module docstring).

    Raises:
        ValueError: fewer than two members, names not matching them, grids differing, or an unknown rule.
    """
    if rule not in FUSION_RULES:
        raise ValueError(f"unknown fusion rule {rule!r}; expected one of: {', '.join(FUSION_RULES)}")
    if len(results) < 2 or len(names) != len(results):
        raise ValueError(f"fusion needs two or more members, each named; got {len(results)} and {len(names)} names")
    shapes = {result.labels.shape for result in results}
    if len(shapes) != 1:
        raise ValueError(f"members' grids differ: {sorted(shapes)}")
    masks = np.stack(
        [np.stack([region_mask(result.labels, region) for region in EVALUATION_REGIONS]) for result in results]
    )  # (members, 3, X, Y, Z) bool
    agreement = masks.sum(axis=0, dtype=np.uint8)
    probabilities = np.mean([result.probabilities for result in results], axis=0, dtype=np.float32)
    if rule == "majority":
        count = len(results)
        fused = (2 * agreement > count) | ((2 * agreement == count) & (probabilities > THRESHOLD))
    elif rule == "mean":
        fused = probabilities > THRESHOLD
    else:
        fused = np.stack([staple(masks[:, index]) > THRESHOLD for index in range(len(EVALUATION_REGIONS))])
    return Fusion(
        labels=labels_from_regions(*fused),
        probabilities=probabilities,
        agreement=agreement,
        rule=rule,
        members=tuple(names),
        pairwise_dice=pairwise_dice([result.labels for result in results], names),
    )


def staple(decisions: np.ndarray, iterations: int = STAPLE_ITERATIONS) -> np.ndarray:
    """Binary STAPLE: the posterior probability of each voxel being in the region.

    Args:
        decisions: (members, X, Y, Z) bool, each member's mask.
        iterations: EM iterations (it converges in a few for a handful of members).

    Returns:
        (X, Y, Z) float32 in [0, 1]; 0 where no member says yes (those voxels carry no information and are
        left out of the estimates, as is usual for sparse tumor masks).
    """
    decisions = np.asarray(decisions, dtype=bool)
    anyone = decisions.any(axis=0)
    votes = decisions[:, anyone].astype(np.float64)  # (members, N)
    posterior = np.zeros(decisions.shape[1:], dtype=np.float32)
    if votes.shape[1] == 0:
        return posterior
    prior = float(votes.mean())
    sensitivity = np.full(len(votes), 0.9)
    specificity = np.full(len(votes), 0.9)
    weights = votes.mean(axis=0)
    for _ in range(iterations):
        yes = prior * np.prod(np.where(votes, sensitivity[:, None], 1 - sensitivity[:, None]), axis=0)
        no = (1 - prior) * np.prod(np.where(votes, 1 - specificity[:, None], specificity[:, None]), axis=0)
        weights = yes / np.maximum(yes + no, 1e-12)
        sensitivity = (votes * weights).sum(axis=1) / max(weights.sum(), 1e-12)
        specificity = ((1 - votes) * (1 - weights)).sum(axis=1) / max((1 - weights).sum(), 1e-12)
    posterior[anyone] = weights
    return posterior


def pairwise_dice(labels: Sequence[np.ndarray], names: Sequence[str]) -> dict[str, dict[str, float]]:
    """Region -> {"A | B": Dice of members A and B} for every pair."""
    return {
        region: {
            f"{names[i]} | {names[j]}": dice(
                confusion_counts(region_mask(labels[i], region), region_mask(labels[j], region))
            )
            for i, j in combinations(range(len(labels)), 2)
        }
        for region in EVALUATION_REGIONS
    }


def fused_segmentation(fusion: Fusion, results: Sequence[Segmentation]) -> Segmentation:
    """A :class:`Segmentation` holding the fused labels (for writing and reporting like any prediction):
    the first member's prompt reading and targets, the mean probabilities, no attention or uncertainty, every
    member's warnings, the members' total times, and the fusion rule in ``postprocessing``."""
    first = results[0]
    timings = {"total": float(sum(result.timings.get("total", 0.0) for result in results))}
    warnings = list(dict.fromkeys(w for result in results for w in result.warnings))
    steps = [f"fusion of {', '.join(fusion.members)}: {FUSION_RULES[fusion.rule]}"] + [
        f"{name}: {step}"
        for name, result in zip(fusion.members, results, strict=True)
        for step in result.postprocessing
    ]
    return replace(
        first,
        labels=fusion.labels,
        probabilities=fusion.probabilities,
        attention={},
        uncertainty=None,
        timings=timings,
        postprocessing=steps,
        warnings=warnings,
        from_cache=False,
        computed_seconds={},
    )


def fusion_record(
    fusion: Fusion, results: Sequence[Segmentation], spacing: tuple[float, float, float]
) -> dict[str, Any]:
    """The report's ``fusion`` block: rule, each member's volumes and time, pairwise Dice, fused volumes."""
    return {
        "rule": fusion.rule,
        "description": FUSION_RULES[fusion.rule],
        "members": [
            {
                "model": name,
                "volumes_ml": {r: round(v, 3) for r, v in result.volumes_ml(spacing).items()},
                "seconds": round(float(result.timings.get("total", 0.0)), 3),
            }
            for name, result in zip(fusion.members, results, strict=True)
        ],
        "pairwise_dice": {r: {pair: round(v, 4) for pair, v in d.items()} for r, d in fusion.pairwise_dice.items()},
        "agreement_file": "agreement.nii.gz: 4D uint8, volume k (0, 1, 2) = how many members put each voxel in WT, "
        "TC, ET",
    }
