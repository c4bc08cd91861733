"""clip-unet3d: shapes, attention maps, gradients, ablation flags, prompts, configs (seed paper 000)."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from brainseg.models import create, get_variant, load_config
from brainseg.models.clip_unet3d import (
    DEFAULT_PROMPT,
    LR_MULTIPLIERS,
    ClipUNet3D,
    ClipUNet3DConfig,
    PixelFusion,
    attenuate_logits,
)
from brainseg.models.contract import ModelConfigError

SHAPE = (1, 4, 32, 32, 32)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def demo(**overrides) -> ClipUNet3D:
    torch.manual_seed(0)
    return create("clip-unet3d", "demo", **overrides)


def count(model: nn.Module, trainable: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable)


def test_both_sizes_build():
    assert get_variant("clip-unet3d").paper == "000_83ebb05126561239.txt"
    paper = create("clip-unet3d", "paper")
    assert paper.config.channels == [32, 64, 128, 256, 512]
    assert paper.config.visual.image_size == 224 and paper.config.visual.patch_size == 32
    assert paper.config.text.width == 512 and paper.config.text.layers == 12
    assert paper.multiple == 16
    # the two CLIP towers alone are 63.4 M + 87.8 M parameters
    assert 170_000_000 < count(paper) < 200_000_000
    model = demo()
    assert model.multiple == 16
    assert count(model) < 10_000_000


def test_forward_outputs_in_eval_mode():
    model = demo().eval()
    with torch.no_grad():
        out = model(torch.randn(SHAPE), ["enhancing tumor"])
    assert out.logits.shape == (1, 3, 32, 32, 32)
    assert torch.isfinite(out.logits).all()
    assert set(out.attention) == {"semantic", "ET", "TC"}
    for name, attention in out.attention.items():
        assert attention.shape == (1, 1, 32, 32, 32), name
        assert attention.min() >= 0 and attention.max() <= 1, name
    assert out.deep_supervision == []
    assert out.aux["tumor_type"].shape == (1, 2)


def test_deep_supervision_only_in_training_mode():
    model = demo().train()
    out = model(torch.randn(2, 4, 32, 32, 32), ["whole tumor", "tumor core"])
    # demo: level 0 at 1/2; decoder stages at 1/8, 1/4 feed deep supervision, 1/2 the main head
    assert [tuple(d.shape) for d in out.deep_supervision] == [(2, 3, 4, 4, 4), (2, 3, 8, 8, 8)]
    assert out.logits.shape == (2, 3, 32, 32, 32)
    with torch.no_grad():
        assert model.eval()(torch.randn(2, 4, 32, 32, 32)).deep_supervision == []


def backward_on_all_outputs(model: ClipUNet3D) -> None:
    model.train()
    out = model(torch.randn(SHAPE), ["necrotic core with enhancing rim"])
    target = torch.rand_like(out.logits).round()
    loss = nn.functional.binary_cross_entropy_with_logits(out.logits, target)
    loss = loss + sum(d.sigmoid().mean() for d in out.deep_supervision)
    loss = loss + nn.functional.cross_entropy(out.aux["tumor_type"], torch.tensor([1]))
    loss.backward()


def test_gradients_reach_every_trainable_parameter():
    model = demo()
    backward_on_all_outputs(model)
    groups = model.parameter_groups()
    assert set(groups) == set(LR_MULTIPLIERS)
    assert sum(len(g) for g in groups.values()) == len(list(model.parameters()))
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert torch.isfinite(parameter.grad).all(), name


def test_frozen_clip_towers_get_no_gradients():
    config = load_config("clip-unet3d", "demo")
    config.text.frozen = True
    config.visual.frozen = True
    model = ClipUNet3D(config)
    backward_on_all_outputs(model)
    assert not model.text_encoder.training and not model.bridge.visual.training
    for name, parameter in model.named_parameters():
        if name.startswith(("text_encoder.", "bridge.visual.")):
            assert not parameter.requires_grad and parameter.grad is None, name
        else:
            assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
    assert count(model, trainable=True) < count(model)


@pytest.mark.parametrize(
    "flags",
    [
        {"pixel_fusion": False},
        {"semantic_guidance": False},
        {"semantic_attention": False},
        {"pixel_fusion": False, "semantic_guidance": False, "semantic_attention": False},
    ],
)
def test_ablation_flags_remove_their_modules(flags):
    model = demo(**flags)
    full = demo()
    assert isinstance(model.pixel_fusion, PixelFusion) == flags.get("pixel_fusion", True)
    assert (model.text_encoder is not None) == flags.get("semantic_guidance", True)
    assert hasattr(model.guidance, "text_mapper") == flags.get("semantic_guidance", True)
    assert (model.semantic_attention is not None) == flags.get("semantic_attention", True)
    assert count(model) < count(full)
    with torch.no_grad():
        out = model.eval()(torch.randn(SHAPE))
    assert out.logits.shape == (1, 3, 32, 32, 32)
    assert set(out.attention) == {"semantic", "ET", "TC"}
    for attention in out.attention.values():
        assert attention.shape == (1, 1, 32, 32, 32)
        assert attention.min() >= 0 and attention.max() <= 1
    assert out.aux["tumor_type"].shape == (1, 2)


def test_prompts_change_the_output():
    model = demo().eval()
    images = torch.randn(SHAPE)
    with torch.no_grad():
        enhancing = model(images, ["enhancing tumor"]).logits
        again = model(images, ["enhancing tumor"]).logits
        edema = model(images, ["peritumoral edema only"]).logits
        default = model(images).logits
        explicit_default = model(images, [DEFAULT_PROMPT]).logits
    assert torch.equal(enhancing, again)
    assert not torch.allclose(enhancing, edema, atol=1e-6)
    assert torch.equal(default, explicit_default)


def test_without_semantic_guidance_prompts_do_nothing():
    model = demo(semantic_guidance=False).eval()
    images = torch.randn(SHAPE)
    with torch.no_grad():
        assert torch.equal(model(images, ["enhancing tumor"]).logits, model(images, ["edema"]).logits)


@pytest.mark.parametrize(
    ("shape", "prompts", "message"),
    [
        ((1, 4, 32, 32, 24), None, r"spatial size \(32, 32, 24\) of images \(1, 4, 32, 32, 24\) must be divisible"),
        ((1, 2, 32, 32, 32), None, r"images must be \(B, 4, X, Y, Z\), got shape \(1, 2, 32, 32, 32\)"),
        ((2, 4, 32, 32, 32), ["only one"], r"prompts must be a list of 2 strings"),
        ((1, 4, 32, 32, 32), "a string", r"prompts must be a list of 1 strings"),
    ],
)
def test_bad_inputs_are_named(shape, prompts, message):
    model = demo().eval()
    with pytest.raises(ValueError, match=message):
        model(torch.zeros(shape), prompts)


@pytest.mark.parametrize("size", ["demo", "paper"])
def test_config_json_round_trip(size):
    config = load_config("clip-unet3d", size)
    assert ClipUNet3DConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_config_errors_name_the_field():
    values = load_config("clip-unet3d", "demo").to_dict()
    with pytest.raises(ModelConfigError, match="unknown field.*semantic_guidence"):
        ClipUNet3DConfig.from_dict({**values, "semantic_guidence": False})
    with pytest.raises(ModelConfigError, match="text encoder config: unknown field.*depth"):
        ClipUNet3DConfig.from_dict({**values, "text": {**values["text"], "depth": 3}})
    with pytest.raises(ModelConfigError, match="config is for variant 'unet3d'"):
        ClipUNet3DConfig.from_dict({**values, "variant": "unet3d"})
    with pytest.raises(ModelConfigError, match="semantic_dim 30 is not divisible by semantic_heads 4"):
        ClipUNet3DConfig(semantic_dim=30, semantic_heads=4)


def test_attenuate_logits_is_the_product_of_probabilities():
    logits = torch.tensor([-3.0, 0.0, 2.0, 5.0])
    scores = torch.tensor([1.0, -1.0, 0.0, 3.0])
    expected = torch.logit(torch.sigmoid(logits) * torch.sigmoid(scores))
    assert torch.allclose(attenuate_logits(logits, scores), expected, atol=1e-5)
    # far beyond where float32 probabilities round to 0 or 1, it stays finite and ordered
    extreme = attenuate_logits(torch.tensor([-200.0, 0.0, 200.0]), torch.tensor([-200.0, 200.0, 200.0]))
    assert torch.isfinite(extreme).all()
    assert extreme[0] < extreme[1] < extreme[2]


def test_pixel_fusion_follows_the_paper_intensity_maps():
    fusion = PixelFusion(["T1", "T1ce", "T2", "FLAIR"], clip=5.0, t1ce_exponent=0.9, et_gain=0.0, tc_gain=0.0)
    images = torch.tensor([9.0, 4.0, -7.0, 2.5]).view(1, 4, 1, 1, 1).expand(1, 4, 2, 2, 2)
    with torch.no_grad():
        out = fusion(images)[0, :, 0, 0, 0]
    # T1 clipped to 5; T1ce 4 ** 0.9; T2 clipped to -5 then scaled by the bound; FLAIR 2.5 / 5
    assert torch.allclose(out, torch.tensor([5.0, 4.0**0.9, -1.0, 0.5]))
