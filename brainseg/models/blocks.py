"""Building blocks shared by the variants: residual units, SE, CBAM, attention gates, FiLM, conditional BN.

Every block works in 2D or 3D (``dims``); tensors are (B, C, *spatial) with spatial (H, W) or (X, Y, Z).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def conv_nd(dims: int) -> type[nn.Module]:
    return {2: nn.Conv2d, 3: nn.Conv3d}[dims]


def norm_nd(dims: int) -> type[nn.Module]:
    return {2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[dims]


def instance_norm_nd(dims: int) -> type[nn.Module]:
    return {2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[dims]


def transpose_conv_nd(dims: int) -> type[nn.Module]:
    return {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}[dims]


NORMS = ("batch", "instance", "group")
"""The ``kind`` values :func:`make_norm` builds; model configs check their ``norm`` field against it."""


def make_norm(kind: str, channels: int, dims: int) -> nn.Module:
    """``batch``, ``instance`` (affine) or ``group`` (8 groups) normalization."""
    if kind == "batch":
        return norm_nd(dims)(channels)
    if kind == "instance":
        return instance_norm_nd(dims)(channels, affine=True)
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)  # groups must divide the channels (12 -> 4)
    raise ValueError(f"unknown norm {kind!r}; expected {', '.join(NORMS)}")


def bottleneck_mlp(channels: int, reduction: int) -> nn.Sequential:
    """Linear (C -> C / reduction, at least 8), ReLU, Linear back to C: the MLP of SE and CBAM."""
    hidden = max(channels // reduction, 8)  # a 4-unit ReLU layer can be entirely dead at init
    return nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))


class SqueezeExcitation(nn.Module):
    """Channel re-weighting by global pooling and a bottleneck MLP (Hu et al.). Shape-preserving."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.mlp = bottleneck_mlp(channels, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.sigmoid(self.mlp(x.flatten(2).mean(-1)))  # (B, C)
        return x * weights.view(*weights.shape, *([1] * (x.dim() - 2)))


