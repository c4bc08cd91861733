"""Click and box refinement: grow or cut a region in 3D from one voxel the user points at.

The method is an intensity-contrast region growing, seeded by the click, on the four co-registered
sequences; it needs no network, so it refines any segmentation (a model's, a file's) in well under a second
on a CPU:

* Each sequence is put on a common scale: (intensity - brain median) / brain interquartile range.
* A click's own look is the median of those values within :data:`SEED_RADIUS_MM` of it; the look it is told
  apart from is the median of the region it competes with: healthy brain for WT, edema for TC, the rest of
  the tumor for ET (:data:`COMPETING`), or, for a negative click, the rest of the clicked region.
* A voxel looks like the click when, in every sequence where the two looks differ by at least
  :data:`MIN_CONTRAST`, it is at least half-way from the competing look towards the click's, or beyond it
  (one-sided: an edema voxel brighter on FLAIR than the click is still edema).
* A positive click adds the voxels that look like it and connect to it (6-neighbourhood, within
  :data:`GROW_RADIUS_MM`, inside the brain); a negative one removes them from the clicked region (at most
  :data:`MAX_CUT_SHARE` of it). A negative click on a stray piece (:data:`STRAY_SHARE`) removes it whole.
* For WT the click's look is how it departs from healthy brain, in FLAIR first (:func:`abnormal_as`): the
  whole tumor mixes looks (edema, necrosis, enhancement) that no single look covers.
* A positive TC or ET click adds at least the brain between it and the region (:func:`_fallback_ball`).
* The set grows level by level (:data:`LEVELS`, strict to lenient) and stops before it leaks: when it
  more than doubles from one level to the next, or passes :data:`MAX_GROWN_ML`.

Regions and labels: a voxel added to WT becomes edema (ED) unless it is tumor already, one added to TC
becomes NCR, one added to ET becomes ET; a voxel removed from a region takes the label around it
(:func:`brainseg.editing.tools.surrounding_label`). All arrays are canonical RAS (X, Y, Z), as ``Case``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from brainseg.editing.history import Edit, make_edit
from brainseg.editing.tools import EditError, Voxel, ball, check_voxel, surrounding_label
from brainseg.labels import ED, ET, NCR, region_mask

CLICK_REGIONS = ("WT", "TC", "ET")
"""Regions a click or a box refines."""
GROW_RADIUS_MM = 45.0
"""How far from the click a region may grow or be cut: a 9 cm ball, about a large glioblastoma's edema (more
has leaked; a second click reaches further)."""
SEED_RADIUS_MM = 3.0
"""Radius of the neighbourhood whose median is the click's look."""
BRIDGE_RADIUS_MM = 15.0
"""Largest ball a positive click adds when its look tells it from nothing (see :func:`_fallback_ball`)."""
CUT_REFERENCE_MM = 15.0
"""A negative click on a region's main body compares its look with the region farther than this from it."""
STRAY_SHARE = 0.25
"""A piece of a region at most this share of its largest piece is a stray one: a negative click removes it whole."""
MAX_CUT_SHARE = 0.25
"""A negative click on a region's main body removes at most this share of it."""
MIN_CONTRAST = 0.3
"""Smallest difference of looks, in brain interquartile ranges, that a sequence must show to be used."""
COMPETING = {"TC": ((0,), (ED,)), "ET": ((0,), (NCR, ED))}
"""Region -> the labels of each look a positive TC or ET click must be told apart from (0: healthy brain): a
tumor core must look unlike both healthy brain and edema, an enhancing tumor unlike healthy brain and the rest
of the tumor. (A WT click is read by :func:`abnormal_as`.)"""
MAX_GROWN_ML = {"WT": 150.0, "TC": 60.0, "ET": 30.0}
"""Largest volume one click may add (about the largest each region gets in one BraTS case, at most): more has leaked."""
ADDED_LABEL = {"WT": ED, "TC": NCR, "ET": ET}
"""Region -> the label a voxel added to it gets (a tumor voxel keeps its label when added to WT)."""
LEVELS = (0.9, 0.75, 0.6, 0.5)
"""Likeness levels a region grows to, strict to lenient (0.5: half-way between the two looks)."""
LEAK_JUMP = 2.0
"""A set that more than doubles from one level to the next more lenient one has leaked into healthy tissue."""
LEAK_CHECK_VOXELS = 1000
"""Below this many voxels a stricter level's set is too fragmented (noise) to show a leak by its jump."""
MIN_REFERENCE_VOXELS = 50
"""Fewer voxels than this cannot give a reference look (it is not used)."""
_SIX = ndimage.generate_binary_structure(3, 1)


