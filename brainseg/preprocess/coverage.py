"""Where every sequence has data: the part of the brain the networks can judge.

Co-registered clinical sequences often cover different slabs: a T1ce acquired as a shorter axial slab is
0 below its field of view after registration, while T1, T2 and FLAIR still show the lower cerebellum
(the real AURORA example: T1ce misses 8.7 % of the brain). Inside the brain mask (any sequence nonzero)
such voxels would be z-scored as the darkest tissue there is, a pattern no training case has, and they
shift the sequence's mean and standard deviation for the rest of the brain. BraTS-curated cases are
fully covered, so there this is a no-op.

A sequence's field of view is its nonzero voxels plus the zero voxels they enclose (a dark ventricle
stored as exactly 0 is still inside it); a gap reaches the outside of the volume. The networks get the
voxels every sequence covers; the rest is background for them and gets no tumor label. A sequence the case
lacks (an all-zero channel, :mod:`brainseg.io.availability`) covers nothing and is left out of this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from brainseg.preprocess.normalize import bounding_box, brain_mask, normalize

WARN_UNCOVERED_FRACTION = 0.01
"""Share of the brain outside some sequence's field of view from which the user is told."""


@dataclass(frozen=True)
class Coverage:
    """Which brain voxels every sequence covers.

    Attributes:
        covered: (X, Y, Z) bool, brain voxels (any sequence nonzero) inside every sequence's field of view.
        brain_voxels: number of brain voxels (any sequence nonzero).
        missing: per channel, in the images' channel order, the share of brain voxels outside that
            channel's field of view (0 .. 1); 0 for an absent (all-zero) channel, which is not counted.
    """

    covered: np.ndarray
    brain_voxels: int
    missing: tuple[float, ...]

    @property
    def volume_fraction(self) -> float:
        """Share of the whole volume that is brain (any sequence nonzero); near 1 when not skull-stripped."""
        return self.brain_voxels / max(self.covered.size, 1)

    @property
    def uncovered_fraction(self) -> float:
        """Share of the brain that some sequence does not cover (0 .. 1)."""
        return 1.0 - int(self.covered.sum()) / self.brain_voxels if self.brain_voxels else 0.0

    def warning(self, names: tuple[str, ...] | list[str]) -> str | None:
        """One line for the user when more than :data:`WARN_UNCOVERED_FRACTION` of the brain is uncovered.

        Args:
            names: sequence names in the images' channel order, e.g. ``("T1", "T1ce", "T2", "FLAIR")``.
        """
        if self.uncovered_fraction <= WARN_UNCOVERED_FRACTION:
            return None
        gaps = [(name, share) for share, name in sorted(zip(self.missing, names, strict=True), reverse=True)]
        listed = ", ".join(f"{name} {share:.1%}" for name, share in gaps if share > 0)
        return (
            f"{self.uncovered_fraction:.1%} of the brain is outside some sequence's field of view (e.g. a shorter "
            f"slab; {gaps[0][0]} misses the most: {listed}): segmented only where all sequences have data"
        )


def field_of_view(channel: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: the channel's nonzero voxels plus the zero voxels they enclose in 3D."""
    filled: np.ndarray = ndi.binary_fill_holes(channel != 0)
    return filled


def sequence_coverage(images: np.ndarray) -> Coverage:
    """The brain voxels all sequences cover, and each sequence's uncovered share.

    Args:
        images: (C, X, Y, Z) raw intensities, 0 outside the brain (skull-stripped).

    Returns:
        A :class:`Coverage` on the images' grid.
    """
    brain = brain_mask(images)
    box = bounding_box(brain)  # fill holes only around the brain: ~4x faster on a BraTS grid
    inside = brain[box]
    covered = inside.copy()
    brain_voxels = int(inside.sum())
    missing = []
    for channel in images:
        if not channel.any():  # a sequence the case lacks: no field of view to intersect
            missing.append(0.0)
            continue
        outside_view = inside & ~field_of_view(channel[box])
        covered &= ~outside_view
        missing.append(int(outside_view.sum()) / brain_voxels if brain_voxels else 0.0)
    full = np.zeros(brain.shape, dtype=bool)
    full[box] = covered
    return Coverage(covered=full, brain_voxels=brain_voxels, missing=tuple(missing))


def keep_covered(images: np.ndarray, coverage: Coverage) -> np.ndarray:
    """``images`` with every voxel outside ``coverage.covered`` set to 0 in all channels (a new array).

    Returns ``images`` itself when nothing is uncovered (the usual BraTS case), so no copy is made.
    """
    if coverage.uncovered_fraction == 0.0:
        return images
    return np.where(coverage.covered, images, 0).astype(images.dtype, copy=False)


def normalize_covered(images: np.ndarray, method: str) -> tuple[np.ndarray, Coverage]:
    """How every case becomes network input (Segmenter, training, validation, evaluate-model).

    Args:
        images: (4, X, Y, Z) raw intensities in the model's channel order, 0 outside the brain.
        method: a normalization name (:data:`brainseg.preprocess.normalize.NORMALIZATIONS`).

    Returns:
        (4, X, Y, Z) float32 normalized over the voxels every sequence covers (0 elsewhere), and the
        :class:`Coverage` (channel order of ``images``).
    """
    coverage = sequence_coverage(images)
    return normalize(keep_covered(images, coverage), method), coverage
