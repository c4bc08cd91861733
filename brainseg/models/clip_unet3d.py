"""clip-unet3d: CLIP + attention-enhanced residual 3D U-Net with cross-modal semantic guidance (seed paper 000).

Three levels of fusion (paper 3.1), read top to bottom in this file:

* pixel level (3.2, A.3): :class:`PixelFusion` clips outliers, applies the per-sequence intensity maps and
  magnifies contrast in soft ET / TC regions it predicts from all four sequences; ``pixel_fusion=False`` drops it.
* feature level (3.3): the residual encoder / decoder of :mod:`brainseg.models.unet3d` with CBAM in every
  residual unit, ET and TC attention gates on every skip, and deep-supervision heads.
* semantic level (3.4): :class:`SemanticBridge` (Eq. 1-2: centre slices of three planes, a small 2D network,
  CLIP visual [CLS]); :class:`SemanticGuidance` (CLIP text, mappers, text gate Eq. 3-4, self-attention Eq. 5);
  :class:`SemanticGate` at the bottleneck; :class:`SemanticAttention` (Eq. 6-7) re-weighting TC and ET;
  conditional batch norm in the heads; a tumor-type head. ``semantic_guidance=False`` drops the text path
  (no text encoder), ``semantic_attention=False`` drops Eq. 6-7: the ablations of tables 1 and 3.

Where the paper is vague, this reading is used (each is commented where it happens): Eq. 2's average over the
planes is taken after the gate and self-attention, so that Eq. 5 attends over the three plane tokens (over one
averaged vector self-attention would reduce to a linear map); "first decoder layer" is the finest one
("containing spatial details"); Eq. 6 multiplies probabilities, and the result is returned as logits. The
bridge sees the centre slices of the volume it is given: under sliding-window inference, of each window.
The paper's "-Semantic Fusion Layer" row is closest to ``semantic_guidance=False, semantic_attention=False``
(the visual bridge, bottleneck gate and CBN heads remain).

Sizes: ``paper`` is level 0 at full resolution, 32..512 channels, ViT-B/32 towers at 224. ``demo`` halves
the input in its first level (``stem_stride=2``), has 8..64 channels and tiny CLIP towers at 64 pixels, so a
whole case segments in seconds on a CPU.

Inputs: (B, 4, X, Y, Z) float32, sequences T1, T1ce, T2, FLAIR z-scored over the brain, X, Y, Z divisible by 16.

    >>> model = create("clip-unet3d", "demo")
    >>> out = model(torch.zeros(1, 4, 128, 128, 128), ["enhancing tumor and necrotic core"])
    >>> out.logits.shape, out.attention["ET"].shape, out.aux["tumor_type"].shape
    (torch.Size([1, 3, 128, 128, 128]), torch.Size([1, 1, 128, 128, 128]), torch.Size([1, 2]))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from brainseg.models.blocks import ConditionalBatchNorm, upsample_to
from brainseg.models.contract import ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import Variant, VariantRecipe, register
from brainseg.models.text_encoders import (
    TextEncoderConfig,
    VisualEncoderConfig,
    build_clip_visual,
    build_text_encoder,
)
from brainseg.models.unet3d import ResidualDecoder, ResidualEncoder, check_volume

DEFAULT_PROMPT = "a brain MRI with a glioma: whole tumor, tumor core and enhancing tumor"
PLANE_AXES = {"axial": (0, 1, 2), "coronal": (0, 2, 1), "sagittal": (1, 2, 0)}  # Eq. 1, volume axes (X, Y, Z)
LR_MULTIPLIERS = {"backbone": 2.0, "clip_adapter": 0.1, "attention": 3.0}  # paper A.1, x the base rate


@dataclass
class ClipUNet3DConfig(ModelConfig):
    """Architecture of :class:`ClipUNet3D`; sizes live in ``configs/clip-unet3d/<size>.json``."""

    variant: ClassVar[str] = "clip-unet3d"
    in_channels: int = 4
    # Widths of the encoder levels, the last being the bottleneck (paper 3.3: 32 .. 512); level i runs at
    # 1 / (stem_stride * 2**i) of the input, so inputs must be divisible by stem_stride * 2**(len - 1) = 16.
    channels: list[int] = field(default_factory=lambda: [8, 16, 32, 64])
    # 2 (demo): level 0 already halves the input, so a whole case fits a CPU budget; the heads, Eq. 6 and
    # the gates then work at half resolution and logits and maps are upsampled trilinearly. 1 (paper).
    stem_stride: int = 2
    norm: str = "instance"  # batch size 1 (A.1) makes batch statistics of one case; CBN heads keep BN
    dropout: float = 0.2  # paper 4.1, in the bottleneck
    pixel_fusion: bool = True  # ablation "-Pixel Fusion Layer" when False
    semantic_guidance: bool = True  # ablation "-Semantic Guidance" when False: no text encoder
    semantic_attention: bool = True  # ablation "-Semantic Attention" when False: no Eq. 6-7
    intensity_clip: float = 5.0  # A.3: intensities clipped to [-5, 5]
    t1ce_exponent: float = 0.9  # A.3: T1ce contrast boost, exponent after clipping
    et_contrast_gain: float = 0.25  # 3.2: about 25 % contrast magnification in ET regions
    tc_contrast_gain: float = 0.20  # 3.2: about 20 % in TC regions
    enhancer_channels: int = 16  # the "2D processing network" before CLIP; the paper gives no size
    semantic_dim: int = 64  # the shared space of the text and vision mappers
    semantic_heads: int = 4  # heads of Eq. 5's self-attention
    adapter_dropout: float = 0.1  # A.1: dropout in the CLIP adapter layers
    num_tumor_types: int = 2  # BraTS 2020 grades: LGG, HGG
    default_prompt: str = DEFAULT_PROMPT
    text: TextEncoderConfig = field(default_factory=TextEncoderConfig)
    visual: VisualEncoderConfig = field(default_factory=VisualEncoderConfig)

    def __post_init__(self) -> None:
        if len(self.channels) < 2:
            raise ModelConfigError(f"clip-unet3d channels must list at least 2 widths, got {self.channels}")
        if self.stem_stride not in (1, 2):
            raise ModelConfigError(f"clip-unet3d stem_stride must be 1 or 2, got {self.stem_stride}")
        if sorted(self.data.outputs) != ["ET", "TC", "WT"]:
            raise ModelConfigError(f"clip-unet3d outputs must be WT, TC and ET, got {self.data.outputs}")
        if self.semantic_dim % self.semantic_heads != 0:
            raise ModelConfigError(
                f"clip-unet3d semantic_dim {self.semantic_dim} is not divisible by semantic_heads {self.semantic_heads}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        values = dict(values)
        if isinstance(values.get("text"), dict):
            values["text"] = TextEncoderConfig.from_dict(values["text"])
        if isinstance(values.get("visual"), dict):
            values["visual"] = VisualEncoderConfig.from_dict(values["visual"])
        return super().from_dict(values)


# ----------------------------------------------------------------------------------------------- pixel level


class PixelFusion(nn.Module):
    """Paper 3.2 / A.3 inside the network, on z-scored sequences: (B, 4, X, Y, Z) -> (B, 4, X, Y, Z).

    1. outlier clipping to [-clip, clip] (all sequences);
    2. modality-specific maps: T1 and T1ce stay z-scores, T1ce goes through sign(x)|x|^0.9, T2 and FLAIR are
       min-max scaled by the clip bounds onto [-1, 1] (fixed bounds rather than each volume's extremes, so
       that every sliding window sees the same mapping; 0, the background, stays 0);
    3. adaptive contrast: a learned gain and offset per sequence;
    4. target-region enhancement: soft ET and TC maps predicted voxel-wise from all four sequences (the
       training-time version of A.2 uses the masks; at inference there are none) magnify contrast by up to
       25 % and 20 %.
    """

    def __init__(self, sequences: list[str], clip: float, t1ce_exponent: float, et_gain: float, tc_gain: float):
        super().__init__()
        self.clip, self.t1ce_exponent, self.et_gain, self.tc_gain = clip, t1ce_exponent, et_gain, tc_gain
        self.t1ce = [i for i, name in enumerate(sequences) if name == "T1ce"]
        self.minmax = [i for i, name in enumerate(sequences) if name in ("T2", "FLAIR")]
        self.gain = nn.Parameter(torch.ones(len(sequences)))
        self.offset = nn.Parameter(torch.zeros(len(sequences)))
        # voxel-wise: a full-resolution 3x3x3 convolution here cost more than the whole demo U-Net on CPU
        self.region_maps = nn.Linear(len(sequences), 2)  # ET, TC

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        channels = list(images.clamp(-self.clip, self.clip).unbind(1))  # 4 x (B, X, Y, Z)
        for i in self.t1ce:
            channels[i] = channels[i].sign() * channels[i].abs().clamp(min=1e-6).pow(self.t1ce_exponent)
        for i in self.minmax:
            channels[i] = channels[i] / self.clip
        x = torch.stack(channels, dim=1)  # (B, 4, X, Y, Z)
        x = torch.addcmul(self.offset.view(1, -1, 1, 1, 1), x, self.gain.view(1, -1, 1, 1, 1))
        regions = torch.einsum("rc,bcxyz->brxyz", self.region_maps.weight, x)  # (B, 2, X, Y, Z)
        regions = torch.sigmoid(regions + self.region_maps.bias.view(1, 2, 1, 1, 1))  # soft ET, TC
        return x * (1 + self.et_gain * regions[:, :1] + self.tc_gain * regions[:, 1:])


# ----------------------------------------------------------------------------------------------- semantic level


class SemanticBridge(nn.Module):
    """3D-2D bridging (3.4.1): per plane of Eq. 1 the centre slice, a small 2D network, resize, CLIP visual.

    ``forward(images (B, C, X, Y, Z)) -> (B, 3, visual.output_dim)``: the [CLS] feature of each plane
    (axial, coronal, sagittal). Eq. 2's average is taken in :class:`SemanticGuidance`.
    """

    def __init__(self, in_channels: int, hidden: int, visual: VisualEncoderConfig) -> None:
        super().__init__()
        # maps the sequences of a slice to the three channels CLIP sees, in [0, 1] like an RGB image
        self.enhancer = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1), nn.GELU(), nn.Conv2d(hidden, 3, 1), nn.Sigmoid()
        )
        self.visual = build_clip_visual(visual)
        self.size = visual.image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        slices = []
        for axes in PLANE_AXES.values():
            volume = images.permute(0, 1, *(2 + a for a in axes))  # (B, C, A0, A1, A2), plane = (A0, A1)
            centre = volume[..., volume.shape[-1] // 2]  # (B, C, A0, A1)
            rgb = self.enhancer(centre)  # (B, 3, A0, A1)
            slices.append(F.interpolate(rgb, size=(self.size, self.size), mode="bilinear", antialias=True))
        planes = torch.stack(slices, dim=1)  # (B, 3 planes, 3, S, S)
        features = self.visual(planes.flatten(0, 1))  # (B * 3, Dv)
        return features.view(images.shape[0], len(PLANE_AXES), -1)  # (B, 3, Dv)


def mapper(in_features: int, out_features: int, dropout: float) -> nn.Sequential:
    """A two-layer MLP into the shared semantic space: (..., in_features) -> (..., out_features)."""
    return nn.Sequential(
        nn.Linear(in_features, out_features), nn.GELU(), nn.Dropout(dropout), nn.Linear(out_features, out_features)
    )


class SemanticGuidance(nn.Module):
    """Cross-modal semantic guidance (3.4.2): mappers, text gate (Eq. 3-4), self-attention (Eq. 5), Eq. 2.

    ``forward(planes (B, 3, Dv), text (B, Dt) or None) -> fused semantics (B, D)``. Without a text
    dimension (``semantic_guidance=False``) it is the mapped plane features averaged (Eq. 2 alone).
    """

    def __init__(self, visual_dim: int, text_dim: int | None, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.vision_mapper = mapper(visual_dim, dim, dropout)
        self.guided = text_dim is not None
        if text_dim is not None:
            self.text_mapper = mapper(text_dim, dim, dropout)
            self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
            self.norm = nn.LayerNorm(dim)

    def forward(self, planes: torch.Tensor, text: torch.Tensor | None) -> torch.Tensor:
        vision = self.vision_mapper(planes)  # (B, 3, D)
        if not self.guided or text is None:
            return vision.mean(1)  # Eq. 2, (B, D)
        text = self.text_mapper(text).unsqueeze(1)  # (B, 1, D)
        gate = torch.sigmoid(text)  # Eq. 3
        combined = vision * gate + text * (1 - gate)  # Eq. 4, (B, 3, D)
        attended, _ = self.attention(combined, combined, combined, need_weights=False)  # (B, 3, D)
        fused = self.norm(combined + attended)  # Eq. 5
        return fused.mean(1)  # Eq. 2's average over the planes, after guidance; (B, D)


class SemanticGate(nn.Module):
    """Semantic gating unit at the bottleneck (3.4.3): a channel gate and a spatial relevance map from semantics.

    ``forward(x (B, C, *S), semantics (B, D)) -> (gated x (B, C, *S), relevance (B, 1, *S) in [0, 1])``;
    ``x + x * channel_gate * relevance``: the residual keeps the visual path whole while the semantics select.
    """

    def __init__(self, channels: int, dim: int) -> None:
        super().__init__()
        self.channel = nn.Linear(dim, channels)
        self.query = nn.Linear(dim, channels)

    def forward(self, x: torch.Tensor, semantics: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (*x.shape[:2], 1, 1, 1)
        channel_gate = torch.sigmoid(self.channel(semantics)).view(shape)  # (B, C, 1, 1, 1)
        query = self.query(semantics).view(shape)  # (B, C, 1, 1, 1)
        relevance = torch.sigmoid((x * query).sum(1, keepdim=True) / math.sqrt(x.shape[1]))  # (B, 1, *S)
        return x + x * channel_gate * relevance, relevance


class SemanticAttention(nn.Module):
    """f_conv of Eq. 6 from full-resolution decoder features and the fused semantics.

    ``forward(features (B, C, *S), semantics (B, D)) -> scores (B, 2, *S)``, pre-sigmoid, channels ET, TC.
    Adding the projected semantics after the first convolution equals concatenating them as constant maps
    before it (away from the volume border), without materializing D full-resolution channels.
    """

    def __init__(self, channels: int, dim: int, hidden: int) -> None:
        super().__init__()
        self.conv = nn.Conv3d(channels, hidden, 3, padding=1)
        self.semantic = nn.Linear(dim, hidden)
        self.act = nn.LeakyReLU(0.01, inplace=True)
        self.out = nn.Conv3d(hidden, 2, 1)

    def forward(self, features: torch.Tensor, semantics: torch.Tensor) -> torch.Tensor:
        bias = self.semantic(semantics).view(*semantics.shape[:1], -1, 1, 1, 1)  # (B, hidden, 1, 1, 1)
        return self.out(self.act(self.conv(features) + bias))  # (B, 2, *S)


def attenuate_logits(logits: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Eq. 6 on probabilities, returned as logits: logit(sigmoid(logits) * sigmoid(scores)), same shape.

    With p = sigmoid(y), a = sigmoid(s), q = p a: log q = log p + log a and
    log(1 - q) = log((1 - p) + p (1 - a)), both sums of log-sigmoids, so no probability is ever rounded to 0.
    """
    log_q = F.logsigmoid(logits) + F.logsigmoid(scores)
    log_not_q = torch.logaddexp(F.logsigmoid(-logits), F.logsigmoid(logits) + F.logsigmoid(-scores))
    return log_q - log_not_q