@dataclass(frozen=True)
class Click:
    """A click: ``voxel`` (canonical x, y, z) belongs to ``region`` (``positive``) or does not."""

    voxel: Voxel
    positive: bool
    region: str

    def __post_init__(self) -> None:
        if self.region not in CLICK_REGIONS:
            raise EditError(f"click region {self.region!r} is not one of {', '.join(CLICK_REGIONS)}")


@dataclass(frozen=True)
class IntensityScale:
    """Per-sequence (median, interquartile range) of the brain's intensities, to compare sequences.

    Attributes:
        centre: (4,) float32 brain median of T1, T1ce, T2, FLAIR.
        spread: (4,) float32 brain interquartile range (1 where it is 0).
    """

    centre: np.ndarray
    spread: np.ndarray

    @classmethod
    def of(cls, images: np.ndarray, stride: int = 3) -> IntensityScale:
        """The scale of (4, X, Y, Z) ``images``, from every ``stride``-th voxel along each axis (the brain: where
        any sequence is non-zero)."""
        sample = images[:, ::stride, ::stride, ::stride].reshape(images.shape[0], -1)
        brain = sample[:, (sample != 0).any(axis=0)]
        if brain.shape[1] == 0:
            raise EditError("the case's images are all zero: there is nothing to refine")
        low, centre, high = np.percentile(brain, [25, 50, 75], axis=1)
        spread = np.where(high - low > 0, high - low, 1.0)
        return cls(centre.astype(np.float32), spread.astype(np.float32))

    def features(self, images: np.ndarray, crop: tuple[slice, ...]) -> np.ndarray:
        """(4, ...) float32 scaled intensities of ``images`` in ``crop``."""
        local = images[(slice(None), *crop)].astype(np.float32)
        return (local - self.centre[:, None, None, None]) / self.spread[:, None, None, None]


def _look(features: np.ndarray, where: np.ndarray) -> np.ndarray | None:
    """(4,) median features of the voxels of ``where``; None when there are none."""
    if not where.any():
        return None
    return np.median(features[:, where], axis=1)


def likeness(features: np.ndarray, target: np.ndarray, other: np.ndarray) -> np.ndarray | None:
    """(...) float32: how far each voxel is from ``other``'s look towards ``target``'s (0 there, 1 at the
    target, above 1 beyond it), the least over the sequences where the two looks differ by
    :data:`MIN_CONTRAST`; None when no sequence tells them apart."""
    difference = target - other
    channels = np.flatnonzero(np.abs(difference) >= MIN_CONTRAST)
    if channels.size == 0:
        return None
    scores = [(features[c] - other[c]) / difference[c] for c in channels]
    return np.minimum.reduce(scores) if len(scores) > 1 else scores[0]


