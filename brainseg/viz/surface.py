"""A light 3D view of a segmentation: blocky voxel-face meshes of each region on a coarse grid, for plotly.

A BraTS case at full resolution would give meshes of millions of triangles; a region is first reduced
to blocks of ``step`` voxels (a block belongs to the region when a third of its voxels do), and only
the faces between a region block and a non-region block become triangles. A 45 mL tumor at ``step`` 3
gives a few thousand triangles: light enough to send to a browser after every run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from brainseg.labels import REGIONS
from brainseg.viz.overlay import REGION_COLORS

if TYPE_CHECKING:
    import plotly.graph_objects as go

BLOCK_SHARE = 1 / 3
"""A coarse block belongs to a region when at least this share of its voxels do."""
FIGURE_HEIGHT = 440


def downsample_mask(mask: np.ndarray, step: int) -> np.ndarray:
    """(X, Y, Z) bool -> (ceil(X/step), ceil(Y/step), ceil(Z/step)) bool, block share >= :data:`BLOCK_SHARE`.

    A region smaller than one block's share keeps its blocks that hold any voxel, so small lesions stay visible.
    """
    if step < 1:
        raise ValueError(f"step must be at least 1 voxel, got {step}")
    if step == 1:
        return mask.astype(bool)
    pads = [(0, (-n) % step) for n in mask.shape]
    padded = np.pad(mask.astype(np.float32), pads)
    x, y, z = (n // step for n in padded.shape)
    share: np.ndarray = padded.reshape(x, step, y, step, z, step).mean(axis=(1, 3, 5))  # (x, y, z)
    blocks = share >= BLOCK_SHARE
    return blocks if blocks.any() else share > 0


def voxel_faces(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of a 3D bool mask as triangles (two per exposed voxel face).

    Returns:
        vertices: (V, 3) float32 voxel-corner coordinates (a voxel i spans i .. i + 1 on each axis).
        faces: (F, 3) int32 vertex indices.
    """
    padded = np.pad(mask.astype(bool), 1)
    quads = []
    for axis in range(3):
        for direction in (1, -1):
            neighbour = np.roll(padded, -direction, axis=axis)
            exposed = np.argwhere(padded & ~neighbour) - 1  # (N, 3) voxels of the unpadded mask
            if not len(exposed):
                continue
            # The face's plane lies at the voxel's far (direction 1) or near (direction -1) corner on `axis`.
            base = exposed.astype(np.int32)
            base[:, axis] += 1 if direction == 1 else 0
            u, v = [a for a in range(3) if a != axis]
            corners = np.repeat(base[:, None, :], 4, axis=1)  # (N, 4, 3)
            corners[:, 1, u] += 1
            corners[:, 2, u] += 1
            corners[:, 2, v] += 1
            corners[:, 3, v] += 1
            quads.append(corners)
    if not quads:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    corners = np.concatenate(quads)  # (Q, 4, 3)
    vertices, index = np.unique(corners.reshape(-1, 3), axis=0, return_inverse=True)
    index = index.reshape(-1, 4)  # (Q, 4)
    faces = np.concatenate([index[:, [0, 1, 2]], index[:, [0, 2, 3]]]).astype(np.int32)  # (2Q, 3)
    return vertices.astype(np.float32), faces


def region_mesh(
    mask: np.ndarray, spacing: Sequence[float], step: int
) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """Mesh of an (X, Y, Z) mask on blocks of ``step`` voxels, vertices in mm (RAS axes), or (None, None)."""
    blocks = downsample_mask(mask, step)
    if not blocks.any():
        return None, None
    vertices, faces = voxel_faces(blocks)
    return vertices * (np.asarray(spacing, np.float32) * step), faces


def auto_step(shape: Sequence[int], cells: int = 80) -> int:
    """Block size that leaves about ``cells`` blocks along the longest axis (3 for a 240-voxel BraTS axis)."""
    return max(1, round(max(shape) / cells))


def segmentation_figure(
    labels: np.ndarray,
    spacing: Sequence[float],
    brain: np.ndarray | None = None,
    truth: np.ndarray | None = None,
    step: int | None = None,
) -> go.Figure:
    """A plotly figure of the predicted sub-regions (NCR, ED, ET) in 3D, the brain as a faint shell.

    Args:
        labels: (X, Y, Z) uint8 internal labels, canonical RAS.
        spacing: voxel size in mm along X, Y, Z.
        brain: (X, Y, Z) bool brain mask for context (drawn at twice the block size), or None.
        truth: (X, Y, Z) uint8 internal truth labels; its whole tumor is added, hidden until clicked in the legend.
        step: block size in voxels (default :func:`auto_step`).

    Returns:
        ``plotly.graph_objects.Figure``; axes in mm along the RAS voxel axes.
    """
    import plotly.graph_objects as go  # imported on first use: the viewer alone never needs plotly

    step = step or auto_step(labels.shape)
    traces = []

    def add(mask: np.ndarray, name: str, color: tuple[int, int, int], opacity: float, block: int, **extra: Any) -> None:
        vertices, faces = region_mesh(mask, spacing, block)
        if vertices is None or faces is None:
            return
        traces.append(
            go.Mesh3d(
                x=vertices[:, 0],
                y=vertices[:, 1],
                z=vertices[:, 2],
                i=faces[:, 0],
                j=faces[:, 1],
                k=faces[:, 2],
                name=name,
                color=f"rgb{tuple(color)}",
                opacity=opacity,
                showlegend=True,
                hoverinfo="name",
                flatshading=False,
                **extra,
            )
        )

    if brain is not None:
        add(brain, "brain", (190, 190, 190), 0.08, 2 * step)
    for region, opacity in (("ED", 0.3), ("NCR", 0.95), ("ET", 0.85)):
        add(np.isin(labels, REGIONS[region]), f"predicted {region}", REGION_COLORS[region], opacity, step)
    if truth is not None:
        add(np.isin(truth, REGIONS["WT"]), "truth WT", REGION_COLORS["WT"], 0.25, step, visible="legendonly")
    figure = go.Figure(traces)
    axis = {"backgroundcolor": "#0b0f19", "gridcolor": "#333", "color": "#bbb", "showspikes": False}
    figure.update_layout(
        height=FIGURE_HEIGHT,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        paper_bgcolor="#0b0f19",
        font={"color": "#ddd"},
        legend={"orientation": "h", "y": 0.02, "x": 0.01},
        scene={
            "aspectmode": "data",
            "xaxis": {**axis, "title": "L → R mm"},
            "yaxis": {**axis, "title": "P → A mm"},
            "zaxis": {**axis, "title": "I → S mm"},
            # Far enough that the axis titles stay inside the plot at any width (closer, they were clipped).
            "camera": {"eye": {"x": -1.9, "y": 1.65, "z": 1.1}},
        },
    )
    if not any(t.name.startswith("predicted") for t in traces):
        figure.add_annotation(text="empty prediction: no tumor voxel", showarrow=False, x=0.5, y=0.5)
    return figure
