"""Pointing game: does a map's brightest part fall inside the region it is supposed to show?

    >>> pointing_game(attention, truth_wt, brain)   # share of the map's top 1 % brain voxels inside WT
    >>> chance_pointing(truth_wt, brain)            # what a map that knows nothing scores: WT's share of the brain

The score of a map is the share of its top ``top_fraction`` voxels (the ``k = ceil(top_fraction * n)``
largest values among the ``n`` candidate voxels: those inside ``brain``, or all) that lie inside the
region. 1 means every one of the brightest voxels is in the region; 0 means none is. A map that carries no
information about the region scores, on average, the region's share of the candidates
(:func:`chance_pointing`), so a score is read against that baseline, not against 0.5.

Ties are resolved by their expectation, not by position: with ``t`` the k-th largest value, voxels above
``t`` count fully, and the ``k - (number above t)`` remaining places are shared by all voxels equal to
``t`` in proportion to how many of those lie inside the region. The result is what a random tie-break
would give on average, it does not depend on the voxel order, and a flat map (every candidate equal, an
all-zero map included) scores exactly the chance baseline. Quantized maps (``HeatVolume.levels``, 256
levels) therefore score sensibly too.

Undefined cases give ``nan``: a region with no candidate voxel (nothing to point at), or no candidate
voxel at all (empty ``brain``). Non-finite values are refused.
"""

from __future__ import annotations

import math

import numpy as np

TOP_FRACTION = 0.01
"""Default share of a map's voxels that counts as its brightest part (1 %)."""

__all__ = ["TOP_FRACTION", "chance_pointing", "pointing_game"]


def _candidates(
    values: np.ndarray | None, region_mask: np.ndarray, brain: np.ndarray | None
) -> tuple[np.ndarray | None, np.ndarray]:
    """(values, region) of the candidate voxels, flattened; shapes checked."""
    region_mask = np.asarray(region_mask, dtype=bool)
    if region_mask.ndim != 3:
        raise ValueError(f"region_mask must be an (X, Y, Z) array, got shape {region_mask.shape}")
    if values is not None:
        values = np.asarray(values)
        if values.shape != region_mask.shape:
            raise ValueError(f"map shape {values.shape} does not match region shape {region_mask.shape}")
    if brain is None:
        return (None if values is None else values.ravel()), region_mask.ravel()
    brain = np.asarray(brain, dtype=bool)
    if brain.shape != region_mask.shape:
        raise ValueError(f"brain shape {brain.shape} does not match region shape {region_mask.shape}")
    return (None if values is None else values[brain]), region_mask[brain]


def chance_pointing(region_mask: np.ndarray, brain: np.ndarray | None = None) -> float:
    """The region's share of the candidate voxels (inside ``brain`` if given): a map's expected
    :func:`pointing_game` score when its ranking knows nothing of the region.

    Args:
        region_mask: (X, Y, Z) bool.
        brain: (X, Y, Z) bool, or None for every voxel.

    Returns:
        A fraction in [0, 1]; ``nan`` when the region has no candidate voxel or there are no candidates.
    """
    _, region = _candidates(None, region_mask, brain)
    inside = int(np.count_nonzero(region))
    if region.size == 0 or inside == 0:
        return math.nan
    return inside / region.size


def pointing_game(
    values: np.ndarray,
    region_mask: np.ndarray,
    brain: np.ndarray | None = None,
    top_fraction: float = TOP_FRACTION,
) -> float:
    """The share of the map's top ``top_fraction`` voxels that fall inside ``region_mask``.

    Args:
        values: (X, Y, Z) real (or bool) map: attention, uncertainty, quantized levels...; larger = brighter.
        region_mask: (X, Y, Z) bool, the region the map should point at (e.g. the truth's WT).
        brain: (X, Y, Z) bool; only voxels inside it are ranked and counted (region voxels outside it are
            ignored). None: every voxel.
        top_fraction: in (0, 1]; the top ``ceil(top_fraction * n)`` of the ``n`` candidates count (at
            least one voxel).

    Returns:
        A fraction in [0, 1], ties shared by expectation (see the module docstring); ``nan`` when the region
        has no candidate voxel, or there are no candidate voxels.

    Raises:
        ValueError: shapes differ or are not 3-D, ``top_fraction`` is out of range, or a value is not finite.
    """
    if not 0.0 < top_fraction <= 1.0:
        raise ValueError(f"top_fraction must be in (0, 1], got {top_fraction}")
    candidates, region = _candidates(values, region_mask, brain)
    if candidates is None:  # pragma: no cover - values is always given here
        raise ValueError("pointing_game needs a map")
    flat = candidates
    n = flat.size
    if n == 0 or not region.any():
        return math.nan
    if flat.dtype == bool:
        flat = flat.astype(np.uint8)
    if not np.issubdtype(flat.dtype, np.number) or np.issubdtype(flat.dtype, np.complexfloating):
        raise ValueError(f"map values must be real numbers, got dtype {flat.dtype}")
    if np.issubdtype(flat.dtype, np.floating) and not np.isfinite(flat).all():
        raise ValueError("map values must be finite (nan or inf found)")
    k = min(n, max(1, math.ceil(top_fraction * n - 1e-9)))  # 1e-9: 0.01 * 100 is 1.0000000000000002
    threshold = np.partition(flat, n - k)[n - k]  # the k-th largest value
    above = flat > threshold
    tied = flat == threshold
    n_above = int(np.count_nonzero(above))
    inside_above = int(np.count_nonzero(above & region))
    n_tied = int(np.count_nonzero(tied))
    inside_tied = int(np.count_nonzero(tied & region))
    return (inside_above + (k - n_above) * inside_tied / n_tied) / k
