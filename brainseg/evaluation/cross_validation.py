"""``brainseg evaluate-model --folds N``: each real case scored by the fold checkpoint that never saw it.

Fold ``K``'s checkpoint (the source with ``{fold}`` replaced by ``K``, e.g.
``local-dir:runs/cv/fold{fold}/checkpoints/last``; a source without it scores every fold with the same
checkpoint, the baseline a fine-tune is compared with) segments the cases held back in fold ``K``
(:func:`brainseg.training.folds.split_fold`, by case name) exactly as ``brainseg predict`` does: the
:class:`~brainseg.inference.Segmenter` on the whole loaded case. The network's output is kept before
post-processing (:class:`OutOfFold`), so the post-processing can be applied afterwards with any thresholds:
the app's (:func:`score_cases`), or each pair of a grid, to choose them by cross-validation
(:func:`choose_postprocessing`), as nnU-Net chooses its post-processing on its out-of-fold predictions.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from brainseg.errors import BrainSegError
from brainseg.inference import Segmenter
from brainseg.inference.postprocess import (
    MIN_COMPONENT_FRACTION,
    MIN_ENHANCING_ML,
    THRESHOLD,
    checkpoint_thresholds,
    clean_tumor,
    labels_from_probabilities,
)
from brainseg.io import Case, load_case
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.metrics import evaluate, voxel_volume_ml
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.preprocess import bounding_box
from brainseg.training.data import BratsFolderSet
from brainseg.training.folds import fold_of

FOLD_FIELD = "{fold}"
"""Where a checkpoint source names its fold."""

COMPONENT_FRACTIONS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3)
"""Small-component thresholds (share of the largest component) tried by :func:`choose_postprocessing`."""
ENHANCING_MLS = (0.0, 0.25, 0.5, 1.0, 2.0)
"""Small-enhancing-tumor thresholds (mL) tried by :func:`choose_postprocessing`."""


@dataclass(frozen=True)
class OutOfFold:
    """One real case as its fold's checkpoint predicted it, before post-processing.

    Attributes:
        fold: the fold that held the case back.
        name: the case's name (its folder).
        probabilities: (3, X, Y, Z) float32 nested WT, TC, ET probabilities, 0 outside the brain, canonical RAS
            (float32 as the Segmenter thresholds them: float16 would move voxels near 0.5 across the threshold).
        truth: (X, Y, Z) uint8 internal labels.
        spacing: voxel size in mm (X, Y, Z).
        seconds: the Segmenter's time for the case (preprocessing and network).
        own_thresholds: the fold checkpoint's post-processing (min_component_fraction, min_enhancing_ml), what
            ``brainseg predict`` would apply with it.
    """

    fold: int
    name: str
    probabilities: np.ndarray
    truth: np.ndarray
    spacing: tuple[float, float, float]
    seconds: float
    own_thresholds: tuple[float, float] = (MIN_COMPONENT_FRACTION, MIN_ENHANCING_ML)


def fold_source(template: str, fold: int) -> str:
    """The checkpoint source of ``fold``: ``template`` with ``{fold}`` replaced (unchanged without it)."""
    return template.replace(FOLD_FIELD, str(fold))


def out_of_fold_predictions(
    template: str,
    folder: Path,
    folds: int,
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[OutOfFold]:
    """Every case of ``folder`` (BraTS layout, with truth) predicted by its own fold's checkpoint.

    Raises:
        BrainSegError: a bad folder, fold count or checkpoint source (one line).
    """
    results = []
    held_out = held_out_cases(template, folder, folds, device, min_component_fraction=0.0, min_enhancing_ml=0.0)
    for fold, segmenter, case, truth in held_out:
        own = checkpoint_thresholds(segmenter.checkpoint.metadata)
        result = segmenter.segment(case)
        seconds = result.timings["total"]
        results.append(OutOfFold(fold, case.name, result.probabilities.copy(), truth, case.spacing, seconds, own))
        segmenter.clear_cache()
        if progress:
            progress(f"fold {fold}: {case.name} ({seconds:.1f} s)")
    return results


def held_out_cases(
    template: str, folder: Path, folds: int, device: str = "cpu", **segmenter_options: Any
) -> Iterator[tuple[int, Segmenter, Case, np.ndarray]]:
    """(fold, that fold's Segmenter, a case it never saw, the case's (X, Y, Z) uint8 internal truth) for every
    case of ``folder`` (BraTS layout, with truth), fold by fold; the case is named after its folder.

    ``segmenter_options``: passed on to :class:`~brainseg.inference.Segmenter` (e.g. post-processing off).

    Raises:
        BrainSegError: a bad folder, fold count or checkpoint source (one line).
    """
    cases = BratsFolderSet(folder)
    assignment = fold_of(cases.names, folds)
    for fold in range(folds):
        segmenter = Segmenter(fold_source(template, fold), device, **segmenter_options)
        for path in cases.folders:
            if assignment[path.name] != fold:
                continue
            case = load_case(path)
            if case.truth is None:  # BratsFolderSet lists only folders with a truth file
                raise BrainSegError(f"{path}: no truth label map to score against")
            yield fold, segmenter, replace(case, name=path.name), case.truth


def postprocessed_labels(case: OutOfFold, min_component_fraction: float, min_enhancing_ml: float) -> np.ndarray:
    """(X, Y, Z) uint8 internal labels: the case's prediction post-processed with these thresholds, as the
    Segmenter does (:func:`~brainseg.inference.postprocess.clean_tumor`)."""
    probabilities = case.probabilities.astype(np.float32)  # a copy: clean_tumor works in place
    clean_tumor(probabilities, min_component_fraction, min_enhancing_ml, voxel_volume_ml(case.spacing))
    return labels_from_probabilities(probabilities)


def score_cases(cases: Sequence[OutOfFold], thresholds: tuple[float, float] | None = None) -> list[dict[str, Any]]:
    """One :func:`~brainseg.metrics.evaluate` report per case, with ``fold`` and ``case`` added.

    ``thresholds``: (min_component_fraction, min_enhancing_ml) for every case; None: each fold checkpoint's own,
    as ``brainseg predict`` applies them.
    """
    reports = []
    for case in cases:
        labels = postprocessed_labels(case, *(thresholds or case.own_thresholds))
        report = evaluate(labels, case.truth, case.spacing)
        del report["conventions"]
        reports.append({"fold": case.fold, "case": case.name, **report})
    return reports


def mean_dice(reports: Sequence[dict[str, Any]]) -> float:
    """Mean over cases and WT, TC, ET of the Dice: the criterion post-processing is chosen by."""
    return float(np.mean([r["regions"][region]["dice"] for r in reports for region in EVALUATION_REGIONS]))


def choose_postprocessing(
    cases: Sequence[OutOfFold],
    fractions: Sequence[float] = COMPONENT_FRACTIONS,
    enhancing_mls: Sequence[float] = ENHANCING_MLS,
) -> tuple[tuple[float, float], list[dict[str, Any]]]:
    """The (min_component_fraction, min_enhancing_ml) pair with the best :func:`mean_dice` over ``cases``.

    Ties go to the smaller thresholds (the earlier pair of the grid: the less the output is changed).

    Returns:
        (best pair, one row per pair: ``min_component_fraction``, ``min_enhancing_ml``, ``mean_dice`` and
        ``dice`` per region).
    """
    # Cut to the predicted or true tumor first: outside it both label maps are 0 whatever the thresholds,
    # so every Dice is unchanged and the grid runs on a tenth of the voxels.
    cases = [_cropped_to_tumor(case) for case in cases]
    rows: list[dict[str, Any]] = []
    for fraction, enhancing_ml in itertools.product(fractions, enhancing_mls):
        # Dice alone (no distances): 30 pairs x 18 cases in seconds rather than minutes.
        scores = np.array(
            [_region_dice(postprocessed_labels(case, fraction, enhancing_ml), case.truth) for case in cases]
        )
        rows.append(
            {
                "min_component_fraction": fraction,
                "min_enhancing_ml": enhancing_ml,
                "mean_dice": float(scores.mean()),
                "dice": {region: float(scores[:, i].mean()) for i, region in enumerate(EVALUATION_REGIONS)},
            }
        )
    best = max(rows, key=lambda row: row["mean_dice"])  # max keeps the first of equal values
    return (best["min_component_fraction"], best["min_enhancing_ml"]), rows


def _cropped_to_tumor(case: OutOfFold) -> OutOfFold:
    """``case`` cut to the bounding box of its predicted (WT > threshold) or true tumor, plus one voxel."""
    box = bounding_box((case.probabilities[0] > THRESHOLD) | (case.truth > 0), margin=1)
    return replace(case, probabilities=case.probabilities[(slice(None), *box)], truth=case.truth[box])


def _region_dice(labels: np.ndarray, truth: np.ndarray) -> list[float]:
    """Dice of WT, TC, ET (both empty: 1, the convention of :func:`~brainseg.metrics.evaluate`)."""
    return [dice(confusion_counts(region_mask(labels, r), region_mask(truth, r))) for r in EVALUATION_REGIONS]


def summary_row(name: str, reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over ``reports``: Dice and HD95 (mm) per region, lesion-wise Dice and HD95, case count."""

    def mean(block: str, metric: str, region: str) -> float:
        return float(np.mean([r[block][region][metric] for r in reports]))

    return {
        "name": name,
        "cases": len(reports),
        **{
            f"{block}_{metric}": {region: mean(block, metric, region) for region in EVALUATION_REGIONS}
            for block in ("regions", "lesionwise")
            for metric in ("dice", "hd95_mm")
        },
    }


