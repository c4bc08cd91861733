"""The BraTS voxel grid that synthetic cases are written on.

BraTS files are 240 x 240 x 155 voxels of 1 mm in SRI24 space, stored in LPS voxel order: array axis 0
runs to the patient's Left, axis 1 to Posterior, axis 2 to Superior. Their affine (checked with nibabel
on BraTS-GLI-00001-000) is::

    [[-1,  0, 0,   0],
     [ 0, -1, 0, 239],
     [ 0,  0, 1,   0],
     [ 0,  0, 0,   1]]      nibabel.aff2axcodes -> ('L', 'P', 'S')

A smaller ``shape`` keeps the same 240 x 240 x 155 mm field of view with coarser voxels, which is what
the fast tests use; volumes in mL stay comparable across shapes.
"""

from __future__ import annotations

import numpy as np

BRATS_SHAPE: tuple[int, int, int] = (240, 240, 155)
FIELD_OF_VIEW_MM: tuple[float, float, float] = (240.0, 240.0, 155.0)

# Where the template's brain centroid goes, in mm from voxel (0, 0, 0). The brain-mask centroids of
# BraTS-GLI-00001-000 and AURORA-example (reoriented to LPS) are (120, 127, 81) and (120, 135, 77), but
# their brainstems are cut lower than the template's, which reaches 82 mm below its centroid and 73 mm
# above it: z = 75 puts the top of the brain 5-12 mm under the grid's top slice, as in both real cases.
BRAIN_CENTER_MM: tuple[float, float, float] = (120.0, 130.0, 75.0)


def check_shape(shape: tuple[int, int, int]) -> tuple[int, int, int]:
    """Validate a grid shape argument; raises ValueError naming the value and what is expected."""
    try:
        out = tuple(int(n) for n in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be three integers such as (240, 240, 155), got {shape!r}") from None
    if len(out) != 3 or min(out) < 32 or max(out) > 512:
        raise ValueError(f"shape must be three integers between 32 and 512 such as (240, 240, 155), got {shape!r}")
    return out


def voxel_spacing(shape: tuple[int, int, int]) -> np.ndarray:
    """(3,) float64 voxel size in mm per axis: the BraTS field of view divided by ``shape``."""
    return np.asarray(FIELD_OF_VIEW_MM) / np.asarray(shape, dtype=np.float64)


def brats_affine(shape: tuple[int, int, int] = BRATS_SHAPE) -> np.ndarray:
    """4x4 float64 voxel-to-world (RAS mm) affine of a BraTS-like LPS grid of ``shape`` voxels.

    For the default shape this is exactly the affine of real BraTS files.
    """
    sx, sy, sz = voxel_spacing(shape)
    affine = np.diag([-sx, -sy, sz, 1.0])
    affine[1, 3] = (shape[1] - 1) * sy
    return affine
