"""unet3d: the "traditional 3D U-Net" baseline of seed paper 000 (tables 1-3), as a plain residual U-Net.

The paper gives no architecture for its baseline; this one has the same widths and depth as the proposed
model (four encoder levels and a bottleneck, 32..512 channels in the paper size) but none of its additions:
no pixel-level fusion, no CBAM, no attention gates, no CLIP semantics. Inputs must be divisible by 16.
The demo size starts with a strided level (``stem_stride=2``) and one level fewer, so that a whole case
segments in seconds on a CPU; its logits are upsampled to the input size.

The residual encoder and decoder defined here are also the backbone of ``clip-unet3d``, which switches on
their CBAM and ET / TC attention gates.

    >>> model = create("unet3d", "demo")
    >>> out = model(torch.zeros(1, 4, 128, 128, 128))  # out.logits: (1, 3, 128, 128, 128)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from brainseg.models.blocks import NORMS, AttentionGate, ResidualUnit, conv_nd, transpose_conv_nd, upsample_to
from brainseg.models.contract import ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import Variant, VariantRecipe, register


def check_volume(images: torch.Tensor, in_channels: int, multiple: int) -> None:
    """Raise a ValueError unless ``images`` is (B, in_channels, X, Y, Z) with X, Y, Z divisible by ``multiple``."""
    shape = tuple(images.shape)
    if images.dim() != 5 or shape[1] != in_channels:
        raise ValueError(f"images must be (B, {in_channels}, X, Y, Z), got shape {shape}")
    if any(size % multiple for size in shape[2:]):
        raise ValueError(
            f"spatial size {shape[2:]} of images {shape} must be divisible by {multiple} "
            f"(the network halves it {multiple.bit_length() - 1} times); pad or crop the volume"
        )


class ResidualEncoder(nn.Module):
    """One residual unit per level; level 0 runs at 1 / stem_stride of the input, each later level halves it.

    ``forward(x (B, Cin, X, Y, Z)) -> [(B, channels[i], X / (stem_stride * 2**i), ...) for each level i]``;
    the last entry is the bottleneck. Downsampling is the strided first convolution of a level.
    """

    def __init__(
        self, in_channels: int, channels: list[int], norm: str, attention: str, dropout: float, stem_stride: int = 1
    ) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        last = len(channels) - 1
        self.levels = nn.ModuleList(
            ResidualUnit(
                widths[i],
                widths[i + 1],
                stride=stem_stride if i == 0 else 2,
                norm=norm,
                attention=attention,
                dropout=dropout if i == last else 0.0,  # regularize the bottleneck only
            )
            for i in range(len(channels))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        features = []
        for level in self.levels:
            x = level(x)
            features.append(x)
        return features


class DecoderStage(nn.Module):
    """Upsample by a transposed convolution, gate the skip, concatenate, one residual unit.

    With ``gates`` (e.g. ``("ET", "TC")``) the skip passes through one additive attention gate per name, driven
    by the coarser features, and the gated copies are concatenated side by side; without, the raw skip is.

    ``forward(x (B, Cin, *S/2), skip (B, Cout, *S)) -> ((B, Cout, *S), {name: (B, 1, *S) in [0, 1]})``.
    """

    def __init__(self, in_channels: int, out_channels: int, norm: str, attention: str, gates: tuple[str, ...]) -> None:
        super().__init__()
        self.up = transpose_conv_nd(3)(in_channels, out_channels, 2, stride=2)
        self.gates = nn.ModuleDict(
            {name: AttentionGate(out_channels, in_channels, max(out_channels // 2, 4)) for name in gates}
        )
        skip_copies = max(len(gates), 1)
        self.block = ResidualUnit((1 + skip_copies) * out_channels, out_channels, norm=norm, attention=attention)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        maps: dict[str, torch.Tensor] = {}
        skips = [skip]
        if self.gates:
            skips = []
            for name, gate in self.gates.items():
                skips.append(gate(skip, x))  # (B, Cout, *S)
                maps[name] = gate.last_map  # (B, 1, *S)
        return self.block(torch.cat([self.up(x), *skips], dim=1)), maps  # cat: (B, (1 + n) * Cout, *S)


class ResidualDecoder(nn.Module):
    """Decoder stages from the bottleneck back to full resolution.

    ``forward(features)`` takes the encoder's list and returns the stage outputs coarse to fine,
    ``[(B, channels[i], *S / 2**i) for i = L-2 .. 0]``, and the gate maps of the finest stage.
    """

    def __init__(self, channels: list[int], norm: str, attention: str, gates: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            DecoderStage(channels[i], channels[i - 1], norm, attention, gates) for i in range(len(channels) - 1, 0, -1)
        )

    def forward(self, features: list[torch.Tensor]) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        x, outputs, maps = features[-1], [], {}
        for stage, skip in zip(self.stages, reversed(features[:-1]), strict=True):
            x, maps = stage(x, skip)
            outputs.append(x)
        return outputs, maps


def feature_activation_map(features: torch.Tensor) -> torch.Tensor:
    """Mean absolute activation over channels, scaled per case to [0, 1]: (B, C, *S) -> (B, 1, *S)."""
    activation = features.abs().mean(1, keepdim=True)  # (B, 1, *S)
    peak = activation.flatten(1).amax(1).clamp(min=1e-6)  # (B,)
    return activation / peak.view(-1, 1, 1, 1, 1)


@dataclass
class UNet3DConfig(ModelConfig):
    """Architecture of :class:`UNet3D`; sizes live in ``configs/unet3d/<size>.json``."""

    variant: ClassVar[str] = "unet3d"
    in_channels: int = 4
    # Widths of the encoder levels, the last being the bottleneck; level i runs at 1 / (stem_stride * 2**i)
    # of the input, so inputs must be divisible by stem_stride * 2**(len - 1) = 16 in both sizes.
    channels: list[int] = field(default_factory=lambda: [8, 16, 32, 64])
    # 2 (demo): level 0 already halves the input, so a whole case fits a CPU budget; logits are upsampled
    # trilinearly to the input size. 1 (paper): level 0 at full resolution.
    stem_stride: int = 2
    norm: str = "instance"  # batch size 1 (paper A.1) makes batch statistics of one case; instance norm is usual
    dropout: float = 0.2  # paper 4.1, for every model it trains
    deep_supervision: bool = True  # 1x1 heads on the coarser decoder stages, training mode only

    def __post_init__(self) -> None:
        if len(self.channels) < 2:
            raise ModelConfigError(f"unet3d channels must list at least 2 widths, got {self.channels}")
        if self.stem_stride not in (1, 2):
            raise ModelConfigError(f"unet3d stem_stride must be 1 or 2, got {self.stem_stride}")
        if self.norm not in NORMS:
            raise ModelConfigError(f"unet3d norm {self.norm!r}; expected {', '.join(NORMS)}")


class UNet3D(SegmentationModel):
    """Plain residual 3D U-Net: (B, 4, X, Y, Z) -> WT, TC, ET logits (B, 3, X, Y, Z); prompts are ignored.

    Args:
        config: a :class:`UNet3DConfig`.

    ``attention["activation"]`` is the mean absolute activation of the last decoder stage, scaled to [0, 1]
    per case: this baseline has no attention of its own, and the app needs a map to show.
    """

    def __init__(self, config: UNet3DConfig) -> None:
        super().__init__(config)
        channels = config.channels
        self.multiple = config.stem_stride * 2 ** (len(channels) - 1)
        self.encoder = ResidualEncoder(
            config.in_channels, channels, config.norm, "none", config.dropout, config.stem_stride
        )
        self.decoder = ResidualDecoder(channels, config.norm, "none")
        outputs = len(config.data.outputs)
        self.head = conv_nd(3)(channels[0], outputs, 1)
        # one per decoder stage above full resolution: channels[L-2] .. channels[1]
        self.deep_heads = nn.ModuleList(
            conv_nd(3)(c, outputs, 1) for c in (channels[-2:0:-1] if config.deep_supervision else [])
        )

    def forward(self, images: torch.Tensor, prompts: list[str] | None = None) -> ModelOutput:
        """images: (B, 4, X, Y, Z) float32, X, Y, Z divisible by 16 -> :class:`ModelOutput`."""
        check_volume(images, self.config.in_channels, self.multiple)
        size = tuple(images.shape[2:])
        decoded, _ = self.decoder(self.encoder(images))  # coarse to fine; decoded[-1]: (B, C0, *size / stem)
        deep = []
        if self.training and self.deep_heads:
            deep = [head(x) for head, x in zip(self.deep_heads, decoded[:-1], strict=True)]
        return ModelOutput(
            logits=upsample_to(self.head(decoded[-1]), size),  # (B, 3, X, Y, Z)
            attention={"activation": upsample_to(feature_activation_map(decoded[-1]), size)},
            deep_supervision=deep,  # coarse to fine: (B, 3, X / (stem_stride * 2**k), ...) for k = L-2 .. 1
        )


register(
    Variant(
        name="unet3d",
        description="Plain residual 3D U-Net: the traditional baseline of the CLIP + 3D U-Net paper",
        paper="000_83ebb05126561239.txt (baseline)",
        citation="Zhang, M.-D.: A Brain Tumor Segmentation Method Based on CLIP and 3D U-Net with Cross-Modal Semantic "
        "Guidance and Multi-Level Feature Fusion (2025); its traditional 3D U-Net baseline",
        config_class=UNet3DConfig,
        build=UNet3D,
        # Paper 000 trains with Dice and cross-entropy on the three nested regions; heads at each decoder level.
        recipe=VariantRecipe("dice-bce", deep_supervision=True),
    )
)
