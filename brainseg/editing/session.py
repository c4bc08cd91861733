"""Refine a case's segmentation from click and box specs, as ``brainseg refine`` and the ``/refine`` endpoint do.

Specs name voxels of the input file's grid (``I,J,K`` as a viewer of that file shows them); they are mapped to
the canonical RAS frame that every tool works in
(:meth:`brainseg.io.orientation.CanonicalFrame.input_voxel_to_canonical`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from brainseg import __version__
from brainseg.editing.history import EditHistory
from brainseg.editing.refine import CLICK_REGIONS, Click, IntensityScale, refine_box, refine_click
from brainseg.editing.tools import EditError
from brainseg.io import Case, region_volumes_ml, write_segmentation
from brainseg.labels import REGIONS

CLICK_FORMAT = "I,J,K,SIGN,REGION"
BOX_FORMAT = "I0,J0,K0,I1,J1,K1,REGION"


@dataclass(frozen=True)
class BoxSpec:
    """A box: two opposite corners (canonical x, y, z, inclusive) and the region to segment inside it."""

    corners: tuple[tuple[int, int, int], tuple[int, int, int]]
    region: str


def _indices(parts: Sequence[str], spec: str, what: str) -> list[int]:
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise EditError(f"{what} {spec!r}: the voxel indices must be whole numbers") from None


def _region(name: str, spec: str, what: str) -> str:
    region = name.strip().upper()
    if region not in CLICK_REGIONS:
        raise EditError(f"{what} {spec!r}: region {name.strip()!r} is not one of {', '.join(CLICK_REGIONS)}")
    return region


def _canonical(case: Case, voxel: Sequence[int], spec: str, what: str) -> tuple[int, int, int]:
    shape = case.frame.input_shape
    if any(not 0 <= v < n for v, n in zip(voxel, shape, strict=True)):
        raise EditError(
            f"{what} {spec!r}: voxel {tuple(voxel)} is outside the input grid "
            f"({shape[0]} x {shape[1]} x {shape[2]}: indices 0..{shape[0] - 1}, 0..{shape[1] - 1}, 0..{shape[2] - 1})"
        )
    return case.frame.input_voxel_to_canonical((voxel[0], voxel[1], voxel[2]))


def parse_click(spec: str, case: Case) -> Click:
    """A click from ``I,J,K,SIGN,REGION`` (input-grid voxel; ``+`` it belongs to REGION, ``-`` it does not)."""
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 5:
        raise EditError(f"click {spec!r}: expected {CLICK_FORMAT}, e.g. 120,96,70,+,WT")
    if parts[3] not in ("+", "-"):
        raise EditError(f"click {spec!r}: SIGN must be + (belongs to the region) or - (does not), not {parts[3]!r}")
    voxel = _canonical(case, _indices(parts[:3], spec, "click"), spec, "click")
    return Click(voxel, parts[3] == "+", _region(parts[4], spec, "click"))


def parse_box(spec: str, case: Case) -> BoxSpec:
    """A box from ``I0,J0,K0,I1,J1,K1,REGION`` (two opposite input-grid corners, inclusive)."""
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != 7:
        raise EditError(f"box {spec!r}: expected {BOX_FORMAT}, e.g. 100,80,60,140,120,90,TC")
    numbers = _indices(parts[:6], spec, "box")
    first = _canonical(case, numbers[:3], spec, "box")
    second = _canonical(case, numbers[3:], spec, "box")
    return BoxSpec((first, second), _region(parts[6], spec, "box"))


def split_specs(text: str | Sequence[str] | None) -> list[str]:
    """Specs from a list, or from one text with one spec per line or separated by ``;``."""
    if text is None:
        return []
    items = [text] if isinstance(text, str) else list(text)
    return [part.strip() for item in items for part in item.replace(";", "\n").splitlines() if part.strip()]


def refine_case(
    case: Case, start: np.ndarray, clicks: Sequence[Click], boxes: Sequence[BoxSpec]
) -> tuple[EditHistory, list[int]]:
    """Apply every click, then every box, to ``start`` ((X, Y, Z) canonical internal labels of ``case``), each
    on the result of the one before.

    Returns:
        (the history, whose ``labels`` are the result; the positions, clicks first, of those that changed
        nothing, e.g. a negative click where the region is not).
    """
    history = EditHistory.start(start, case.spacing)
    scale = IntensityScale.of(case.images)
    unchanged = []
    steps: list[Click | BoxSpec] = [*clicks, *boxes]
    for position, step in enumerate(steps):
        if isinstance(step, Click):
            edit = refine_click(history.labels, case.images, case.spacing, step, scale)
        else:
            edit = refine_box(history.labels, case.images, case.spacing, step.corners, step.region, scale)
        if edit.changed == 0:
            unchanged.append(position)
        history = history.apply(edit)
    return history, unchanged


def input_voxels(case: Case, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The edit records with each canonical ``voxel`` (and ``box``) also given as input-grid ``input_voxel``."""
    out = []
    for record in records:
        record = dict(record)
        if "voxel" in record:
            record["input_voxel"] = list(case.frame.canonical_voxel_to_input(tuple(record["voxel"])))
        if "box" in record:
            low, high = record["box"][:3], record["box"][3:]
            corners = [case.frame.canonical_voxel_to_input(tuple(c)) for c in (low, high)]
            first, second = np.array(corners[0]), np.array(corners[1])
            record["input_box"] = [*np.minimum(first, second).tolist(), *np.maximum(first, second).tolist()]
        out.append(record)
    return out


