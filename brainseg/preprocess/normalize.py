"""Intensity normalization of a four-sequence case, and padding to a multiple of a model's stride.

Every function here is pure: arrays in, new arrays out. Image arrays are (4, X, Y, Z) with channels in
:data:`brainseg.io.SEQUENCES` order (T1, T1ce, T2, FLAIR), in whatever voxel frame the caller uses
(canonical RAS throughout BrainSeg). The brain is where any sequence is nonzero: skull-stripped BraTS
cases are exactly zero outside it, and every normalization leaves those voxels at 0.

Methods (the names a checkpoint's ``DataContract.normalization`` holds):

- ``zscore-brain``: each sequence z-scored over the brain.
- ``paper-a3``: paper 000, appendix A.3 (see :func:`normalize_paper_a3`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import EllipsisType

import numpy as np

from brainseg.errors import BrainSegError
from brainseg.io.naming import SEQUENCES

CLIP_SD = 5.0
"""paper-a3 outlier clip: intensities are clipped to mean +- 5 SD over the brain ("[-5, +5]" in A.3)."""
T1CE_POWER = 0.9
"""paper-a3 T1ce contrast boost: the clipped T1ce is raised to this power."""


def brain_mask(images: np.ndarray) -> np.ndarray:
    """Voxels where any sequence is nonzero.

    Args:
        images: (C, X, Y, Z) intensities, any dtype.

    Returns:
        (X, Y, Z) bool.
    """
    _check_images(images)
    brain: np.ndarray = np.any(images != 0, axis=0)
    return brain


BRAIN_BOX_MARGIN = 8
"""Voxels of background kept around the brain when cropping for the network (as in training)."""


def bounding_box(mask: np.ndarray, margin: int = 0) -> tuple[slice, ...]:
    """Slices of the smallest box holding ``mask``, grown by ``margin`` voxels and clipped to the array.

    Any number of axes; an empty mask gives the whole array.
    """
    box = []
    for axis in range(mask.ndim):
        hits = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        start, stop = (int(hits[0]), int(hits[-1]) + 1) if hits.size else (0, mask.shape[axis])
        box.append(slice(max(start - margin, 0), min(stop + margin, mask.shape[axis])))
    return tuple(box)


def brain_box(brain: np.ndarray, margin: int = BRAIN_BOX_MARGIN) -> tuple[slice, slice, slice]:
    """The brain's bounding box plus ``margin`` voxels (clipped to the volume), as slices.

    The networks are trained on cases cropped this way; a whole 240 x 240 x 155 volume is ~60 % empty
    background, which shifts instance-normalization statistics and costs time. An empty mask gives the
    whole volume.

    Args:
        brain: (X, Y, Z) bool.
    """
    return bounding_box(brain, margin)  # type: ignore[return-value]


def _zscore(values: np.ndarray) -> np.ndarray:
    """(N,) brain values -> float64 z-scores; a constant channel gives 0."""
    std = values.std()
    # A constant sequence (std 0, e.g. a missing sequence filled with one value) carries no contrast: 0.
    return (values - values.mean()) / std if std > 0 else np.zeros_like(values)


def _min_max(values: np.ndarray) -> np.ndarray:
    """(N,) brain values -> float64 in [0, 1] (min -> 0, max -> 1); a constant channel gives 0."""
    low, high = values.min(), values.max()
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _clip_outliers(values: np.ndarray, sd: float = CLIP_SD) -> np.ndarray:
    """(N,) brain values clipped to their mean +- ``sd`` standard deviations."""
    mean, std = values.mean(), values.std()
    clipped: np.ndarray = np.clip(values, mean - sd * std, mean + sd * std)
    return clipped


def _per_channel(images: np.ndarray, steps: list[Callable[[np.ndarray], np.ndarray]]) -> np.ndarray:
    """Apply ``steps[c]`` to channel c's brain voxels (as float64); voxels outside the brain stay 0."""
    mask = brain_mask(images)
    out = np.zeros(images.shape, dtype=np.float32)
    if mask.any():
        for channel, target, step in zip(images, out, steps, strict=True):
            target[mask] = step(channel[mask].astype(np.float64))
    return out


def normalize_zscore_brain(images: np.ndarray) -> np.ndarray:
    """``zscore-brain``: every sequence z-scored over the brain mask.

    Args:
        images: (4, X, Y, Z) raw intensities.

    Returns:
        (4, X, Y, Z) float32; inside the brain each channel has mean 0 and standard deviation 1 (all 0 for
        a constant channel); 0 outside the brain.
    """
    return _per_channel(images, [_zscore] * len(images))


def _clipped_zscore(values: np.ndarray) -> np.ndarray:
    """paper-a3 T1: clip outliers, z-score."""
    return _zscore(_clip_outliers(values))


def _clipped_boosted_zscore(values: np.ndarray) -> np.ndarray:
    """paper-a3 T1ce: clip outliers, raise to the power 0.9 (negative values, not expected, set to 0), z-score."""
    return _zscore(np.maximum(_clip_outliers(values), 0.0) ** T1CE_POWER)


def _clipped_min_max(values: np.ndarray) -> np.ndarray:
    """paper-a3 T2 and FLAIR: clip outliers, min-max to [0, 1]."""
    return _min_max(_clip_outliers(values))


