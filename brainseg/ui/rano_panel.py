"""The RANO tab: measure the segmentation on screen, draw its diameters, compare with an earlier time point.

What is measured is what the views draw: the prediction with the reviewer's rejections and corrections, or
the case's truth before a run (:func:`shown_labels`). Measurements are cached on the run (or, for the truth,
on the loaded case), so moving the cursor with the diameters drawn costs nothing extra.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainseg.errors import BrainSegError
from brainseg.io import CanonicalFrame, read_volume
from brainseg.labels import detect_convention, to_internal
from brainseg.metrics.rano import RULES, Measurement, format_measurement, format_response, measure, response
from brainseg.viz import AxialLine

TARGET_COLOR = (255, 0, 255)
"""Magenta: the diameters of a target lesion (no label colour, not the crosshair's)."""
OTHER_COLOR = (200, 200, 200)
"""Grey: the diameters of a lesion that is not a target (not measurable, or beyond the rule's count)."""
NOTHING_MEASURED = "Press **Measure** to measure the enhancing lesions of the segmentation on screen."


def shown_labels(session, display) -> tuple[np.ndarray | None, str]:
    """(labels, what they are): the reviewed prediction, else the truth, else (None, '')."""
    if session is None:
        return None, ""
    run = session.run
    if run is not None:
        return run.reviewed_labels(display.rejected), "corrected prediction" if run.edited else "prediction"
    truth = session.loaded.case.truth
    return (truth, "truth") if truth is not None else (None, "")


def shown_measurement(session, display) -> tuple[Measurement | None, str]:
    """The measurement of :func:`shown_labels` by the display's rule (cached), and what was measured."""
    labels, what = shown_labels(session, display)
    if labels is None:
        return None, ""
    key = ("rano", display.rano_rule, tuple(sorted(display.rejected)))
    cache = session.run._cache if session.run is not None else session.loaded.derived
    if key not in cache:
        if session.run is not None:
            session.run._trim()
        cache[key] = measure(labels, session.loaded.case.spacing, display.rano_rule)
    return cache[key], what


def diameter_lines(session, display) -> tuple[AxialLine, ...]:
    """Both diameters of every lesion, when the display draws them (targets cyan, the others grey)."""
    if not display.diameters:
        return ()
    measurement, _ = shown_measurement(session, display)
    if measurement is None:
        return ()
    lines = []
    for lesion in measurement.lesions:
        color = TARGET_COLOR if lesion.target else OTHER_COLOR
        lines += [AxialLine(lesion.slice, ends, color) for ends in (lesion.longest_ends, lesion.perpendicular_ends)]
    return tuple(lines)


def largest_lesion_cursor(measurement: Measurement, cursor: tuple[int, int, int]) -> tuple[int, int, int]:
    """The middle of the largest lesion's longest diameter on its slice, or ``cursor`` without a lesion."""
    if not measurement.lesions:
        return cursor
    lesion = measurement.lesions[0]
    (x0, y0), (x1, y1) = lesion.longest_ends
    return round((x0 + x1) / 2), round((y0 + y1) / 2), lesion.slice


def measurement_markdown(measurement: Measurement, what: str) -> str:
    """The lesion table, SPD and volumes of the measured segmentation, with what was measured."""
    if not measurement.lesions:
        return f"**No enhancing lesion** (no tumor core) in the {what}: nothing to measure."
    return (
        f"Measured: the **{what}** on screen. Axial view: longest and perpendicular diameters drawn at each "
        "lesion's measured slice (magenta: targets, grey: the others). Not for clinical use.\n\n"
        + format_measurement(measurement)
    )


BASELINE_HINT = "brats2023"
"""How an earlier segmentation's labels are read where the values alone cannot tell (label 3 without 4): as
BrainSeg exports them by default and BraTS 2023 names them (ET = 3)."""


def read_baseline(path: str, rule: str) -> tuple[Measurement, str]:
    """The earlier time point's segmentation file measured (its own grid and spacing), and how its labels
    were read.

    Raises:
        BrainSegError: the file is not a label map (one line naming it).
    """
    name = Path(path).name
    volume = read_volume(path, name=f"earlier segmentation {name}", allow_all_zero=True)
    guess = detect_convention(volume.data, volume.name, hint=BASELINE_HINT)
    frame = CanonicalFrame(volume.shape, volume.affine)
    labels = frame.to_canonical(to_internal(volume.data, guess.name, volume.name))
    return measure(labels, frame.spacing, rule), f"labels of {name} read as {guess.name}: {guess.reason}"


def response_markdown(baseline_path: str | None, follow_up: Measurement) -> str:
    """The response from the uploaded earlier segmentation to the one measured now ('' without an upload)."""
    if not baseline_path:
        return ""
    earlier, read_as = read_baseline(baseline_path, follow_up.rule.key)
    return "```\n" + format_response(response(earlier, follow_up)) + f"\n  {read_as}\n```"


def check_rule(rule: str) -> str:
    if rule not in RULES:
        raise BrainSegError(f"unknown RANO rule {rule!r}; expected one of: {', '.join(RULES)}")
    return rule
