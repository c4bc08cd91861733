"""A tiny registered variant for checkpoint tests (real layers, a few hundred parameters)."""

from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from brainseg.models import ModelConfig, ModelOutput, SegmentationModel
from brainseg.models.registry import VARIANTS, Variant, register


@dataclass
class TinyConfig(ModelConfig):
    variant = "test-tiny"
    channels: int = 4


class TinyModel(SegmentationModel):
    def __init__(self, config: TinyConfig) -> None:
        super().__init__(config)
        self.conv = nn.Conv3d(4, config.channels, 3, padding=1)
        self.norm = nn.BatchNorm3d(config.channels)
        self.head = nn.Conv3d(config.channels, 3, 1)

    def forward(self, images: torch.Tensor, prompts=None) -> ModelOutput:
        logits = self.head(torch.relu(self.norm(self.conv(images))))
        return ModelOutput(logits, {"semantic": torch.sigmoid(logits[:, :1])})


@contextmanager
def registered_tiny_variant():
    """Register ``test-tiny`` for the duration of a test, so other tests see only the real variants."""
    register(Variant("test-tiny", "tiny test model", "", TinyConfig, TinyModel))
    try:
        yield
    finally:
        VARIANTS.pop("test-tiny", None)
