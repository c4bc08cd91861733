"""Pretrained backbones (CLIP towers, BERT, SAM ViT) loaded through the same safe checkpoint code as BrainSeg's own.

A module whose config names ``pretrained`` weights gets them from a checkpoint source
(``hf-hub:org/repo@revision`` or ``local-dir:PATH``, see :mod:`brainseg.hub.backbones_files` for the short
names such as ``openai``, ``bert-base-uncased`` and ``sam-vit-base``):

* CLIP text and visual towers: an open_clip ``open_clip_model.safetensors`` (this module);
* a BERT text encoder: transformers' BERT layout plus its WordPiece vocabulary (:mod:`.backbones_bert`);
* sam-dmif's SAM ViT image encoder: transformers' SAM layout (:mod:`.backbones_sam`).

Every file is safetensors (pickle is refused) and every load is strict. This runs when a model is trained from
scratch; a BrainSeg checkpoint already contains every weight and never needs it.

    >>> config = load_config("film-unet2d", "paper")  # text.pretrained: "bert-base-uncased"
    >>> load_pretrained_backbones(build_from_config(config))
    ['text_encoder <- hf-hub:google-bert/bert-base-uncased@main']
"""

from __future__ import annotations

import torch
from torch import nn

from brainseg.hub.backbones_bert import load_pretrained_bert
from brainseg.hub.backbones_files import PRETRAINED_ALIASES, backbone_folder, backbone_source, read_safetensors
from brainseg.hub.backbones_sam import load_pretrained_sam
from brainseg.models.sam_dmif import SamDmif
from brainseg.models.text_encoders import (
    BertTextEncoder,
    ClipTextEncoder,
    ClipVisualEncoder,
    load_pretrained_text_weights,
    load_pretrained_visual_weights,
    text_weights_from_open_clip,
    visual_weights_from_open_clip,
)

__all__ = ["OPEN_CLIP_WEIGHTS", "PRETRAINED_ALIASES", "backbone_source", "load_pretrained_backbones"]

OPEN_CLIP_WEIGHTS = "open_clip_model.safetensors"


def read_open_clip_state(source: str) -> dict[str, torch.Tensor]:
    """The tensors of an open_clip checkpoint (safetensors only), read on the CPU."""
    label, folder = backbone_folder(source, (OPEN_CLIP_WEIGHTS,))
    return read_safetensors(folder, OPEN_CLIP_WEIGHTS, label)


def load_pretrained_backbones(model: nn.Module) -> list[str]:
    """Load every backbone in ``model`` whose config names pretrained weights; returns what was loaded.

    Backbones: CLIP text / visual towers, BERT text encoders (which also get their WordPiece tokenizer) and
    sam-dmif's SAM image encoder. An open_clip file is read once even when it feeds both CLIP towers.

    Returns:
        one line per backbone, ``"<module name> <- <checkpoint source>"``.

    Raises:
        CheckpointError: a source cannot be resolved or read (e.g. offline and not cached), a file is missing,
            or a BERT / SAM checkpoint does not match the model (the message names the fields or keys).
        ModelConfigError: CLIP weights do not fit the tower's architecture.
    """
    open_clip_states: dict[str, dict[str, torch.Tensor]] = {}
    loaded = []
    for name, module in model.named_modules():
        if isinstance(module, ClipTextEncoder | ClipVisualEncoder) and module.config.pretrained:
            source = module.config.pretrained
            if source not in open_clip_states:
                open_clip_states[source] = read_open_clip_state(source)
            if isinstance(module, ClipTextEncoder):
                load_pretrained_text_weights(module, text_weights_from_open_clip(open_clip_states[source]))
            else:
                load_pretrained_visual_weights(module, visual_weights_from_open_clip(open_clip_states[source]))
            loaded.append(f"{name or 'model'} <- {backbone_source(source)}")
        elif isinstance(module, BertTextEncoder) and module.config.pretrained:
            loaded.append(f"{name or 'model'} <- {load_pretrained_bert(module)}")
        elif isinstance(module, SamDmif) and module.config.pretrained:
            loaded.append(f"{name + '.' if name else ''}image_encoder <- {load_pretrained_sam(module)}")
    return loaded
