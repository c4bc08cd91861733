"""MSFEN: multi-scale feature extraction network (seed paper 004, Wang).

A U-Net whose encoder stages run parallel depthwise-separable 3 / 5 / 7 branches, fuse them by concatenation
and a sigmoid channel attention, refine the result with a spatial attention and add a residual shortcut; a
256-channel bottleneck of two 3-convolutions with spatial pyramid pooling and dropout; a transposed-convolution
decoder with skip connections; three sigmoid region logits (WT, TC, ET).

2D or 3D: the paper writes its kernels as 3x3 / 5x5 / 7x7 and resamples BraTS slices to 256x256, so it was
most likely trained slice-wise. Nothing in the method depends on that: every operation (depthwise-separable
branches, channel and spatial attention, pyramid pooling, transposed convolutions) has a 3D form, and the
product needs whole-volume WT / TC / ET masks that are consistent across slices. This module is therefore 3D
(3x3x3 / 5x5x5 / 7x7x7 branches). Depthwise separation is what makes a 7x7x7 kernel affordable: 343 weights
per channel instead of 343 per channel pair. The paper has no deep supervision, so neither does this.

    >>> model = create("msfen", "demo")
    >>> out = model(torch.zeros(1, 4, 128, 128, 128))  # out.logits: (1, 3, 128, 128, 128)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from brainseg.models.blocks import NORMS, ResidualUnit, SpatialAttention, SqueezeExcitation, make_norm, upsample_to
from brainseg.models.contract import ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import Variant, VariantRecipe, register


@dataclass
class MSFENConfig(ModelConfig):
    """Architecture of :class:`MSFEN`; sizes live in ``configs/msfen/<size>.json``."""

    variant: ClassVar[str] = "msfen"
    in_channels: int = 4
    # Widths of the four encoder stages; stage i runs at 1 / 2**i of the input size, so the bottleneck
    # sits at 1/16 and inputs must be divisible by 16.
    channels: list[int] = field(default_factory=lambda: [16, 32, 64, 128])
    bottleneck_channels: int = 256  # paper 2.1: "increasing the number of feature maps to 256"
    kernel_sizes: list[int] = field(default_factory=lambda: [3, 5, 7])  # the parallel branches
    pyramid_bins: list[int] = field(default_factory=lambda: [1, 2, 4])  # SPP grid sizes per axis
    dropout: float = 0.5  # paper table 1, in the bottleneck
    attention_reduction: int = 8  # hidden size of the channel-attention MLP is channels // this
    # ``batch`` as in the paper; ``instance`` (or ``group``) normalizes each input by its own statistics, so a
    # model trained on tumor-centred patches does not meet a whole-brain crop with running patch statistics (the
    # one instance-norm demo run over-segmented real and synthetic cases: docs/training-experiments.md).
    norm: str = "batch"

    def __post_init__(self) -> None:
        if len(self.channels) != 4:
            raise ModelConfigError(f"msfen channels must list 4 stage widths, got {self.channels}")
        if any(k % 2 == 0 for k in self.kernel_sizes) or not self.kernel_sizes:
            raise ModelConfigError(f"msfen kernel_sizes must be odd, got {self.kernel_sizes}")
        if self.norm not in NORMS:
            raise ModelConfigError(f"msfen norm {self.norm!r}; expected {', '.join(NORMS)}")


class DepthwiseSeparableConv(nn.Module):
    """A k x k x k depthwise convolution then a 1x1x1 pointwise one, norm, ReLU: (B, Cin, *S) -> (B, Cout, *S)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, norm: str) -> None:
        super().__init__()
        self.depthwise = nn.Conv3d(
            in_channels, in_channels, kernel_size, padding=kernel_size // 2, groups=in_channels, bias=False
        )
        self.pointwise = nn.Conv3d(in_channels, out_channels, 1, bias=False)
        self.norm = make_norm(norm, out_channels, dims=3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.norm(self.pointwise(self.depthwise(x))), inplace=True)


