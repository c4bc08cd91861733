"""Run a network over one whole case on a device: the whole volume at once, sliding windows, or axial slices.

3D variants see the whole zero-padded volume when it fits :attr:`RunConfig.max_voxels`, otherwise MONAI's
``sliding_window_inference`` (Gaussian blending) with windows of :attr:`RunConfig.roi_size`; their attention
maps are blended the same way as the logits. 2D variants run batches of axial slices
(:func:`brainseg.inference.forward.predict_volume`). On CUDA everything runs under bf16 (or fp16) autocast;
results come back as float32 numpy arrays on the CPU.

Test-time mirroring: a pass may mirror the input along the left-right axis (axis 0 of canonical RAS arrays,
the one axis along which a brain is roughly symmetric) and mirror its outputs back.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from brainseg.inference.device import autocast
from brainseg.inference.forward import SIZE_MULTIPLE, predict_volume
from brainseg.labels import EVALUATION_REGIONS
from brainseg.models import SegmentationModel

LEFT_RIGHT_AXIS = 0
"""Canonical RAS axis 0 runs left -> right: mirroring along it is the anatomically plausible flip."""

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RunConfig:
    """How a network is run over a case.

    Attributes:
        max_voxels: 3D variants run on the whole padded volume up to this many voxels, in sliding windows
            above it. The default (2**24, 16.8 M) takes a whole BraTS case (240 x 240 x 160 = 9.2 M) at once,
            which the demo sizes do in seconds on a CPU; lower it for large models on small GPUs.
        roi_size: sliding-window size (X, Y, Z), each a multiple of 16.
        overlap: sliding-window overlap fraction in [0, 1).
        sw_batch_size: windows per forward.
        slice_batch: axial slices per forward for 2D variants.
    """

    max_voxels: int = 2**24
    roi_size: tuple[int, int, int] = (128, 128, 128)
    overlap: float = 0.25
    sw_batch_size: int = 1
    slice_batch: int = 16

    def __post_init__(self) -> None:
        if isinstance(self.max_voxels, bool) or not isinstance(self.max_voxels, int) or self.max_voxels < 1:
            raise ValueError(f"max_voxels must be a positive integer, got {self.max_voxels!r}")
        roi = tuple(self.roi_size)
        if len(roi) != 3 or any(not isinstance(n, int) or n < 1 or n % SIZE_MULTIPLE for n in roi):
            raise ValueError(f"roi_size must be three positive multiples of {SIZE_MULTIPLE}, got {self.roi_size!r}")
        if not 0.0 <= self.overlap < 1.0:
            raise ValueError(f"overlap must be in [0, 1), got {self.overlap!r}")
        if self.sw_batch_size < 1 or self.slice_batch < 1:
            raise ValueError(
                f"sw_batch_size and slice_batch must be at least 1, got {self.sw_batch_size}, {self.slice_batch}"
            )


@dataclass
class PassOutput:
    """One pass over a case.

    Attributes:
        probabilities: (3, X, Y, Z) float32 sigmoid of the WT, TC, ET logits (not yet nested).
        attention: name -> (X, Y, Z) float32 in [0, 1].
        seconds: wall time of the pass (transfer, network, sigmoid, back to the CPU).
    """

    probabilities: np.ndarray
    attention: dict[str, np.ndarray]
    seconds: float = 0.0


def describe_run(model: SegmentationModel, shape: Sequence[int], config: RunConfig) -> str:
    """One line for reports: how :func:`run_passes` will run ``model`` on a (X, Y, Z) case."""
    if model.config.data.dims == 2:
        return f"axial slices, {config.slice_batch} per forward"
    padded = padded_shape(model, shape)
    grid = "x".join(map(str, padded))
    if math.prod(padded) <= config.max_voxels:
        return f"whole volume at once (zero-padded to {grid}, cropped back)"
    roi = "x".join(map(str, config.roi_size))
    count = window_count(padded, config)
    return (
        f"sliding window: {count} windows of {roi}, overlap {config.overlap:g}, Gaussian blending "
        f"(volume zero-padded to {grid}, cropped back)"
    )


def _multiple(model: SegmentationModel) -> int:
    return int(getattr(model, "multiple", SIZE_MULTIPLE))


def padded_shape(model: SegmentationModel, shape: Sequence[int]) -> tuple[int, int, int]:
    """(X, Y, Z) as the network sees it: 3D variants pad every axis up to the model's multiple and to at least
    two multiples; 2D variants pad X and Y (axial slices), not Z.

    Why the 3D minimum: the 3D variants normalize per instance, which needs more than one voxel at the
    bottleneck (a 16^3 input has one); two multiples per axis costs nothing on real cases.
    """
    multiple = _multiple(model)
    if model.config.data.dims == 2:
        return (*(math.ceil(n / multiple) * multiple for n in shape[:2]), int(shape[2]))  # type: ignore[return-value]
    return tuple(max(2 * multiple, math.ceil(n / multiple) * multiple) for n in shape)  # type: ignore[return-value]


def window_count(padded: Sequence[int], config: RunConfig) -> int:
    """Number of windows MONAI's sliding window visits on a volume of size ``padded``."""
    count = 1
    for size, roi in zip(padded, config.roi_size, strict=True):
        if size > roi:
            interval = max(int(roi * (1 - config.overlap)), 1)
            count *= math.ceil((size - roi) / interval) + 1
    return count