class ChannelAttention(nn.Module):
    """CBAM channel attention: shared MLP over average- and max-pooled descriptors, sigmoid."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        self.mlp = bottleneck_mlp(channels, reduction)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)  # (B, C, N)
        weights = torch.sigmoid(self.mlp(flat.mean(-1)) + self.mlp(flat.amax(-1)))  # (B, C)
        return x * weights.view(*weights.shape, *([1] * (x.dim() - 2)))


class SpatialAttention(nn.Module):
    """CBAM spatial attention: conv over channel-wise mean and max maps, sigmoid.

    The map of the last forward is kept in ``last_map`` (B, 1, *spatial) so models can expose it.
    """

    def __init__(self, dims: int, kernel_size: int = 7) -> None:
        super().__init__()
        self.conv = conv_nd(dims)(2, 1, kernel_size, padding=kernel_size // 2)
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], dim=1)  # (B, 2, *S)
        attention = torch.sigmoid(self.conv(pooled))  # (B, 1, *S)
        self.last_map = attention
        return x * attention


class CBAM(nn.Module):
    """Convolutional block attention module (Woo et al.): channel then spatial attention."""

    def __init__(self, channels: int, dims: int, reduction: int = 8, kernel_size: int = 7) -> None:
        super().__init__()
        self.channel = ChannelAttention(channels, reduction)
        self.spatial = SpatialAttention(dims, kernel_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.spatial(self.channel(x))


class ResidualUnit(nn.Module):
    """Two 3x3(x3) convolutions with normalization and activation, plus a (1x1 projected) shortcut.

    Args:
        in_channels, out_channels: channel counts.
        dims: 2 or 3.
        stride: stride of the first convolution (2 halves each spatial size).
        norm: ``batch``, ``instance`` or ``group``.
        negative_slope: LeakyReLU slope (0 gives ReLU).
        attention: ``none``, ``se`` or ``cbam`` applied to the residual branch before the sum.
        dropout: dropout probability after the block.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        dims: int = 3,
        stride: int = 1,
        norm: str = "instance",
        negative_slope: float = 0.01,
        attention: str = "none",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        conv = conv_nd(dims)
        self.conv1 = conv(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm1 = make_norm(norm, out_channels, dims)
        self.conv2 = conv(out_channels, out_channels, 3, padding=1, bias=False)
        self.norm2 = make_norm(norm, out_channels, dims)
        self.act = nn.LeakyReLU(negative_slope, inplace=True)
        if attention == "se":
            self.attention: nn.Module = SqueezeExcitation(out_channels)
        elif attention == "cbam":
            self.attention = CBAM(out_channels, dims)
        elif attention == "none":
            self.attention = nn.Identity()
        else:
            raise ValueError(f"unknown attention {attention!r}; expected none, se or cbam")
        needs_projection = stride != 1 or in_channels != out_channels
        self.shortcut = (
            nn.Sequential(
                conv(in_channels, out_channels, 1, stride=stride, bias=False), make_norm(norm, out_channels, dims)
            )
            if needs_projection
            else nn.Identity()
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.act(self.norm1(self.conv1(x)))
        out = self.attention(self.norm2(self.conv2(out)))
        return self.dropout(self.act(out + self.shortcut(x)))


class AttentionGate(nn.Module):
    """Additive attention gate (Oktay et al.): a gating signal from the coarser decoder level selects skip features.

    Args:
        skip_channels: channels of the skip connection x, (B, Cx, *S).
        gate_channels: channels of the gating signal g, (B, Cg, *S') with S' <= S (upsampled to S).
        inter_channels: channels of the joint space.

    ``forward`` returns the gated skip (B, Cx, *S); the coefficients (B, 1, *S) are kept in ``last_map``.
    """

    def __init__(self, skip_channels: int, gate_channels: int, inter_channels: int, dims: int = 3) -> None:
        super().__init__()
        conv = conv_nd(dims)
        self.theta = conv(skip_channels, inter_channels, 1, bias=False)
        self.phi = conv(gate_channels, inter_channels, 1)
        self.psi = conv(inter_channels, 1, 1)
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        gate = F.interpolate(self.phi(g), size=x.shape[2:], mode="nearest")
        coefficients = torch.sigmoid(self.psi(F.relu(self.theta(x) + gate)))  # (B, 1, *S)
        self.last_map = coefficients
        return x * coefficients


class FiLM(nn.Module):
    """Feature-wise linear modulation (Perez et al.): ``x * (1 + gamma(c)) + beta(c)``.

    Args:
        channels: feature channels C of x, (B, C, *S).
        condition_dim: size D of the condition vector c, (B, D).

    Initialized to the identity (gamma = beta = 0) so an untrained condition does no harm.
    """

    def __init__(self, channels: int, condition_dim: int) -> None:
        super().__init__()
        self.to_gamma_beta = nn.Linear(condition_dim, 2 * channels)
        nn.init.zeros_(self.to_gamma_beta.weight)
        nn.init.zeros_(self.to_gamma_beta.bias)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.to_gamma_beta(condition).chunk(2, dim=-1)  # (B, C) each
        shape = (*gamma.shape, *([1] * (x.dim() - 2)))
        return x * (1 + gamma.view(shape)) + beta.view(shape)


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine; scale and shift predicted from a condition vector (de Vries et al.).

    Args:
        channels: C of x, (B, C, *S).
        condition_dim: D of the condition, (B, D).
        dims: 2 or 3.
    """

    def __init__(self, channels: int, condition_dim: int, dims: int = 3) -> None:
        super().__init__()
        self.norm = norm_nd(dims)(channels, affine=False)
        self.film = FiLM(channels, condition_dim)

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.film(self.norm(x), condition)


def upsample_to(x: torch.Tensor, size: tuple[int, ...]) -> torch.Tensor:
    """Resize (B, C, *S) to spatial ``size`` (trilinear / bilinear), a no-op when already there."""
    if tuple(x.shape[2:]) == tuple(size):
        return x
    mode = "trilinear" if x.dim() == 5 else "bilinear"
    return F.interpolate(x, size=size, mode=mode, align_corners=False)