def edits_block(case: Case, history: EditHistory, base: str = "model") -> dict[str, Any]:
    """The edit fields of a report: what the labels are (``model + N edits``), every edit, the volumes."""
    return {
        "segmentation_is": history.summary().replace("model", base, 1),
        "edit_count": history.count,
        "edits": input_voxels(case, history.records()),
        "volumes_ml_before": _rounded(region_volumes_ml(history.model, case.spacing)),
        "volumes_ml_after": _rounded(region_volumes_ml(history.labels, case.spacing)),
        "voxel_indices": "voxel: canonical RAS (x, y, z) of the app's views; input_voxel: (i, j, k) of the input grid",
    }


def _rounded(volumes: dict[str, float]) -> dict[str, float]:
    return {region: round(float(v), 3) for region, v in volumes.items()}


def write_refined(
    case: Case,
    history: EditHistory,
    out_dir: str | Path,
    *,
    start_file: str,
    labels: str = "brats2023",
    unchanged: Sequence[str] = (),
) -> tuple[Path, Path, dict[str, Any]]:
    """Write ``segmentation.nii.gz`` (input grid and affine, ``labels`` convention) and ``report.json``;
    returns their paths and the report.

    Args:
        unchanged: the specs that changed nothing (listed in the report)."""
    from brainseg.inference.report import DISCLAIMER, REPORT_FILE, SEGMENTATION_FILE, check_output_convention

    check_output_convention(labels)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise EditError(f"--out {out}: exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    segmentation = write_segmentation(
        history.labels, case.frame, out / SEGMENTATION_FILE, case.reference_header, labels
    )
    report = {
        "brainseg_version": __version__,
        "disclaimer": DISCLAIMER,
        "case": {
            "name": case.name,
            "files": {role: info.file for role, info in case.sources.items() if role != "truth"},
        },
        "start_segmentation": start_file,
        "labels": {"convention": labels, "regions": list(REGIONS)},
        **edits_block(case, history, base=Path(start_file).name),
        "changed_nothing": list(unchanged),
    }
    path = out / REPORT_FILE
    path.write_text(json.dumps(report, indent=2) + "\n")
    return segmentation, path, report


@dataclass(frozen=True)
class Refined:
    """What :func:`refine_files` wrote and did.

    Attributes:
        segmentation: path of the refined ``segmentation.nii.gz``.
        report: path of its ``report.json``.
        record: that report.
        history: the edits (``history.labels`` are the result, canonical RAS).
        unchanged: the specs that changed nothing.
    """

    segmentation: Path
    report: Path
    record: dict[str, Any]
    history: EditHistory
    unchanged: tuple[str, ...]


def refine_files(
    sequences: dict[str, str | Path | None],
    seg: str | Path,
    clicks: str | Sequence[str] | None,
    boxes: str | Sequence[str] | None,
    out_dir: str | Path,
    *,
    case_source: str | Path | None = None,
    seg_labels: str = "brats2023",
    labels: str = "brats2023",
) -> Refined:
    """Refine the segmentation file ``seg`` of a case with click and box specs; write the result.

    Args:
        sequences: ``t1``, ``t1ce``, ``t2``, ``flair`` -> file (None where ``case_source`` holds it).
        seg: the segmentation to start from, on the case's input grid.
        clicks: :data:`CLICK_FORMAT` specs (a list, or one text: one per line or ``;``-separated).
        boxes: :data:`BOX_FORMAT` specs, applied after the clicks.
        case_source: a case folder or zip (optional).
        seg_labels: label convention of ``seg`` (``auto`` to detect).
        labels: label convention written.

    Raises:
        BrainSegError: unreadable files, a segmentation on another grid, a bad spec, no spec at all.
    """
    from brainseg.io import load_case

    click_specs, box_specs = split_specs(clicks), split_specs(boxes)
    if not click_specs and not box_specs:
        raise EditError(f"give at least one click ({CLICK_FORMAT}) or box ({BOX_FORMAT})")
    case = load_case(case_source, **sequences, truth=seg, labels=seg_labels)  # type: ignore[arg-type]
    if case.truth is None:
        raise EditError(f"{Path(seg).name}: could not be read as a segmentation")
    if case.sources["truth"].resampled:  # a segmentation of other files: refining it would mix two grids
        raise EditError(
            f"{Path(seg).name}: its grid ({case.sources['truth'].grid}) is not the sequences' grid "
            f"({'x'.join(map(str, case.frame.input_shape))}); refine the segmentation of these files"
        )
    parsed = [parse_click(spec, case) for spec in click_specs] + [parse_box(spec, case) for spec in box_specs]
    history, unchanged = refine_case(
        case, case.truth, [p for p in parsed if isinstance(p, Click)], [p for p in parsed if isinstance(p, BoxSpec)]
    )
    idle = tuple([*click_specs, *box_specs][i] for i in unchanged)
    segmentation, path, report = write_refined(
        case, history, out_dir, start_file=str(seg), labels=labels, unchanged=idle
    )
    return Refined(segmentation, path, report, history, idle)
