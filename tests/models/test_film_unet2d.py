"""film-unet2d: sizes build, shapes, prompt conditioning, frozen BERT, 2.5D slices, config round trip, errors."""

from __future__ import annotations

import json

import pytest
import torch

from brainseg.models import ModelConfigError, create, get_variant, load_config
from brainseg.models.film_unet2d import FiLMUNet2D, FiLMUNet2DConfig, slices_to_volume, volume_to_slices

PROMPTS = ["segment the whole tumor", "segment the enhancing tumor"]


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def demo() -> FiLMUNet2D:
    torch.manual_seed(0)
    return create("film-unet2d", "demo").eval()


def test_registered_with_its_paper():
    variant = get_variant("film-unet2d")
    assert variant.paper == "002_ba25cb4b61c61915.txt"
    assert variant.config_class is FiLMUNet2DConfig


def test_demo_builds_with_a_frozen_text_encoder(demo):
    trainable, total = parameter_counts(demo)
    text = sum(p.numel() for p in demo.text_encoder.parameters())
    assert total - trainable == text > 0
    assert demo.config.data.outputs == ["target"] and demo.config.data.dims == 2


def test_paper_size_follows_the_paper_channel_plan():
    model = create("film-unet2d", "paper")
    assert model.config.channels == [64, 128, 256, 512]  # paper 3.1: 512-channel bottleneck
    assert model.decoder[-1].block.conv.conv2.out_channels == 64  # paper 3.5: last decoder stage
    assert model.config.text.context_length == 16 and model.config.text.width == 768
    trainable, total = parameter_counts(model)
    # The paper's 42.7M is not reachable with its own channel plan (see the module docstring):
    # the plan gives 9.77M trainable; the frozen bert-base (without pooler) adds 108.9M.
    assert trainable == pytest.approx(9.77e6, rel=0.01)
    assert total - trainable == pytest.approx(108.9e6, rel=0.01)
    assert not any(p.requires_grad for p in model.text_encoder.parameters())


def test_forward_shapes_and_attention(demo):
    with torch.no_grad():
        out = demo(torch.randn(2, 4, 32, 48), PROMPTS)
    assert out.logits.shape == (2, 1, 32, 48)
    assert set(out.attention) == {"semantic"}
    semantic = out.attention["semantic"]
    assert semantic.shape == (2, 1, 32, 48)
    assert 0.0 <= semantic.min().item() <= semantic.max().item() <= 1.0
    assert out.deep_supervision == []


def test_no_prompt_means_the_default_prompt(demo):
    images = torch.randn(2, 4, 32, 32)
    with torch.no_grad():
        implicit = demo(images).logits
        explicit = demo(images, [demo.config.default_prompt] * 2).logits
    assert torch.equal(implicit, explicit)


def test_repeated_prompts_are_encoded_once_with_the_same_result(demo):
    with torch.no_grad():
        repeated = demo.encode_prompts([PROMPTS[1], PROMPTS[0], PROMPTS[1]], 3)
        single = demo.text_encoder([PROMPTS[1], PROMPTS[0]])
    assert torch.allclose(repeated, single[[0, 1, 0]])


def test_prompts_change_the_logits_once_film_is_trained():
    # Train mode (batch statistics): an untrained network in eval mode normalizes with the initial running
    # statistics, and its activations shrink stage by stage until the bottleneck is ~1e-5.
    torch.manual_seed(0)
    model = create("film-unet2d", "demo", dropout=0.0).train()
    images = torch.randn(1, 4, 32, 32).expand(2, -1, -1, -1)
    with torch.no_grad():
        identity = model(images, PROMPTS).logits
        assert torch.allclose(identity[0], identity[1])  # FiLM and CBN start at the identity
        for film in (model.fusion.film, model.fusion.cbn.film):
            film.to_gamma_beta.weight.normal_(std=0.5)
        conditioned = model(images, PROMPTS).logits
    assert (conditioned[0] - conditioned[1]).abs().max() > 1e-2


