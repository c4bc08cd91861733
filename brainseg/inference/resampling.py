"""Thick-slice cases: run the network on the model's voxel grid, give the answer back on the case's own.

A clinical scan with 5 mm slices holds a fifth of the slices the networks were trained on (1 mm), so a
lesion looks five times flatter to them. When any voxel edge exceeds :data:`MAX_SPACING_MM`, the normalized
images are resampled (trilinear) onto the model's spacing, and the network's probabilities and maps are
resampled back (trilinear) onto the case's grid before thresholding. Smaller differences from the model's
spacing are left as they are (a warning says so).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

MAX_SPACING_MM = 3.0
"""A voxel edge above this (mm) makes the Segmenter resample the case onto the model's spacing."""


def model_grid_shape(
    shape: tuple[int, ...], spacing: tuple[float, ...], model_spacing: tuple[float, ...]
) -> tuple[int, int, int] | None:
    """(X', Y', Z') of the case on the model's spacing, or None when no edge exceeds :data:`MAX_SPACING_MM`.

    Args:
        shape: (X, Y, Z) of the case.
        spacing: its voxel size in mm along X, Y, Z.
        model_spacing: the model's training voxel size in mm.
    """
    if max(spacing) <= MAX_SPACING_MM:
        return None
    x, y, z = (max(round(n * s / m), 1) for n, s, m in zip(shape, spacing, model_spacing, strict=True))
    return x, y, z


def resample_channels(array: np.ndarray, shape: tuple[int, ...], order: int = 1) -> np.ndarray:
    """(C, X, Y, Z) -> (C, *shape) float32, each channel resampled so that the corner voxel centres stay put
    (the same mapping both ways, so a round trip returns to the original voxel positions)."""
    scale = [(n_in - 1) / (n_out - 1) if n_out > 1 else 0.0 for n_in, n_out in zip(array.shape[1:], shape, strict=True)]
    out = np.empty((array.shape[0], *shape), dtype=np.float32)
    for channel, target in zip(array, out, strict=True):
        ndi.affine_transform(
            channel.astype(np.float32, copy=False), scale, output_shape=tuple(shape), output=target, order=order,
            mode="nearest",
        )  # fmt: skip
    return out
