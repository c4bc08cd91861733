"""Pretrained SAM / MedSAM ViT image encoders for ``sam-dmif``, from transformers-layout checkpoints.

The Hub's SAM repositories (``facebook/sam-vit-base``; MedSAM's ``wanglab/medsam-vit-base``) hold
transformers' ``SamModel``: ``config.json`` with a ``vision_config`` block and ``model.safetensors`` with
``vision_encoder.*``, ``prompt_encoder.*`` and ``mask_decoder.*`` tensors. sam-dmif builds segment-anything's
``ImageEncoderViT``; only the vision encoder is loaded, renamed as below, strictly:

=========================================  ==========================================
transformers ``SamVisionEncoder``          segment-anything ``ImageEncoderViT``
=========================================  ==========================================
``patch_embed.projection.*``               ``patch_embed.proj.*``
``pos_embed``                              ``pos_embed`` (1, 64, 64, 768) for SAM-B
``layers.N.layer_norm1/2.*``               ``blocks.N.norm1/2.*``
``layers.N.attn.qkv/proj.*, rel_pos_h/w``  ``blocks.N.attn.qkv/proj.*, rel_pos_h/w``
``layers.N.mlp.lin1/lin2.*``               ``blocks.N.mlp.lin1/lin2.*``
``neck.conv1, layer_norm1, conv2, ...2``   ``neck.0, neck.1, neck.2, neck.3``
=========================================  ==========================================

Position tables load at the size SAM trained them for (``image_size`` 1024 in the config, as in sam-dmif's
paper size); inputs of another size need nothing at load time, because sam-dmif resizes the absolute table to
the input's token grid and segment-anything interpolates the relative tables in every forward.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from brainseg.hub.backbones_files import (
    backbone_folder,
    backbone_source,
    check_architecture,
    read_json,
    read_safetensors,
)
from brainseg.hub.checkpoint import load_state_strict
from brainseg.hub.sources import CheckpointError
from brainseg.models.sam_dmif import SamDmif

SAM_CONFIG = "config.json"
SAM_WEIGHTS = "model.safetensors"
SAM_FILES = (SAM_CONFIG, SAM_WEIGHTS)
VISION_PREFIX = "vision_encoder."

# transformers' name (after the vision_encoder. prefix) -> segment-anything's; the first match applies.
RENAMES = (
    (r"^patch_embed\.projection\.", "patch_embed.proj."),
    (r"^layers\.(\d+)\.layer_norm([12])\.", r"blocks.\1.norm\2."),
    (r"^layers\.(\d+)\.(attn|mlp)\.", r"blocks.\1.\2."),
    (r"^neck\.conv1\.", "neck.0."),
    (r"^neck\.layer_norm1\.", "neck.1."),
    (r"^neck\.conv2\.", "neck.2."),
    (r"^neck\.layer_norm2\.", "neck.3."),
)


def image_encoder_weights_from_transformers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``vision_encoder.*`` tensors of a transformers SAM state dict, keyed for ``ImageEncoderViT``.

    Prompt encoder, mask decoder and shared positional embedding are left out; a name no rule covers is kept
    as it is, so that the strict load reports it.
    """
    mapped = {}
    for key, value in state.items():
        if not key.startswith(VISION_PREFIX):
            continue
        name = key[len(VISION_PREFIX) :]
        for pattern, replacement in RENAMES:
            name, count = re.subn(pattern, replacement, name)
            if count:
                break
        mapped[name] = value
    return mapped


def stored_vision_config(values: dict[str, Any], label: str) -> dict[str, Any]:
    """A checkpoint's vision-encoder architecture, with transformers' defaults for the fields it leaves out.

    Accepts a ``SamModel`` config (``vision_config`` block) or a bare ``SamVisionConfig``.
    """
    from transformers import SamVisionConfig

    vision = values.get("vision_config", values)
    if not isinstance(vision, dict):
        raise CheckpointError(f"{label}: {SAM_CONFIG} vision_config is {type(vision).__name__}, expected an object")
    defaults = SamVisionConfig().to_dict()
    stored = {**defaults, **vision}
    if vision.get("mlp_dim") is None:  # transformers derives it as segment-anything's ImageEncoderViT does
        stored["mlp_dim"] = int(stored["hidden_size"] * stored["mlp_ratio"])
    if isinstance(stored["global_attn_indexes"], list):
        stored["global_attn_indexes"] = sorted(stored["global_attn_indexes"])
    return stored


def model_vision_config(model: SamDmif) -> dict[str, Any]:
    """sam-dmif's image encoder described in ``SamVisionConfig``'s field names."""
    config = model.config
    expected = {
        "num_channels": 3,
        "image_size": config.image_size,
        "patch_size": config.patch_size,
        "hidden_size": config.embed_dim,
        "num_hidden_layers": config.depth,
        "num_attention_heads": config.num_heads,
        "mlp_dim": int(config.embed_dim * config.mlp_ratio),
        "output_channels": config.prompt_dim,
        "window_size": config.window_size,
        "use_rel_pos": config.use_rel_pos,
        "use_abs_pos": True,
        "qkv_bias": True,
        "hidden_act": "gelu",
        "layer_norm_eps": model.image_encoder.blocks[0].norm1.eps,
    }
    if config.window_size:  # without windows every block attends globally and the list means nothing
        expected["global_attn_indexes"] = sorted(config.global_attn_indexes)
    return expected


def load_pretrained_sam(model: SamDmif) -> str:
    """Load ``model.config.pretrained`` (a SAM ViT checkpoint) into ``model.image_encoder``; returns the source.

    Raises:
        CheckpointError: a file is missing or unreadable, ``config.json`` describes another ViT (naming each
            differing field), or the tensors do not match the encoder (naming the keys).
    """
    name = model.config.pretrained
    if name is None:
        raise CheckpointError("the sam-dmif config names no pretrained SAM weights (pretrained)")
    label, folder = backbone_folder(name, SAM_FILES)
    stored = stored_vision_config(read_json(folder, SAM_CONFIG, label), label)
    check_architecture(stored, model_vision_config(model), label, SAM_CONFIG)
    state = image_encoder_weights_from_transformers(read_safetensors(folder, SAM_WEIGHTS, label))
    if not state:
        raise CheckpointError(
            f"{label}: {SAM_WEIGHTS} has no {VISION_PREFIX}* tensors; expected transformers' SamModel layout"
        )
    load_state_strict(model.image_encoder, state, label)
    return backbone_source(name)
