"""Test helpers for inference: a pointwise test variant whose answers are known, and brain-like tiny cases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import torch
from torch import nn

from brainseg.hub import save_checkpoint
from brainseg.models import ModelConfig, ModelOutput, SegmentationModel
from brainseg.models.registry import VARIANTS, Variant, register
from tests.casefiles import LPS_AFFINE

BRATS2023 = {"T1": "t1n", "T1ce": "t1c", "T2": "t2w", "FLAIR": "t2f"}


@dataclass
class PointwiseConfig(ModelConfig):
    variant = "test-pointwise"
    bias_shift: float = 0.0  # added to every logit: very negative gives an empty prediction


class PointwiseModel(SegmentationModel):
    """logits = a 1x1x1 convolution of the input: each voxel's answer depends on that voxel only.

    So sliding windows must reproduce the whole-volume answer exactly, and a left-right mirrored pass,
    mirrored back, must equal the plain pass. Attention maps: ``semantic`` (sigmoid of the WT logit) and
    ``ET`` (sigmoid of the ET logit).
    """

    def __init__(self, config: PointwiseConfig) -> None:
        super().__init__(config)
        self.head = nn.Conv3d(4, 3, 1)
        with torch.no_grad():
            # WT from FLAIR, TC from T1ce, ET from T1ce minus T1: bright "tumor" voxels light up.
            self.head.weight.zero_()
            self.head.weight[0, 3] = 3.0
            self.head.weight[1, 1] = 3.0
            self.head.weight[2, 1], self.head.weight[2, 0] = 3.0, -1.0
            self.head.bias.copy_(torch.tensor([-3.0, -4.5, -5.0]) + config.bias_shift)

    def forward(self, images: torch.Tensor, prompts=None) -> ModelOutput:
        logits = self.head(images)  # (B, 3, X, Y, Z)
        return ModelOutput(logits, {"semantic": torch.sigmoid(logits[:, :1]), "ET": torch.sigmoid(logits[:, 2:])})


@contextmanager
def registered_pointwise_variant() -> Iterator[None]:
    """Register ``test-pointwise`` for the duration of a test module only."""
    register(Variant("test-pointwise", "pointwise test model", "", PointwiseConfig, PointwiseModel))
    try:
        yield
    finally:
        VARIANTS.pop("test-pointwise", None)


def pointwise_checkpoint(folder: Path, bias_shift: float = 0.0, metadata: dict | None = None) -> Path:
    return save_checkpoint(PointwiseModel(PointwiseConfig(bias_shift=bias_shift)), folder, metadata=metadata)


def brain_images(shape=(40, 36, 24), seed=0) -> dict[str, np.ndarray]:
    """Four int16 volumes (file order): zero outside an ellipsoid 'brain', a bright off-centre 'tumor'.

    The tumor sits in the first half of axis 0, so a result mirrored the wrong way is visible.
    """
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in shape], indexing="ij"))
    brain = (grid**2).sum(0) < 0.8
    tumor = ((grid - np.array([-0.35, 0.1, 0.0])[:, None, None, None]) ** 2).sum(0) < 0.08
    core = ((grid - np.array([-0.35, 0.1, 0.0])[:, None, None, None]) ** 2).sum(0) < 0.03
    images = {}
    for index, sequence in enumerate(BRATS2023):
        data = rng.normal(300 + 50 * index, 20, size=shape)
        data[tumor] += 200 if sequence in ("FLAIR", "T2") else 50
        if sequence == "T1ce":
            data[core] += 400
        data[~brain] = 0
        images[sequence] = np.round(data).astype(np.int16)
    return images


def write_brain_case(
    folder: Path,
    shape=(40, 36, 24),
    affine=LPS_AFFINE,
    case_id="BraTS-GLI-99999-000",
    images: dict[str, np.ndarray] | None = None,
) -> Path:
    """A skull-stripped-looking tiny case with BraTS 2023 names (``images``, default :func:`brain_images`);
    returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for sequence, data in (images or brain_images(shape)).items():
        nib.save(nib.Nifti1Image(data, affine), folder / f"{case_id}-{BRATS2023[sequence]}.nii.gz")
    return folder


class ForwardCounter:
    """Counts forward calls of a module (a forward hook)."""

    def __init__(self, module: nn.Module) -> None:
        self.calls = 0
        self.handle = module.register_forward_hook(self._hook)

    def _hook(self, *_: object) -> None:
        self.calls += 1
