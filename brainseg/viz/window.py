"""Intensity windows: map MRI intensities (arbitrary units, per sequence) to 8-bit grey levels.

MRI intensities have no absolute scale, so each sequence gets its own window from the percentiles of
its brain voxels (nonzero voxels: BraTS-style data is skull-stripped with a zero background). The
window is computed once per case and the whole volume is converted to uint8 once, so that showing
another slice only indexes an array already in memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

DEFAULT_PERCENTILES = (0.5, 99.5)


@dataclass(frozen=True)
class Window:
    """A linear grey-level window: ``low`` shows black (0), ``high`` white (255).

    Attributes:
        low: intensity mapped to 0 (values below clip to 0).
        high: intensity mapped to 255 (values above clip to 255); ``high > low``.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.low) and np.isfinite(self.high) and self.high > self.low):
            raise ValueError(f"window needs finite low < high, got low={self.low}, high={self.high}")

    def apply(self, volume: np.ndarray) -> np.ndarray:
        """Array of any shape (intensities) -> uint8 array of the same shape (grey levels 0..255)."""
        scale = np.float32(255.0 / (self.high - self.low))
        grey = (np.asarray(volume, dtype=np.float32) - np.float32(self.low)) * scale
        np.clip(grey, 0, 255, out=grey)
        # Round half up (values are non-negative here), so low + (high - low) / 2 maps to 128.
        grey += np.float32(0.5)
        return grey.astype(np.uint8)


def brain_window(volume: np.ndarray, percentiles: Sequence[float] = DEFAULT_PERCENTILES) -> Window:
    """Window from the ``percentiles`` (low, high) of the brain (nonzero, finite) voxels of ``volume``.

    Args:
        volume: (X, Y, Z) intensities of one sequence, any real dtype.
        percentiles: (low, high) percentiles in [0, 100], low < high.

    Returns:
        The window. A volume with no nonzero voxels gets (0, 1); one whose brain voxels are all equal
        gets a window of width 1 centred on that value, so it shows mid grey rather than failing.
    """
    low_pct, high_pct = percentiles
    if not 0 <= low_pct < high_pct <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {tuple(percentiles)}")
    values = np.asarray(volume)
    brain = values[(values != 0) & np.isfinite(values)]
    if brain.size == 0:
        return Window(0.0, 1.0)
    low, high = (float(v) for v in np.percentile(brain, [low_pct, high_pct]))
    if high <= low:
        return Window(low - 0.5, low + 0.5)
    return Window(low, high)
