"""Manual correction tools: brush, eraser, remove a component, fill a hole.

Every tool takes the (X, Y, Z) uint8 internal label map (0, 1 NCR, 2 ED, 3 ET; canonical RAS, as
``Case.images``), a voxel (x, y, z) of that map and the voxel spacing in mm, and returns an
:class:`~brainseg.editing.history.Edit` (the label map itself is never modified). A 2D tool works in the
slice of one view: ``axis`` is the slice axis (0 sagittal, 1 coronal, 2 axial); ``axis=None`` works in 3D.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from brainseg.editing.history import Edit, make_edit
from brainseg.errors import BrainSegError
from brainseg.labels import LABEL_NAMES, REGIONS, SUBREGIONS, region_mask

Voxel = tuple[int, int, int]
"""Canonical (x, y, z) voxel index."""

MAX_BRUSH_MM = 50.0
"""Largest brush radius (a 5 cm sphere already covers a large glioblastoma)."""
AXIS_NAMES = {0: "sagittal", 1: "coronal", 2: "axial"}


class EditError(BrainSegError):
    """An edit that cannot be made as asked (a voxel outside the map, an unknown label, nothing there)."""


def check_voxel(voxel: Sequence[int], shape: tuple[int, int, int], what: str = "voxel") -> Voxel:
    """``voxel`` as three ints inside ``shape``, else a one-line :class:`EditError`."""
    if len(voxel) != 3:
        raise EditError(f"{what} {tuple(voxel)} needs three indices (x, y, z)")
    found = tuple(int(v) for v in voxel)
    if any(not 0 <= v < n for v, n in zip(found, shape, strict=True)):
        raise EditError(
            f"{what} {found} is outside the volume (0..{shape[0] - 1}, 0..{shape[1] - 1}, 0..{shape[2] - 1})"
        )
    return found  # type: ignore[return-value]


def check_label(name: str) -> int:
    """The internal value of sub-region ``name`` (NCR, ED or ET), else a one-line :class:`EditError`."""
    if name not in SUBREGIONS:
        raise EditError(f"label {name!r} is not one of {', '.join(SUBREGIONS)}")
    return SUBREGIONS[name]


def check_region(name: str) -> str:
    """``name`` if it is a region (WT, TC, ET, NCR, ED), else a one-line :class:`EditError`."""
    if name not in REGIONS:
        raise EditError(f"region {name!r} is not one of {', '.join(REGIONS)}")
    return name


def ball(
    shape: tuple[int, int, int], voxel: Voxel, radius_mm: float, spacing: Sequence[float], axis: int | None = None
) -> tuple[tuple[slice, ...], np.ndarray]:
    """The voxels within ``radius_mm`` of ``voxel`` (a sphere; a disk in the slice ``axis`` when given).

    Returns:
        (crop, mask): the crop of the volume (slices) and the bool mask of the ball in it. The centre voxel is
        always included, so a radius under one voxel paints one voxel.
    """
    crop, grids = [], []
    for dim, (centre, n, step) in enumerate(zip(voxel, shape, spacing, strict=True)):
        reach = 0 if dim == axis else int(np.floor(radius_mm / float(step)))
        low, high = max(centre - reach, 0), min(centre + reach + 1, n)
        crop.append(slice(low, high))
        grids.append((np.arange(low, high) - centre) * float(step))
    dx, dy, dz = np.meshgrid(*grids, indexing="ij", sparse=True)
    return tuple(crop), (dx**2 + dy**2 + dz**2) <= radius_mm**2 + 1e-6


def check_radius(radius_mm: float) -> float:
    """``radius_mm`` as a float if a brush can have it (0 .. :data:`MAX_BRUSH_MM`), else an :class:`EditError`."""
    radius = float(radius_mm)
    if not 0 <= radius <= MAX_BRUSH_MM:
        raise EditError(f"brush radius {radius:g} mm is outside 0..{MAX_BRUSH_MM:g} mm")
    return radius


def _detail(voxel: Voxel, axis: int | None, **extra: object) -> dict[str, object]:
    return {"voxel": list(voxel), "plane": AXIS_NAMES[axis] if axis is not None else "3D", **extra}


def brush(
    labels: np.ndarray,
    voxel: Sequence[int],
    label: str,
    radius_mm: float,
    spacing: Sequence[float],
    axis: int | None = None,
) -> Edit:
    """Paint sub-region ``label`` (NCR, ED or ET) in a disk (``axis`` given) or sphere of ``radius_mm``."""
    started = time.perf_counter()
    value = check_label(label)
    centre = check_voxel(voxel, labels.shape)
    crop, mask = ball(labels.shape, centre, check_radius(radius_mm), spacing, axis)
    detail = _detail(centre, axis, radius_mm=float(radius_mm))
    return make_edit(labels, mask, value, "brush", label, detail, offset=crop, seconds=time.perf_counter() - started)


def erase(
    labels: np.ndarray,
    voxel: Sequence[int],
    radius_mm: float,
    spacing: Sequence[float],
    axis: int | None = None,
    label: str | None = None,
) -> Edit:
    """Set the ball's voxels of ``label`` (every label when None) to background."""
    started = time.perf_counter()
    centre = check_voxel(voxel, labels.shape)
    crop, mask = ball(labels.shape, centre, check_radius(radius_mm), spacing, axis)
    local = labels[crop]
    mask = mask & (local == check_label(label) if label else local > 0)
    detail = _detail(centre, axis, radius_mm=float(radius_mm))
    seconds = time.perf_counter() - started
    return make_edit(labels, mask, 0, "eraser", label or "WT", detail, offset=crop, seconds=seconds)


