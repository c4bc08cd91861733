"""What every model variant shares: its data contract, its output, and the base class.

The data contract (sequence order, normalization, spacing, orientation, label meaning) travels with each
checkpoint in ``config.json`` (see :mod:`brainseg.hub`), so a checkpoint says how to feed it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

import torch
from torch import nn

from brainseg.errors import BrainSegError
from brainseg.io.naming import SEQUENCES
from brainseg.labels import EVALUATION_REGIONS


class ModelConfigError(BrainSegError):
    """A model name, size, config field or checkpoint does not fit."""


@dataclass
class DataContract:
    """How images must be prepared for a model and what its outputs mean.

    Attributes:
        sequences: input channel order.
        normalization: ``zscore-brain`` (per sequence, over nonzero voxels) or ``paper-a3`` (z-score for
            T1/T1ce, clipped min-max for T2/FLAIR, T1ce^0.9; paper 000 appendix A.3).
        spacing_mm: voxel size the model was trained at.
        orientation: axis codes of the arrays the model sees.
        outputs: meaning of the output channels (sigmoid region logits).
        dims: 3 for volumetric models, 2 for slice-wise ones (axial slices, stacked back).
    """

    sequences: list[str] = field(default_factory=lambda: list(SEQUENCES))
    normalization: str = "zscore-brain"
    spacing_mm: list[float] = field(default_factory=lambda: [1.0, 1.0, 1.0])
    orientation: str = "RAS"
    outputs: list[str] = field(default_factory=lambda: list(EVALUATION_REGIONS))
    dims: int = 3


@dataclass
class ModelConfig:
    """Base of every variant's config dataclass; subclasses add their architecture fields.

    Every field is JSON-able so that ``config.json`` round-trips (:meth:`to_dict` / :meth:`from_dict`).
    """

    variant: ClassVar[str] = ""
    size: str = "demo"
    data: DataContract = field(default_factory=DataContract)

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, **asdict(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Build from a dict; unknown keys are an error that lists the known ones."""
        values = dict(values)
        variant = values.pop("variant", cls.variant)
        if variant != cls.variant:
            raise ModelConfigError(f"config is for variant {variant!r}, not {cls.variant!r}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelConfigError(
                f"{cls.variant} config: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        if isinstance(values.get("data"), dict):
            values["data"] = DataContract(**values["data"])
        return cls(**values)


@dataclass
class ModelOutput:
    """What ``forward`` returns.

    Attributes:
        logits: (B, C, X, Y, Z) for 3D variants or (B, C, H, W) for 2D ones; C = len(config.data.outputs),
            sigmoid logits (WT, TC, ET for the full variants; one channel for a prompted 2D target).
        attention: named maps in [0, 1] at the input's spatial size, (B, 1, *spatial), e.g. ``semantic``,
            ``ET``, ``TC``, ``WT``; every variant returns at least one so the app can show it.
        deep_supervision: lower-resolution logits, in training mode only (empty in eval mode).
        aux: anything else a loss needs (e.g. ``tumor_type`` logits, distillation features).
    """

    logits: torch.Tensor
    attention: dict[str, torch.Tensor] = field(default_factory=dict)
    deep_supervision: list[torch.Tensor] = field(default_factory=list)
    aux: dict[str, torch.Tensor] = field(default_factory=dict)


class SegmentationModel(nn.Module, ABC):
    """Base class: holds the config; subclasses implement ``forward(images, prompts=None) -> ModelOutput``.

    ``images`` is (B, 4, X, Y, Z) float32 for 3D variants or (B, 4 * context, H, W) for 2D ones, channels
    in ``config.data.sequences`` order, normalized as ``config.data.normalization`` says. ``prompts`` is
    a list of B strings (or None for the variant's default target).
    """

    config: ModelConfig

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config

    @abstractmethod
    def forward(self, images: torch.Tensor, prompts: list[str] | None = None) -> ModelOutput:
        """Every variant implements this (see the class docstring for shapes)."""
