"""Where pretrained backbone files come from: short names, checkpoint sources, and safe reads.

Shared by the CLIP, BERT and SAM loaders of :mod:`brainseg.hub.backbones`. Files are found through
:func:`brainseg.hub.checkpoint.resolve_source` (``local-dir:PATH`` or ``hf-hub:org/repo@revision``, the latter
fetching only the named files into the Hugging Face cache); weights are read from safetensors on the CPU, never
from pickle.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from brainseg.hub.checkpoint import resolve_source
from brainseg.hub.sources import CheckpointError, parse_source

# Short names a config's ``pretrained`` may use. Every Hub source pins ``@main`` for now: pin each to a commit
# hash once a machine with Hub access has looked it up (``huggingface_hub.HfApi().model_info(repo).sha``), so
# that the weights can never change under a trained model.
PRETRAINED_ALIASES = {
    # OpenAI CLIP ViT-B/32 as open_clip safetensors.
    "openai": "hf-hub:timm/vit_base_patch32_clip_224.openai@main",
    # BERT base, uncased WordPiece; transformers layout (``bert.*`` + ``cls.*`` heads), vocab.txt.
    "bert-base-uncased": "hf-hub:google-bert/bert-base-uncased@main",
    # SAM ViT-B, transformers layout (``vision_encoder.*``, ``prompt_encoder.*``, ``mask_decoder.*``).
    "sam-vit-base": "hf-hub:facebook/sam-vit-base@main",
    # MedSAM (SAM ViT-B fine-tuned on medical images), same layout. Not yet checked to ship model.safetensors;
    # if the pinned revision holds only pytorch_model.bin, loading stops with a clear error.
    "medsam-vit-base": "hf-hub:wanglab/medsam-vit-base@main",
}


def backbone_source(name: str) -> str:
    """A ``pretrained`` value as a checkpoint source string (aliases expanded)."""
    source = PRETRAINED_ALIASES.get(name, name)
    parse_source(source)  # raises with the accepted forms when malformed
    return source


def backbone_folder(name: str, files: tuple[str, ...]) -> tuple[str, Path]:
    """The local folder holding a backbone's ``files``, and a label naming it for error messages."""
    source = backbone_source(name)
    label = f"pretrained {name}" if source == name else f"pretrained {name} ({source})"
    _, folder = resolve_source(source, files=files)
    return label, folder


def read_safetensors(folder: Path, filename: str, label: str) -> dict[str, torch.Tensor]:
    """Every tensor of ``folder/filename`` on the CPU; a missing file names any pickle found instead."""
    path = folder / filename
    if not path.is_file():
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
        found = f"found {', '.join(pickles)}, " if pickles else ""
        raise CheckpointError(
            f"{label}: {filename} is missing ({found}only safetensors are read: pickle files are never loaded)"
        )
    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(f"{label}: {filename} is not a readable safetensors file ({exc})") from None


def read_json(folder: Path, filename: str, label: str) -> dict[str, Any]:
    """The JSON object in ``folder/filename``; missing or malformed is a :class:`CheckpointError`."""
    path = folder / filename
    if not path.is_file():
        raise CheckpointError(f"{label}: {filename} is missing")
    try:
        values = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{label}: {filename} is not valid JSON ({exc})") from None
    if not isinstance(values, dict):
        raise CheckpointError(f"{label}: {filename} holds {type(values).__name__}, expected a JSON object")
    return values


def check_architecture(found: dict[str, Any], expected: dict[str, Any], label: str, filename: str) -> None:
    """Refuse a checkpoint whose stored architecture differs from the model's, naming every differing field.

    This catches what tensor shapes cannot (activation, LayerNorm epsilon, which blocks attend globally).
    """
    differ = [
        f"{name} {found[name]!r} in the file, {value!r} in the model"
        for name, value in expected.items()
        if found[name] != value
    ]
    if differ:
        raise CheckpointError(f"{label}: {filename} does not match the model: " + "; ".join(differ))