def fold_rows(reports: Sequence[dict[str, Any]], folds: int) -> list[dict[str, Any]]:
    """One :func:`summary_row` per fold, then ``all`` (the mean over every case, not over the fold means)."""
    rows = [summary_row(f"fold {k}", [r for r in reports if r["fold"] == k]) for k in range(folds)]
    return [row for row in rows if row["cases"]] + [summary_row("all", reports)]


def format_fold_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: per fold and overall, Dice and HD95 per region, then the lesion-wise ones."""
    header = (
        "| fold | cases | Dice WT | Dice TC | Dice ET | HD95 WT | HD95 TC | HD95 ET "
        "| LW Dice WT | LW Dice TC | LW Dice ET | LW HD95 WT | LW HD95 TC | LW HD95 ET |"
    )
    lines = [header, "|" + "---|" * 14]
    for row in rows:
        cells = [f"{row['regions_dice'][r]:.3f}" for r in EVALUATION_REGIONS]
        cells += [f"{row['regions_hd95_mm'][r]:.1f}" for r in EVALUATION_REGIONS]
        cells += [f"{row['lesionwise_dice'][r]:.3f}" for r in EVALUATION_REGIONS]
        cells += [f"{row['lesionwise_hd95_mm'][r]:.1f}" for r in EVALUATION_REGIONS]
        lines.append(f"| {row['name']} | {row['cases']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_case_table(reports: Sequence[dict[str, Any]]) -> str:
    """Markdown: one row per case: fold, Dice per region, predicted and true volumes (mL) per region."""
    lines = [
        "| case | fold | Dice WT | Dice TC | Dice ET | WT mL pred / truth | TC mL pred / truth | ET mL pred / truth |",
        "|" + "---|" * 8,
    ]
    for report in sorted(reports, key=lambda r: r["case"]):
        regions = report["regions"]
        dice = [f"{regions[r]['dice']:.3f}" for r in EVALUATION_REGIONS]
        volumes = [
            f"{regions[r]['volume_pred_ml']:.1f} / {regions[r]['volume_truth_ml']:.1f}" for r in EVALUATION_REGIONS
        ]
        lines.append(f"| {report['case']} | {report['fold']} | " + " | ".join(dice + volumes) + " |")
    return "\n".join(lines)


def format_postprocessing_grid(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: mean Dice (and per region) for each threshold pair tried."""
    lines = ["| min component fraction | min ET mL | mean Dice | Dice WT | Dice TC | Dice ET |", "|" + "---|" * 6]
    for row in rows:
        dice = " | ".join(f"{row['dice'][r]:.4f}" for r in EVALUATION_REGIONS)
        lines.append(
            f"| {row['min_component_fraction']:g} | {row['min_enhancing_ml']:g} | {row['mean_dice']:.4f} | {dice} |"
        )
    return "\n".join(lines)