def _pad_to(volume: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Zero-pad (B, C, X, Y, Z) at the end of each spatial axis up to ``shape``."""
    pads: list[int] = []
    for size, target in zip(reversed(volume.shape[2:]), reversed(tuple(shape)), strict=True):
        pads += [0, target - size]
    return F.pad(volume, pads)


def _crop(tensor: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    return tensor[(..., *(slice(0, n) for n in size))]


def _forward_3d(
    model: SegmentationModel, volume: torch.Tensor, config: RunConfig, on_step: Callable[[int, int], None]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """(1, 4, X, Y, Z) -> logits (1, C, X, Y, Z) float32 and attention maps (1, 1, X, Y, Z)."""
    size = tuple(volume.shape[2:])
    padded_size = padded_shape(model, size)
    padded = _pad_to(volume, padded_size)
    if math.prod(padded_size) <= config.max_voxels:
        out = model(padded)
        on_step(1, 1)
        logits, attention = out.logits.float(), {k: v.float() for k, v in out.attention.items()}
    else:
        from monai.inferers import sliding_window_inference

        total = window_count(padded_size, config)
        done = 0

        def predictor(windows: torch.Tensor) -> dict[str, torch.Tensor]:
            nonlocal done
            out = model(windows)
            done += windows.shape[0]
            on_step(min(done, total), total)
            return {"logits": out.logits.float(), **{f"attention/{k}": v.float() for k, v in out.attention.items()}}

        blended = sliding_window_inference(
            padded,
            roi_size=config.roi_size,
            sw_batch_size=config.sw_batch_size,
            predictor=predictor,
            overlap=config.overlap,
            mode="gaussian",
        )
        blended = {k: torch.as_tensor(v) for k, v in blended.items()}  # MetaTensor -> Tensor
        logits = blended.pop("logits")
        attention = {k.removeprefix("attention/"): v for k, v in blended.items()}
    return _crop(logits, size), {k: _crop(v, size) for k, v in attention.items()}


def _forward(
    model: SegmentationModel, volume: torch.Tensor, config: RunConfig, on_step: Callable[[int, int], None]
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    data = model.config.data
    if data.dims == 3:
        logits, attention = _forward_3d(model, volume, config, on_step)
        order = [list(data.outputs).index(region) for region in EVALUATION_REGIONS]
        return logits[:, order], attention
    # 2D: predict_volume pads to multiples of 16, runs slice batches and answers WT, TC, ET in that order.
    out = predict_volume(model, volume, slice_batch=config.slice_batch, on_step=on_step)
    return out.logits.float(), {k: v.float() for k, v in out.attention.items()}


@torch.no_grad()
def run_passes(
    model: SegmentationModel,
    images: np.ndarray,
    device: torch.device,
    config: RunConfig,
    mirrored: Sequence[bool] = (False,),
    progress: Progress | None = None,
) -> list[PassOutput]:
    """Run ``model`` over a case once per entry of ``mirrored``.

    Args:
        model: a variant in eval mode on ``device``.
        images: (4, X, Y, Z) float32, canonical RAS, channels and normalization as the model's data contract says.
        device: where to run; CUDA runs under bf16/fp16 autocast.
        config: whole volume, sliding window and slice batching settings.
        mirrored: per pass, whether the input is mirrored left-right (outputs are mirrored back).
        progress: ``(fraction in [0, 1], message)`` after every forward.

    Returns:
        One :class:`PassOutput` per pass, on the case's (X, Y, Z) grid, float32 numpy on the CPU.
    """
    volume = torch.from_numpy(np.ascontiguousarray(images))[None].to(device)  # (1, 4, X, Y, Z)
    results = []
    for index, mirror in enumerate(mirrored):
        label = "mirrored pass" if mirror else "forward pass"

        def on_step(done: int, total: int, index: int = index, label: str = label) -> None:
            if progress is not None:
                progress((index + done / total) / len(mirrored), f"{label}: {done}/{total}")

        started = time.perf_counter()
        source = torch.flip(volume, dims=(2 + LEFT_RIGHT_AXIS,)) if mirror else volume
        with autocast(device):
            logits, attention = _forward(model, source, config, on_step)
        probabilities = torch.sigmoid(logits[0].float())  # (3, X, Y, Z)
        maps = {name: value[0, 0].float().clamp(0, 1) for name, value in attention.items()}  # (X, Y, Z) each
        if mirror:
            probabilities = torch.flip(probabilities, dims=(1 + LEFT_RIGHT_AXIS,))
            maps = {name: torch.flip(value, dims=(LEFT_RIGHT_AXIS,)) for name, value in maps.items()}
        results.append(
            PassOutput(
                probabilities.cpu().numpy().astype(np.float32, copy=False),
                {name: value.cpu().numpy().astype(np.float32, copy=False) for name, value in maps.items()},
                time.perf_counter() - started,
            )
        )
    return results
