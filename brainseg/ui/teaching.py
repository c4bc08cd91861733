"""The Teaching tab: hide the truth, let a student draw (or click what a question names), then score the drawing.

A student's drawing is a :class:`~brainseg.ui.segmentation.Run` of its own (``model`` = ``student drawing``)
that starts empty, so every correction tool (brush, eraser, clicks, box, undo) draws it. While the truth is
hidden (:attr:`Teaching.hidden`) nothing on the page shows it: not the overlays, the readout, the 3D view
nor the scores (:attr:`brainseg.ui.viewer.Session.visible_truth`). A model's run on screen when the drawing
starts is kept aside (:attr:`Teaching.model_run`), so the drawing can be scored against the model too. It all
lives in the browser tab's session: no other user sees a student's drawing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from brainseg.errors import BrainSegError
from brainseg.inference.report import write_outputs
from brainseg.inference.result import Segmentation, no_prompt_interpretation
from brainseg.io.naming import SEQUENCES
from brainseg.labels import EVALUATION_REGIONS, LABEL_NAMES, SUBREGIONS, region_mask
from brainseg.metrics import evaluate
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.ui.segmentation import DRAWING, Run

STUDENT = DRAWING
QUESTIONS = {
    "Click the enhancing rim (ET)": "ET",
    "Click the necrotic core (NCR)": "NCR",
    "Click the peritumoral edema (ED)": "ED",
    "Click healthy brain (no tumor)": "healthy",
}
"""Quiz question -> the label the clicked voxel must have in the truth."""
LOOKS = {
    "ET": ("T1ce", "bright on T1ce (contrast leaks through the broken blood-brain barrier)"),
    "NCR": ("T1ce", "dark on T1ce inside the enhancing rim (dead tissue takes up no contrast)"),
    "ED": ("FLAIR", "bright on FLAIR (water around the tumor), not enhancing on T1ce"),
}
"""Region -> (the sequence it is read on, what it looks like there)."""


@dataclass(frozen=True)
class Teaching:
    """A session's teaching state.

    Attributes:
        hidden: the truth is hidden from the page.
        model_run: the model's run that was on screen when the drawing started, or None.
        record: the drawing's scores once scored (:func:`score`), for the export; None before.
    """

    hidden: bool = True
    model_run: Run | None = None
    record: dict[str, Any] | None = None


def start_drawing(session) -> Any:
    """The session with an empty student drawing as its run and the truth hidden.

    Raises:
        BrainSegError: the case has no truth to score a drawing against.
    """
    if session is None:
        raise BrainSegError("load a case first")
    case = session.loaded.case
    if case.truth is None:
        raise BrainSegError(f"{case.name} has no truth to score a drawing against: pick a case with a truth")
    kept = session.teaching.model_run if session.teaching is not None else None
    model_run = session.run if session.run is not None and session.run.model != STUDENT else kept
    return dataclasses.replace(session, run=blank_drawing(case.shape), teaching=Teaching(True, model_run))


def blank_drawing(shape: tuple[int, int, int]) -> Run:
    """A run with nothing drawn yet (every region empty), for the correction tools to draw on."""
    labels = np.zeros(shape, dtype=np.uint8)
    result = Segmentation(
        labels=labels,
        probabilities=np.zeros((3, *shape), dtype=np.float32),
        attention={},
        uncertainty=None,
        interpretation=no_prompt_interpretation(),
        target_regions=EVALUATION_REGIONS,
        timings={},
    )
    info = {"model": STUDENT, "size": "-", "source": STUDENT, "sha256": "", "device": "-"}
    return Run(
        STUDENT, STUDENT, info, None, result, {}, None, None, {}, datetime.now(UTC).isoformat(timespec="seconds")
    )


def drawing(session) -> np.ndarray:
    """(X, Y, Z) uint8 internal labels the student has drawn.

    Raises:
        BrainSegError: no drawing was started.
    """
    if session is None or session.run is None or session.run.model != STUDENT:
        raise BrainSegError("start a drawing first (Teaching: Start drawing)")
    labels: np.ndarray = session.run.labels
    return labels


def score(session) -> tuple[Any, dict[str, Any]]:
    """The drawing scored against the truth (and against the model kept aside); the truth shown again.

    Returns:
        (the session with the truth revealed and the drawing's run scored, the score record: ``truth`` (the
        :func:`~brainseg.metrics.evaluate` report), ``model`` (Dice per region against the model, or None),
        ``model_vs_truth`` (the model's Dice, or None) and ``explanations`` (one line per sub-region)).
    """
    drawn = drawing(session)
    case = session.loaded.case
    report = evaluate(drawn, case.truth, case.spacing)
    model_run = session.teaching.model_run if session.teaching is not None else None
    record: dict[str, Any] = {
        "truth": report,
        "model": _region_dice(drawn, model_run.labels) if model_run is not None else None,
        "model_vs_truth": _region_dice(model_run.labels, case.truth) if model_run is not None else None,
        "explanations": explain_regions(case.images, case.truth),
    }
    teaching = dataclasses.replace(session.teaching, hidden=False, record=record)
    revealed = dataclasses.replace(session, teaching=teaching)
    history = session.run.edit_history(case.spacing)
    return revealed.with_run(session.run.with_history(history, case.truth, case.spacing)), record


def _region_dice(first: np.ndarray, second: np.ndarray) -> dict[str, float]:
    return {r: dice(confusion_counts(region_mask(first, r), region_mask(second, r))) for r in EVALUATION_REGIONS}


def explain_regions(images: np.ndarray, truth: np.ndarray) -> list[str]:
    """One line per sub-region present: what it looks like and on which sequence, in this case's intensities.

    The reference is the healthy brain: every brain voxel more than 5 voxels from the tumor (its median on each
    sequence), so the ratios read like "here 2.3x the healthy brain".
    """
    brain = np.any(images != 0, axis=0)
    healthy = brain & ~ndimage.binary_dilation(truth > 0, iterations=5)
    if not healthy.any():
        healthy = brain & (truth == 0)
    lines = []
    for name, (sequence, look) in LOOKS.items():
        region = truth == SUBREGIONS[name]
        if not region.any():
            lines.append(f"{name} ({LABEL_NAMES[SUBREGIONS[name]]}): none in this case")
            continue
        channel = images[SEQUENCES.index(sequence)]
        ratio = float(np.median(channel[region]) / max(float(np.median(channel[healthy])), 1e-6))
        lines.append(f"{name}: {look}; here {ratio:.1f}x the healthy brain's median {sequence}")
    return lines


def score_markdown(record: dict[str, Any]) -> str:
    """The drawing's scores per region (Dice, HD95, lesion-wise), against the model, and the explanations."""
    truth = record["truth"]
    lines = [
        "| region | Dice | HD95 mm | lesion-wise Dice | drawn mL | truth mL |"
        + (" Dice vs model |" if record["model"] else ""),
        "|" + "---|" * (7 if record["model"] else 6),
    ]
    for region in EVALUATION_REGIONS:
        r, lw = truth["regions"][region], truth["lesionwise"][region]
        row = (
            f"| {region} | {r['dice']:.3f} | {r['hd95_mm']:.1f} | {lw['dice']:.3f} | {r['volume_pred_ml']:.1f} | "
            f"{r['volume_truth_ml']:.1f} |"
        )
        lines.append(row + (f" {record['model'][region]:.3f} |" if record["model"] else ""))
    if record["model_vs_truth"]:
        model = ", ".join(f"{r} {v:.3f}" for r, v in record["model_vs_truth"].items())
        lines += ["", f"The model against the truth: Dice {model}."]
    lines += ["", "The views now show the difference: teal drawn and true, red drawn but not true, blue missed."]
    lines += ["", "**What each region looks like here**", ""] + [f"- {line}" for line in record["explanations"]]
    return "\n".join(lines)


def check_click(session, cursor: tuple[int, int, int], question: str) -> str:
    """Whether the voxel under the cursor is what ``question`` asks for (the truth's label there)."""
    if session is None or session.loaded.case.truth is None:
        raise BrainSegError("the quiz needs a case with a truth")
    if question not in QUESTIONS:
        raise BrainSegError(f"unknown question {question!r}")
    wanted = QUESTIONS[question]
    label = int(session.loaded.case.truth[tuple(cursor)])
    found = "healthy" if label == 0 else LABEL_NAMES[label]
    if found == wanted:
        return f"✔ Right: the voxel at x {cursor[0]}, y {cursor[1]}, z {cursor[2]} is {found}."
    where = "healthy brain (no tumor)" if label == 0 else found
    hint = f" Hint: {LOOKS[wanted][1]}." if wanted in LOOKS else ""
    return f"✘ Not quite: that voxel is {where}.{hint}"


def export_drawing(session, out_dir: Path, labels: str = "brats2023") -> list[Path]:
    """The student's drawing as ``segmentation.nii.gz`` (input grid) and ``report.json`` (with its scores, once
    :func:`score` has made them)."""
    drawn = drawing(session)
    case = session.loaded.case
    result = dataclasses.replace(session.run.result, labels=drawn)
    info = {"model": STUDENT, "source": STUDENT}
    segmentation, report_path = write_outputs(case, result, info, out_dir, labels=labels)
    report = json.loads(report_path.read_text())
    record = session.teaching.record if session.teaching is not None else None
    scores = None
    if record is not None:
        scores = {"truth": {k: record["truth"][k] for k in ("regions", "lesionwise")}}
        scores |= {k: record[k] for k in ("model", "model_vs_truth", "explanations")}
    report["teaching"] = {"drawing": session.run.edit_history(case.spacing).summary(), "scores": scores}
    report_path.write_text(json.dumps(report, indent=2) + "\n")
    return [segmentation, report_path]