def _departures(features: np.ndarray, healthy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(...) float32 each: how much brighter than healthy brain each voxel is on FLAIR, on T2 where FLAIR is not
    dark (bright on T2 and dark on FLAIR is cerebrospinal fluid, not tumor), and on T1ce, in brain interquartile
    ranges; in that order, the order the whole tumor is read in (it is drawn on FLAIR)."""
    t1ce, t2, flair = (features[i] - healthy[i] for i in (1, 2, 3))
    return flair, np.where(flair > -1.0, t2, np.float32(0.0)), t1ce


def abnormality(features: np.ndarray, healthy: np.ndarray) -> np.ndarray:
    """(...) float32: how far each voxel departs from healthy brain the way tumor and edema do: the most of its
    :func:`_departures`."""
    return np.maximum.reduce(_departures(features, healthy)).astype(np.float32)


def abnormal_as(features: np.ndarray, healthy: np.ndarray, seed: tuple[int, int, int]) -> np.ndarray | None:
    """(...) float32: each voxel's departure from healthy brain, as a share of the voxel ``seed``'s, in the first
    of the :func:`_departures` where the seed departs by at least 1 interquartile range; None when in none."""
    for departure in _departures(features, healthy):
        if departure[seed] >= 1.0:
            return (departure / departure[seed]).astype(np.float32)
    return None


def grow_without_leaking(
    score: np.ndarray,
    allowed: np.ndarray,
    seed: tuple[int, int, int],
    always: np.ndarray | None = None,
    max_voxels: float = np.inf,
) -> np.ndarray:
    """The voxels of ``allowed`` connected to ``seed`` whose ``score`` reaches a level: the most lenient of
    :data:`LEVELS` reached before the set leaks (grows past ``max_voxels``, or jumps by more than
    :data:`LEAK_JUMP` from the stricter level's set of at least :data:`LEAK_CHECK_VOXELS`); empty when even
    the strictest level's set is too large.

    Args:
        score: (...) float likeness of each voxel to the click.
        allowed: (...) bool, where the set may grow.
        always: (...) bool voxels that may be crossed whatever their score (the region already there).
        max_voxels: a set larger than this has leaked.
    """
    crossing = np.zeros(allowed.shape, dtype=bool) if always is None else always
    chosen = np.zeros(allowed.shape, dtype=bool)
    for level in LEVELS:
        grown = _connected_to(((score >= level) & allowed) | crossing, seed)
        size, before = np.count_nonzero(grown), np.count_nonzero(chosen)
        if size > max_voxels or (before >= LEAK_CHECK_VOXELS and size > LEAK_JUMP * before):
            break
        chosen = grown
    return chosen


def _connected_to(mask: np.ndarray, seed: tuple[int, ...]) -> np.ndarray:
    """The 6-connected component of ``mask`` that holds ``seed`` (empty when ``seed`` is not in it)."""
    if not mask[seed]:
        return np.zeros_like(mask)
    components, _ = ndimage.label(mask, structure=_SIX)
    return components == components[seed]


def _local(crop: tuple[slice, ...], voxel: Voxel) -> tuple[int, int, int]:
    x, y, z = (v - s.start for v, s in zip(voxel, crop, strict=True))
    return int(x), int(y), int(z)


def _seed_ball(
    shape: tuple[int, ...], seed: tuple[int, int, int], spacing: Sequence[float], radius_mm: float = SEED_RADIUS_MM
) -> np.ndarray:
    """Bool mask of ``shape``: the voxels within ``radius_mm`` of ``seed``."""
    crop, small = ball(shape, seed, radius_mm, spacing)  # type: ignore[arg-type]
    mask = np.zeros(shape, dtype=bool)
    mask[crop] = small
    return mask


@dataclass(frozen=True)
class _Neighbourhood:
    """What a click's refinement reads, all in the crop around the click.

    Attributes:
        features: (4, ...) scaled intensities; brain: (...) bool inside the brain and the growth radius;
        labels: (...) internal labels; in_region: (...) bool, the clicked region; seed: the click in the crop;
        click_look: (4,) the click's look (None outside the brain); region: WT, TC or ET; spacing: mm.
    """

    features: np.ndarray
    brain: np.ndarray
    labels: np.ndarray
    in_region: np.ndarray
    seed: tuple[int, int, int]
    click_look: np.ndarray | None
    region: str
    spacing: Sequence[float]


def refine_click(
    labels: np.ndarray,
    images: np.ndarray,
    spacing: Sequence[float],
    click: Click,
    scale: IntensityScale | None = None,
) -> Edit:
    """The edit one click makes (see the module's description).

    Args:
        labels: (X, Y, Z) uint8 internal labels to refine (not modified).
        images: (4, X, Y, Z) intensities, T1, T1ce, T2, FLAIR (``Case.images``).
        spacing: voxel size in mm.
        click: where, which region, positive or negative.
        scale: :meth:`IntensityScale.of` ``images`` (computed when None; pass it to refine many clicks).
    """
    started = time.perf_counter()
    voxel = check_voxel(click.voxel, labels.shape, "click")
    scale = scale or IntensityScale.of(images)
    crop, sphere = ball(labels.shape, voxel, GROW_RADIUS_MM, spacing)
    features = scale.features(images, crop)
    brain = (images[(slice(None), *crop)] != 0).any(axis=0) & sphere
    local_labels = labels[crop]
    in_region = region_mask(local_labels, click.region)
    seed = _local(crop, voxel)
    click_look = _look(features, _seed_ball(in_region.shape, seed, spacing) & brain)
    around = _Neighbourhood(features, brain, local_labels, in_region, seed, click_look, click.region, spacing)
    where, value = _grow(around) if click.positive else _cut(around)
    sign = "+" if click.positive else "-"
    detail = {"voxel": list(voxel), "sign": sign}
    seconds = time.perf_counter() - started
    return make_edit(labels, where, value, "click", click.region, detail, offset=crop, seconds=seconds)


def _grow(around: _Neighbourhood) -> tuple[np.ndarray, np.ndarray]:
    """(mask of voxels to set, their new labels) of a positive click, in the crop."""
    features, brain, labels, in_region = around.features, around.brain, around.labels, around.in_region
    seed, click_look, region, spacing = around.seed, around.click_look, around.region, around.spacing
    scores: list[np.ndarray] = []
    for competing_labels in ((0,),) if region == "WT" else COMPETING[region]:
        competing = np.isin(labels, competing_labels) & brain & ~in_region
        if np.count_nonzero(competing) < MIN_REFERENCE_VOXELS:
            continue
        other = _look(features, competing)
        if region == "WT":  # the whole tumor has many looks: abnormal the way the click is
            score = abnormal_as(features, other, seed) if other is not None else None
        else:
            score = likeness(features, click_look, other) if click_look is not None and other is not None else None
        if score is None:  # the click looks like what it competes with (a core like the edema): no growing
            scores = []
            break
        scores.append(score)
    # A core or enhancing miss often looks like the edema around it: the click then bridges to the region.
    if region == "WT":
        grown = _seed_ball(labels.shape, seed, spacing)
    else:
        grown = _fallback_ball(in_region, brain, seed, spacing)
    if scores:  # else nothing tells the click from its surroundings: the seed's neighbourhood (or bridge) only
        # The region already there may connect the click to more of what it missed; then holes are closed.
        limit = np.count_nonzero(in_region) + MAX_GROWN_ML[region] * 1000.0 / float(np.prod(spacing))
        score = np.minimum.reduce(scores) if len(scores) > 1 else scores[0]
        grown |= ndimage.binary_fill_holes(grow_without_leaking(score, brain, seed, in_region, limit))
    grown &= ~in_region
    value = np.full(labels.shape, ADDED_LABEL[region], dtype=np.uint8)
    if region == "WT":
        value = np.where(labels > 0, labels, ED).astype(np.uint8)
    return grown, value


def _fallback_ball(
    in_region: np.ndarray, brain: np.ndarray, seed: tuple[int, int, int], spacing: Sequence[float]
) -> np.ndarray:
    """What a positive click adds at least: the brain within the click's distance to the region (it bridges a
    miss between the click and the region), at least :data:`SEED_RADIUS_MM` and at most
    :data:`BRIDGE_RADIUS_MM`."""
    radius = SEED_RADIUS_MM
    if in_region.any():
        gap = ndimage.distance_transform_edt(~in_region, sampling=tuple(float(s) for s in spacing))[seed]
        radius = float(np.clip(gap, SEED_RADIUS_MM, BRIDGE_RADIUS_MM))
    return _seed_ball(in_region.shape, seed, spacing, radius) & brain


def _cut(around: _Neighbourhood) -> tuple[np.ndarray, np.ndarray]:
    """(mask of voxels to remove, their new labels) of a negative click, in the crop."""
    features, labels, in_region = around.features, around.labels, around.in_region
    seed, click_look, region, spacing = around.seed, around.click_look, around.region, around.spacing
    if not in_region[seed]:
        return np.zeros_like(in_region), np.zeros(labels.shape, np.uint8)
    components, count = ndimage.label(in_region, structure=np.ones((3, 3, 3), bool))
    part = components == components[seed]
    sizes = np.bincount(components.ravel())[1:]
    if count > 1 and sizes[components[seed] - 1] <= STRAY_SHARE * sizes.max():
        cut = part  # a stray piece: the whole of it
    else:
        near = _seed_ball(labels.shape, seed, spacing, CUT_REFERENCE_MM)
        rest = _look(features, part & ~near)
        score = None
        if click_look is not None and rest is not None and np.count_nonzero(part & ~near) >= MIN_REFERENCE_VOXELS:
            score = likeness(features, click_look, rest)
        if score is None:
            cut = part & near
        else:
            limit = MAX_CUT_SHARE * np.count_nonzero(part)  # more would be the region itself, not a mistake in it
            cut = grow_without_leaking(score, part, seed, max_voxels=limit) | (
                part & _seed_ball(labels.shape, seed, spacing)
            )
    value = np.full(labels.shape, surrounding_label(labels, cut, region), dtype=np.uint8)
    return cut, value


def refine_box(
    labels: np.ndarray,
    images: np.ndarray,
    spacing: Sequence[float],
    corners: tuple[Sequence[int], Sequence[int]],
    region: str,
    scale: IntensityScale | None = None,
) -> Edit:
    """Segment ``region`` anew inside a box; outside it nothing changes.

    Inside the box the region becomes the largest connected set of voxels that look like the box's core
    (its middle third, or the region already there when it fills at least :data:`MIN_REFERENCE_VOXELS`
    voxels of it) rather than the box's border (one voxel thick).

    Args:
        corners: two opposite corners (x, y, z), inclusive, in any order.
    """
    started = time.perf_counter()
    if region not in CLICK_REGIONS:
        raise EditError(f"box region {region!r} is not one of {', '.join(CLICK_REGIONS)}")
    first, second = (check_voxel(c, labels.shape, "box corner") for c in corners)
    low = np.minimum(first, second)
    high = np.maximum(first, second)
    if np.any(high - low < 2):
        raise EditError(f"box {tuple(low)}..{tuple(high)} is too thin: it needs at least 3 voxels along each axis")
    crop = tuple(slice(int(a), int(b) + 1) for a, b in zip(low, high, strict=True))
    scale = scale or IntensityScale.of(images)
    features = scale.features(images, crop)
    brain = (images[(slice(None), *crop)] != 0).any(axis=0)
    local = labels[crop]
    in_region = region_mask(local, region)
    border = np.ones(local.shape, dtype=bool)
    border[1:-1, 1:-1, 1:-1] = False
    core = np.zeros(local.shape, dtype=bool)
    core[tuple(slice(n // 3, n - n // 3) for n in local.shape)] = True
    inside_look = in_region & ~border if np.count_nonzero(in_region & ~border) >= MIN_REFERENCE_VOXELS else core
    target, other = _look(features, inside_look & brain), _look(features, border & brain)
    score = None
    if region == "WT" and other is not None:  # the whole tumor: whatever is about as abnormal as the box's core
        unlike = abnormality(features, other)
        # The core's least abnormal quarter: edema departs from healthy brain less than enhancing tumor does.
        typical = float(np.percentile(unlike[inside_look & brain], 25)) if (inside_look & brain).any() else 0.0
        score = unlike / typical if typical >= MIN_CONTRAST else None
    elif target is not None and other is not None:
        score = likeness(features, target, other)
    if score is None:
        raise EditError(f"nothing in the box looks different from its border: draw the box around the {region}")
    components, count = ndimage.label((score >= 0.5) & brain & ~border, structure=_SIX)
    wanted = np.zeros(local.shape, dtype=bool)
    if count:
        wanted = components == int(np.argmax(np.bincount(components.ravel())[1:])) + 1
        wanted = ndimage.binary_fill_holes(wanted)
    added = wanted & ~in_region
    removed = in_region & ~wanted
    value = np.where(added, ADDED_LABEL[region], surrounding_label(local, removed, region) if removed.any() else 0)
    if region == "WT":
        value = np.where(added & (local > 0), local, np.where(added, ED, 0))
    detail = {"box": [*map(int, low), *map(int, high)]}
    seconds = time.perf_counter() - started
    return make_edit(
        labels, added | removed, value.astype(np.uint8), "box", region, detail, offset=crop, seconds=seconds
    )
