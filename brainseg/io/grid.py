"""Compare voxel grids and resample a volume onto another grid (used when sequences disagree)."""

from __future__ import annotations

import nibabel as nib
import numpy as np
from scipy import ndimage

AFFINE_TOLERANCE_MM = 1e-3
"""Affines closer than this (largest element difference, mm) describe the same grid."""


def same_grid(shape_a: tuple[int, ...], affine_a: np.ndarray, shape_b: tuple[int, ...], affine_b: np.ndarray) -> bool:
    """True when two (shape, affine) pairs describe the same physical voxel grid."""
    return tuple(shape_a) == tuple(shape_b) and bool(np.allclose(affine_a, affine_b, rtol=0, atol=AFFINE_TOLERANCE_MM))


def describe_grid(shape: tuple[int, ...], affine: np.ndarray) -> str:
    """Short text of a grid for reports, e.g. ``240x240x155 @ 1.00x1.00x1.00 mm LPS``."""
    spacing = nib.affines.voxel_sizes(affine)
    return (
        "x".join(str(n) for n in shape)
        + " @ "
        + "x".join(f"{s:.2f}" for s in spacing)
        + " mm "
        + "".join(nib.aff2axcodes(affine))
    )


def resample_to_grid(
    data: np.ndarray,
    affine: np.ndarray,
    target_shape: tuple[int, int, int],
    target_affine: np.ndarray,
    *,
    order: int = 1,
) -> np.ndarray:
    """Resample a volume onto another grid of the same world space.

    Args:
        data: (X, Y, Z) source array.
        affine: (4, 4) source voxel -> world (mm).
        target_shape: (X, Y, Z) of the target grid.
        target_affine: (4, 4) target voxel -> world (mm).
        order: spline order; 1 (trilinear) for images, 0 (nearest) for label maps.

    Returns:
        (target_shape) array of ``data``'s dtype; points outside the source are 0.
    """
    # Target voxel -> world -> source voxel.
    target_to_source = np.linalg.inv(affine) @ target_affine
    out: np.ndarray = ndimage.affine_transform(
        data.astype(np.float32, copy=False),
        target_to_source[:3, :3],
        offset=target_to_source[:3, 3],
        output_shape=tuple(target_shape),
        order=order,
        mode="constant",
        cval=0.0,
    )
    return out.astype(data.dtype, copy=False)
