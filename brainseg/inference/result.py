"""What :meth:`brainseg.inference.segmenter.Segmenter.segment` returns: labels, probabilities, maps, provenance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from brainseg.io import region_volumes_ml
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.text.prompts import PromptInterpretation


def no_prompt_interpretation() -> PromptInterpretation:
    """What segmenting without a prompt means: all three evaluation regions."""
    return PromptInterpretation(
        prompt="",
        regions=EVALUATION_REGIONS,
        confidence=1.0,
        matched_terms=(),
        refused=False,
        reason="no prompt: whole tumor, tumor core and enhancing tumor",
    )


@dataclass
class Segmentation:
    """One case segmented, in the case's canonical RAS frame (``case.frame`` maps it back to the input grid).

    Attributes:
        labels: (X, Y, Z) uint8 internal labels 0, 1 NCR, 2 ED, 3 ET of every region, nested (ET within TC
            within WT), background outside the brain. Read-only (shared with the segmenter's cache).
        probabilities: (3, X, Y, Z) float32 in [0, 1] for WT, TC, ET: sigmoid outputs made to nest
            (P(ET) <= P(TC) <= P(WT)), 0 outside the brain; ``probabilities > 0.5`` gives exactly ``labels``'
            regions. Read-only.
        attention: name -> (X, Y, Z) float32 in [0, 1], the model's maps (``semantic`` always; ``ET``, ``TC``,
            ``WT``, ``modality_*`` where the variant has them). Read-only.
        uncertainty: (X, Y, Z) float32 in [0, 1] (see :data:`UNCERTAINTY_METHOD`), 0 outside the brain;
            None unless asked for.
        interpretation: how the prompt was read (all three regions when there was none).
        target_regions: the regions the prompt asked for, e.g. ``("ET",)``; WT, TC, ET without a prompt.
        timings: seconds per step: ``preprocess``, ``inference``, ``uncertainty`` (when asked),
            ``postprocess``, ``total``; 0 for steps served from the cache.
        preprocessing: one line per step applied before the network (for reports).
        postprocessing: one line per step applied after it.
        warnings: what the user should know about this prediction (spacing, skull, empty result).
        from_cache: True when no network pass ran for this call.
        computed_seconds: what the steps that made these outputs took when they ran (``preprocess``,
            ``inference``, ``uncertainty``, ``postprocess``), the same for a cached result as for the first one.
        sequences_used: the sequences the case had, in T1, T1ce, T2, FLAIR order (all four when complete).
        regions_predicted: the regions (of WT, TC, ET) those sequences can show; the others are empty in
            ``labels`` and ``probabilities`` (without T1ce the whole tumor is labelled ED, 2, and is WT only).
    """

    labels: np.ndarray
    probabilities: np.ndarray
    attention: dict[str, np.ndarray]
    uncertainty: np.ndarray | None
    interpretation: PromptInterpretation
    target_regions: tuple[str, ...]
    timings: dict[str, float]
    preprocessing: list[str] = field(default_factory=list)
    postprocessing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    from_cache: bool = False
    computed_seconds: dict[str, float] = field(default_factory=dict)
    sequences_used: tuple[str, ...] = ("T1", "T1ce", "T2", "FLAIR")
    regions_predicted: tuple[str, ...] = EVALUATION_REGIONS

    def volumes_ml(self, spacing: tuple[float, float, float]) -> dict[str, float]:
        """Volume in mL of WT, TC, ET, NCR and ED in ``labels`` for voxels of ``spacing`` mm (``case.spacing``)."""
        return region_volumes_ml(self.labels, spacing)

    def target_mask(self) -> np.ndarray:
        """(X, Y, Z) bool: voxels of any target region."""
        mask = np.zeros(self.labels.shape, dtype=bool)
        for region in self.target_regions:
            mask |= region_mask(self.labels, region)
        return mask

    def target_labels(self) -> np.ndarray:
        """(X, Y, Z) uint8 internal labels restricted to the target regions (the full map without a prompt).

        Sub-region values are kept: asking for the tumor core gives NCR (1) and ET (3) voxels, no edema.
        """
        return np.where(self.target_mask(), self.labels, 0).astype(np.uint8)

    def prompt_attention(self) -> np.ndarray:
        """(X, Y, Z) float32 in [0, 1]: the attention for the prompt's regions (their maximum) where the model
        has per-region maps, else its ``semantic`` map."""
        maps = [self.attention[r] for r in self.target_regions if r in self.attention]
        if maps:
            return np.maximum.reduce(maps) if len(maps) > 1 else maps[0]
        return self.attention["semantic"] if "semantic" in self.attention else next(iter(self.attention.values()))
