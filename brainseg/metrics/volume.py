"""Mask volumes in millilitres from the voxel spacing."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from brainseg.metrics._grid import check_spacing

MM3_PER_ML = 1000.0


def voxel_volume_ml(spacing_mm: Sequence[float]) -> float:
    """Volume of one voxel in mL (1 mL = 1 cm^3 = 1000 mm^3); BraTS' 1 mm isotropic voxel is 0.001 mL."""
    return math.prod(check_spacing(spacing_mm)) / MM3_PER_ML


def volume_ml(mask: np.ndarray, spacing_mm: Sequence[float]) -> float:
    """Volume of a mask in mL.

    Args:
        mask: (X, Y, Z) bool (or 0/1) array.
        spacing_mm: voxel size in mm along X, Y, Z.
    """
    return int(np.count_nonzero(mask)) * voxel_volume_ml(spacing_mm)
