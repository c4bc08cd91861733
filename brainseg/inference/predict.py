"""Run a model over a whole case: one padded 3D forward, or batched axial slices for the 2D variants.

Every variant comes out the same: region logits (1, 3, X, Y, Z) for WT, TC, ET and attention maps at the
case's size. The prompted 2D variant (``film-unet2d``, one output) is run once per region with that
region's prompt and its answers stacked.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from brainseg.labels import EVALUATION_REGIONS, labels_from_regions
from brainseg.models import ModelOutput, SegmentationModel

SIZE_MULTIPLE = 16
REGION_PROMPTS = {
    "WT": "segment the whole tumor",
    "TC": "segment the tumor core",
    "ET": "segment the enhancing tumor",
}
"""The prompt each region is asked with when a single-target variant must answer all three."""


def pad_spatial(volume: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> tuple[torch.Tensor, tuple[int, ...]]:
    """Zero-pad the trailing 3 axes of (B, C, X, Y, Z) up to multiples; returns the padded tensor and the sizes."""
    size = tuple(volume.shape[2:])
    pads: list[int] = []
    for n in reversed(size):
        pads += [0, (-n) % multiple]
    return F.pad(volume, pads), size


def _crop(tensor: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    return tensor[(..., *(slice(0, n) for n in size))].contiguous()


def _predict_3d(model: SegmentationModel, images: torch.Tensor, prompts: list[str] | None) -> ModelOutput:
    padded, size = pad_spatial(images)
    out = model(padded, prompts)
    return ModelOutput(_crop(out.logits, size), {k: _crop(v, size) for k, v in out.attention.items()})


def _slices(volume: torch.Tensor) -> torch.Tensor:
    """(1, C, X, Y, Z) -> (Z, C, X, Y) axial slices."""
    return volume[0].permute(3, 0, 1, 2).contiguous()


def _stack(slices: torch.Tensor) -> torch.Tensor:
    """(Z, C, X, Y) -> (1, C, X, Y, Z)."""
    return slices.permute(1, 2, 3, 0).unsqueeze(0).contiguous()


def _predict_2d(model: SegmentationModel, images: torch.Tensor, slice_batch: int) -> ModelOutput:
    padded, size = pad_spatial(images)
    slices = _slices(padded)
    outputs = [model(slices[i : i + slice_batch]) for i in range(0, len(slices), slice_batch)]
    logits = _stack(torch.cat([o.logits for o in outputs]))
    attention = {k: _stack(torch.cat([o.attention[k] for o in outputs])) for k in outputs[0].attention}
    return ModelOutput(_crop(logits, size), {k: _crop(v, size) for k, v in attention.items()})


def _predict_prompted_2d(model: SegmentationModel, images: torch.Tensor, slice_batch: int) -> ModelOutput:
    padded, size = pad_spatial(images)
    logits, attention = [], {}
    for region in EVALUATION_REGIONS:
        out = model.segment_volume(padded, [REGION_PROMPTS[region]], slice_batch=slice_batch)
        logits.append(out.logits)  # (1, 1, X, Y, Z)
        attention[region] = out.attention["semantic"]
    attention["semantic"] = torch.stack(list(attention.values())).mean(0)
    return ModelOutput(_crop(torch.cat(logits, dim=1), size), {k: _crop(v, size) for k, v in attention.items()})


@torch.no_grad()
def predict_volume(
    model: SegmentationModel, images: torch.Tensor, prompts: list[str] | None = None, slice_batch: int = 16
) -> ModelOutput:
    """Region logits and attention maps of a whole case.

    Args:
        model: any registered variant, in eval mode, on the device of ``images``.
        images: (1, 4, X, Y, Z) float32, RAS, normalized as the model's data contract says; any size
            (padded to multiples of 16 internally, results cropped back).
        prompts: passed to 3D variants (one string); 2D prompted variants ask each region with its prompt.
        slice_batch: axial slices per forward for 2D variants.

    Returns:
        ``logits`` (1, 3, X, Y, Z) for WT, TC, ET and ``attention`` maps (1, 1, X, Y, Z) in [0, 1].
    """
    if images.dim() != 5 or images.shape[0] != 1:
        raise ValueError(f"images must be (1, 4, X, Y, Z), got {tuple(images.shape)}")
    data = model.config.data
    if data.dims == 3:
        return _predict_3d(model, images, prompts)
    if list(data.outputs) == list(EVALUATION_REGIONS):
        return _predict_2d(model, images, slice_batch)
    return _predict_prompted_2d(model, images, slice_batch)


def logits_to_labels(logits: torch.Tensor, threshold: float = 0.5) -> np.ndarray:
    """(1, 3, X, Y, Z) WT/TC/ET logits -> (X, Y, Z) uint8 internal labels, regions forced to nest."""
    masks = (torch.sigmoid(logits[0].float()) > threshold).cpu().numpy()  # (3, X, Y, Z)
    return labels_from_regions(masks[0], masks[1], masks[2])
