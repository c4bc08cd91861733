"""Pretrained backbones (CLIP towers) loaded through the same safe checkpoint code as BrainSeg's own weights.

A text or visual tower whose config names ``pretrained`` weights gets them from a checkpoint source
(``hf-hub:org/repo@revision`` or ``local-dir:PATH``) holding an open_clip ``open_clip_model.safetensors``.
Known short names (``openai``) map to public Hub repositories. This runs when a model is trained from
scratch; a BrainSeg checkpoint already contains every weight and never needs it.
"""

from __future__ import annotations

from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from brainseg.hub.checkpoint import resolve_source
from brainseg.hub.sources import CheckpointError, parse_source
from brainseg.models.text_encoders import (
    ClipTextEncoder,
    ClipVisualEncoder,
    load_pretrained_text_weights,
    load_pretrained_visual_weights,
    text_weights_from_open_clip,
    visual_weights_from_open_clip,
)

OPEN_CLIP_WEIGHTS = "open_clip_model.safetensors"

PRETRAINED_ALIASES = {
    # OpenAI CLIP ViT-B/32 as open_clip safetensors. Pin a commit hash here once a machine with Hub access
    # has looked it up; "main" is the explicit, documented stand-in until then.
    "openai": "hf-hub:timm/vit_base_patch32_clip_224.openai@main",
}


def backbone_source(name: str) -> str:
    """A ``pretrained`` value as a checkpoint source string (aliases expanded)."""
    source = PRETRAINED_ALIASES.get(name, name)
    parse_source(source)  # raises with the accepted forms when malformed
    return source


def read_open_clip_state(source: str) -> dict:
    """The tensors of an open_clip checkpoint (safetensors only), read on the CPU."""
    parsed, folder = resolve_source(backbone_source(source), files=(OPEN_CLIP_WEIGHTS,))
    path = folder / OPEN_CLIP_WEIGHTS
    if not path.is_file():
        raise CheckpointError(f"pretrained {source} ({parsed}): {OPEN_CLIP_WEIGHTS} is missing")
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"pretrained {source}: {OPEN_CLIP_WEIGHTS} is not readable ({exc})") from None


def load_pretrained_backbones(model: nn.Module) -> list[str]:
    """Load every CLIP tower in ``model`` whose config names pretrained weights; returns what was loaded.

    Each source file is read once even when it feeds both the text and the visual tower.

    Raises:
        CheckpointError: a source cannot be resolved or read (e.g. offline and not cached).
        ModelConfigError: the weights do not fit the tower's architecture.
    """
    cache: dict[str, dict] = {}
    loaded = []
    for name, module in model.named_modules():
        if not isinstance(module, ClipTextEncoder | ClipVisualEncoder) or not module.config.pretrained:
            continue
        source = module.config.pretrained
        if source not in cache:
            cache[source] = read_open_clip_state(source)
        if isinstance(module, ClipTextEncoder):
            load_pretrained_text_weights(module, text_weights_from_open_clip(cache[source]))
        else:
            load_pretrained_visual_weights(module, visual_weights_from_open_clip(cache[source]))
        loaded.append(f"{name or 'model'} <- {backbone_source(source)}")
    return loaded
