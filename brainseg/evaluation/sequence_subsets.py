"""``brainseg evaluate-model --folds N --subsets ...``: cross-validated Dice when a case lacks sequences.

Each real case is segmented by the fold checkpoint that never saw it (as :mod:`.cross_validation`), once per
subset of the sequences: the other channels are zeroed, exactly what :func:`brainseg.io.load_case` gives for a
case whose files lack them, and the Segmenter runs as ``brainseg predict`` does (the checkpoint's own
post-processing). Only the regions a subset can show (:func:`brainseg.io.availability.supported_regions`) are
scored; the table puts each subset beside the four-sequence result of the same checkpoints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from brainseg.errors import BrainSegError
from brainseg.io import SEQUENCES, Case
from brainseg.io.availability import ordered, supported_regions
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.metrics.overlap import confusion_counts, dice

from .cross_validation import held_out_cases

ALL = "all"
"""How ``--subsets`` names the four sequences."""


def parse_subsets(text: str) -> list[tuple[str, ...]]:
    """``"all,FLAIR,T1ce+FLAIR"`` -> ``[(T1, T1ce, T2, FLAIR), (FLAIR,), (T1ce, FLAIR)]``; names are case-insensitive.

    Raises:
        BrainSegError: an unknown sequence name or a subset without FLAIR or T1ce.
    """
    by_lower = {s.lower(): s for s in SEQUENCES}
    subsets = []
    for item in (part.strip() for part in text.split(",") if part.strip()):
        if item.lower() == ALL:
            subsets.append(SEQUENCES)
            continue
        names = [by_lower.get(name.strip().lower(), name.strip()) for name in item.split("+")]
        subset = ordered(names)
        if not supported_regions(subset):
            raise BrainSegError(f"subset {item}: needs FLAIR or T1ce")
        subsets.append(subset)
    if not subsets:
        raise BrainSegError("no subset given: e.g. all,FLAIR,T1ce+FLAIR")
    return subsets


def subset_name(subset: Sequence[str]) -> str:
    """``T1ce+FLAIR``, or ``all`` for the four sequences."""
    return ALL if tuple(subset) == SEQUENCES else "+".join(subset)


def with_only(case: Case, subset: Sequence[str]) -> Case:
    """``case`` as if its files held only ``subset``: the other channels zeroed (a new images array)."""
    images = np.zeros_like(case.images)
    for sequence in subset:
        images[SEQUENCES.index(sequence)] = case.images[SEQUENCES.index(sequence)]
    return dataclasses.replace(case, images=images, available=ordered(subset))


def subset_scores(
    template: str,
    folder: Path,
    folds: int,
    subsets: Sequence[tuple[str, ...]],
    device: str = "cpu",
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """One record per (case, subset): ``subset``, ``fold``, ``case``, ``dice`` (region -> Dice, None where the
    subset cannot show the region) and ``seconds``.

    Raises:
        BrainSegError: a bad folder, fold count or checkpoint, or a checkpoint not trained for missing sequences.
    """
    records = []
    for fold, segmenter, case, truth in held_out_cases(template, folder, folds, device):
        for subset in subsets:
            result = segmenter.segment(with_only(case, subset))
            shown = supported_regions(subset)
            scores = {
                region: dice(confusion_counts(region_mask(result.labels, region), region_mask(truth, region)))
                if region in shown
                else None
                for region in EVALUATION_REGIONS
            }
            name = subset_name(subset)
            records.append(
                {"subset": name, "fold": fold, "case": case.name, "dice": scores, "seconds": result.timings["total"]}
            )
            segmenter.clear_cache()
            if progress:
                dice_text = " ".join(f"{r} {v:.3f}" for r, v in scores.items() if v is not None)
                progress(f"fold {fold}: {case.name} {name}: {dice_text}")
    return records


def subset_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per subset (in first-seen order): cases, mean Dice per region (None where not predicted), and the
    difference from the four-sequence mean of the same cases (None without an ``all`` subset)."""
    names = list(dict.fromkeys(r["subset"] for r in records))
    means: dict[str, dict[str, float | None]] = {}
    for name in names:
        chosen = [r for r in records if r["subset"] == name]
        means[name] = {}
        for region in EVALUATION_REGIONS:
            values = [r["dice"][region] for r in chosen]
            means[name][region] = float(np.mean(values)) if values[0] is not None else None
    full = means.get(ALL)
    rows = []
    for name in names:
        mean = means[name]
        difference: dict[str, float | None] = {}
        for region in EVALUATION_REGIONS:
            ours, theirs = mean[region], full[region] if full is not None else None
            difference[region] = ours - theirs if ours is not None and theirs is not None else None
        cases = sum(r["subset"] == name for r in records)
        rows.append({"subset": name, "cases": cases, "dice": mean, "difference": difference})
    return rows


def format_subset_table(rows: Sequence[dict[str, Any]]) -> str:
    """Markdown: one row per subset, Dice per region and its difference from all four ("—": not predicted)."""
    lines = ["| sequences | cases | Dice WT | Dice TC | Dice ET | vs all four WT | TC | ET |", "|" + "---|" * 8]
    for row in rows:
        dice_cells = [f"{v:.3f}" if v is not None else "—" for v in row["dice"].values()]
        difference = [f"{v:+.3f}" if v is not None else "—" for v in row["difference"].values()]
        lines.append(f"| {row['subset']} | {row['cases']} | " + " | ".join(dice_cells + difference) + " |")
    return "\n".join(lines)
