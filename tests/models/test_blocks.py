"""The shared building blocks: shapes, attention ranges, identity initialisations, resizing."""

import pytest
import torch

from brainseg.models.blocks import (
    CBAM,
    FiLM,
    ResidualUnit,
    SpatialAttention,
    SqueezeExcitation,
    bottleneck_mlp,
    make_norm,
    upsample_to,
)


@pytest.mark.parametrize("dims", [2, 3])
def test_residual_unit_shapes_with_stride_and_attention(dims):
    x = torch.randn(2, 4, *([8] * dims))
    for attention in ("none", "se", "cbam"):
        out = ResidualUnit(4, 6, dims=dims, stride=2, attention=attention)(x)
        assert out.shape == (2, 6, *([4] * dims))


def test_attention_keeps_shape_and_its_map_is_in_0_1():
    x = torch.randn(2, 16, 5, 6, 7)
    assert SqueezeExcitation(16)(x).shape == x.shape
    spatial = SpatialAttention(dims=3)
    assert spatial(x).shape == x.shape
    assert spatial.last_map.shape == (2, 1, 5, 6, 7)
    assert float(spatial.last_map.min()) >= 0 and float(spatial.last_map.max()) <= 1
    assert CBAM(16, dims=3)(x).shape == x.shape
    assert bottleneck_mlp(16, 8)[0].out_features == 8  # never fewer than 8 hidden units
    assert bottleneck_mlp(256, 8)[0].out_features == 32


def test_film_starts_as_the_identity():
    x = torch.randn(3, 5, 4, 4)
    assert torch.equal(FiLM(5, condition_dim=7)(x, torch.randn(3, 7)), x)


def test_norms_and_resizing():
    assert make_norm("group", 12, 3).num_groups == 4  # 8 groups do not divide 12 channels
    assert make_norm("group", 32, 3).num_groups == 8
    with pytest.raises(ValueError, match="unknown norm"):
        make_norm("layer", 4, 3)
    x = torch.randn(1, 2, 4, 4, 4)
    assert upsample_to(x, (4, 4, 4)) is x
    assert upsample_to(x, (8, 6, 4)).shape == (1, 2, 8, 6, 4)
