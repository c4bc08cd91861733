"""What ``brainseg inspect`` and the viewer show about a loaded case."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainseg.io.case import Case
from brainseg.io.naming import SEQUENCES, TRUTH
from brainseg.labels import REGIONS, region_mask
from brainseg.metrics.volume import volume_ml


def region_volumes_ml(internal: np.ndarray, spacing_mm: tuple[float, float, float]) -> dict[str, float]:
    """Volume in mL of every region (WT, TC, ET, NCR, ED) of an internal label map."""
    return {region: volume_ml(region_mask(internal, region), spacing_mm) for region in REGIONS}


def case_summary(case: Case) -> dict[str, Any]:
    """JSON-able summary: files, naming scheme, grid, orientation, intensity ranges, truth, warnings.

    A sequence the case lacks (see :attr:`Case.missing`) is ``None`` under ``sequences`` and listed in ``missing``.
    """
    sequences: dict[str, dict[str, Any] | None] = {}
    for index, sequence in enumerate(SEQUENCES):
        if sequence not in case.sources:
            sequences[sequence] = None  # not given: its channel is zeros and the models treat it as absent
            continue
        source = case.sources[sequence]
        image = case.images[index]
        brain = image[image != 0]
        sequences[sequence] = {
            "file": source.file,
            "grid": source.grid,
            "dtype": source.dtype,
            "range": [round(v, 3) for v in source.value_range],
            "p1_p99_nonzero": [round(float(v), 3) for v in np.percentile(brain, [1, 99])] if brain.size else None,
            "resampled": source.resampled,
        }
    summary: dict[str, Any] = {
        "case": case.name,
        "naming_scheme": case.scheme,
        "input_grid": {
            "shape": list(case.frame.input_shape),
            "spacing_mm": [round(s, 4) for s in case.frame.spacing],
            "orientation": case.frame.input_orientation,
        },
        "processing_frame": {"shape": list(case.shape), "orientation": "RAS"},
        "sequences": sequences,
        "missing": list(case.missing),
        "truth": None,
        "warnings": list(case.warnings),
    }
    if case.truth is not None:
        summary["truth"] = {
            "file": case.sources[TRUTH].file,
            "convention": case.truth_convention.name if case.truth_convention else None,
            "convention_reason": case.truth_convention.reason if case.truth_convention else None,
            "volumes_ml": {r: round(v, 3) for r, v in region_volumes_ml(case.truth, case.spacing).items()},
        }
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """Human-readable multi-line text of :func:`case_summary`."""
    grid = summary["input_grid"]
    lines = [
        f"case: {summary['case']}",
        f"naming: {summary['naming_scheme']}",
        f"grid: {'x'.join(map(str, grid['shape']))} voxels, spacing "
        f"{' x '.join(f'{s:g}' for s in grid['spacing_mm'])} mm, orientation {grid['orientation']} "
        "(processed as RAS, results written back on this grid)",
        "sequences:",
    ]
    for sequence, info in summary["sequences"].items():
        if info is None:
            lines.append(f"  {sequence:<6}missing (not used; see the regions predicted under warnings)")
            continue
        low, high = info["range"]
        resampled = "  [resampled]" if info["resampled"] else ""
        lines.append(f"  {sequence:<6}{info['file']}  {info['dtype']}  range {low:g} .. {high:g}{resampled}")
    truth = summary["truth"]
    if truth:
        volumes = ", ".join(f"{r} {v:.1f} mL" for r, v in truth["volumes_ml"].items())
        lines.append(f"truth: {truth['file']}  labels {truth['convention']} ({truth['convention_reason']})")
        lines.append(f"  volumes: {volumes}")
    else:
        lines.append("truth: none")
    lines.append("warnings:" + ("" if summary["warnings"] else " none"))
    lines += [f"  - {w}" for w in summary["warnings"]]
    return "\n".join(lines)
