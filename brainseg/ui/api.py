"""The app's programmatic endpoints: ``/segment`` (four files, a model, a prompt -> a NIfTI and its report)
and ``/refine`` (four files, a segmentation, clicks and boxes -> the refined NIfTI and its report).

Stateless: they touch no session, so a failed call leaves the page as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from brainseg.errors import CaseFilesError
from brainseg.inference.protocol import SegmenterFactory
from brainseg.io import load_case
from brainseg.models import ModelConfigError, get_variant
from brainseg.text.prompts import interpret_prompt
from brainseg.ui.model_menu import DEFAULT_MODEL, ModelChoice
from brainseg.ui.segmentation import Progress, default_segmenters, prompt_or_none


def segment_files(
    t1: str | Path | None,
    t1ce: str | Path | None,
    t2: str | Path | None,
    flair: str | Path | None,
    model: str | None,
    prompt: str | None,
    out_dir: str | Path,
    choices: dict[str, ModelChoice],
    *,
    segmenters: SegmenterFactory = default_segmenters,
    progress: Progress | None = None,
) -> tuple[Path, dict]:
    """Segment the case of the given sequence files and write ``segmentation.nii.gz`` and ``report.json``.

    Args:
        t1, t1ce, t2, flair: the sequence files (any names); any subset holding FLAIR or T1ce, the others
            None (the regions the subset cannot support are not predicted, see :mod:`brainseg.io.availability`).
        model: a variant name from ``choices``; None or empty for :data:`DEFAULT_MODEL`.
        prompt: free text, or None / empty for every region.
        out_dir: folder for the two files.
        choices: the app's models (:func:`brainseg.ui.model_menu.model_choices`).

    Returns:
        (path of the segmentation NIfTI, the report as a dict: ``report["regions"][R]["volume_ml"]``).

    Raises:
        BrainSegError: missing or unreadable files, unknown model, missing checkpoint, refused prompt;
            the same one-line messages as the CLI.
    """
    report = progress or (lambda fraction, message: None)
    # Checked in the order of ``brainseg predict``, so that a bad call fails with the CLI's message.
    text = prompt_or_none(prompt)
    reading = interpret_prompt(text).require() if text is not None else None  # read once, used by the run
    report(0.0, "Reading the sequences")
    case = load_case(t1=t1 or None, t1ce=t1ce or None, t2=t2 or None, flair=flair or None)
    name = (model or "").strip() or DEFAULT_MODEL
    if name not in choices:
        get_variant(name)  # raises the registry's error, which lists the valid names
        raise ModelConfigError(f"model {name!r} is not offered here; models: {', '.join(choices)}")
    source = choices[name].require()
    report(0.1, f"Loading {name}")
    segmenter = segmenters(source).for_case(case)

    def network(fraction: float, message: str) -> None:
        report(0.15 + 0.8 * min(max(float(fraction), 0.0), 1.0), message)

    result = segmenter.segment(case, reading, progress=network)
    report(0.95, "Writing the segmentation")
    segmentation, report_path = segmenter.write(case, result, Path(out_dir))
    return Path(segmentation), json.loads(Path(report_path).read_text())


def refine_uploaded(
    t1: str | Path | None,
    t1ce: str | Path | None,
    t2: str | Path | None,
    flair: str | Path | None,
    seg: str | Path | None,
    clicks: str | None,
    boxes: str | None,
    out_dir: str | Path,
) -> tuple[Path, dict]:
    """Refine ``seg`` (BraTS 2023 labels, on the four files' grid) with ``clicks`` and ``boxes``.

    Args:
        clicks: ``I,J,K,SIGN,REGION`` specs (input-grid voxels), one per line or ``;``-separated.
        boxes: ``I0,J0,K0,I1,J1,K1,REGION`` specs, applied after the clicks.

    Returns:
        (path of the refined ``segmentation.nii.gz``, its report: ``edits``, ``segmentation_is`` ...).

    Raises:
        BrainSegError: the one-line messages of ``brainseg refine``.
    """
    from brainseg.editing.session import refine_files

    if not seg:
        raise CaseFilesError("no segmentation to refine: give seg, e.g. the segmentation.nii.gz of /segment")
    sequences = {"t1": t1 or None, "t1ce": t1ce or None, "t2": t2 or None, "flair": flair or None}
    refined = refine_files(sequences, seg, clicks, boxes, out_dir)
    return refined.segmentation, refined.record
