import pytest
import torch
from safetensors.torch import save_file

from brainseg.hub import CheckpointError
from brainseg.hub.backbones import OPEN_CLIP_WEIGHTS, backbone_source, load_pretrained_backbones
from brainseg.models import build_from_config, load_config


def open_clip_layout(model) -> dict[str, torch.Tensor]:
    """Fresh random tensors for the model's CLIP towers, named as open_clip names them in one CLIP state dict."""
    torch.manual_seed(1)
    state = {}
    for key, value in model.text_encoder.state_dict().items():
        state[key.removeprefix("transformer.")] = torch.randn_like(value.float()).to(value.dtype)
    for key, value in model.bridge.visual.state_dict().items():
        state["visual." + key.removeprefix("transformer.")] = torch.randn_like(value.float()).to(value.dtype)
    state["logit_scale"] = torch.tensor(4.6)
    return state


def test_clip_towers_load_from_a_local_open_clip_checkpoint(tmp_path):
    config = load_config("clip-unet3d", "demo")
    config.text.pretrained = f"local-dir:{tmp_path}"
    config.visual.pretrained = f"local-dir:{tmp_path}"
    model = build_from_config(config)
    state = open_clip_layout(model)
    save_file(state, tmp_path / OPEN_CLIP_WEIGHTS)
    loaded = load_pretrained_backbones(model)
    assert len(loaded) == 2
    for key, value in model.text_encoder.state_dict().items():
        assert torch.equal(value, state[key.removeprefix("transformer.")]), key
    for key, value in model.bridge.visual.state_dict().items():
        assert torch.equal(value, state["visual." + key.removeprefix("transformer.")]), key


def test_missing_or_mismatched_backbone_is_a_clear_error(tmp_path):
    config = load_config("clip-unet3d", "demo")
    config.text.pretrained = f"local-dir:{tmp_path}"
    model = build_from_config(config)
    with pytest.raises(CheckpointError, match=f"{OPEN_CLIP_WEIGHTS} is missing"):
        load_pretrained_backbones(model)
    save_file({"token_embedding.weight": torch.zeros(3, 3)}, tmp_path / OPEN_CLIP_WEIGHTS)
    with pytest.raises(ValueError, match="weights do not fit the architecture"):
        load_pretrained_backbones(model)


def test_aliases_expand_to_pinned_hub_sources():
    assert backbone_source("openai").startswith("hf-hub:timm/vit_base_patch32_clip_224.openai@")
    with pytest.raises(CheckpointError, match="is not a bundled name"):
        backbone_source("ftp://x")