def surrounding_label(labels: np.ndarray, part: np.ndarray, region: str) -> int:
    """The label most common just outside ``part`` (a bool mask) among labels not in ``region``; 0 if none.

    What a removed piece of a region becomes: an enhancing blob wrongly called inside edema becomes edema,
    one inside the necrosis becomes necrosis, the whole tumor becomes background.
    """
    if region == "WT":
        return 0
    shell = ndimage.binary_dilation(part, iterations=1) & ~part
    outside = labels[shell]
    outside = outside[~np.isin(outside, REGIONS[region])]
    if outside.size == 0:
        return 0
    return int(np.bincount(outside, minlength=4).argmax())


def _bounding_crop(mask: np.ndarray, margin: int = 1) -> tuple[slice, ...]:
    """The slices of ``mask``'s bounding box grown by ``margin`` voxels (clamped)."""
    found = np.argwhere(mask)
    low = np.maximum(found.min(axis=0) - margin, 0)
    high = np.minimum(found.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(low, high, strict=True))


def remove_component(labels: np.ndarray, voxel: Sequence[int], region: str = "WT") -> Edit:
    """Remove the 3D connected component (26-neighbourhood) of ``region`` that contains ``voxel``.

    Its voxels take :func:`surrounding_label` (background for WT).

    Raises:
        EditError: ``voxel`` is not in ``region``.
    """
    started = time.perf_counter()
    centre = check_voxel(voxel, labels.shape)
    mask = region_mask(labels, check_region(region))
    if not mask[centre]:
        raise EditError(f"there is no {region} at voxel {centre} to remove")
    components, _ = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    part = components == components[centre]
    crop = _bounding_crop(part)
    local = part[crop]
    value = surrounding_label(labels[crop], local, region)
    detail = {**_detail(centre, None), "became": LABEL_NAMES[value]}
    seconds = time.perf_counter() - started
    return make_edit(labels, local, value, "remove component", region, detail, offset=crop, seconds=seconds)


def fill_hole(labels: np.ndarray, voxel: Sequence[int], label: str, axis: int | None = None) -> Edit:
    """Fill the hole of sub-region ``label`` that contains ``voxel``: the connected voxels not of ``label``
    that ``label`` encloses, in the slice ``axis`` (a 2D hole) or in 3D (``axis`` None).

    Raises:
        EditError: ``voxel`` is of ``label`` already, or ``label`` does not enclose it.
    """
    started = time.perf_counter()
    value = check_label(label)
    centre = check_voxel(voxel, labels.shape)
    if labels[centre] == value:
        raise EditError(f"voxel {centre} is {label} already: click inside the hole to fill")
    crop = [slice(0, n) for n in labels.shape]
    if axis is not None:
        crop[axis] = slice(centre[axis], centre[axis] + 1)
    inside = labels[tuple(crop)] == value
    if axis is not None:
        filled = ndimage.binary_fill_holes(inside.squeeze(axis)).reshape(inside.shape)
    else:
        filled = ndimage.binary_fill_holes(inside)
    holes = filled & ~inside
    local = tuple(c - s.start for c, s in zip(centre, crop, strict=True))
    if not holes[local]:
        where = f"on this {AXIS_NAMES[axis]} slice" if axis is not None else "in 3D"
        raise EditError(f"voxel {centre} is not in a hole enclosed by {label} {where}")
    connectivity = np.ones((3, 3, 3), bool) if axis is None else None
    components, _ = ndimage.label(holes, structure=connectivity)
    hole = components == components[local]
    detail = _detail(centre, axis)
    seconds = time.perf_counter() - started
    return make_edit(labels, hole, value, "fill hole", label, detail, offset=tuple(crop), seconds=seconds)
