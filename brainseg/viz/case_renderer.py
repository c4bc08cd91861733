"""Render display images (server-side RGB arrays) of a case: one plane, or all three at a cursor.

:func:`render_view` is the pure function: a windowed uint8 RAS volume (and optionally a label map) in,
an (H, W, 3) uint8 RGB image out, in the display convention of :mod:`brainseg.viz.slices`.
:class:`CaseRenderer` is built once per case: it windows every sequence once (the expensive part) so
that moving a slice only cuts, scales and colours 2D arrays already in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypedDict, Unpack

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from brainseg.io.naming import SEQUENCES
from brainseg.labels import SUBREGIONS
from brainseg.viz.heatmap import HEAT_OPACITY, HeatVolume, heat_table
from brainseg.viz.overlay import (
    DIFFERENCE_COLORS,
    FILL_REGIONS,
    REGION_COLORS,
    blend_codes,
    blend_labels,
    draw_crosshair,
    draw_outlines,
    grey_color_table,
    lookup,
)
from brainseg.viz.slices import (
    PLANES,
    DisplayGrid,
    extract_slice,
    fit_pixels_per_mm,
    layout,
    shared_canvas,
    voxel_to_native,
)
from brainseg.viz.window import Window, brain_window

if TYPE_CHECKING:
    from brainseg.io import Case

DEFAULT_MAX_SIZE = 480
"""Longest side (pixels) of the largest view; a 240 mm BraTS field of view shows at 2 pixels per mm."""


@dataclass(frozen=True)
class AxialLine:
    """A measurement line drawn on one axial slice (e.g. a RANO diameter).

    Attributes:
        slice: Z index (canonical RAS) of the axial slice it lies on.
        ends: ((x, y), (x, y)) voxel coordinates (fractional allowed) of its two ends.
        color: RGB.
    """

    slice: int
    ends: tuple[tuple[float, float], tuple[float, float]]
    color: tuple[int, int, int] = (0, 200, 255)


class ViewLayers(TypedDict, total=False):
    """The optional layers :func:`render_view` draws, as :meth:`CaseRenderer.render` passes them on."""

    outline_labels: np.ndarray | None
    difference: np.ndarray | None
    heat: HeatVolume | None
    lines: tuple[AxialLine, ...]
    difference_colors: dict[int, tuple[int, int, int]] | None


@dataclass(frozen=True)
class ViewOptions:
    """What to draw over the grey image.

    Attributes:
        fill: sub-regions to fill (subset of NCR, ED, ET).
        outline: regions to outline (subset of WT, TC, ET).
        opacity: fill opacity, 0..1.
        crosshair: draw lines through the cursor.
        letters: draw orientation letters on the image edges.
        interpolation: ``linear`` (smooth grey levels) or ``nearest`` (one block per voxel); labels are
            always scaled nearest-neighbour so their colours stay exact.
    """

    fill: tuple[str, ...] = FILL_REGIONS
    outline: tuple[str, ...] = ()
    opacity: float = 0.45
    crosshair: bool = True
    letters: bool = True
    interpolation: str = "linear"

    def __post_init__(self) -> None:
        if self.interpolation not in ("linear", "nearest"):
            raise ValueError(f"interpolation must be 'linear' or 'nearest', got {self.interpolation!r}")
        if not 0.0 <= self.opacity <= 1.0:
            raise ValueError(f"opacity must be within 0..1, got {self.opacity}")


def _scale_grey(native: np.ndarray, grid: DisplayGrid, interpolation: str) -> np.ndarray:
    """(rows, columns) uint8 -> (height, width) uint8 on the display grid."""
    if interpolation == "nearest" or native.shape == grid.size:
        scaled: np.ndarray = native[np.ix_(grid.row_source, grid.column_source)]
        return scaled
    image = Image.fromarray(np.ascontiguousarray(native))
    return np.asarray(image.resize((grid.size[1], grid.size[0]), Image.Resampling.BILINEAR))


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def draw_orientation_letters(rgb: np.ndarray, plane: str, size: int | None = None) -> np.ndarray:
    """Write the plane's orientation letters (e.g. R, L, A, P) at the middle of each edge; returns a new image.

    Args:
        rgb: (H, W, 3) uint8 image of one plane in display orientation.
        size: letter height in pixels (default 5 % of the longer side).
    """
    height, width = rgb.shape[:2]
    size = size or max(10, round(max(height, width) * 0.05))
    pixels, colors, alpha = _letter_layer(plane, height, width, size)
    out = rgb.copy()
    under = out[pixels].astype(np.float32)  # (N, 3)
    out[pixels] = np.rint(under + alpha * (colors - under)).astype(np.uint8)
    return out


@lru_cache(maxsize=64)
def _letter_layer(
    plane: str, height: int, width: int, size: int
) -> tuple[tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """The letters of ``plane`` drawn once (white, black outline) on a transparent (height, width) layer.

    Returns:
        (pixel index of the N drawn pixels, (N, 3) float32 colours, (N, 1) float32 alpha 0..1); text
        rendering is slow next to the rest of a view, so every later view only blends these pixels.
    """
    left, right, top, bottom = layout(plane).edge_letters
    margin = max(2, size // 4)
    layer = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font, stroke_width = _font(size), max(1, size // 8)
    for xy, letter, anchor in (
        ((margin, height / 2), left, "lm"),
        ((width - margin, height / 2), right, "rm"),
        ((width / 2, margin), top, "mt"),
        ((width / 2, height - margin), bottom, "mb"),
    ):
        draw.text(
            xy,
            letter,
            fill=(255, 255, 255, 255),
            font=font,
            anchor=anchor,
            stroke_width=stroke_width,
            stroke_fill=(0, 0, 0, 255),
        )
    rgba = np.asarray(layer)  # (H, W, 4)
    pixels = np.nonzero(rgba[:, :, 3])
    colors = rgba[pixels][:, :3].astype(np.float32)
    alpha = rgba[pixels][:, 3:].astype(np.float32) / 255.0
    return pixels, colors, alpha


def render_view(
    volume: np.ndarray,
    plane: str,
    cursor: tuple[int, int, int],
    spacing: tuple[float, float, float],
    pixels_per_mm: float,
    labels: np.ndarray | None = None,
    options: ViewOptions | None = None,
    canvas: tuple[int, int] | None = None,
    *,
    outline_labels: np.ndarray | None = None,
    difference: np.ndarray | None = None,
    heat: HeatVolume | None = None,
    lines: tuple[AxialLine, ...] = (),
    difference_colors: dict[int, tuple[int, int, int]] | None = None,
) -> np.ndarray:
    """One display image of ``plane`` through ``cursor``.

    Args:
        volume: (X, Y, Z) uint8 grey levels (already windowed), canonical RAS.
        plane: ``axial``, ``coronal`` or ``sagittal``.
        cursor: RAS voxel (x, y, z); the slice shown is the cursor's index on the plane's slice axis and
            the crosshair passes through the cursor.
        spacing: voxel size (mm) along X, Y, Z.
        pixels_per_mm: display scale (see :func:`brainseg.viz.slices.fit_pixels_per_mm`).
        labels: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET) on the same grid, or None.
        options: overlay settings (default :class:`ViewOptions`).
        canvas: (H, W) of the image; the slice is centred on it with a black border. Default: the
            slice's own size (see :class:`DisplayGrid`).
        outline_labels: (X, Y, Z) uint8 internal labels to outline instead of ``labels`` (e.g. the truth
            outlined over a filled prediction).
        difference: (X, Y, Z) uint8 codes of :func:`brainseg.viz.overlay.difference_map`, filled in
            :data:`~brainseg.viz.overlay.DIFFERENCE_COLORS` instead of the ``labels`` fill.
        heat: a continuous map blended over the grey image first (attention, uncertainty).
        lines: measurement lines; those on the axial slice shown are drawn on the axial view (with a dark
            edge, so that they show on any overlay colour).
        difference_colors: code -> RGB for ``difference`` instead of
            :data:`~brainseg.viz.overlay.DIFFERENCE_COLORS` (e.g. how many variants agree).

    Returns:
        (H, W, 3) uint8 RGB, values 0..255, square pixels in mm.

    Example:
        A (240, 240, 155) volume at 1 mm and 2 pixels/mm gives a (480, 480, 3) axial image and
        (310, 480, 3) coronal and sagittal images, or (480, 480, 3) for all three with canvas (480, 480).
    """
    options = options or ViewOptions()
    if volume.dtype != np.uint8 or volume.ndim != 3:
        raise ValueError(f"volume must be an (X, Y, Z) uint8 array of grey levels, got {volume.shape} {volume.dtype}")
    for name, layer in (("labels", labels), ("outline_labels", outline_labels), ("difference", difference)):
        if layer is not None and layer.shape != volume.shape:
            raise ValueError(f"{name} {layer.shape} do not match the volume {volume.shape}")
    if heat is not None and heat.levels.shape != volume.shape:
        raise ValueError(f"heat map {heat.levels.shape} does not match the volume {volume.shape}")
    shape = volume.shape
    for axis, (index, size) in enumerate(zip(cursor, shape, strict=True)):
        if not 0 <= index < size:
            raise ValueError(f"cursor {tuple(cursor)} is outside the volume {shape} on axis {'XYZ'[axis]}")
    grid = DisplayGrid.for_volume(shape, spacing, plane, pixels_per_mm, canvas)
    index = cursor[layout(plane).slice_axis]

    grey = _scale_grey(extract_slice(volume, plane, index), grid, options.interpolation)  # (H, W)

    def cut(layer: np.ndarray) -> np.ndarray:  # (X, Y, Z) -> (H, W), nearest-neighbour on the display grid
        # A contiguous copy of the (strided) native slice first: two takes along axes are much faster than
        # one fancy index into a view that jumps through the volume.
        native = np.ascontiguousarray(extract_slice(layer, plane, index))
        return native.take(grid.row_source, axis=0).take(grid.column_source, axis=1)

    # The first coloured layer lies on the grey image: one lookup in a (code, grey) colour table.
    rgb = None
    if heat is not None:
        rgb = lookup(heat_table(HEAT_OPACITY), cut(heat.levels), grey)  # (H, W, 3)
    if difference is not None:
        palette = difference_colors or DIFFERENCE_COLORS
        codes = cut(difference)
        if rgb is None:
            rgb = lookup(grey_color_table(tuple(palette.items()), options.opacity), codes, grey)
        else:
            rgb = blend_codes(rgb, codes, palette, options.opacity)
    elif labels is not None and options.fill:
        label_slice = cut(labels)
        if rgb is None:
            colors = tuple((SUBREGIONS[r], REGION_COLORS[r]) for r in FILL_REGIONS if r in options.fill)
            rgb = lookup(grey_color_table(colors, options.opacity, len(SUBREGIONS) + 1), label_slice, grey)
        else:
            rgb = blend_labels(rgb, label_slice, options.fill, options.opacity)
    if rgb is None:
        rgb = np.repeat(grey[:, :, None], 3, axis=2)  # (H, W, 3)
    outlined = labels if outline_labels is None else outline_labels
    if outlined is not None and options.outline:
        # About 1 mm wide on a BraTS view (2 px at 480 px), so that outlines survive the browser's downscaling.
        thickness = max(1, round(max(grid.canvas) / 240))
        rgb = draw_outlines(rgb, cut(outlined), options.outline, thickness)
    top, left = grid.offset
    shown = [line for line in lines if plane == "axial" and line.slice == index]
    if shown:
        rgb = _draw_lines(rgb, shown, grid, shape)
    if options.crosshair:
        row, column = grid.to_display(*voxel_to_native(cursor, shape, plane))
        draw_crosshair(rgb, row - top, column - left)
    if options.letters:
        rgb = draw_orientation_letters(rgb, plane, size=max(10, round(max(grid.canvas) * 0.05)))
    if grid.canvas == grid.size:
        return rgb
    framed = np.zeros((*grid.canvas, 3), dtype=np.uint8)
    framed[top : top + grid.size[0], left : left + grid.size[1]] = rgb
    return framed


def _draw_lines(rgb: np.ndarray, lines: list[AxialLine], grid: DisplayGrid, shape: tuple[int, ...]) -> np.ndarray:
    """``lines`` drawn on an axial slice image (H, W, 3) of the slice box (offsets already removed)."""
    image = Image.fromarray(rgb)
    draw = ImageDraw.Draw(image)
    width = max(2, round(max(grid.canvas) / 200))

    def pixel(x: float, y: float) -> tuple[float, float]:
        # Axial: columns run R -> L (x from its high end), rows A -> P (y from its high end); pixel centres.
        column = (shape[0] - 1 - x + 0.5) * grid.size[1] / grid.native[1] - 0.5
        row = (shape[1] - 1 - y + 0.5) * grid.size[0] / grid.native[0] - 0.5
        return column, row

    for line in lines:
        ends = [pixel(*end) for end in line.ends]
        draw.line(ends, fill=(0, 0, 0), width=width + 2)
        draw.line(ends, fill=line.color, width=width)
        for column, row in ends:
            radius = width + 1
            draw.ellipse((column - radius, row - radius, column + radius, row + radius), fill=line.color)
    return np.asarray(image).copy()


class CaseRenderer:
    """Fast views of one case: windows are computed and every sequence converted to uint8 once.

    Args:
        images: (4, X, Y, Z) float32 intensities, canonical RAS, channels in ``sequences`` order.
        spacing: voxel size (mm) along X, Y, Z.
        truth: (X, Y, Z) uint8 internal labels, or None.
        sequences: channel names (default T1, T1ce, T2, FLAIR).
        max_size: longest side of the largest view, in pixels. All three views share one canvas
            (:func:`brainseg.viz.slices.shared_canvas`) so that they line up on screen.

    Example:
        >>> renderer = CaseRenderer.from_case(case)          # ~0.5 s for a 240x240x155 case
        >>> views = renderer.render_all(renderer.center, "FLAIR")  # each slice change: a few ms
        >>> views["axial"].shape
        (480, 480, 3)
    """

    def __init__(
        self,
        images: np.ndarray,
        spacing: tuple[float, float, float],
        truth: np.ndarray | None = None,
        sequences: tuple[str, ...] = SEQUENCES,
        max_size: int = DEFAULT_MAX_SIZE,
    ) -> None:
        if images.ndim != 4 or images.shape[0] != len(sequences):
            raise ValueError(f"images must be ({len(sequences)}, X, Y, Z), got {images.shape}")
        self.shape: tuple[int, int, int] = tuple(int(n) for n in images.shape[1:])  # type: ignore[assignment]
        if truth is not None and truth.shape != self.shape:
            raise ValueError(f"truth {truth.shape} does not match the images {self.shape}")
        self.spacing = (float(spacing[0]), float(spacing[1]), float(spacing[2]))
        self.sequences = tuple(sequences)
        self.windows: dict[str, Window] = {name: brain_window(images[i]) for i, name in enumerate(sequences)}
        self.grey: dict[str, np.ndarray] = {
            name: self.windows[name].apply(images[i]) for i, name in enumerate(sequences)
        }
        self.truth = truth
        self.pixels_per_mm = fit_pixels_per_mm(self.shape, self.spacing, max_size)
        self.canvas = shared_canvas(self.shape, self.spacing, self.pixels_per_mm)
        self.grids = {
            plane: DisplayGrid.for_volume(self.shape, self.spacing, plane, self.pixels_per_mm, self.canvas)
            for plane in PLANES
        }

    @classmethod
    def from_case(cls, case: Case, max_size: int = DEFAULT_MAX_SIZE) -> CaseRenderer:
        """Build from a :class:`brainseg.io.Case` (its images, spacing and truth)."""
        return cls(case.images, case.spacing, case.truth, max_size=max_size)

    @property
    def center(self) -> tuple[int, int, int]:
        """The middle voxel of the volume."""
        return tuple(n // 2 for n in self.shape)  # type: ignore[return-value]

    def render(
        self,
        plane: str,
        cursor: tuple[int, int, int],
        sequence: str,
        options: ViewOptions | None = None,
        labels: np.ndarray | None = None,
        **layers: Unpack[ViewLayers],
    ) -> np.ndarray:
        """(H, W, 3) uint8 view of ``plane`` through ``cursor`` on ``sequence``; labels default to the truth.

        ``layers``: ``outline_labels``, ``difference`` and ``heat`` as :func:`render_view` takes them.
        """
        if sequence not in self.grey:
            raise ValueError(f"unknown sequence {sequence!r}; expected one of: {', '.join(self.sequences)}")
        return render_view(
            self.grey[sequence],
            plane,
            cursor,
            self.spacing,
            self.pixels_per_mm,
            self.truth if labels is None else labels,
            options,
            self.canvas,
            **layers,
        )

    def render_all(
        self,
        cursor: tuple[int, int, int],
        sequence: str,
        options: ViewOptions | None = None,
        labels: np.ndarray | None = None,
        **layers: Unpack[ViewLayers],
    ) -> dict[str, np.ndarray]:
        """Tri-planar views through ``cursor``: plane name -> (H, W, 3) uint8 image (``layers`` as :meth:`render`)."""
        return {plane: self.render(plane, cursor, sequence, options, labels, **layers) for plane in PLANES}