def normalize_paper_a3(images: np.ndarray) -> np.ndarray:
    """``paper-a3``: the modality-specific normalization of paper 000, appendix A.3 (and section 3.2).

    Steps, per sequence, over the brain mask:

    1. Outlier clipping to mean +- 5 SD. A.3 writes "clipped to [-5, +5]" for T2 and FLAIR: that can only
       be in standard-deviation units (a min-max result lives in [0, 1], a percentile is never negative).
       Section 3.2 applies "outlier clipping ... to all modalities", and A.3's T1ce step comes "after
       clipping", so all four sequences are clipped.
    2. T1: z-score. T1ce: raised to the power 0.9, then z-scored. T2 and FLAIR: min-max to [0, 1].

    Why the T1ce power comes before the z-score: A.3 says "exponentiation by 0.9 *after clipping*", so it
    follows step 1; and A.3 lists T1ce with T1 as "z-score over the brain mask", which holds only if the
    z-score is the last step. Exponentiating after the z-score would also be undefined for the negative
    half of the z-scores. So the power acts on the clipped raw intensities, which are non-negative for
    magnitude MRI (any negative value is set to 0 first).

    Args:
        images: (4, X, Y, Z) raw intensities, channels T1, T1ce, T2, FLAIR.

    Returns:
        (4, X, Y, Z) float32: T1 and T1ce z-scores (mean 0, SD 1 over the brain), T2 and FLAIR in [0, 1];
        0 outside the brain.
    """
    return _per_channel(images, [_clipped_zscore, _clipped_boosted_zscore, _clipped_min_max, _clipped_min_max])


NORMALIZATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "zscore-brain": normalize_zscore_brain,
    "paper-a3": normalize_paper_a3,
}
"""Normalization name (as in ``DataContract.normalization``) -> function (4, X, Y, Z) -> (4, X, Y, Z)."""


def check_method(method: str) -> str:
    """Return ``method`` if it names a normalization, else raise a BrainSegError listing the valid names."""
    if method not in NORMALIZATIONS:
        raise BrainSegError(f"unknown normalization {method!r}; expected one of: {', '.join(NORMALIZATIONS)}")
    return method


def normalize(images: np.ndarray, method: str) -> np.ndarray:
    """Normalize a case's intensities the way a model expects.

    Args:
        images: (4, X, Y, Z) raw intensities (float32 as :func:`brainseg.io.load_case` gives), channels
            T1, T1ce, T2, FLAIR, zero outside the brain.
        method: a name from :data:`NORMALIZATIONS` (``zscore-brain`` or ``paper-a3``).

    Returns:
        (4, X, Y, Z) float32, same voxel frame, 0 outside the brain.

    Example::

        normalized = normalize(case.images, "zscore-brain")  # (4, 240, 240, 155) float32

    Raises:
        BrainSegError: unknown ``method`` or ``images`` not (4, X, Y, Z).
    """
    function = NORMALIZATIONS[check_method(method)]
    _check_images(images, channels=len(SEQUENCES))
    return function(images)


def _check_images(images: np.ndarray, channels: int | None = None) -> None:
    shape = np.shape(images)
    if len(shape) != 4 or (channels is not None and shape[0] != channels):
        expected = f"({channels}, X, Y, Z)" if channels else "(C, X, Y, Z)"
        raise BrainSegError(f"images must be {expected}, got shape {shape}")


Pads = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def pad_to_multiple(array: np.ndarray, multiple: int) -> tuple[np.ndarray, Pads]:
    """Zero-pad the last three (spatial) axes up to the next multiple of ``multiple``, split evenly.

    Args:
        array: (..., X, Y, Z), e.g. (4, X, Y, Z) images or (X, Y, Z) labels.
        multiple: positive integer, e.g. 16 for a network that halves the resolution four times.

    Returns:
        ``(padded, pads)``: padded is (..., X', Y', Z') with each of X', Y', Z' the smallest multiple of
        ``multiple`` not below the input's, same dtype; pads is ((before, after),) * 3 per spatial axis
        (``before`` gets the smaller half), for :func:`unpad`.

    Example::

        padded, pads = pad_to_multiple(images, 16)  # (4, 240, 240, 155) -> (4, 240, 240, 160), pads z = (2, 3)
    """
    if isinstance(multiple, bool) or not isinstance(multiple, (int, np.integer)) or multiple < 1:
        raise BrainSegError(f"multiple must be a positive integer such as 16, got {multiple!r}")
    if np.ndim(array) < 3:
        raise BrainSegError(f"array must have at least three (spatial) axes, got shape {np.shape(array)}")
    pads = []
    for size in array.shape[-3:]:
        total = -size % multiple
        pads.append((total // 2, total - total // 2))
    pads_tuple: Pads = tuple(pads)  # type: ignore[assignment]
    widths = [(0, 0)] * (array.ndim - 3) + pads
    return np.pad(array, widths), pads_tuple


def unpad(array: np.ndarray, pads: Pads) -> np.ndarray:
    """Undo :func:`pad_to_multiple`: (..., X', Y', Z') -> (..., X, Y, Z), a view of ``array``.

    ``unpad(*pad_to_multiple(a, m))`` equals ``a`` exactly; it also crops a prediction made on the padded
    array back onto the input's grid.
    """
    if len(pads) != 3 or np.ndim(array) < 3:
        raise BrainSegError(f"unpad needs (..., X, Y, Z) and three (before, after) pairs, got {np.shape(array)}")
    index = tuple(slice(before, size - after) for (before, after), size in zip(pads, array.shape[-3:], strict=True))
    key: tuple[EllipsisType | slice, ...] = (..., *index)
    return array[key]
