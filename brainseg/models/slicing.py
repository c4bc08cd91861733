"""The 2D slice adapter of the slice-wise variants: a volume as a batch of axial slices (with neighbouring
slices as channels) and back. Used by the 2D models and by the inference that runs them on whole volumes.
"""

from __future__ import annotations

import torch


def volume_to_slices(volume: torch.Tensor, context_slices: int = 0) -> torch.Tensor:
    """Axial slices of a volume with their neighbours as channels.

    Args:
        volume: (B, C, X, Y, Z), Z the axial axis (RAS volumes).
        context_slices: k neighbours on each side; the first and last slices repeat at the edges.

    Returns:
        (B * Z, C * (2k + 1), X, Y), slice-major (volume b's slices are rows b * Z .. b * Z + Z - 1);
        channels are ordered offset -k .. +k, each offset holding the C sequences.
    """
    b, c, x, y, z = volume.shape
    offsets = torch.arange(-context_slices, context_slices + 1, device=volume.device)
    index = (torch.arange(z, device=volume.device)[:, None] + offsets).clamp(0, z - 1)  # (Z, 2k + 1)
    stacked = volume[..., index]  # (B, C, X, Y, Z, 2k + 1)
    return stacked.permute(0, 4, 5, 1, 2, 3).reshape(b * z, len(offsets) * c, x, y)  # (B * Z, (2k + 1) C, X, Y)


def slices_to_volume(slices: torch.Tensor, batch: int) -> torch.Tensor:
    """Inverse stacking: (B * Z, C, X, Y) -> (B, C, X, Y, Z), contiguous."""
    bz, c, x, y = slices.shape
    return slices.reshape(batch, bz // batch, c, x, y).permute(0, 2, 3, 4, 1).contiguous()  # (B, C, X, Y, Z)