class ConditionalHead(nn.Module):
    """Segmentation head with conditional batch norm: (B, C, *S), (B, D) -> logits (B, outputs, *S)."""

    def __init__(self, channels: int, dim: int, outputs: int) -> None:
        super().__init__()
        self.norm = ConditionalBatchNorm(channels, dim)
        self.act = nn.LeakyReLU(0.01, inplace=True)
        self.out = nn.Conv3d(channels, outputs, 1)

    def forward(self, x: torch.Tensor, semantics: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.norm(x, semantics)))


class TumorTypeHead(nn.Module):
    """Multi-task head (3.4.3): pooled bottleneck + semantics -> tumor-type logits (B, num_types).

    Dropout 0.3 then 0.2 as in A.1.
    """

    def __init__(self, channels: int, dim: int, num_types: int) -> None:
        super().__init__()
        hidden = max(dim // 2, 16)
        self.mlp = nn.Sequential(
            nn.Dropout(0.3), nn.Linear(channels + dim, hidden), nn.ReLU(), nn.Dropout(0.2), nn.Linear(hidden, num_types)
        )

    def forward(self, bottleneck: torch.Tensor, semantics: torch.Tensor) -> torch.Tensor:
        pooled = bottleneck.flatten(2).mean(-1)  # (B, C)
        return self.mlp(torch.cat([pooled, semantics], dim=1))  # (B, C + D) -> (B, num_types)


# ----------------------------------------------------------------------------------------------- model


class ClipUNet3D(SegmentationModel):
    """CLIP-guided attention residual 3D U-Net: (B, 4, X, Y, Z) + prompts -> WT, TC, ET logits.

    Args:
        config: a :class:`ClipUNet3DConfig`.

    ``forward(images, prompts)``: images (B, 4, X, Y, Z) float32 with X, Y, Z divisible by 16; prompts a
    list of B descriptions, or None for ``config.default_prompt``. Returns :class:`ModelOutput` with logits
    (B, 3, X, Y, Z) in ``config.data.outputs`` order; attention maps (B, 1, X, Y, Z) in [0, 1]: ``semantic``
    (bottleneck relevance of the semantics, upsampled), ``ET`` and ``TC`` (Eq. 6's maps, or the finest ET / TC
    attention gates when ``semantic_attention`` is off); deep supervision (B, 3, X / (stem_stride * 2**k), ...)
    coarse to fine, in training mode only; ``aux["tumor_type"]`` (B, num_tumor_types).
    """

    def __init__(self, config: ClipUNet3DConfig) -> None:
        super().__init__(config)
        channels, dim, outputs = config.channels, config.semantic_dim, len(config.data.outputs)
        self.multiple = config.stem_stride * 2 ** (len(channels) - 1)
        self.pixel_fusion = (
            PixelFusion(
                config.data.sequences,
                config.intensity_clip,
                config.t1ce_exponent,
                config.et_contrast_gain,
                config.tc_contrast_gain,
            )
            if config.pixel_fusion
            else nn.Identity()
        )
        self.bridge = SemanticBridge(config.in_channels, config.enhancer_channels, config.visual)
        self.text_encoder = build_text_encoder(config.text) if config.semantic_guidance else None
        text_dim = config.text.output_dim if config.semantic_guidance else None
        self.guidance = SemanticGuidance(
            config.visual.output_dim, text_dim, dim, config.semantic_heads, config.adapter_dropout
        )
        self.encoder = ResidualEncoder(
            config.in_channels, channels, config.norm, "cbam", config.dropout, config.stem_stride
        )
        self.semantic_gate = SemanticGate(channels[-1], dim)
        self.decoder = ResidualDecoder(channels, config.norm, "cbam", gates=("ET", "TC"))
        self.head = ConditionalHead(channels[0], dim, outputs)
        self.deep_heads = nn.ModuleList(ConditionalHead(c, dim, outputs) for c in channels[-2:0:-1])
        self.semantic_attention = (
            SemanticAttention(channels[0], dim, max(channels[0], 4)) if config.semantic_attention else None
        )
        self.tumor_type = TumorTypeHead(channels[-1], dim, config.num_tumor_types)
        self.region_index = {name: config.data.outputs.index(name) for name in ("WT", "TC", "ET")}

    def _prompts(self, prompts: list[str] | None, batch: int) -> list[str]:
        if prompts is None:
            return [self.config.default_prompt] * batch
        if isinstance(prompts, str) or len(prompts) != batch:
            raise ValueError(f"prompts must be a list of {batch} strings (one per image), got {prompts!r}")
        return list(prompts)

    def forward(self, images: torch.Tensor, prompts: list[str] | None = None) -> ModelOutput:
        check_volume(images, self.config.in_channels, self.multiple)
        prompts = self._prompts(prompts, images.shape[0])
        x = self.pixel_fusion(images)  # (B, 4, X, Y, Z)
        text = self.text_encoder(prompts) if self.text_encoder is not None else None  # (B, Dt)
        semantics = self.guidance(self.bridge(x), text)  # (B, 3, Dv) planes -> (B, D)

        features = self.encoder(x)  # [(B, C_i, X / (stem * 2**i), ...)], last = bottleneck
        features[-1], relevance = self.semantic_gate(features[-1], semantics)  # relevance (B, 1, *S / 16)
        decoded, gate_maps = self.decoder(features)  # coarse to fine; gate_maps (B, 1, *S'), S' = S / stem
        finest = decoded[-1]  # (B, C0, *S'): "F_decoder1"
        logits = self.head(finest, semantics)  # (B, 3, *S')

        region_maps = gate_maps
        if self.semantic_attention is not None:
            scores = self.semantic_attention(finest, semantics)  # (B, 2, *S'): ET, TC
            channels = list(logits.split(1, dim=1))  # 3 x (B, 1, *S')
            for k, name in enumerate(("ET", "TC")):
                index = self.region_index[name]
                channels[index] = attenuate_logits(channels[index], scores[:, k : k + 1])  # Eq. 6
            logits = torch.cat(channels, dim=1)  # Eq. 7, (B, 3, *S')
            region_maps = {"ET": torch.sigmoid(scores[:, :1]), "TC": torch.sigmoid(scores[:, 1:])}

        deep = []
        if self.training:
            deep = [head(x, semantics) for head, x in zip(self.deep_heads, decoded[:-1], strict=True)]
        size = tuple(images.shape[2:])
        maps = {"semantic": relevance, **region_maps}
        return ModelOutput(
            logits=upsample_to(logits, size),  # (B, 3, X, Y, Z)
            attention={name: upsample_to(value, size) for name, value in maps.items()},  # (B, 1, X, Y, Z)
            deep_supervision=deep,
            aux={"tumor_type": self.tumor_type(features[-1], semantics)},  # (B, num_tumor_types)
        )

    def parameter_groups(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters by the paper's learning-rate groups; multiply the base rate by LR_MULTIPLIERS.

        ``clip_adapter``: the bridge (2D network + CLIP visual), text encoder and guidance; ``attention``: CBAM,
        attention gates, the semantic gate and Eq. 6's network; ``backbone``: everything else.
        """
        groups: dict[str, list[nn.Parameter]] = {name: [] for name in LR_MULTIPLIERS}
        for name, parameter in self.named_parameters():
            if not parameter.requires_grad:
                continue
            if name.startswith(("bridge.", "text_encoder.", "guidance.")):
                groups["clip_adapter"].append(parameter)
            elif (
                name.startswith(("semantic_gate.", "semantic_attention.")) or ".attention." in name or ".gates." in name
            ):
                groups["attention"].append(parameter)
            else:
                groups["backbone"].append(parameter)
        return groups


register(
    Variant(
        name="clip-unet3d",
        description="CLIP + attention residual 3D U-Net with cross-modal semantic guidance and multi-level fusion",
        paper="000_83ebb05126561239.txt",
        citation="Zhang, M.-D.: A Brain Tumor Segmentation Method Based on CLIP and 3D U-Net with Cross-Modal Semantic "
        "Guidance and Multi-Level Feature Fusion (2025)",
        config_class=ClipUNet3DConfig,
        build=ClipUNet3D,
        # Paper 000: Dice and cross-entropy on the three nested regions, heads at each decoder level, the
        # tumor-type head, and its appendix A.1 learning-rate groups.
        recipe=VariantRecipe("dice-bce", deep_supervision=True, tumor_type_weight=0.1, lr_multipliers=LR_MULTIPLIERS),
    )
)
