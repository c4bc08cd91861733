"""One PNG of what the screen shows: rows of views under a few caption lines (for reports and review records)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

GAP = 6
"""Pixels between views and around the sheet."""


def compose_snapshot(
    rows: Sequence[Sequence[np.ndarray]], caption: Sequence[str] = (), font_size: int = 16
) -> Image.Image:
    """Lay views out in rows (left-aligned, black gaps) below ``caption`` lines of white text.

    Args:
        rows: each a sequence of (H, W, 3) uint8 RGB views; empty rows are skipped.
        caption: lines written at the top (case, model, prompt, overlay, time).

    Returns:
        An RGB ``PIL.Image``.
    """
    rows = [list(row) for row in rows if len(row)]
    if not rows:
        raise ValueError("a snapshot needs at least one view")
    font = ImageFont.load_default(size=font_size)
    line_height = font_size + 6
    width = max(sum(view.shape[1] for view in row) + GAP * (len(row) + 1) for row in rows)
    height = GAP + len(caption) * line_height + sum(max(v.shape[0] for v in row) + GAP for row in rows)
    sheet = Image.new("RGB", (width, height), (0, 0, 0))
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for line in caption:
        draw.text((GAP, y), line, font=font, fill=(235, 235, 235))
        y += line_height
    for row in rows:
        x = GAP
        for view in row:
            sheet.paste(Image.fromarray(np.ascontiguousarray(view)), (x, y))
            x += view.shape[1] + GAP
        y += max(v.shape[0] for v in row) + GAP
    return sheet


def case_figure(
    images: np.ndarray,
    spacing: tuple[float, float, float],
    labels: np.ndarray,
    caption: Sequence[str] = (),
    sequences: Sequence[str] = ("FLAIR", "T1ce"),
    max_size: int = 320,
) -> Image.Image:
    """Tri-planar overlays of ``labels`` through the tumor's centre, one row per background sequence.

    Args:
        images: (4, X, Y, Z) intensities, canonical RAS, channels T1, T1ce, T2, FLAIR.
        spacing: voxel size (mm) along X, Y, Z.
        labels: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET) on the same grid.
        caption: lines above the views.
        sequences: background of each row.
        max_size: longest side of a view in pixels.

    Without tumor the views go through the middle of the volume (and the caption should say so).
    """
    from brainseg.viz.case_renderer import CaseRenderer  # imported here: the app imports this module for its export
    from brainseg.viz.slices import tumor_cursor

    renderer = CaseRenderer(images, spacing, max_size=max_size)
    cursor = tumor_cursor(labels) or renderer.center
    rows = [list(renderer.render_all(cursor, sequence, labels=labels).values()) for sequence in sequences]
    return compose_snapshot(rows, caption, font_size=14)
