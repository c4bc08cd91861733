"""unet3d: the plain residual 3D U-Net baseline."""

from __future__ import annotations

import json

import pytest
import torch

from brainseg.models import create, get_variant, list_models, load_config
from brainseg.models.contract import ModelConfigError
from brainseg.models.unet3d import UNet3DConfig

pytestmark = pytest.mark.usefixtures("torch_one_thread")


def count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_registered_with_both_sizes():
    assert "unet3d" in list_models()
    assert get_variant("unet3d").paper == "000_83ebb05126561239.txt (baseline)"
    paper = create("unet3d", "paper")
    assert paper.config.channels == [32, 64, 128, 256, 512]
    assert paper.multiple == 16
    assert create("unet3d", "demo").multiple == 16
    assert 10_000_000 < count(paper) < 30_000_000


@pytest.mark.parametrize(
    ("overrides", "deep_shapes"),
    [
        ({}, [(2, 3, 4, 4, 2), (2, 3, 8, 8, 4)]),  # demo: stem 2, stages at 1/8, 1/4 (and 1/2 for the logits)
        ({"stem_stride": 1, "channels": [4, 8, 16]}, [(2, 3, 16, 16, 8)]),
        ({"stem_stride": 1, "channels": [4, 8]}, []),
    ],
)
def test_forward_shapes_and_deep_supervision_only_in_training(overrides, deep_shapes):
    torch.manual_seed(0)
    model = create("unet3d", "demo", **overrides).eval()
    images = torch.randn(2, 4, 32, 32, 16)
    with torch.no_grad():
        out = model(images)
    assert out.logits.shape == (2, 3, 32, 32, 16)
    activation = out.attention["activation"]
    assert activation.shape == (2, 1, 32, 32, 16)
    assert activation.min() >= 0 and activation.max() <= 1
    assert out.deep_supervision == []

    out = model.train()(images)
    assert out.logits.shape == (2, 3, 32, 32, 16)
    assert [tuple(d.shape) for d in out.deep_supervision] == deep_shapes


def test_every_parameter_gets_a_finite_gradient():
    model = create("unet3d", "demo").train()
    out = model(torch.randn(1, 4, 32, 32, 32))
    loss = out.logits.sigmoid().mean() + sum(d.sigmoid().mean() for d in out.deep_supervision)
    loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name


def test_without_deep_supervision_has_no_heads():
    model = create("unet3d", "demo", deep_supervision=False).train()
    assert len(model.deep_heads) == 0
    assert model(torch.randn(1, 4, 32, 32, 32)).deep_supervision == []


def test_config_round_trip_and_unknown_field():
    config = load_config("unet3d", "paper")
    assert UNet3DConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    with pytest.raises(ModelConfigError, match="unknown field.*widths"):
        UNet3DConfig.from_dict({**config.to_dict(), "widths": [1]})
    with pytest.raises(ModelConfigError, match="stem_stride must be 1 or 2, got 3"):
        UNet3DConfig(stem_stride=3)


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((1, 4, 32, 32, 20), r"spatial size \(32, 32, 20\) of images \(1, 4, 32, 32, 20\) must be divisible by 16"),
        ((1, 3, 32, 32, 32), r"images must be \(B, 4, X, Y, Z\), got shape \(1, 3, 32, 32, 32\)"),
        ((4, 32, 32, 32), r"images must be \(B, 4, X, Y, Z\)"),
    ],
)
def test_bad_input_shapes_are_named(shape, message):
    model = create("unet3d", "demo").eval()
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape))
