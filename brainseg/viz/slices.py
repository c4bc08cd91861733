"""Cut 2D display slices out of canonical RAS volumes, in radiological display convention.

Every volume here is indexed ``[x, y, z]`` in the canonical RAS frame of :class:`brainseg.io.Case`:
``x`` grows towards the patient's Right, ``y`` towards Anterior, ``z`` towards Superior.

Display convention (radiological, as in PACS, ITK-SNAP and the BraTS papers):

===========  ==================  ==============  ==============  =========  ============
plane        slice index         image columns   image rows      left/right  top/bottom
===========  ==================  ==============  ==============  =========  ============
axial        z (foot -> head)    x, R .. L       y, A .. P       R / L       A / P
coronal      y (back -> front)   x, R .. L       z, S .. I       R / L       S / I
sagittal     x (left -> right)   y, A .. P       z, S .. I       A / P       S / I
===========  ==================  ==============  ==============  =========  ============

So the patient's right is on the viewer's left (axial, coronal), anterior is up in axial, superior is
up in coronal and sagittal, and the face looks to the viewer's left in sagittal. Both display axes run
against their RAS axis: column 0 is the largest ``x`` (or ``y``), row 0 the largest ``y`` (or ``z``).

Voxels need not be cubic: a :class:`DisplayGrid` scales each slice so that display pixels are square
in millimetres (same pixels-per-mm on both axes, and on all three planes of one case).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PLANES: tuple[str, ...] = ("axial", "coronal", "sagittal")


@dataclass(frozen=True)
class PlaneLayout:
    """How one plane maps RAS axes onto the screen.

    Attributes:
        slice_axis: RAS axis held fixed (0 x, 1 y, 2 z).
        column_axis: RAS axis along image columns (runs from its high end on the left).
        row_axis: RAS axis along image rows (runs from its high end at the top).
        edge_letters: orientation letters on the (left, right, top, bottom) edges.
    """

    slice_axis: int
    column_axis: int
    row_axis: int
    edge_letters: tuple[str, str, str, str]


LAYOUTS: dict[str, PlaneLayout] = {
    "axial": PlaneLayout(slice_axis=2, column_axis=0, row_axis=1, edge_letters=("R", "L", "A", "P")),
    "coronal": PlaneLayout(slice_axis=1, column_axis=0, row_axis=2, edge_letters=("R", "L", "S", "I")),
    "sagittal": PlaneLayout(slice_axis=0, column_axis=1, row_axis=2, edge_letters=("A", "P", "S", "I")),
}
"""Plane name -> layout; the single source of the display convention above."""


def layout(plane: str) -> PlaneLayout:
    """The :class:`PlaneLayout` of ``plane``; an unknown name raises a ``ValueError`` listing the valid ones."""
    try:
        return LAYOUTS[plane]
    except KeyError:
        raise ValueError(f"unknown plane {plane!r}; expected one of: {', '.join(PLANES)}") from None


def extract_slice(volume: np.ndarray, plane: str, index: int) -> np.ndarray:
    """One slice of a RAS volume, oriented for display.

    Args:
        volume: (X, Y, Z) array of any dtype in canonical RAS order.
        plane: ``axial``, ``coronal`` or ``sagittal``.
        index: slice index along the plane's slice axis (z, y or x), ``0 <= index < size``.

    Returns:
        (rows, columns) view of ``volume`` in display orientation, one pixel per voxel: axial (Y, X),
        coronal (Z, X), sagittal (Z, Y).

    Example:
        A (240, 240, 155) volume gives axial (240, 240), coronal (155, 240) and sagittal (155, 240) slices.
    """
    plane_layout = layout(plane)
    size = volume.shape[plane_layout.slice_axis]
    if not 0 <= index < size:
        raise ValueError(f"{plane} slice index {index} is outside 0..{size - 1}")
    # The two remaining axes keep RAS order (column axis first); transpose and reverse both.
    where: list[int | slice] = [slice(None)] * 3
    where[plane_layout.slice_axis] = index
    section = volume[tuple(where)]  # (columns, rows) in RAS order, a view
    return section[::-1, ::-1].T


def native_shape(shape: tuple[int, int, int], plane: str) -> tuple[int, int]:
    """(rows, columns) of :func:`extract_slice` for a volume of ``shape`` (X, Y, Z)."""
    plane_layout = layout(plane)
    return shape[plane_layout.row_axis], shape[plane_layout.column_axis]


def voxel_to_native(voxel: tuple[int, int, int], shape: tuple[int, int, int], plane: str) -> tuple[int, int]:
    """(row, column) in the native slice of ``plane`` where RAS voxel ``voxel`` (x, y, z) lands."""
    plane_layout = layout(plane)
    row = shape[plane_layout.row_axis] - 1 - voxel[plane_layout.row_axis]
    column = shape[plane_layout.column_axis] - 1 - voxel[plane_layout.column_axis]
    return row, column


def native_to_voxel(row: int, column: int, index: int, shape: tuple[int, int, int], plane: str) -> tuple[int, int, int]:
    """RAS voxel (x, y, z) shown at native (row, column) of slice ``index`` of ``plane``."""
    plane_layout = layout(plane)
    voxel = [0, 0, 0]
    voxel[plane_layout.slice_axis] = index
    voxel[plane_layout.row_axis] = shape[plane_layout.row_axis] - 1 - row
    voxel[plane_layout.column_axis] = shape[plane_layout.column_axis] - 1 - column
    return voxel[0], voxel[1], voxel[2]


def fit_pixels_per_mm(shape: tuple[int, int, int], spacing: tuple[float, float, float], max_size: int = 480) -> float:
    """Display scale shared by the three planes: the longest field of view (mm) fills ``max_size`` pixels.

    Example:
        A BraTS case (240, 240, 155) at 1 mm gives 2.0 pixels per mm: 480 x 480 axial, 310 x 480 coronal.
    """
    if max_size < 16:
        raise ValueError(f"max_size must be at least 16 pixels, got {max_size}")
    extent_mm = max(n * s for n, s in zip(shape, spacing, strict=True))
    if not extent_mm > 0:
        raise ValueError(f"volume extent must be positive, got shape {shape} and spacing {spacing}")
    return max_size / extent_mm


@dataclass(frozen=True)
class DisplayGrid:
    """Pixel grid of one plane's display image: native slice pixels scaled to square millimetres.

    The slice fills a ``size`` box, centred on a ``canvas`` that may be larger (the three views of a
    case share one canvas so that they line up on screen); the rest of the canvas is black. Display
    pixel ``p`` (a row or a column, counted inside the box) shows native pixel
    ``floor((p + 0.5) * native / size)``: centre-aligned nearest neighbour, as PIL resizes.

    Attributes:
        plane: ``axial``, ``coronal`` or ``sagittal``.
        native: (rows, columns) of the native slice.
        size: (height, width) in pixels of the box the slice fills.
        canvas: (height, width) of the whole image, at least ``size``.
    """

    plane: str
    native: tuple[int, int]
    size: tuple[int, int]
    canvas: tuple[int, int]

    def __post_init__(self) -> None:
        if self.canvas[0] < self.size[0] or self.canvas[1] < self.size[1]:
            raise ValueError(f"canvas {self.canvas} is smaller than the {self.plane} slice {self.size}")

    @classmethod
    def for_volume(
        cls,
        shape: tuple[int, int, int],
        spacing: tuple[float, float, float],
        plane: str,
        pixels_per_mm: float,
        canvas: tuple[int, int] | None = None,
    ) -> DisplayGrid:
        """The grid of ``plane`` for a volume of ``shape`` (X, Y, Z) with voxel ``spacing`` (mm along X, Y, Z).

        ``canvas`` defaults to the slice's own size (no border).
        """
        plane_layout = layout(plane)
        rows, columns = native_shape(shape, plane)
        height = max(1, round(rows * spacing[plane_layout.row_axis] * pixels_per_mm))
        width = max(1, round(columns * spacing[plane_layout.column_axis] * pixels_per_mm))
        return cls(plane, (rows, columns), (height, width), canvas or (height, width))

    @property
    def offset(self) -> tuple[int, int]:
        """(top, left) of the slice box on the canvas."""
        return (self.canvas[0] - self.size[0]) // 2, (self.canvas[1] - self.size[1]) // 2

    @property
    def row_source(self) -> np.ndarray:
        """(height,) int64: native row shown on each row of the slice box."""
        return _source_indices(self.size[0], self.native[0])

    @property
    def column_source(self) -> np.ndarray:
        """(width,) int64: native column shown on each column of the slice box."""
        return _source_indices(self.size[1], self.native[1])

    def to_native(self, pixel_row: float, pixel_column: float) -> tuple[int, int]:
        """Native (row, column) under canvas pixel (row, column); clamped to the slice (borders included)."""
        top, left = self.offset
        row = math.floor((pixel_row - top + 0.5) * self.native[0] / self.size[0])
        column = math.floor((pixel_column - left + 0.5) * self.native[1] / self.size[1])
        return min(max(row, 0), self.native[0] - 1), min(max(column, 0), self.native[1] - 1)

    def to_display(self, native_row: int, native_column: int) -> tuple[int, int]:
        """Canvas pixel (row, column) at the centre of native pixel (row, column)."""
        top, left = self.offset
        row = math.floor((native_row + 0.5) * self.size[0] / self.native[0])
        column = math.floor((native_column + 0.5) * self.size[1] / self.native[1])
        return top + row, left + column


def shared_canvas(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], pixels_per_mm: float
) -> tuple[int, int]:
    """(height, width) holding any of the three planes: the largest slice height and width.

    Example:
        A BraTS case (240, 240, 155) at 1 mm and 2 pixels per mm gives (480, 480).
    """
    grids = [DisplayGrid.for_volume(shape, spacing, plane, pixels_per_mm) for plane in PLANES]
    return max(g.size[0] for g in grids), max(g.size[1] for g in grids)


def _source_indices(display: int, native: int) -> np.ndarray:
    return np.minimum(((np.arange(display) + 0.5) * native / display).astype(np.int64), native - 1)


def tumor_cursor(labels: np.ndarray) -> tuple[int, int, int] | None:
    """The voxel of the tumor (any label > 0) nearest its centre of mass, or None without tumor.

    Args:
        labels: (X, Y, Z) internal labels, canonical RAS.

    Returns:
        RAS voxel (x, y, z) inside the tumor (a centre of mass may fall outside a ring or several foci).
    """
    tumor = np.argwhere(labels > 0)  # (N, 3)
    if not len(tumor):
        return None
    centre = tumor.mean(axis=0)
    nearest = tumor[np.argmin(((tumor - centre) ** 2).sum(axis=1))]
    return tuple(int(v) for v in nearest)  # type: ignore[return-value]