def test_gradients_reach_every_trainable_parameter_and_bert_stays_frozen():
    torch.manual_seed(0)
    model = create("film-unet2d", "demo", dropout=0.0).train()
    assert not model.text_encoder.training  # a frozen tower stays in eval mode
    bert_before = {name: p.clone() for name, p in model.text_encoder.named_parameters()}
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    out = model(torch.randn(2, 4, 32, 32), PROMPTS)
    (out.logits * torch.randn_like(out.logits)).mean().backward()
    trainable = {name: p for name, p in model.named_parameters() if p.requires_grad}
    assert [name for name, p in trainable.items() if p.grad is None] == []
    # Every group learns. (Single tensors may get an all-zero gradient: the 4-unit hidden ReLU layer of a small
    # SE / CBAM MLP can be dead at initialization, depending on the seed.)
    for group in ("encoder.", "fusion.film.", "fusion.se.", "fusion.cbn.", "decoder.", "head."):
        assert any(p.grad.any() for name, p in trainable.items() if name.startswith(group)), group
    optimizer.step()
    for name, p in model.text_encoder.named_parameters():
        assert not p.requires_grad and p.grad is None
        assert torch.equal(p, bert_before[name]), name


def test_config_json_round_trip():
    config = load_config("film-unet2d", "paper")
    restored = FiLMUNet2DConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    assert restored.text.kind == "bert" and restored.text.frozen


def test_context_slices_widen_the_input():
    model = create("film-unet2d", "demo", context_slices=1).eval()
    assert model.config.input_channels == 12
    assert model.encoder[0].conv.conv1.in_channels == 12
    with torch.no_grad():
        assert model(torch.randn(1, 12, 32, 32)).logits.shape == (1, 1, 32, 32)
    with pytest.raises(ValueError, match=r"\(B, 12, H, W\).*4 sequences x 3 slices"):
        model(torch.randn(1, 4, 32, 32))


def test_volume_to_slices_stacks_neighbours_offset_major_and_repeats_edges():
    # volume[b, c, x, y, z] = 100 b + 10 c + z, so every channel says where it came from
    b, c, z = torch.meshgrid(torch.arange(2), torch.arange(4), torch.arange(5), indexing="ij")
    volume = (100 * b + 10 * c + z).float()[:, :, None, None, :].expand(2, 4, 16, 16, 5)
    slices = volume_to_slices(volume, context_slices=1)
    assert slices.shape == (10, 12, 16, 16)
    assert slices[0, :, 0, 0].tolist() == [0, 10, 20, 30, 0, 10, 20, 30, 1, 11, 21, 31]  # z=0: edge repeats
    assert slices[7, :, 0, 0].tolist() == [101, 111, 121, 131, 102, 112, 122, 132, 103, 113, 123, 133]
    centre = slices[:, 4:8]  # offset 0
    assert torch.equal(slices_to_volume(centre, batch=2), volume)


def test_segment_volume_matches_slice_by_slice(demo):
    volume = torch.randn(1, 4, 32, 32, 5)
    with torch.no_grad():
        out = demo.segment_volume(volume, [PROMPTS[1]], slice_batch=2)
        one = demo(volume[..., 3], [PROMPTS[1]])
    assert out.logits.shape == out.attention["semantic"].shape == (1, 1, 32, 32, 5)
    assert torch.allclose(out.logits[..., 3], one.logits, atol=1e-5)


@pytest.mark.parametrize("shape", [(1, 4, 30, 32), (1, 3, 32, 32), (4, 32, 32)])
def test_bad_input_shape_names_the_shape(demo, shape):
    with pytest.raises(ValueError, match=rf"divisible by 16 .*got \({', '.join(map(str, shape))}\)"):
        demo(torch.zeros(shape))


def test_wrong_number_of_prompts_is_rejected(demo):
    with pytest.raises(ValueError, match="list of 2 prompts"):
        demo(torch.zeros(2, 4, 32, 32), ["segment the tumor"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"channels": [8, 16, 32]}, "4 stage widths"), ({"context_slices": -1}, ">= 0")],
)
def test_bad_config_is_rejected(overrides, message):
    with pytest.raises(ModelConfigError, match=message):
        load_config("film-unet2d", "demo", **overrides)
