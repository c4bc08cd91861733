"""Bidimensional (RANO) and volumetric measurement of enhancing lesions, and the response between two times.

A *lesion* is a 26-connected component of the tumor core TC = ET + NCR: the contrast-enhancing lesion with
its necrotic centre, as radiologists measure it. On each axial slice (constant Z of the canonical RAS
grid) that holds the lesion, its cross-section is its largest 8-connected piece there, the *longest
diameter* the largest distance between two of its voxel centres (the Feret diameter, in mm), and the
*perpendicular diameter* its caliper width at right angles to it on that slice (the extent of its voxel
centres projected on the perpendicular). The slice with
the largest longest diameter gives the lesion's two diameters and their product (mm^2). A lesion is
*measurable* when both diameters are at least :data:`MEASURABLE_MM`.

Targets: the measurable lesions with the largest products, at most :attr:`Rule.max_targets` of them; the
*sum of products* (SPD) adds their products. Response from a baseline to a follow-up
(:func:`response`) uses the bidimensional thresholds on the SPD and the volumetric ones on the TC volume.
Only the measurements are assessed: new non-measurable disease, the non-enhancing (FLAIR) component,
steroid dose and clinical status, which the criteria also weigh, are not. Research use only.

All arrays are canonical RAS (X right, Y anterior, Z superior), spacing in mm along X, Y, Z.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from brainseg.labels import region_mask
from brainseg.metrics.volume import volume_ml, voxel_volume_ml

MEASURABLE_MM = 10.0
"""Both diameters at least this long (mm) make a lesion measurable (RANO and RANO 2.0)."""

_CONNECTIVITY = np.ones((3, 3, 3), dtype=bool)


@dataclass(frozen=True)
class Rule:
    """A response rule: its name, source, how many targets, and the change thresholds.

    Attributes:
        key: ``rano`` or ``rano2``.
        name, source: what reports say.
        max_targets: at most this many measurable lesions are targets.
        partial_bidimensional, progression_bidimensional: SPD change (fraction) at or beyond which a response
            is partial (a decrease) or progression (an increase).
        partial_volumetric, progression_volumetric: the same for the TC volume.
    """

    key: str
    name: str
    source: str
    max_targets: int
    partial_bidimensional: float = -0.50
    progression_bidimensional: float = 0.25
    partial_volumetric: float = -0.65
    progression_volumetric: float = 0.40


RULES = {
    "rano2": Rule("rano2", "RANO 2.0", "Wen et al., J Clin Oncol 2023", max_targets=3),
    "rano": Rule("rano", "RANO", "Wen et al., J Clin Oncol 2010", max_targets=5),
}
"""The rules :func:`measure` and :func:`response` apply; RANO 2.0 by default. Bidimensional: partial response
at a 50 % decrease of the SPD, progression at a 25 % increase; volumetric (RANO 2.0's volumetric option): 65 %
and 40 %."""
DEFAULT_RULE = "rano2"


@dataclass(frozen=True)
class Lesion:
    """One lesion's bidimensional measurement.

    Attributes:
        slice: Z index (canonical RAS) of the axial slice measured.
        longest_mm, perpendicular_mm: the two diameters, mm between voxel centres.
        product_mm2: their product.
        measurable: both at least :data:`MEASURABLE_MM`.
        target: one of the rule's target lesions.
        volume_ml: the lesion's TC volume.
        longest_ends: ((x, y), (x, y)) voxel coordinates of the longest diameter's ends on that slice.
        perpendicular_ends: ((x, y), (x, y)) voxel coordinates of a caliper line at right angles to it,
            through the lesion's centre on that slice, as long as the perpendicular diameter.
    """

    slice: int
    longest_mm: float
    perpendicular_mm: float
    product_mm2: float
    measurable: bool
    target: bool
    volume_ml: float
    longest_ends: tuple[tuple[float, float], tuple[float, float]]
    perpendicular_ends: tuple[tuple[float, float], tuple[float, float]]


@dataclass(frozen=True)
class Measurement:
    """Every lesion of one segmentation (largest product first), the SPD of its targets and its volumes."""

    lesions: tuple[Lesion, ...]
    rule: Rule
    sum_of_products_mm2: float
    volumes_ml: dict[str, float]

    @property
    def targets(self) -> tuple[Lesion, ...]:
        return tuple(lesion for lesion in self.lesions if lesion.target)

    def as_dict(self) -> dict[str, Any]:
        """JSON-able: ``lesions`` (each with ``longest_mm``, ``perpendicular_mm``, ``product_mm2``, ``slice``,
        ``measurable``, ...), ``sum_of_products_mm2``, ``targets``, ``rule`` and ``volumes_ml``."""
        return {
            "lesions": [asdict(lesion) for lesion in self.lesions],
            "sum_of_products_mm2": self.sum_of_products_mm2,
            "targets": len(self.targets),
            "measurable_lesions": sum(lesion.measurable for lesion in self.lesions),
            "rule": {
                "name": self.rule.name,
                "source": self.rule.source,
                "targets": f"up to {self.rule.max_targets} measurable lesions (both diameters >= "
                f"{MEASURABLE_MM:g} mm), largest product first",
                "lesion": "26-connected component of the tumor core (ET + NCR)",
                "diameters": "on axial slices (canonical RAS Z), of the lesion's largest 8-connected piece there: "
                "the longest distance between voxel centres, and the caliper width at right angles to it on the "
                "slice where it is longest",
            },
            "volumes_ml": self.volumes_ml,
        }


def slice_diameters(
    points_mm: np.ndarray,
) -> tuple[float, float, tuple[int, int], np.ndarray, tuple[float, float]]:
    """The longest diameter of a set of 2D points and the caliper width at right angles to it.

    Args:
        points_mm: (N, 2) voxel centres of one lesion on one slice, mm.

    Returns:
        (longest mm, perpendicular mm, indices of the longest pair's two points, unit perpendicular
        direction (2,), (min, max) of the points projected on it in mm). One point: 0 and 0.
    """
    if len(points_mm) < 2:
        return 0.0, 0.0, (0, 0), np.array([0.0, 1.0]), (0.0, 0.0)
    try:
        candidates = ConvexHull(points_mm).vertices  # the farthest pair lies on the hull
    except QhullError:  # collinear points (a one-voxel-wide line): every point is a candidate
        candidates = np.arange(len(points_mm))
    hull = points_mm[candidates]
    distances = np.linalg.norm(hull[:, None, :] - hull[None, :, :], axis=-1)
    first, second = np.unravel_index(int(np.argmax(distances)), distances.shape)
    longest = float(distances[first, second])
    direction = (hull[second] - hull[first]) / longest
    perpendicular = np.array([-direction[1], direction[0]])
    projected = points_mm @ perpendicular
    low, high = float(projected.min()), float(projected.max())
    return longest, high - low, (int(candidates[first]), int(candidates[second])), perpendicular, (low, high)


def _largest_piece(section: np.ndarray) -> np.ndarray:
    """(X, Y) bool: the largest 8-connected piece of one slice of a lesion (the slice may cut a 3D-connected
    lesion into pieces; a stray voxel joined to it only through other slices must not stretch its diameter)."""
    pieces, count = ndimage.label(section, structure=np.ones((3, 3), dtype=bool))
    if count < 2:
        return section
    return pieces == 1 + int(np.argmax(np.bincount(pieces.ravel())[1:]))


def measure_lesion(
    mask: np.ndarray, spacing: tuple[float, float, float], offset: tuple[int, int, int] = (0, 0, 0)
) -> Lesion:
    """One lesion ((X, Y, Z) bool, cut from a larger grid at voxel ``offset``) measured on its axial slices.

    Its slice and end points are given on the larger grid; it is not yet a target (see :func:`measure`).
    """
    sx, sy, _sz = spacing
    best = None
    for index in np.flatnonzero(mask.any(axis=(0, 1))):
        xs, ys = np.nonzero(_largest_piece(mask[:, :, index]))
        points = np.column_stack([xs * sx, ys * sy]).astype(np.float64)
        diameters = slice_diameters(points)
        if best is None or diameters[0] > best[0][0]:
            best = (diameters, int(index), points)
    if best is None:
        raise ValueError("measure_lesion: the mask is empty")
    (longest, perpendicular, pair, direction, (low, high)), z, points = best
    scale, shift = np.array([sx, sy]), np.array(offset[:2], dtype=np.float64)

    def voxel(point_mm: np.ndarray) -> tuple[float, float]:
        x, y = point_mm / scale + shift
        return float(x), float(y)

    # The caliper line: at right angles to the longest diameter, through the slice's centroid, spanning the width.
    centre = points.mean(axis=0)
    foot = centre - direction * float(centre @ direction)
    return Lesion(
        slice=z + int(offset[2]),
        longest_mm=longest,
        perpendicular_mm=perpendicular,
        product_mm2=longest * perpendicular,
        measurable=longest >= MEASURABLE_MM and perpendicular >= MEASURABLE_MM,
        target=False,
        volume_ml=float(mask.sum()) * voxel_volume_ml(spacing),
        longest_ends=(voxel(points[pair[0]]), voxel(points[pair[1]])),
        perpendicular_ends=(voxel(foot + direction * low), voxel(foot + direction * high)),
    )


def measure(labels: np.ndarray, spacing: tuple[float, float, float], rule: str = DEFAULT_RULE) -> Measurement:
    """Every lesion of ``labels`` ((X, Y, Z) internal labels, canonical RAS), largest product first.

    Raises:
        ValueError: an unknown rule.
    """
    if rule not in RULES:
        raise ValueError(f"unknown rule {rule!r}; expected one of: {', '.join(RULES)}")
    chosen = RULES[rule]
    components, _count = ndimage.label(region_mask(labels, "TC"), structure=_CONNECTIVITY)
    lesions = [
        measure_lesion(components[box] == index, spacing, (box[0].start, box[1].start, box[2].start))
        for index, box in enumerate(ndimage.find_objects(components), start=1)
        if box is not None
    ]
    lesions.sort(key=lambda lesion: (-lesion.product_mm2, -lesion.volume_ml))
    targets = [i for i, lesion in enumerate(lesions) if lesion.measurable][: chosen.max_targets]
    lesions = [replace(lesion, target=i in targets) for i, lesion in enumerate(lesions)]
    return Measurement(
        lesions=tuple(lesions),
        rule=chosen,
        sum_of_products_mm2=float(sum(lesions[i].product_mm2 for i in targets)),
        volumes_ml={region: volume_ml(region_mask(labels, region), spacing) for region in ("ET", "TC", "WT")},
    )


def percent_change(baseline: float, follow_up: float) -> float | None:
    """(follow_up - baseline) / baseline in percent; None when the baseline is 0."""
    return None if baseline == 0 else 100.0 * (follow_up - baseline) / baseline


def _category(baseline: float, follow_up: float, partial: float, progression: float, gone: bool) -> str:
    if gone:
        return "complete response" if baseline > 0 else "no measurable disease"
    if baseline == 0:
        return "progression" if follow_up > 0 else "no measurable disease"
    change = (follow_up - baseline) / baseline
    if change <= partial:
        return "partial response"
    if change >= progression:
        return "progression"
    return "stable disease"


def response(baseline: Measurement, follow_up: Measurement) -> dict[str, Any]:
    """Percent changes and response categories from ``baseline`` to ``follow_up`` (the follow-up's rule).

    Bidimensional: on the sum of products of the targets; volumetric: on the TC volume. Complete response:
    no enhancing tumor left at follow-up (ET 0 mL) where there was some. The baseline here is the first
    time point given, not the nadir the criteria use for progression after a response.
    """
    rule = follow_up.rule
    no_enhancing = follow_up.volumes_ml["ET"] == 0.0
    spd = (baseline.sum_of_products_mm2, follow_up.sum_of_products_mm2)
    volume = (baseline.volumes_ml["TC"], follow_up.volumes_ml["TC"])
    return {
        "rule": f"{rule.name} ({rule.source})",
        "sum_of_products_mm2": {"baseline": spd[0], "follow_up": spd[1], "change_percent": percent_change(*spd)},
        "volumes_ml": {
            region: {
                "baseline": baseline.volumes_ml[region],
                "follow_up": follow_up.volumes_ml[region],
                "change_percent": percent_change(baseline.volumes_ml[region], follow_up.volumes_ml[region]),
            }
            for region in ("ET", "TC", "WT")
        },
        "bidimensional": {
            "category": _category(
                *spd, rule.partial_bidimensional, rule.progression_bidimensional, no_enhancing and spd[0] > 0
            ),
            "thresholds": f"partial response: sum of products down >= {-rule.partial_bidimensional:.0%}; "
            f"progression: up >= {rule.progression_bidimensional:.0%}; complete response: no enhancing tumor left",
        },
        "volumetric": {
            "category": _category(
                *volume, rule.partial_volumetric, rule.progression_volumetric, no_enhancing and volume[0] > 0
            ),
            "thresholds": f"partial response: TC volume down >= {-rule.partial_volumetric:.0%}; progression: up "
            f">= {rule.progression_volumetric:.0%}; complete response: no enhancing tumor left",
        },
        "not_assessed": "new non-measurable lesions, the non-enhancing (FLAIR) component, steroid dose and clinical "
        "status, which the criteria also weigh; the baseline is the first time point, not the nadir",
    }


TABLE_ROWS = 8
"""Lesion rows :func:`format_measurement` lists; the rest (never targets) are summed up in one line."""


def format_measurement(measurement: Measurement, rows: int = TABLE_ROWS) -> str:
    """Markdown: one row per lesion (largest product first; after ``rows`` of them the others are counted
    in one line, with their total volume), then the SPD and volumes."""
    lines = [
        "| # | slice | longest mm | perpendicular mm | product mm² | measurable | target | TC mL |",
        "|" + "---|" * 8,
    ]
    shown = measurement.lesions[: max(rows, len(measurement.targets))]
    for number, lesion in enumerate(shown, start=1):
        lines.append(
            f"| {number} | {lesion.slice} | {lesion.longest_mm:.1f} | {lesion.perpendicular_mm:.1f} | "
            f"{lesion.product_mm2:.0f} | {'yes' if lesion.measurable else 'no'} | {'yes' if lesion.target else ''} | "
            f"{lesion.volume_ml:.2f} |"
        )
    rest = measurement.lesions[len(shown) :]
    if rest:
        measurable = sum(lesion.measurable for lesion in rest)
        lines += [
            "",
            f"{len(rest)} more lesion(s), {measurable} of them measurable, {sum(le.volume_ml for le in rest):.2f} mL "
            "in all (every lesion is in the JSON)",
        ]
    rule = measurement.rule
    volumes = ", ".join(f"{region} {value:.1f} mL" for region, value in measurement.volumes_ml.items())
    lines += [
        "",
        f"sum of products of {len(measurement.targets)} target lesion(s): {measurement.sum_of_products_mm2:.0f} mm² "
        f"({rule.name}, {rule.source}: up to {rule.max_targets} measurable lesions, both diameters >= "
        f"{MEASURABLE_MM:g} mm)",
        "",
        f"volumes: {volumes}",
    ]
    return "\n".join(lines)


def format_response(result: dict[str, Any]) -> str:
    """Plain text: the changes and both categories, each with its rule."""

    def change(value: float | None) -> str:
        return "n/a (baseline 0)" if value is None else f"{value:+.1f}%"

    spd = result["sum_of_products_mm2"]
    lines = [
        f"response ({result['rule']}), baseline -> follow-up:",
        f"  sum of products: {spd['baseline']:.0f} -> {spd['follow_up']:.0f} mm^2 ({change(spd['change_percent'])})",
    ]
    for region, values in result["volumes_ml"].items():
        lines.append(
            f"  {region} volume: {values['baseline']:.1f} -> {values['follow_up']:.1f} mL "
            f"({change(values['change_percent'])})"
        )
    for kind in ("bidimensional", "volumetric"):
        lines.append(f"  {kind}: {result[kind]['category']} ({result[kind]['thresholds']})")
    lines.append(f"  not assessed: {result['not_assessed']}")
    return "\n".join(lines)