class MultiScaleBlock(nn.Module):
    """Paper 2.2: parallel kernel sizes, concatenation + sigmoid channel attention, spatial attention, residual.

    (B, Cin, X, Y, Z) -> (B, Cout, X, Y, Z). The spatial map of the last forward is in
    ``self.spatial.last_map``, (B, 1, X, Y, Z) in [0, 1].
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_sizes: list[int], reduction: int, norm: str) -> None:
        super().__init__()
        self.branches = nn.ModuleList(DepthwiseSeparableConv(in_channels, out_channels, k, norm) for k in kernel_sizes)
        concatenated = out_channels * len(kernel_sizes)
        # Squeeze-excitation is the paper's "channel attention ... SIGMOID"; CBAM's max-pooled descriptor is
        # left out because a channel-wise amax over a channels-last volume is ~10x slower than the mean.
        self.channel = SqueezeExcitation(concatenated, reduction)
        self.fuse = nn.Sequential(
            nn.Conv3d(concatenated, out_channels, 1, bias=False), make_norm(norm, out_channels, dims=3)
        )
        self.spatial = SpatialAttention(dims=3)
        self.shortcut = (
            nn.Sequential(nn.Conv3d(in_channels, out_channels, 1, bias=False), make_norm(norm, out_channels, dims=3))
            if in_channels != out_channels
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scales = torch.cat([branch(x) for branch in self.branches], dim=1)  # (B, K * Cout, *S)
        fused = self.spatial(self.fuse(self.channel(scales)))  # (B, Cout, *S)
        return F.relu(fused + self.shortcut(x), inplace=True)


class SpatialPyramidPooling(nn.Module):
    """Average-pool to b x b x b grids, project, upsample back and fuse with the input: (B, C, *S) -> (B, C, *S).

    The pooled branches have no normalization: at bin 1 a batch of one has a single value per channel.
    """

    def __init__(self, channels: int, bins: list[int], norm: str) -> None:
        super().__init__()
        branch_channels = max(channels // len(bins), 1)
        self.bins = list(bins)
        self.branches = nn.ModuleList(nn.Conv3d(channels, branch_channels, 1) for _ in bins)
        self.fuse = nn.Sequential(
            nn.Conv3d(channels + branch_channels * len(bins), channels, 1, bias=False),
            make_norm(norm, channels, dims=3),
            nn.ReLU(inplace=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = tuple(x.shape[2:])
        pooled = [
            upsample_to(F.relu(branch(F.adaptive_avg_pool3d(x, bins))), size)  # (B, C / len(bins), *S)
            for branch, bins in zip(self.branches, self.bins, strict=True)
        ]
        return self.fuse(torch.cat([x, *pooled], dim=1))  # (B, C + len(bins) * C / len(bins), *S) -> (B, C, *S)


class Bottleneck(nn.Module):
    """Paper 2.1: two 3x3x3 convolutions up to ``out_channels``, pyramid pooling, dropout."""

    def __init__(self, in_channels: int, out_channels: int, bins: list[int], dropout: float, norm: str) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.Conv3d(in_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels, dims=3),
            nn.ReLU(inplace=True),
            nn.Conv3d(out_channels, out_channels, 3, padding=1, bias=False),
            make_norm(norm, out_channels, dims=3),
            nn.ReLU(inplace=True),
        )
        self.pyramid = SpatialPyramidPooling(out_channels, bins, norm)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.pyramid(self.convs(x)))


class DecoderStage(nn.Module):
    """Transposed convolution x2, concatenate the skip, residual double convolution (norm, ReLU)."""

    def __init__(self, in_channels: int, skip_channels: int, norm: str) -> None:
        super().__init__()
        self.up = nn.ConvTranspose3d(in_channels, skip_channels, 2, stride=2)
        self.conv = ResidualUnit(2 * skip_channels, skip_channels, dims=3, norm=norm, negative_slope=0.0)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.up(x), skip], dim=1))  # (B, 2 * Cskip, *S) -> (B, Cskip, *S)


class MSFEN(SegmentationModel):
    """3D multi-scale feature extraction network.

    Args:
        config: an :class:`MSFENConfig`.

    ``forward(images)`` takes (B, 4, X, Y, Z) float32, each size divisible by 16, and returns WT / TC / ET
    logits (B, 3, X, Y, Z) and ``attention["semantic"]``: the deepest encoder stage's spatial attention,
    upsampled to (B, 1, X, Y, Z), in [0, 1]. ``prompts`` are ignored: the model always answers all regions.
    """

    config: MSFENConfig

    def __init__(self, config: MSFENConfig) -> None:
        super().__init__(config)
        widths = [config.in_channels, *config.channels]
        self.encoder = nn.ModuleList(
            MultiScaleBlock(c_in, c_out, config.kernel_sizes, config.attention_reduction, config.norm)
            for c_in, c_out in pairwise(widths)
        )
        self.bottleneck = Bottleneck(
            config.channels[-1], config.bottleneck_channels, config.pyramid_bins, config.dropout, config.norm
        )
        decoder_inputs = [config.bottleneck_channels, *reversed(config.channels[1:])]
        self.decoder = nn.ModuleList(
            DecoderStage(c_in, c_skip, config.norm)
            for c_in, c_skip in zip(decoder_inputs, reversed(config.channels), strict=True)
        )
        self.head = nn.Conv3d(config.channels[0], len(config.data.outputs), 1)

    def forward(self, images: torch.Tensor, prompts: list[str] | None = None) -> ModelOutput:
        if images.dim() != 5 or images.shape[1] != self.config.in_channels or any(s % 16 for s in images.shape[2:]):
            raise ValueError(
                f"msfen expects images (B, {self.config.in_channels}, X, Y, Z) with X, Y, Z divisible by 16, "
                f"got {tuple(images.shape)}"
            )
        # Channels-last: mkldnn's CPU 3D convolutions run 3-8x faster on it, the whole demo ~1.3x (torch 2.15).
        x = images.contiguous(memory_format=torch.channels_last_3d)
        skips = []
        for stage in self.encoder:
            x = stage(x)  # (B, C_i, S / 2**i)
            skips.append(x)
            x = F.max_pool3d(x, 2)  # (B, C_i, S / 2**(i+1))
        x = self.bottleneck(x)  # (B, C_bottleneck, S / 16)
        for stage, skip in zip(self.decoder, reversed(skips), strict=True):
            x = stage(x, skip)  # (B, C_i, S / 2**i)
        logits = self.head(x).contiguous()  # (B, 3, X, Y, Z), back to the default memory layout
        semantic = self.encoder[-1].spatial.last_map  # (B, 1, S / 8)
        return ModelOutput(logits=logits, attention={"semantic": upsample_to(semantic, tuple(images.shape[2:]))})


register(
    Variant(
        name="msfen",
        description="3D multi-scale U-Net: parallel 3/5/7 depthwise-separable branches, attention, pyramid pooling",
        paper="004_5799289b306ae00e.txt",
        citation="Wang, Y.: Multimodal Brain Tumor Segmentation Based on Multi-Scale Feature Extraction Network",
        config_class=MSFENConfig,
        build=MSFEN,
        # Paper 004: "a composite loss function combining cross-entropy and Dice Loss".
        recipe=VariantRecipe("ce-dice"),
    )
)
