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
