"""Synthetic BraTS-like label maps for metric tests and the evaluate() benchmark.

A case is a 240x240x155 internal label map (0 bg, 1 NCR, 2 ED, 3 ET) with an irregular main tumor
(edema around an enhancing rim around necrosis) and small satellites; the prediction is the truth
shifted, with a rough boundary, a missed satellite and a false-positive blob, so every metric is
non-trivial.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

BRATS_SHAPE = (240, 240, 155)


def _rough_ball(shape, center, radii, rng, roughness=0.35, sigma=4.0):
    """Bool mask of an ellipsoid whose radius varies smoothly by up to ``roughness`` of itself."""
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    r2 = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, center, radii, strict=True))
    noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma)
    noise /= np.abs(noise).max() + 1e-12
    return np.sqrt(r2) < 1.0 + roughness * noise


def tumor_labels(rng: np.random.Generator, shape=BRATS_SHAPE, center=(120, 110, 80), scale=1.0) -> np.ndarray:
    """(X, Y, Z) uint8 internal label map of one glioma-like tumor with two satellites."""
    labels = np.zeros(shape, np.uint8)
    c = np.array(center)
    half = (np.array([40, 40, 32]) * scale).astype(int)
    box = tuple(slice(max(ci - h, 0), min(ci + h, n)) for ci, h, n in zip(c, half, shape, strict=True))
    sub_shape = tuple(s.stop - s.start for s in box)
    local_c = tuple(ci - s.start for ci, s in zip(c, box, strict=True))
    wt = _rough_ball(sub_shape, local_c, np.array([30, 26, 22]) * scale, rng)
    tc = _rough_ball(sub_shape, local_c, np.array([16, 14, 12]) * scale, rng, roughness=0.25) & wt
    ncr = _rough_ball(sub_shape, local_c, np.array([10, 8, 7]) * scale, rng, roughness=0.2) & tc
    sub = np.zeros(sub_shape, np.uint8)
    sub[wt] = 2
    sub[tc] = 3
    sub[ncr] = 1
    labels[box] = sub
    # Satellites: one edema-only blob and one small enhancing focus away from the main mass.
    for offset, radius, value in (((45, 0, 0), 5, 2), ((0, -45, 10), 3, 3)):
        pos = tuple(int(ci + o) for ci, o in zip(c, offset, strict=True))
        grid = np.ogrid[tuple(slice(0, n) for n in shape)]
        ball = sum((g - p) ** 2 for g, p in zip(grid, pos, strict=True)) <= radius**2
        labels[ball] = value
    return labels


def predicted_from(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible imperfect prediction of ``truth``: shifted, roughened, one satellite missed, one FP blob."""
    pred = np.roll(truth, shift=(2, -1, 1), axis=(0, 1, 2))
    wt = pred > 0
    flips = ndimage.binary_dilation(wt) & ~ndimage.binary_erosion(wt) & (rng.random(truth.shape) < 0.3)
    pred[flips & wt] = 0
    grow = flips & ~wt
    pred[grow] = 2
    # Miss the enhancing satellite entirely.
    lab, n = ndimage.label(pred == 3)
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    for k in range(1, n + 1):
        if 0 < sizes[k] < 300:
            pred[lab == k] = 0
    # A false-positive enhancing blob far from the tumor.
    pred[30:36, 200:206, 20:25] = 3
    return pred


def case(seed: int = 0, shape=BRATS_SHAPE) -> tuple[np.ndarray, np.ndarray]:
    """(prediction, truth): uint8 internal label maps of ``shape``."""
    rng = np.random.default_rng(seed)
    truth = tumor_labels(rng, shape)
    return predicted_from(truth, rng), truth
