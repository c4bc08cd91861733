"""The canonical RAS frame: reorient input arrays for processing and map results back exactly.

Reorientation only permutes and flips axes (no interpolation), like nibabel's ``as_closest_canonical``,
so ``to_input(to_canonical(a))`` returns ``a`` bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import nibabel as nib
import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, io_orientation, ornt_transform

_RAS = axcodes2ornt("RAS")


@dataclass(frozen=True)
class CanonicalFrame:
    """The link between a case's input grid and the canonical RAS array order.

    Attributes:
        input_shape: (X, Y, Z) of the input grid (the T1ce file's grid).
        input_affine: (4, 4) voxel -> world (RAS+ mm) of the input grid.
    """

    input_shape: tuple[int, int, int]
    input_affine: np.ndarray

    @property
    def _ornt(self) -> np.ndarray:
        ornt: np.ndarray = io_orientation(self.input_affine)
        return ornt

    @property
    def input_orientation(self) -> str:
        """Axis codes of the input arrays, e.g. ``LPS``."""
        return "".join(nib.aff2axcodes(self.input_affine))

    @property
    def canonical_shape(self) -> tuple[int, int, int]:
        """(X, Y, Z) of arrays in the canonical frame (axes permuted from the input)."""
        axes = self._ornt[:, 0].astype(int)
        shape = [0, 0, 0]
        for input_axis, output_axis in enumerate(axes):
            shape[output_axis] = self.input_shape[input_axis]
        return shape[0], shape[1], shape[2]

    @property
    def canonical_affine(self) -> np.ndarray:
        """(4, 4) voxel -> world for canonical arrays; its axes point (closest to) right, anterior, superior."""
        reorder: np.ndarray = inv_ornt_aff(self._ornt, self.input_shape)
        affine: np.ndarray = self.input_affine @ reorder
        return affine

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the canonical axes."""
        sx, sy, sz = (float(s) for s in nib.affines.voxel_sizes(self.canonical_affine))
        return sx, sy, sz

    def to_canonical(self, array: np.ndarray) -> np.ndarray:
        """(X, Y, Z[, ...]) in input order -> (X', Y', Z'[, ...]) in RAS order (a contiguous copy)."""
        self._check(array, self.input_shape, "input")
        return np.ascontiguousarray(apply_orientation(array, self._ornt))

    def to_input(self, array: np.ndarray) -> np.ndarray:
        """(X', Y', Z'[, ...]) in RAS order -> (X, Y, Z[, ...]) on the input grid (a contiguous copy)."""
        self._check(array, self.canonical_shape, "canonical")
        return np.ascontiguousarray(apply_orientation(array, ornt_transform(_RAS, self._ornt)))

    def input_voxel_to_canonical(self, voxel: tuple[int, int, int]) -> tuple[int, int, int]:
        """The canonical (x, y, z) index of the input grid's voxel ``(i, j, k)`` (the same voxel; no rounding)."""
        canonical = [0, 0, 0]
        for input_axis, (output_axis, flip) in enumerate(self._ornt.astype(int)):
            index = int(voxel[input_axis])
            canonical[output_axis] = self.input_shape[input_axis] - 1 - index if flip < 0 else index
        return canonical[0], canonical[1], canonical[2]

    def canonical_voxel_to_input(self, voxel: tuple[int, int, int]) -> tuple[int, int, int]:
        """The input grid's (i, j, k) of the canonical voxel ``(x, y, z)``; inverse of
        :meth:`input_voxel_to_canonical`."""
        found = [0, 0, 0]
        for input_axis, (output_axis, flip) in enumerate(self._ornt.astype(int)):
            index = int(voxel[output_axis])
            found[input_axis] = self.input_shape[input_axis] - 1 - index if flip < 0 else index
        return found[0], found[1], found[2]

    @staticmethod
    def _check(array: np.ndarray, expected: tuple[int, int, int], frame: str) -> None:
        if tuple(array.shape[:3]) != tuple(expected):
            raise ValueError(f"array of shape {array.shape} does not match the {frame} grid {expected}")
