"""``brainseg evaluate-model``: score a model on held-out cases and print the papers' table layout.

Rows are models, columns Dice and HD95 (mm) per WT, TC, ET and their averages, then mean precision and
sensitivity over the three regions, as in paper 000's Tables 1-3. Each case is predicted whole.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from brainseg.errors import BrainSegError
from brainseg.hub import load_checkpoint
from brainseg.inference import predict_volume
from brainseg.inference.postprocess import (
    checkpoint_thresholds,
    clean_tumor,
    labels_from_probabilities,
    nest_probabilities,
)
from brainseg.io import Case, load_case
from brainseg.labels import EVALUATION_REGIONS
from brainseg.metrics import evaluate, voxel_volume_ml
from brainseg.preprocess.coverage import normalize_covered
from brainseg.preprocess.normalize import brain_box, brain_mask
from brainseg.training.data import BratsFolderSet, validation_cases

TEST_SEED = 2 * 10**6
"""Held-out synthetic test cases: seeds apart from training (< 10**6) and validation (10**6 ...)."""

SYNTHETIC_SETS = {"synth": "glioma", "synth-met": "metastasis", "synth-lgg": "low-grade"}
"""``--data`` names of the held-out synthetic sets -> their lesion kind."""


@dataclass(frozen=True)
class EvaluationRow:
    """One model's averages over the cases: region -> value, plus the case count."""

    name: str
    dice: dict[str, float]
    hd95_mm: dict[str, float]
    precision: float
    sensitivity: float
    cases: int


TestCase = tuple[np.ndarray, np.ndarray, tuple[float, float, float]]
"""Raw images (4, X, Y, Z) RAS, internal labels (X, Y, Z), spacing in mm."""


def test_cases(data: str, cache: Path) -> list[TestCase]:
    """``synth:N`` (N held-out synthetic gliomas, 1 mm BraTS grid), ``synth-met:N`` / ``synth-lgg:N`` (the same
    seeds' metastasis-like / non-enhancing low-grade-like cases) or a BraTS-layout folder of cases with truth.

    Returns (raw images (4, X, Y, Z) RAS, internal labels (X, Y, Z), spacing in mm) per case.
    """
    kind, _, count = data.partition(":")
    if kind in SYNTHETIC_SETS:
        if not count.isdigit() or int(count) < 1:
            raise BrainSegError(
                f"--data {data!r}: expected synth:N, synth-met:N or synth-lgg:N with N >= 1, or a folder of cases"
            )
        held_out = validation_cases(cache / "test", int(count), seed=TEST_SEED, lesion=SYNTHETIC_SETS[kind])
        return [(images, labels, (1.0, 1.0, 1.0)) for images, labels in held_out]
    folder = BratsFolderSet(Path(data))
    return [_cropped_case(load_case(path)) for path in folder.folders]


def _cropped_case(case: Case) -> TestCase:
    """A case with truth cropped to the brain plus a margin, as the synthetic cases are and as the Segmenter
    runs the networks."""
    if case.truth is None:  # BratsFolderSet lists only folders with a truth file
        raise BrainSegError(f"{case.name}: no truth label map to score against")
    box = brain_box(brain_mask(case.images))
    return case.images[(slice(None), *box)], case.truth[box], case.spacing


def evaluate_model(
    name: str,
    checkpoint: str,
    cases: list[TestCase],
    device: str = "cpu",
    postprocess: bool = False,
) -> EvaluationRow:
    """Average metrics of one checkpoint over ``cases`` (see :func:`test_cases`).

    ``postprocess`` drops small tumor components and relabels a small enhancing tumor NCR with the
    checkpoint's own thresholds, as the app does (:func:`brainseg.inference.postprocess.clean_tumor`);
    without it the thresholded network output is scored.
    """
    loaded = load_checkpoint(checkpoint, device=device)
    model = loaded.model
    min_component_fraction, min_enhancing_ml = checkpoint_thresholds(loaded.metadata) if postprocess else (0.0, 0.0)
    reports = []
    for images, labels, spacing in cases:
        normalized, _ = normalize_covered(images, model.config.data.normalization)  # as the Segmenter does
        tensor = torch.from_numpy(normalized)[None].to(device)
        logits = predict_volume(model, tensor).logits
        probabilities = nest_probabilities(torch.sigmoid(logits[0].float()).cpu().numpy())
        clean_tumor(probabilities, min_component_fraction, min_enhancing_ml, voxel_volume_ml(spacing))  # no-op at 0, 0
        reports.append(evaluate(labels_from_probabilities(probabilities), labels, spacing))

    def mean(metric: str, region: str) -> float:
        return float(np.mean([r["regions"][region][metric] for r in reports]))

    return EvaluationRow(
        name=name,
        dice={r: mean("dice", r) for r in EVALUATION_REGIONS},
        hd95_mm={r: mean("hd95_mm", r) for r in EVALUATION_REGIONS},
        precision=float(np.mean([mean("precision", r) for r in EVALUATION_REGIONS])),
        sensitivity=float(np.mean([mean("sensitivity", r) for r in EVALUATION_REGIONS])),
        cases=len(reports),
    )


def format_table(rows: list[EvaluationRow]) -> str:
    """Markdown table in the papers' layout."""
    header = (
        "| model | Dice WT | Dice TC | Dice ET | Dice avg | HD95 WT | HD95 TC | HD95 ET | HD95 avg | precision "
        "| sensitivity | cases |"
    )
    lines = [header, "|" + "---|" * 12]
    for row in rows:
        dice = [row.dice[r] for r in EVALUATION_REGIONS]
        hd = [row.hd95_mm[r] for r in EVALUATION_REGIONS]
        cells = [f"{v:.4f}" for v in [*dice, float(np.mean(dice))]] + [f"{v:.2f}" for v in [*hd, float(np.mean(hd))]]
        lines.append(
            f"| {row.name} | " + " | ".join(cells) + f" | {row.precision:.4f} | {row.sensitivity:.4f} | {row.cases} |"
        )
    return "\n".join(lines)


def save_table(rows: list[EvaluationRow], path: Path) -> None:
    """Write ``path`` (markdown) and ``path.with_suffix('.json')``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_table(rows) + "\n")
    path.with_suffix(".json").write_text(json.dumps([row.__dict__ for row in rows], indent=2) + "\n")
