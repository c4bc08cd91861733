"""msfen: sizes build, shapes, attention, gradients, norm choice, config round trip, input validation."""

from __future__ import annotations

import json

import pytest
import torch

from brainseg.models import ModelConfigError, create, get_variant, load_config
from brainseg.models.msfen import MSFEN, MSFENConfig


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return trainable, sum(p.numel() for p in model.parameters())


def test_registered_with_its_paper():
    variant = get_variant("msfen")
    assert variant.paper == "004_5799289b306ae00e.txt"
    assert variant.config_class is MSFENConfig


@pytest.mark.parametrize(("size", "bottleneck"), [("demo", 128), ("paper", 256)])
def test_every_size_builds(size, bottleneck):
    model = create("msfen", size)
    assert isinstance(model, MSFEN)
    assert model.config.size == size
    assert model.bottleneck.convs[0].out_channels == bottleneck
    trainable, total = parameter_counts(model)
    assert trainable == total  # nothing frozen
    assert [branch.depthwise.kernel_size for branch in model.encoder[0].branches] == [(3, 3, 3), (5, 5, 5), (7, 7, 7)]


def test_paper_is_larger_than_demo():
    assert parameter_counts(create("msfen", "paper"))[0] > 2 * parameter_counts(create("msfen", "demo"))[0]


def test_forward_shapes_and_attention_in_eval_mode():
    torch.manual_seed(0)
    model = create("msfen", "demo").eval()
    with torch.no_grad():
        out = model(torch.randn(1, 4, 32, 48, 16))
    assert out.logits.shape == (1, 3, 32, 48, 16)
    assert out.logits.is_contiguous()
    assert set(out.attention) == {"semantic"}
    semantic = out.attention["semantic"]
    assert semantic.shape == (1, 1, 32, 48, 16)
    assert 0.0 <= semantic.min().item() <= semantic.max().item() <= 1.0
    assert out.deep_supervision == []  # the paper has no deep supervision


def test_prompts_are_ignored():
    model = create("msfen", "demo").eval()
    images = torch.randn(1, 4, 16, 16, 16)
    with torch.no_grad():
        assert torch.equal(model(images).logits, model(images, ["enhancing tumor"]).logits)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = create("msfen", "demo", dropout=0.0).train()
    out = model(torch.randn(2, 4, 32, 32, 32))
    (out.logits * torch.randn_like(out.logits)).mean().backward()
    assert [name for name, p in model.named_parameters() if p.grad is None] == []
    # Every group learns. (Single tensors may get an all-zero gradient: the 4-unit hidden ReLU layer of a small
    # SE MLP can be dead at initialization, depending on the seed.)
    for group in ("encoder.", "bottleneck.convs.", "bottleneck.pyramid.", "decoder.", "head."):
        assert any(p.grad.any() for name, p in model.named_parameters() if name.startswith(group)), group


@pytest.mark.parametrize("norm", ["instance", "group"])
def test_per_input_norms_use_each_inputs_own_statistics(norm):
    """With ``norm`` instance or group no batch norm is left, and an input's output does not depend on its batch
    mates."""
    torch.manual_seed(0)
    model = create("msfen", "demo", norm=norm, dropout=0.0).train()
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert create("msfen", "demo").encoder[0].branches[0].norm.__class__ is torch.nn.BatchNorm3d  # paper default
    first, other = torch.randn(1, 4, 32, 32, 32), 5 * torch.randn(1, 4, 32, 32, 32)
    alone = model(first).logits
    batched = model(torch.cat([first, other])).logits[:1]
    assert torch.allclose(alone, batched, atol=1e-4)


def test_config_json_round_trip():
    config = load_config("msfen", "paper")
    restored = MSFENConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert restored == config
    assert restored.to_dict()["variant"] == "msfen"
    assert config.data.outputs == ["WT", "TC", "ET"] and config.data.dims == 3


@pytest.mark.parametrize(
    "shape",
    [(1, 4, 30, 32, 32), (1, 3, 32, 32, 32), (4, 32, 32, 32)],
)
def test_bad_input_shape_names_the_shape(shape):
    model = create("msfen", "demo").eval()
    with pytest.raises(ValueError, match=rf"divisible by 16, got \({', '.join(map(str, shape))}\)"):
        model(torch.zeros(shape))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("channels", [8, 16, 32], "4 stage widths"),
        ("kernel_sizes", [3, 4], "must be odd"),
        ("norm", "layer", "norm 'layer'; expected batch, instance, group"),
    ],
)
def test_bad_config_is_rejected(field, value, message):
    with pytest.raises(ModelConfigError, match=message):
        load_config("msfen", "demo", **{field: value})
