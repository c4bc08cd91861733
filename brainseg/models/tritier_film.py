"""Tritier-FiLM: three-tier fusion with physics-generated modalities and text guidance (seed paper 001, Zhang).

- Pixel tier (:mod:`brainseg.models.tritier_physics`): simulated ultrasound and synthetic CT from the MRI.
- Feature tier: three teachers (MRI, ultrasound, CT), each a residual 3D U-Net on its own modality, guide
  one MRI student through a response and a feature loss with cosine cross-modal alignment
  (:meth:`TritierFilm.distillation_targets` returns the tensors; the loss lives in ``brainseg.losses``).
  Teachers train on their own ("asynchronously") with :meth:`TritierFilm.teacher_outputs`.
- Semantic tier: clinical descriptions of three views (paper: GPT-4V; here :func:`describe_case`, made
  deterministically from a label map) are encoded by a CLIP text tower and averaged over views
  (F_3D = 1/3 sum_d F_s^d), mapped with the pooled image features to F_combined, injected by FiLM at the
  bottleneck and every decoder level, and used as queries of a semantic attention that produces the
  ``semantic``, ``WT``, ``TC`` and ``ET`` maps and amplifies each region's evidence where its map is high.

Inference runs the student alone on the four MRI sequences (B, 4, X, Y, Z) with a text: the user's prompt
(one view), descriptions of a known label map, or :data:`DEFAULT_DESCRIPTION`. A stride-2 stem keeps the demo
size fast on CPU (logits are predicted at half resolution and resized). The paper has no deep supervision.

    >>> model = create("tritier-film", "demo")
    >>> out = model(torch.zeros(1, 4, 64, 64, 48), prompts=["enhancing tumor in the left frontal lobe"])
    >>> out.logits.shape
    torch.Size([1, 3, 64, 64, 48])
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from brainseg.labels import ED, ET, NCR
from brainseg.models.blocks import FiLM, ResidualUnit, upsample_to
from brainseg.models.contract import ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import Variant, VariantRecipe, register
from brainseg.models.text_encoders import TextEncoderConfig, build_text_encoder
from brainseg.models.tritier_physics import simulate_ultrasound, synthesize_ct

DEFAULT_DESCRIPTION = "Brain MRI of a glioma: whole tumor, tumor core and enhancing tumor."
TEACHERS = ("MRI", "US", "CT")


# ----------------------------------------------------------------------------------------------- descriptions

_PARTS = (("enhancing tumor", ET), ("necrotic core", NCR), ("edema", ED))  # sub-regions named in descriptions


def describe_case(
    label_map: np.ndarray | torch.Tensor, spacing_mm: tuple[float, float, float] = (1, 1, 1)
) -> list[str]:
    """Axial, coronal and sagittal descriptions of a tumor, standing in for the paper's GPT-4V reports.

    Args:
        label_map: (X, Y, Z) int, internal labels (0 background, 1 NCR, 2 ED, 3 ET), RAS: X runs from the
            patient's left to right, Y from posterior to anterior, Z from inferior to superior.
        spacing_mm: voxel size along X, Y, Z.

    Returns:
        Three sentences, one per view through the tumor's centroid: hemisphere (left / right of the
        volume's midline, or at the midline), rough lobe (from the centroid's place in the volume), extent
        in that plane, the sub-region make-up of that slice, and the whole-tumor volume.
    """
    labels = np.asarray(label_map.cpu() if isinstance(label_map, torch.Tensor) else label_map)
    tumor = labels > 0
    if not tumor.any():
        return [f"{view} MRI slice: no tumor is visible." for view in ("Axial", "Coronal", "Sagittal")]
    spacing = np.asarray(spacing_mm, dtype=float)
    centre = np.argwhere(tumor).mean(axis=0)  # (3,) voxel indices
    relative = centre / np.maximum(np.array(labels.shape) - 1, 1)  # 0 .. 1 along X, Y, Z
    offset_mm = (centre[0] - (labels.shape[0] - 1) / 2) * spacing[0]
    side = "at the midline" if abs(offset_mm) < 10 else ("in the right" if offset_mm > 0 else "in the left")
    lobe = "frontal" if relative[1] > 0.6 else "occipital" if relative[1] < 0.25 else None
    lobe = lobe or ("parietal" if relative[2] > 0.55 else "temporal")
    where = f"{side} {lobe} region" if side != "at the midline" else f"at the midline, {lobe} region"
    volume_cm3 = tumor.sum() * spacing.prod() / 1000
    views = (("Axial", 2, ("left-right", "anterior-posterior")), ("Coronal", 1, ("left-right", "superior-inferior")))
    views += (("Sagittal", 0, ("anterior-posterior", "superior-inferior")),)
    sentences = []
    for view, axis, directions in views:
        plane = np.take(labels, round(centre[axis]), axis=axis)  # (2D) slice through the centroid
        in_plane = [a for a in range(3) if a != axis]
        extent = [_extent_mm(plane > 0, i, spacing[a]) for i, a in enumerate(in_plane)]
        size = f"{extent[0] / 10:.1f} x {extent[1] / 10:.1f} cm ({directions[0]} x {directions[1]})"
        area = max(int((plane > 0).sum()), 1)
        parts = [(name, (plane == value).sum() / area) for name, value in _PARTS]
        make_up = ", ".join(f"{name} {share:.0%}" for name, share in parts if share > 0) or "no tumor in this slice"
        sentences.append(
            f"{view} MRI slice: a tumor {where}, {size}; {make_up}; whole tumor volume {volume_cm3:.1f} cm3."
        )
    return sentences


def _extent_mm(mask: np.ndarray, axis: int, spacing: float) -> float:
    """Length in mm of the span of a 2D mask along one of its axes (0 if empty)."""
    present = np.flatnonzero(mask.any(axis=1 - axis))
    return float((present[-1] - present[0] + 1) * spacing) if present.size else 0.0


# ----------------------------------------------------------------------------------------------- config


@dataclass
class TritierFilmConfig(ModelConfig):
    """Architecture of :class:`TritierFilm`; sizes live in ``configs/tritier-film/<size>.json``."""

    variant: ClassVar[str] = "tritier-film"
    # Student widths per level; level i runs at 1 / (stem_stride * 2**i) of the input, so inputs must be
    # divisible by stem_stride * 2**(len(channels) - 1).
    channels: list[int] = field(default_factory=lambda: [8, 16, 32, 64])
    teacher_channels: list[int] = field(default_factory=lambda: [8, 16, 32, 64])  # same depth as the student
    stem_stride: int = 2  # 2: a 2x2x2 patch stem, the network runs at half resolution (CPU demo); 1: full
    norm: str = "instance"
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)  # CLIP text tower
    semantic_dim: int = 64  # width of F_combined, the FiLM condition and the attention queries
    seed: int = 0  # pixel tier noise when no generator is given, so targets are reproducible

    def __post_init__(self) -> None:
        if isinstance(self.text, dict):
            self.text = TextEncoderConfig.from_dict(self.text)
        if len(self.channels) < 2 or len(self.teacher_channels) != len(self.channels):
            raise ModelConfigError(
                f"tritier-film needs >= 2 levels and as many teacher levels, got channels {self.channels}, "
                f"teacher_channels {self.teacher_channels}"
            )
        if self.stem_stride not in (1, 2, 4):
            raise ModelConfigError(f"tritier-film stem_stride {self.stem_stride}; expected 1, 2 or 4")

    @property
    def stride(self) -> int:
        return self.stem_stride * 2 ** (len(self.channels) - 1)


# ----------------------------------------------------------------------------------------------- networks


class ResidualUNet3D(nn.Module):
    """Residual 3D U-Net trunk shared by teachers and student, optionally FiLM-conditioned.

    ``encode(x (B, Cin, *S)) -> skips``, the features of each level, (B, C_i, S / (stem * 2**i));
    ``decode(skips, condition (B, D) or None) -> (B, C_0, S / stem)``. With ``condition_dim`` set, FiLM
    modulates the bottleneck and every decoder level.
    """

    def __init__(
        self, in_channels: int, channels: list[int], stem_stride: int, norm: str, condition_dim: int | None = None
    ) -> None:
        super().__init__()
        kernel, padding = (3, 1) if stem_stride == 1 else (stem_stride, 0)
        self.stem = nn.Conv3d(in_channels, channels[0], kernel, stride=stem_stride, padding=padding)
        widths = [channels[0], *channels]
        self.encoder = nn.ModuleList(
            ResidualUnit(c_in, c_out, dims=3, stride=1 if i == 0 else 2, norm=norm)
            for i, (c_in, c_out) in enumerate(itertools.pairwise(widths))
        )
        self.up = nn.ModuleList(
            nn.ConvTranspose3d(c_deep, c, 2, stride=2) for c, c_deep in itertools.pairwise(channels)
        )
        self.decoder = nn.ModuleList(ResidualUnit(2 * c, c, dims=3, norm=norm) for c in channels[:-1])
        self.films = (
            nn.ModuleList(FiLM(c, condition_dim) for c in channels) if condition_dim is not None else None
        )  # films[i] modulates level i; the deepest is the bottleneck

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        skips = []
        x = self.stem(x)  # (B, C_0, S / stem)
        for stage in self.encoder:
            x = stage(x)  # (B, C_i, S / (stem * 2**i))
            skips.append(x)
        return skips

    def decode(self, skips: list[torch.Tensor], condition: torch.Tensor | None = None) -> torch.Tensor:
        x = skips[-1]  # bottleneck (B, C_L, S / stride)
        if self.films is not None:
            x = self.films[-1](x, condition)
        for i in reversed(range(len(self.decoder))):
            x = self.decoder[i](torch.cat([self.up[i](x), skips[i]], dim=1))  # (B, 2 C_i, ...) -> (B, C_i, ...)
            if self.films is not None:
                x = self.films[i](x, condition)
        return x  # (B, C_0, S / stem)


class Teacher(nn.Module):
    """One modality's expert: ``forward(x (B, Cin, *S)) -> (logits (B, K, *S), bottleneck (B, C_L, S / stride))``."""

    def __init__(self, in_channels: int, config: TritierFilmConfig) -> None:
        super().__init__()
        self.trunk = ResidualUNet3D(in_channels, config.teacher_channels, config.stem_stride, config.norm)
        self.head = nn.Conv3d(config.teacher_channels[0], len(config.data.outputs), 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        skips = self.trunk.encode(x)
        logits = self.head(self.trunk.decode(skips))  # (B, K, S / stem)
        return upsample_to(logits, tuple(x.shape[2:])), skips[-1]


class SemanticAttention(nn.Module):
    """Text-guided attention over the student's finest features (paper: semantic attention for ET / TC).

    One query per region plus a ``semantic`` query, all from F_combined, meet 1x1x1-projected keys; the
    sigmoid of their scaled dot product gives maps in [0, 1]. The semantic map gates the features
    (x (1 + s)); each region's map amplifies that region's logit (x (1 + a_r)) where the text points.

    ``forward(features (B, C, *S), condition (B, D)) -> (logits (B, K, *S), maps (B, K + 1, *S))``, maps in
    region order then ``semantic``.
    """

    def __init__(self, channels: int, condition_dim: int, num_regions: int) -> None:
        super().__init__()
        self.keys = nn.Conv3d(channels, channels, 1)
        self.queries = nn.Linear(condition_dim, (num_regions + 1) * channels)
        self.head = nn.Conv3d(channels, num_regions, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(1, num_regions, 1, 1, 1))

    def forward(self, features: torch.Tensor, condition: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, c = features.shape[:2]
        queries = self.queries(condition).view(b, -1, c)  # (B, K + 1, C)
        scores = torch.einsum("bqc,bcxyz->bqxyz", queries, self.keys(features)) / math.sqrt(c)  # (B, K + 1, *S)
        maps = torch.sigmoid(scores)
        gated = features * (1 + maps[:, -1:])  # (B, C, *S)
        logits = self.head(gated) * (1 + maps[:, :-1]) + self.bias  # (B, K, *S)
        return logits, maps


# ----------------------------------------------------------------------------------------------- model


class TritierFilm(SegmentationModel):
    """3D student distilled from MRI / ultrasound / CT teachers, conditioned on clinical text by FiLM.

    Args:
        config: a :class:`TritierFilmConfig`.

    ``forward(images (B, 4, X, Y, Z) float32, each size divisible by config.stride, prompts)`` runs the
    student only and returns WT / TC / ET logits (B, 3, X, Y, Z) and attention maps ``semantic``, ``WT``,
    ``TC``, ``ET`` (B, 1, X, Y, Z) in [0, 1].
    """

    config: TritierFilmConfig

    def __init__(self, config: TritierFilmConfig) -> None:
        super().__init__(config)
        sequences, regions = len(config.data.sequences), len(config.data.outputs)
        self.text_encoder = build_text_encoder(config.text)
        self.student = ResidualUNet3D(sequences, config.channels, config.stem_stride, config.norm, config.semantic_dim)
        # Cross-modal mapping: text (F_3D) and pooled image bottleneck -> F_combined.
        self.cross_modal = nn.Sequential(
            nn.Linear(config.text.output_dim + config.channels[-1], config.semantic_dim),
            nn.GELU(),
            nn.Linear(config.semantic_dim, config.semantic_dim),
        )
        self.semantic_attention = SemanticAttention(config.channels[0], config.semantic_dim, regions)
        self.teachers = nn.ModuleDict(
            {"MRI": Teacher(sequences, config), "US": Teacher(1, config), "CT": Teacher(1, config)}
        )
        # Student bottleneck -> each teacher's feature space, for the feature loss.
        self.adapters = nn.ModuleDict(
            {name: nn.Conv3d(config.channels[-1], config.teacher_channels[-1], 1) for name in TEACHERS}
        )

    def check_images(self, images: torch.Tensor) -> None:
        stride, channels = self.config.stride, len(self.config.data.sequences)
        if images.dim() != 5 or images.shape[1] != channels or any(s % stride for s in images.shape[2:]):
            raise ValueError(
                f"tritier-film expects images (B, {channels}, X, Y, Z) with X, Y, Z divisible by {stride}, "
                f"got {tuple(images.shape)}"
            )

    def embed_text(self, descriptions: list[list[str]]) -> torch.Tensor:
        """F_3D: CLIP embeddings averaged over each case's view descriptions, B lists -> (B, text dim)."""
        if any(not views for views in descriptions):
            raise ValueError("every case needs at least one description")
        flat = [text for views in descriptions for text in views]
        embeddings = self.text_encoder(flat)  # (sum V, D)
        return torch.stack([chunk.mean(dim=0) for chunk in embeddings.split([len(v) for v in descriptions])])

    def _descriptions(
        self, batch: int, prompts: list[str] | None, descriptions: list[list[str]] | None
    ) -> list[list[str]]:
        if descriptions is not None and prompts is not None:
            raise ValueError("give prompts (one text per case) or descriptions (views per case), not both")
        if descriptions is not None:
            texts = descriptions
        elif prompts is not None:
            texts = [[prompt] for prompt in prompts]
        else:
            texts = [[DEFAULT_DESCRIPTION]] * batch
        if len(texts) != batch:
            raise ValueError(f"tritier-film got {len(texts)} texts for a batch of {batch} cases")
        return texts

    def student_forward(
        self, images: torch.Tensor, prompts: list[str] | None = None, descriptions: list[list[str]] | None = None
    ) -> tuple[ModelOutput, torch.Tensor]:
        """The student's output and its bottleneck features (B, C_L, S / stride)."""
        self.check_images(images)
        text = self.embed_text(self._descriptions(images.shape[0], prompts, descriptions))  # F_3D: (B, Dt)
        skips = self.student.encode(images)
        pooled = skips[-1].mean(dim=(2, 3, 4))  # (B, C_L)
        condition = self.cross_modal(torch.cat([text, pooled], dim=1))  # F_combined: (B, semantic_dim)
        features = self.student.decode(skips, condition)  # (B, C_0, S / stem)
        logits, maps = self.semantic_attention(features, condition)  # (B, K, S / stem), (B, K + 1, S / stem)
        size = tuple(images.shape[2:])
        maps = upsample_to(maps, size).clamp(0, 1)  # trilinear keeps [0, 1]; clamp guards rounding
        names = [*self.config.data.outputs, "semantic"]
        attention = {name: maps[:, i : i + 1] for i, name in enumerate(names)}
        return ModelOutput(logits=upsample_to(logits, size), attention=attention), skips[-1]

    def forward(
        self, images: torch.Tensor, prompts: list[str] | None = None, descriptions: list[list[str]] | None = None
    ) -> ModelOutput:
        """Segment with the student alone.

        Args:
            images: (B, 4, X, Y, Z) float32, z-scored MRI, RAS, each size divisible by ``config.stride``.
            prompts: one text per case, used as a single-view description; None gives the default text.
            descriptions: instead of prompts, several view descriptions per case (e.g. :func:`describe_case`).
        """
        return self.student_forward(images, prompts, descriptions)[0]

    def pixel_tier(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """``US`` in [0, 1] and ``CT`` scaled from HU ((HU - 20) / 20, air clipped to -3), each (B, 1, *S)."""
        if generator is None:
            generator = torch.Generator(device=images.device).manual_seed(self.config.seed)
        sequences = list(self.config.data.sequences)
        ct = synthesize_ct(images, sequences, generator)
        return {"US": simulate_ultrasound(images, sequences, generator), "CT": ((ct - 20) / 20).clamp(min=-3)}

    def teacher_outputs(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """Each teacher on its modality: name -> (logits (B, K, *S), bottleneck features (B, C_T, S / stride))."""
        self.check_images(images)
        inputs = {"MRI": images, **self.pixel_tier(images, generator)}
        return {name: teacher(inputs[name]) for name, teacher in self.teachers.items()}

    def distillation_targets(
        self,
        images: torch.Tensor,
        prompts: list[str] | None = None,
        descriptions: list[list[str]] | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:
        """Student outputs (with gradients) and teacher targets (without) for the distillation loss.

        Returns, with T = 3 teachers in :data:`TEACHERS` order and S' = S / stride:
            ``student_logits`` (B, K, *S); ``student_features`` (B, T, C_T, *S'), the student's bottleneck
            mapped into each teacher's feature space; ``teacher_logits`` (B, T, K, *S) and
            ``teacher_features`` (B, T, C_T, *S'), detached; ``alignment`` (B, T, T), the cosine similarity
            of the teachers' features to each other, averaged over voxels (A_ij); ``teacher_weights``
            (B, T), a softmax over each teacher's mean alignment with the others (consensus weighting);
            ``attention_<name>`` the student's maps.
        """
        output, bottleneck = self.student_forward(images, prompts, descriptions)
        with torch.no_grad():
            teachers = self.teacher_outputs(images, generator)
        teacher_logits = torch.stack([teachers[n][0] for n in TEACHERS], dim=1)  # (B, T, K, *S)
        teacher_features = torch.stack([teachers[n][1] for n in TEACHERS], dim=1)  # (B, T, C_T, *S')
        student_features = torch.stack([self.adapters[n](bottleneck) for n in TEACHERS], dim=1)  # (B, T, C_T, *S')
        unit = F.normalize(teacher_features, dim=2)  # (B, T, C_T, *S')
        alignment = torch.einsum("bic...,bjc...->bij...", unit, unit).flatten(3).mean(dim=3)  # (B, T, T)
        others = (alignment.sum(dim=2) - alignment.diagonal(dim1=1, dim2=2)) / (len(TEACHERS) - 1)  # (B, T)
        return {
            "student_logits": output.logits,
            "student_features": student_features,
            "teacher_logits": teacher_logits,
            "teacher_features": teacher_features,
            "alignment": alignment,
            "teacher_weights": others.softmax(dim=1),
            **{f"attention_{name}": heatmap for name, heatmap in output.attention.items()},
        }


register(
    Variant(
        name="tritier-film",
        description="3D student distilled from MRI / simulated-US / synthetic-CT teachers, CLIP text by FiLM",
        paper="001_069f937960503a71.txt",
        citation="Zhang, M.: Multimodal Fusion at Three Tiers: Physics-Driven Data Generation and Vision-Language "
        "Guidance for Brain Tumor Segmentation (2025)",
        config_class=TritierFilmConfig,
        build=TritierFilm,
        # Paper 001: segmentation loss on the student plus response and feature distillation from the teachers.
        recipe=VariantRecipe("dice-bce", distillation_weight=0.5),
    )
)
