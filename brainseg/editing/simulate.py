"""The simulated user of interactive-segmentation benchmarks: where the next corrective click goes.

The standard protocol (DeepIGeoS, nnInteractive, SAM-Med3D): compare the current segmentation with the truth
for one region, take the largest error component (misses and false positives, 26-connected), and click its
innermost voxel (the farthest from the component's border, in mm): ``+`` for a miss, ``-`` for a false
positive.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from brainseg.editing.refine import Click
from brainseg.labels import region_mask


def next_click(labels: np.ndarray, truth: np.ndarray, region: str, spacing: Sequence[float]) -> Click | None:
    """The click a simulated user makes on ``labels`` ((X, Y, Z) internal labels) to fix ``region``
    against ``truth`` (same shape); None when they agree."""
    predicted, true = region_mask(labels, region), region_mask(truth, region)
    best: tuple[int, np.ndarray, bool] | None = None
    for error, positive in ((true & ~predicted, True), (predicted & ~true, False)):
        components, count = ndimage.label(error, structure=np.ones((3, 3, 3), bool))
        if count == 0:
            continue
        sizes = np.bincount(components.ravel())[1:]
        largest = int(np.argmax(sizes))
        if best is None or sizes[largest] > best[0]:
            best = (int(sizes[largest]), components == largest + 1, positive)
    if best is None:
        return None
    _, component, positive = best
    found = np.argwhere(component)
    low, high = found.min(axis=0), found.max(axis=0) + 1
    crop = component[tuple(slice(a, b) for a, b in zip(low, high, strict=True))]
    padded = np.pad(crop, 1)  # the box's (and the volume's) edge counts as the component's border
    depth = ndimage.distance_transform_edt(padded, sampling=tuple(float(s) for s in spacing))[1:-1, 1:-1, 1:-1]
    voxel = np.unravel_index(int(np.argmax(depth)), crop.shape) + low
    return Click((int(voxel[0]), int(voxel[1]), int(voxel[2])), positive, region)
