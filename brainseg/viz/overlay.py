"""Draw label maps over grey images: filled sub-regions, region outlines, crosshair lines.

Colours come from one table, :data:`REGION_COLORS`, keyed by the region names of
:mod:`brainseg.labels` (sub-regions NCR, ED, ET are filled; evaluation regions WT, TC, ET outlined).
All functions take and return (H, W, 3) uint8 RGB images and (H, W) uint8 internal label maps
(0 background, 1 NCR, 2 ED, 3 ET) on the same pixel grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from brainseg.labels import EVALUATION_REGIONS, REGIONS, SUBREGIONS

REGION_COLORS: dict[str, tuple[int, int, int]] = {
    "NCR": (235, 64, 52),  # red: necrotic / non-enhancing core
    "ED": (64, 200, 96),  # green: edema
    "ET": (255, 214, 0),  # yellow: enhancing tumor (also its outline)
    "WT": (72, 160, 255),  # blue outline: whole tumor
    "TC": (255, 112, 208),  # pink outline: tumor core
}
"""Region name -> RGB colour; the only colour table of the package."""

FILL_REGIONS: tuple[str, ...] = tuple(SUBREGIONS)
"""Regions that can be filled: the disjoint sub-regions NCR, ED, ET."""
OUTLINE_REGIONS: tuple[str, ...] = EVALUATION_REGIONS
"""Regions that can be outlined: the nested evaluation regions WT, TC, ET."""

CROSSHAIR_COLOR = (0, 229, 255)

AGREE, FALSE_POSITIVE, FALSE_NEGATIVE = 1, 2, 3
"""Codes of a difference map (0 where neither prediction nor truth has the region)."""
DIFFERENCE_COLORS: dict[int, tuple[int, int, int]] = {
    AGREE: (0, 200, 140),  # teal: prediction and truth agree (true positive)
    FALSE_POSITIVE: (255, 64, 64),  # red: predicted, not in the truth
    FALSE_NEGATIVE: (64, 140, 255),  # blue: in the truth, missed
}
DIFFERENCE_NAMES: dict[int, str] = {
    AGREE: "agree (TP)",
    FALSE_POSITIVE: "false positive",
    FALSE_NEGATIVE: "missed (FN)",
}


def _check(rgb: np.ndarray, labels: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if labels.shape != rgb.shape[:2]:
        raise ValueError(f"label map {labels.shape} does not match the image {rgb.shape[:2]}")


def _known(regions: Iterable[str], allowed: tuple[str, ...]) -> list[str]:
    regions = list(regions)
    unknown = [r for r in regions if r not in allowed]
    if unknown:
        raise ValueError(f"unknown region(s) {unknown}; expected some of: {', '.join(allowed)}")
    return regions


def blend_labels(rgb: np.ndarray, labels: np.ndarray, regions: Iterable[str], opacity: float) -> np.ndarray:
    """Fill sub-regions with their colour, blended over the image.

    Args:
        rgb: (H, W, 3) uint8 background image.
        labels: (H, W) uint8 internal labels on the same grid.
        regions: sub-regions to fill, a subset of NCR, ED, ET.
        opacity: 0 (image untouched) .. 1 (pure region colour on labelled pixels).

    Returns:
        A new (H, W, 3) uint8 image; pixels outside the chosen regions are copied unchanged.
    """
    _check(rgb, labels)
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be within 0..1, got {opacity}")
    out = rgb.copy()
    for region in _known(regions, FILL_REGIONS):
        mask = labels == SUBREGIONS[region]
        if opacity == 0 or not mask.any():
            continue
        color = np.array(REGION_COLORS[region], dtype=np.float32)
        under = out[mask].astype(np.float32)  # (N, 3)
        out[mask] = np.rint(under + opacity * (color - under)).astype(np.uint8)
    return out


def difference_map(pred: np.ndarray, truth: np.ndarray, region: str) -> np.ndarray:
    """Where a prediction and the truth agree or differ on ``region``.

    Args:
        pred, truth: internal label maps of one shape (any dimensions).
        region: WT, TC, ET, NCR or ED.

    Returns:
        uint8 codes of the same shape: 0 neither, :data:`AGREE`, :data:`FALSE_POSITIVE`, :data:`FALSE_NEGATIVE`.
    """
    if pred.shape != truth.shape:
        raise ValueError(f"prediction {pred.shape} and truth {truth.shape} differ in shape")
    _known([region], tuple(REGIONS))
    predicted, true = np.isin(pred, REGIONS[region]), np.isin(truth, REGIONS[region])
    codes = np.zeros(pred.shape, np.uint8)
    codes[predicted & true] = AGREE
    codes[predicted & ~true] = FALSE_POSITIVE
    codes[~predicted & true] = FALSE_NEGATIVE
    return codes


def blend_codes(
    rgb: np.ndarray, codes: np.ndarray, colors: dict[int, tuple[int, int, int]], opacity: float
) -> np.ndarray:
    """Fill each code of an (H, W) uint8 map with its colour (e.g. :data:`DIFFERENCE_COLORS`); a new image."""
    _check(rgb, codes)
    out = rgb.copy()
    for code, color in colors.items():
        mask = codes == code
        if opacity == 0 or not mask.any():
            continue
        under = out[mask].astype(np.float32)
        out[mask] = np.rint(under + opacity * (np.array(color, np.float32) - under)).astype(np.uint8)
    return out


@lru_cache(maxsize=32)
def grey_color_table(
    colors: tuple[tuple[int, tuple[int, int, int]], ...], opacity: float, size: int | None = None
) -> np.ndarray:
    """(codes, 256, 3) uint8: the colour of grey level g under code c, ``table[c, g]``.

    Codes without a colour keep the grey; the others blend as :func:`blend_labels` does, to the same
    values. Indexing ``table[codes, grey]`` colours a whole (H, W) slice in one lookup.

    Args:
        colors: (code, RGB) pairs, e.g. ``((1, (235, 64, 52)), (3, (255, 214, 0)))``.
        opacity: 0..1.
        size: number of codes (default: the largest code + 1).
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be within 0..1, got {opacity}")
    size = size or max((code for code, _ in colors), default=0) + 1
    grey = np.arange(256, dtype=np.float32)[:, None].repeat(3, axis=1)  # (256, 3)
    table = np.repeat(grey[None], size, axis=0)  # (codes, 256, 3)
    for code, color in colors:
        table[code] = grey + np.float32(opacity) * (np.array(color, np.float32) - grey)
    table = np.rint(table).astype(np.uint8)
    table.flags.writeable = False
    return table


