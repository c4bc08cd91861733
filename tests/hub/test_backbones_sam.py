"""SAM ViT weights in transformers' layout load into sam-dmif's segment-anything encoder and compute the same."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from brainseg.hub import CheckpointError
from brainseg.hub.backbones import backbone_source, load_pretrained_backbones
from brainseg.hub.backbones_sam import image_encoder_weights_from_transformers
from brainseg.models import build_from_config, load_config
from brainseg.models.sam_dmif import SamDmif

# A small SAM: 64 px, 4x4 tokens, windows of 3 (padded to 6, as SAM-B pads 64 to 70) in block 0 and global
# attention with relative positions in block 1, as SAM-B alternates them.
VIT = {"image_size": 64, "patch_size": 16, "embed_dim": 32, "depth": 2, "num_heads": 2, "window_size": 3}
VIT.update(global_attn_indexes=[1], use_rel_pos=True, prompt_dim=32)


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def transformers_sam():
    """A random transformers ``SamModel`` of the small size, every tensor non-trivial (norms, positions too)."""
    from transformers import SamConfig, SamMaskDecoderConfig, SamPromptEncoderConfig, SamVisionConfig

    vision = SamVisionConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=16,
        output_channels=32, window_size=3, global_attn_indexes=[1], use_rel_pos=True,
    )  # fmt: skip
    config = SamConfig(
        vision_config=vision.to_dict(),
        prompt_encoder_config=SamPromptEncoderConfig(hidden_size=32, image_size=64, patch_size=16).to_dict(),
        mask_decoder_config=SamMaskDecoderConfig(
            hidden_size=32, mlp_dim=64, num_hidden_layers=1, num_attention_heads=2, iou_head_hidden_dim=32
        ).to_dict(),
    )
    from transformers import SamModel

    torch.manual_seed(0)
    model = SamModel(config).eval()
    with torch.no_grad():
        for parameter in model.parameters():  # SAM initializes positions to zero and norms to one
            parameter.add_(0.1 * torch.randn_like(parameter))
    return model


@pytest.fixture(scope="module")
def hub_folder(tmp_path_factory):
    """The small SAM saved as its Hub repository holds it (config.json + model.safetensors)."""
    folder = tmp_path_factory.mktemp("sam")
    reference = transformers_sam()
    reference.save_pretrained(folder)
    return folder, reference


def small_sam_dmif(source: str) -> SamDmif:
    config = load_config("sam-dmif", "demo")
    for key, value in {**VIT, "pretrained": source}.items():
        setattr(config, key, value)
    return build_from_config(config)


def test_mapping_covers_the_vision_encoder_and_drops_the_rest(hub_folder):
    folder, _ = hub_folder
    state = load_file(folder / "model.safetensors")
    mapped = image_encoder_weights_from_transformers(state)
    assert len(mapped) == sum(key.startswith("vision_encoder.") for key in state) < len(state)
    assert {"patch_embed.proj.weight", "pos_embed", "blocks.1.norm2.bias", "blocks.1.attn.rel_pos_h"} <= set(mapped)
    assert {"neck.0.weight", "neck.1.bias", "neck.2.weight", "neck.3.weight"} <= set(mapped)
    assert torch.equal(mapped["blocks.0.mlp.lin2.weight"], state["vision_encoder.layers.0.mlp.lin2.weight"])


def test_sam_weights_give_the_same_image_embedding_as_transformers(hub_folder):
    folder, reference = hub_folder
    model = small_sam_dmif(f"local-dir:{folder}").eval()
    assert load_pretrained_backbones(model) == [f"image_encoder <- local-dir:{folder}"]
    images = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        expected = reference.vision_encoder(pixel_values=images).last_hidden_state  # (2, 32, 4, 4)
        actual = model.image_encoder(images)  # (2, 32, 4, 4)
    assert actual.shape == expected.shape == (2, 32, 4, 4)
    assert expected.abs().mean() > 0.1  # a real signal, not zeros agreeing with zeros
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)
    # The fused model still runs on BraTS-like sizes other than the table's 64 (positions resized in forward).
    with torch.no_grad():
        assert model(torch.randn(1, 4, 48, 80)).logits.shape == (1, 3, 48, 80)


def test_paper_size_names_sam_b_and_demo_nothing():
    assert load_config("sam-dmif", "paper").pretrained == "sam-vit-base"
    assert load_config("sam-dmif", "demo").pretrained is None
    assert backbone_source("sam-vit-base").startswith("hf-hub:facebook/sam-vit-base@")
    assert backbone_source("medsam-vit-base").startswith("hf-hub:wanglab/medsam-vit-base@")


def test_other_architecture_is_named_field_by_field(hub_folder):
    folder, _ = hub_folder
    config = load_config("sam-dmif", "demo")
    for key, value in {**VIT, "depth": 3, "window_size": 0, "pretrained": f"local-dir:{folder}"}.items():
        setattr(config, key, value)
    with pytest.raises(CheckpointError, match=r"num_hidden_layers 2 in the file, 3 in the model; window_size 3 in"):
        load_pretrained_backbones(build_from_config(config))


def test_missing_or_mismatched_files_are_clear_errors(hub_folder, tmp_path):
    folder, _ = hub_folder
    model = small_sam_dmif(f"local-dir:{tmp_path}")
    with pytest.raises(CheckpointError, match="config.json is missing"):
        load_pretrained_backbones(model)
    (tmp_path / "config.json").write_text((folder / "config.json").read_text())
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(CheckpointError, match=r"model.safetensors is missing \(found pytorch_model.bin, only safe"):
        load_pretrained_backbones(model)
    state = load_file(folder / "model.safetensors")
    state.pop("vision_encoder.layers.1.attn.rel_pos_w")
    save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match=r"does not match its model: 1 missing \(e.g. blocks.1.attn.rel_pos_w\)"):
        load_pretrained_backbones(model)
    save_file({"mask_decoder.iou_token.weight": torch.zeros(1, 32)}, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError, match="no vision_encoder.. tensors; expected transformers' SamModel layout"):
        load_pretrained_backbones(model)
    config = json.loads((folder / "config.json").read_text())
    config["vision_config"]["layer_norm_eps"] = 1e-5
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="layer_norm_eps 1e-05 in the file, 1e-06 in the model"):
        load_pretrained_backbones(model)
