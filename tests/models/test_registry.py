"""The contract every variant shares: registry, sizes, outputs, and bit-identical checkpoint round trips."""

import pytest
import torch

from brainseg.hub import load_checkpoint, save_checkpoint
from brainseg.models import ModelConfigError, create, get_variant, list_models, load_config
from brainseg.models.registry import list_sizes

VARIANTS = ["clip-unet3d", "film-unet2d", "msfen", "sam-dmif", "tritier-film", "unet3d"]


def small_input(name: str) -> torch.Tensor:
    """A small valid input for a variant's demo size: (1, C, 32, 32, 32) volumes or (2, C, 64, 64) slices."""
    config = load_config(name, "demo")
    torch.manual_seed(0)
    if config.data.dims == 3:
        return torch.randn(1, len(config.data.sequences), 32, 32, 32)
    channels = len(config.data.sequences) * (2 * getattr(config, "context_slices", 0) + 1)
    return torch.randn(2, channels, 64, 64)


def test_registry_lists_all_six_variants_with_both_sizes():
    assert list_models() == VARIANTS
    for name in VARIANTS:
        assert {"demo", "paper"} <= set(list_sizes(name))
        assert get_variant(name).description


def test_unknown_names_and_sizes_list_the_valid_ones():
    with pytest.raises(ModelConfigError, match="unknown model 'unet9d'; valid models: clip-unet3d, film-unet2d"):
        create("unet9d")
    with pytest.raises(ModelConfigError, match="has no size 'huge'; sizes: demo, paper"):
        create("unet3d", "huge")


@pytest.mark.parametrize("name", VARIANTS)
def test_demo_forward_and_checkpoint_round_trip(name, tmp_path):
    torch.manual_seed(0)
    model = create(name, "demo").eval()
    images = small_input(name)
    with torch.no_grad():
        out = model(images)
    outputs = model.config.data.outputs
    assert out.logits.shape == (images.shape[0], len(outputs), *images.shape[2:])
    assert out.attention, "every variant exposes at least one attention map"
    for key, attention in out.attention.items():
        assert attention.shape[2:] == images.shape[2:], key
        assert float(attention.min()) >= 0 and float(attention.max()) <= 1, key
    assert out.deep_supervision == []

    loaded = load_checkpoint(f"local-dir:{save_checkpoint(model, tmp_path / name)}").model
    original, restored = model.state_dict(), loaded.state_dict()
    assert original.keys() == restored.keys()
    for key in original:
        assert torch.equal(original[key], restored[key]), key
    with torch.no_grad():
        assert torch.equal(loaded(images).logits, out.logits)