def lookup(table: np.ndarray, codes: np.ndarray, grey: np.ndarray) -> np.ndarray:
    """``table[codes, grey]`` for a (codes, 256, 3) table and (H, W) uint8 maps, as a new (H, W, 3) uint8 image.

    One ``take`` on the flattened table: several times faster than the equivalent two-array fancy index.
    """
    index = (codes.astype(np.uint16) << 8) | grey  # (H, W): row of the (codes * 256, 3) table
    rgb: np.ndarray = np.take(table.reshape(-1, 3), index, axis=0)
    return rgb


def region_outline(mask: np.ndarray, thickness: int = 1) -> np.ndarray:
    """(H, W) bool: the inner band of ``mask``, ``thickness`` pixels wide.

    A pixel is on the outline when a path of ``thickness`` 4-neighbour steps leaves the mask (image
    edges count as outside); so a one-pixel outline is every mask pixel with a 4-neighbour outside it.
    """
    if thickness < 1:
        raise ValueError(f"outline thickness must be at least 1 pixel, got {thickness}")
    interior = mask
    for _ in range(thickness):
        padded = np.pad(interior, 1, constant_values=False)
        interior = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    return mask & ~interior


def draw_outlines(rgb: np.ndarray, labels: np.ndarray, regions: Iterable[str], thickness: int = 1) -> np.ndarray:
    """Draw the outline of each region (WT, TC, ET) in its colour, opaque; returns a new image.

    Args:
        thickness: outline width in pixels, drawn inside the region.

    Outlines are drawn in the order given, so later regions sit on top where outlines coincide.
    """
    _check(rgb, labels)
    out = rgb.copy()
    for region in _known(regions, OUTLINE_REGIONS):
        mask = np.isin(labels, REGIONS[region])
        out[region_outline(mask, thickness)] = REGION_COLORS[region]
    return out


def draw_crosshair(
    rgb: np.ndarray,
    row: int,
    column: int,
    color: tuple[int, int, int] = CROSSHAIR_COLOR,
    opacity: float = 0.6,
    gap: int = 6,
) -> np.ndarray:
    """Draw a horizontal line through ``row`` and a vertical one through ``column``, in place.

    A gap of ``gap`` pixels on each side of the crossing keeps the pointed-at voxel visible.

    Args:
        rgb: (H, W, 3) uint8 image, modified in place and returned.
        row, column: display pixel of the crossing (lines outside the image are skipped).
    """
    height, width = rgb.shape[:2]
    color_array = np.array(color, dtype=np.float32)

    def paint(region: np.ndarray) -> None:
        region[...] = np.rint(region + opacity * (color_array - region)).astype(np.uint8)

    if 0 <= row < height:
        for start, stop in ((0, column - gap), (column + gap + 1, width)):
            if stop > start:
                paint(rgb[row, max(start, 0) : min(stop, width)])
    if 0 <= column < width:
        for start, stop in ((0, row - gap), (row + gap + 1, height)):
            if stop > start:
                paint(rgb[max(start, 0) : min(stop, height), column])
    return rgb
