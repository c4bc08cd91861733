"""The Compare tab: several variants on the case on screen, side by side, with their agreement.

:func:`run_comparison` segments the case with each chosen variant (as Segment does, every region) and fuses
them (:func:`brainseg.inference.fusion.fuse`, majority vote). :func:`grid_image` draws one row of tri-planar
views per variant and a last row of the agreement map, all through the main views' cursor (one crosshair
for all); the main sliders and clicks move it. Tables: each variant's volumes and time, and the pairwise
Dice between variants per region.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from brainseg.errors import BrainSegError
from brainseg.inference.fusion import Fusion, fuse
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.metrics.volume import volume_ml
from brainseg.ui.model_menu import ModelChoice
from brainseg.ui.segmentation import SegmenterFactory
from brainseg.viz import PLANES, ViewOptions
from brainseg.viz.overlay import AGREE, DIFFERENCE_COLORS

ROW_HEIGHT = 200
"""Pixel height of one row of the comparison grid (each view scaled to it)."""
TEAL = DIFFERENCE_COLORS[AGREE]
"""Where every variant agrees (the difference overlay's agreement colour)."""
LABEL_BAR = 22
"""Height (pixels) of each row's caption."""


@dataclass(frozen=True)
class Comparison:
    """Several variants' segmentations of one case and their fusion.

    Attributes:
        members: variant names, in the order run.
        labels: per member, (X, Y, Z) uint8 internal labels, canonical RAS.
        fusion: their majority-vote fusion (agreement counts, pairwise Dice).
        seconds: per member, the segmentation time (s).
        volumes_ml: per member, region (WT, TC, ET) -> mL.
    """

    members: tuple[str, ...]
    labels: tuple[np.ndarray, ...]
    fusion: Fusion
    seconds: tuple[float, ...]
    volumes_ml: tuple[dict[str, float], ...]


def run_comparison(
    loaded_case,
    choices: Sequence[ModelChoice],
    segmenters: SegmenterFactory,
    progress: Callable[[float, str], None] | None = None,
) -> Comparison:
    """Segment the case with each choice (two or more) and fuse them.

    Raises:
        BrainSegError: fewer than two variants, a variant without a checkpoint, or what a segmenter refuses.
    """
    if len(choices) < 2:
        raise BrainSegError("pick two or more variants to compare")
    report = progress or (lambda fraction, message: None)
    case = loaded_case.case
    results, seconds = [], []
    for index, choice in enumerate(choices):
        report(index / len(choices), f"Segmenting with {choice.name} ({index + 1} of {len(choices)})")
        segmenter = segmenters(choice.require())
        start = time.perf_counter()
        results.append(segmenter.segment(case))
        seconds.append(time.perf_counter() - start)
    report(0.95, "Fusing and comparing")
    names = [choice.name for choice in choices]
    fusion = fuse(results, names)
    volumes = tuple(
        {region: volume_ml(region_mask(r.labels, region), case.spacing) for region in EVALUATION_REGIONS}
        for r in results
    )
    return Comparison(tuple(names), tuple(r.labels for r in results), fusion, tuple(seconds), volumes)


def grid_image(loaded_case, comparison: Comparison, cursor: tuple[int, int, int], display, region: str) -> np.ndarray:
    """(H, W, 3) uint8: a row of axial, coronal and sagittal views per member (its labels filled), then the
    agreement row for ``region`` (coloured by how many members call the voxel the region, :func:`count_colors`),
    all through ``cursor`` on the display's sequence."""
    renderer = loaded_case.renderer
    options = ViewOptions(fill=display.fill, outline=(), opacity=display.opacity, crosshair=display.crosshair)
    rows = []
    for name, labels, seconds in zip(comparison.members, comparison.labels, comparison.seconds, strict=True):
        views = renderer.render_all(cursor, display.sequence, options, labels)
        rows.append(_row([views[p] for p in PLANES], f"{name} ({seconds:.1f} s)"))
    count = comparison.fusion.agreement[EVALUATION_REGIONS.index(region)]
    members = len(comparison.members)
    plain = ViewOptions(fill=(), outline=(), crosshair=display.crosshair)
    views = renderer.render_all(
        cursor, display.sequence, plain, None, difference=count, difference_colors=count_colors(members)
    )
    caption = f"agreement on {region}: teal all {members} variants; red {members - 1} ... yellow 1"
    rows.append(_row([views[p] for p in PLANES], caption))
    return np.concatenate(rows, axis=0)


def count_colors(members: int) -> dict[int, tuple[int, int, int]]:
    """How many variants call a voxel the region -> colour: teal for all, red (all but one) to yellow (one)."""
    colors = {members: TEAL}
    for k in range(1, members):
        share = (k - 1) / max(members - 2, 1)  # 0 for one variant, 1 for all but one
        colors[k] = (255, round(230 * (1 - share)), 40)
    return colors


def _row(views: list[np.ndarray], caption: str) -> np.ndarray:
    """Three views scaled to :data:`ROW_HEIGHT` side by side, under a caption bar."""
    scaled = [Image.fromarray(v).resize((round(v.shape[1] * ROW_HEIGHT / v.shape[0]), ROW_HEIGHT)) for v in views]
    width = sum(image.width for image in scaled)
    row = Image.new("RGB", (width, ROW_HEIGHT + LABEL_BAR), (24, 24, 24))
    left = 0
    for image in scaled:
        row.paste(image, (left, LABEL_BAR))
        left += image.width
    ImageDraw.Draw(row).text((6, 3), caption, fill=(235, 235, 235), font=ImageFont.load_default(size=15))
    return np.asarray(row)


def volume_rows(comparison: Comparison, spacing: tuple[float, float, float]) -> tuple[list[str], list[list]]:
    """(headers, rows): each member's WT, TC, ET volumes (mL) and time (s), then the majority fusion's volumes."""
    headers = ["variant", "WT mL", "TC mL", "ET mL", "seconds"]
    rows: list[list] = [
        [name, *(round(v[r], 1) for r in EVALUATION_REGIONS), round(s, 1)]
        for name, v, s in zip(comparison.members, comparison.volumes_ml, comparison.seconds, strict=True)
    ]
    fused = comparison.fusion.labels
    rows.append(
        ["majority fusion", *(round(volume_ml(region_mask(fused, r), spacing), 1) for r in EVALUATION_REGIONS), ""]
    )
    return headers, rows


def dice_rows(comparison: Comparison) -> tuple[list[str], list[list]]:
    """(headers, rows): per pair of members, the Dice of WT, TC and ET between them."""
    pairs = list(comparison.fusion.pairwise_dice["WT"])
    dice = comparison.fusion.pairwise_dice
    rows = [[pair, *(round(dice[r][pair], 3) for r in EVALUATION_REGIONS)] for pair in pairs]
    return ["pair", "Dice WT", "Dice TC", "Dice ET"], rows
