"""What a prediction writes: the segmentation and uncertainty NIfTI files on the input grid, and ``report.json``.

The report is the provenance record of one prediction: case and grid, model and checkpoint (source and
SHA-256), the prompt and how it was read, per-region volumes, every preprocessing and post-processing step,
warnings and timings.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

from brainseg import __version__
from brainseg.errors import LabelConventionError
from brainseg.hub import file_sha256
from brainseg.io import SEQUENCES, Case, write_segmentation
from brainseg.io.availability import missing_region_reasons, supported_regions
from brainseg.io.segmentation_writer import input_grid_image
from brainseg.labels import OUTPUT_CONVENTIONS, REGION_NAMES, get_convention, region_mask

if TYPE_CHECKING:
    from brainseg.inference.result import Segmentation

SEGMENTATION_FILE = "segmentation.nii.gz"
UNCERTAINTY_FILE = "uncertainty.nii.gz"
REPORT_FILE = "report.json"
DISCLAIMER = "Research and teaching only. Not for clinical use."


def check_output_convention(labels: str) -> str:
    """``labels`` if segmentations can be written in it (``brats2023`` or ``brats2021``), else a clear error."""
    if labels not in OUTPUT_CONVENTIONS:
        raise LabelConventionError(f"labels can be written as {' or '.join(OUTPUT_CONVENTIONS)}, not {labels!r}")
    return labels


def _round(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def build_report(
    case: Case,
    result: Segmentation,
    model_info: dict,
    *,
    labels: str = "brats2023",
    files: dict[str, Path] | None = None,
    training: dict | None = None,
) -> dict:
    """The JSON-able provenance record of one prediction.

    Args:
        case: the case that was segmented (its grid and files are reported).
        result: the segmentation.
        model_info: :attr:`Segmenter.info` (model, size, source, sha256, description, paper, device).
        labels: output label convention of the written file.
        files: name -> written path (their SHA-256 is recorded).
        training: the checkpoint's training metadata (the ``brainseg`` block of its config.json).

    Returns:
        A dict; ``report["regions"][R]["volume_ml"]`` for R in WT, TC, ET, NCR, ED is the volume of the full
        prediction (every region, target or not), ``target`` says whether the prompt asked for it and
        ``predicted`` whether the case's sequences can show it (``report["sequences"]`` says which were used,
        which regions that allows, and why the others are not predicted).
    """
    convention = get_convention(check_output_convention(labels))
    volumes = result.volumes_ml(case.spacing)
    interpretation = result.interpretation
    regions = {
        region: {
            "name": REGION_NAMES[region],
            "volume_ml": _round(volume),
            "voxels": int(np.count_nonzero(region_mask(result.labels, region))),
            "target": region in result.target_regions,
            "predicted": region in supported_regions(result.sequences_used, (region,)),
        }
        for region, volume in volumes.items()
    }
    report = {
        "brainseg_version": __version__,
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "disclaimer": DISCLAIMER,
        "case": {
            "name": case.name,
            "files": {role: info.file for role, info in case.sources.items()},
            "input_grid": {
                "shape": list(case.frame.input_shape),
                "spacing_mm": [_round(s, 4) for s in case.spacing],
                "orientation": case.frame.input_orientation,
            },
        },
        "sequences": {
            "used": list(result.sequences_used),
            "missing": [s for s in SEQUENCES if s not in result.sequences_used],
            "regions_predicted": list(result.regions_predicted),
            "regions_not_predicted": missing_region_reasons(result.sequences_used),
        },
        "model": {**model_info, "training": training or {}},
        "prompt": interpretation.prompt or None,
        "interpretation": interpretation.as_dict(),
        "target_regions": list(result.target_regions),
        "labels": {
            "convention": convention.name,
            "values": {str(value): meaning for value, meaning in convention.meanings.items()},
            "written_regions": list(result.target_regions),
        },
        "regions": regions,
        "uncertainty": _uncertainty_summary(result),
        "preprocessing": list(result.preprocessing),
        "postprocessing": list(result.postprocessing),
        "warnings": [*case.warnings, *result.warnings],
        "timings_s": {step: _round(seconds) for step, seconds in result.timings.items()},
        # A cached result ran no network now: say so, with what computing it took when it ran.
        "cached": result.from_cache,
        "computed_in_s": {step: _round(seconds) for step, seconds in result.computed_seconds.items()},
        "files": {name: {"file": path.name, "sha256": file_sha256(path)} for name, path in (files or {}).items()},
    }
    return report


def _uncertainty_summary(result: Segmentation) -> dict | None:
    if result.uncertainty is None:
        return None
    from brainseg.inference.postprocess import UNCERTAINTY_METHOD

    tumor = result.labels > 0
    return {
        "method": UNCERTAINTY_METHOD,
        "mean_in_predicted_tumor": _round(result.uncertainty[tumor].mean()) if tumor.any() else None,
        "max": _round(result.uncertainty.max()),
    }


def write_uncertainty(uncertainty: np.ndarray, case: Case, path: Path) -> Path:
    """Write a (X, Y, Z) canonical float32 map onto the case's input grid and affine as NIfTI."""
    data = case.frame.to_input(np.asarray(uncertainty, dtype=np.float32))
    nib.save(input_grid_image(data, case.frame, case.reference_header, np.float32), path)
    return path


def write_outputs(
    case: Case,
    result: Segmentation,
    model_info: dict,
    out_dir: str | Path,
    *,
    labels: str = "brats2023",
    training: dict | None = None,
) -> tuple[Path, Path]:
    """Write ``segmentation.nii.gz`` (the prompt's regions, input grid and affine), ``uncertainty.nii.gz``
    when the result has one, and ``report.json`` into ``out_dir``; returns (segmentation, report) paths."""
    from time import perf_counter

    from brainseg.inference.device import InferenceError

    check_output_convention(labels)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise InferenceError(f"{out}: exists and is not a folder; --out needs a folder")
    out.mkdir(parents=True, exist_ok=True)
    started = perf_counter()
    files = {
        "segmentation": write_segmentation(
            result.target_labels(), case.frame, out / SEGMENTATION_FILE, case.reference_header, labels
        )
    }
    if result.uncertainty is not None:
        files["uncertainty"] = write_uncertainty(result.uncertainty, case, out / UNCERTAINTY_FILE)
    report = build_report(case, result, model_info, labels=labels, files=files, training=training)
    report["timings_s"]["write"] = _round(perf_counter() - started)
    report["postprocessing"].append(
        f"written: {SEGMENTATION_FILE} with the regions {', '.join(result.target_regions)} only, mapped back onto "
        f"the input grid ({'x'.join(map(str, case.frame.input_shape))}, {case.frame.input_orientation}) with the "
        f"{case.reference_sequence} file's affine, labels {labels}"
        + ("" if "TC" in result.regions_predicted else " (without T1ce the whole tumor is written as label 2: WT only)")
    )
    path = out / REPORT_FILE
    path.write_text(json.dumps(report, indent=2) + "\n")
    return files["segmentation"], path


AGREEMENT_FILE = "agreement.nii.gz"


def write_agreement(agreement: np.ndarray, case: Case, path: Path) -> Path:
    """Write (3, X, Y, Z) canonical member counts (WT, TC, ET) as a 4D uint8 NIfTI on the case's input grid,
    volume k of the fourth axis being region k."""
    data = case.frame.to_input(np.moveaxis(np.asarray(agreement, dtype=np.uint8), 0, -1))  # (X, Y, Z, 3)
    nib.save(input_grid_image(data, case.frame, case.reference_header, np.uint8), path)
    return path
