"""Continuous maps (attention, uncertainty) over the anatomy: quantize once, colour a slice, draw a colorbar.

A map is quantized to a uint8 volume once (:meth:`HeatVolume.from_values`), so that a slice change only
indexes, looks up 256 colours and blends, like the grey images of :class:`brainseg.viz.CaseRenderer`.
Low values stay transparent: the blend weight grows with the value, so the anatomy shows where the map
is zero.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from functools import cache

import numpy as np

DEFAULT_COLORMAP = "inferno"
"""Perceptually uniform, dark at 0 and bright yellow at 1: low values fade into the anatomy."""
HEAT_OPACITY = 0.8
"""Blend weight of the highest value; a value v is blended with weight ``HEAT_OPACITY * v``."""


@cache
def colormap_lut(name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(256, 3) uint8 RGB colours of a matplotlib colormap, index 0 = value 0."""
    from matplotlib import colormaps  # imported on first use: a slow import the viewer alone never needs

    if name not in colormaps:
        raise ValueError(f"unknown colormap {name!r}; expected a matplotlib colormap name such as 'inferno'")
    rgba: np.ndarray = colormaps[name](np.linspace(0.0, 1.0, 256))  # (256, 4) float in [0, 1]
    return np.rint(rgba[:, :3] * 255).astype(np.uint8)


@dataclass(frozen=True)
class HeatVolume:
    """A continuous map ready to show.

    Attributes:
        levels: (X, Y, Z) uint8, 0..255 for ``low``..``high``, canonical RAS (the case's grid).
        low: value shown as level 0 (and below).
        high: value shown as level 255 (and above); ``high > low``.
        title: what the map is, for the colorbar, e.g. ``semantic attention``.
        unit: unit of the values (``""`` for fractions).
    """

    levels: np.ndarray
    low: float
    high: float
    title: str
    unit: str = ""

    @classmethod
    def from_values(
        cls, values: np.ndarray, title: str, low: float = 0.0, high: float | None = None, unit: str = ""
    ) -> HeatVolume:
        """Quantize an (X, Y, Z) float map; ``high`` defaults to its maximum (1 when the map is all ``low``)."""
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 3:
            raise ValueError(f"a heat map must be an (X, Y, Z) array, got shape {values.shape}")
        if high is None:
            top = float(np.nanmax(values)) if values.size else low
            high = top if top > low else low + 1.0
        if not high > low:
            raise ValueError(f"heat map range needs low < high, got low={low}, high={high}")
        scaled = (values - np.float32(low)) * np.float32(255.0 / (high - low))
        np.nan_to_num(scaled, copy=False, nan=0.0)
        np.clip(scaled, 0, 255, out=scaled)
        return cls(np.rint(scaled).astype(np.uint8), float(low), float(high), title, unit)


def blend_heat(
    rgb: np.ndarray, levels: np.ndarray, lut: np.ndarray | None = None, opacity: float = HEAT_OPACITY
) -> np.ndarray:
    """Blend a quantized map over an image; returns a new image.

    Args:
        rgb: (H, W, 3) uint8 background.
        levels: (H, W) uint8 map levels on the same pixel grid.
        lut: (256, 3) uint8 colours (default :func:`colormap_lut`).
        opacity: weight of level 255; level ``l`` is blended with weight ``opacity * l / 255``.
    """
    if levels.shape != rgb.shape[:2]:
        raise ValueError(f"heat map slice {levels.shape} does not match the image {rgb.shape[:2]}")
    lut = colormap_lut() if lut is None else lut
    weight = levels.astype(np.float32) * np.float32(opacity / 255.0)  # (H, W)
    under = rgb.astype(np.float32)
    out: np.ndarray = under + weight[:, :, None] * (lut[levels].astype(np.float32) - under)
    return np.rint(out).astype(np.uint8)


@cache
def heat_table(opacity: float = HEAT_OPACITY, name: str = DEFAULT_COLORMAP) -> np.ndarray:
    """(256 levels, 256 grey, 3) uint8: :func:`blend_heat` of every level over every grey, ``table[level, grey]``."""
    lut = colormap_lut(name).astype(np.float32)  # (256, 3)
    weight = np.arange(256, dtype=np.float32) * np.float32(opacity / 255.0)  # (256,)
    grey = np.arange(256, dtype=np.float32)[None, :, None]  # (1, 256, 1)
    table = grey + weight[:, None, None] * (lut[:, None, :] - grey)  # (256, 256, 3)
    table = np.rint(table).astype(np.uint8)
    table.flags.writeable = False
    return table


def colorbar_html(heat: HeatVolume, lut: np.ndarray | None = None, stops: int = 11) -> str:
    """A horizontal colorbar (HTML) for ``heat``: the gradient, its title and the values at both ends and middle."""
    lut = colormap_lut() if lut is None else lut
    positions = np.linspace(0, 255, stops).round().astype(int)
    gradient = ", ".join(
        f"rgb({r},{g},{b}) {100 * p / 255:.0f}%" for p, (r, g, b) in zip(positions, lut[positions], strict=True)
    )
    unit = f" {heat.unit}" if heat.unit else ""
    middle = (heat.low + heat.high) / 2
    ticks = "".join(f"<span>{_format(v)}{unit}</span>" for v in (heat.low, middle, heat.high))
    return (
        f'<div class="bs-colorbar"><div class="bs-colorbar-title">{html.escape(heat.title)}</div>'
        f'<div class="bs-colorbar-bar" style="background: linear-gradient(to right, {gradient});"></div>'
        f'<div class="bs-colorbar-ticks">{ticks}</div></div>'
    )


def _format(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
