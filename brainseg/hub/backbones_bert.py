"""Pretrained BERT for :class:`~brainseg.models.text_encoders.BertTextEncoder`, with its WordPiece tokenizer.

A checkpoint in transformers' layout, as ``google-bert/bert-base-uncased`` holds it on the Hub:

* ``config.json``: the architecture, checked field by field against the encoder's ``BertModel``;
* ``model.safetensors``: ``bert.*`` weights, usually with the pre-training heads (``cls.*``) and the pooler,
  which are dropped; old checkpoints name LayerNorm parameters ``gamma`` / ``beta``, renamed here. The rest
  loads into the encoder's ``BertModel`` strictly; the encoder's projection is BrainSeg's own and is left as
  built. ``pytorch_model.bin`` (pickle) is never read;
* ``vocab.txt``: the WordPiece vocabulary, and ``tokenizer_config.json`` when present (``do_lower_case``).
  The tokenizer is built from them offline and handed to the encoder, which refuses to run a pretrained BERT
  without it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

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
from brainseg.models.text_encoders import BertTextEncoder

BERT_CONFIG = "config.json"
BERT_WEIGHTS = "model.safetensors"
BERT_VOCAB = "vocab.txt"
BERT_TOKENIZER_CONFIG = "tokenizer_config.json"
BERT_FILES = (BERT_CONFIG, BERT_WEIGHTS, BERT_VOCAB, BERT_TOKENIZER_CONFIG)
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")

# config.json fields that must equal the encoder's BertConfig (shapes alone miss activation and epsilon).
ARCHITECTURE_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "type_vocab_size",
    "hidden_act",
    "layer_norm_eps",
)


class WordPieceTokenizer:
    """BERT's WordPiece tokenizer: ``prompts -> (ids (B, T) int64, mask (B, T) bool)``, T = context_length.

    Each prompt becomes ``[CLS] tokens [SEP]`` then ``[PAD]`` (id of ``[PAD]``, mask False), truncated to T
    keeping ``[SEP]``: what transformers' ``BertTokenizer`` gives with ``padding="max_length", truncation=True``.
    Built with the ``tokenizers`` library from the vocabulary alone, so nothing is downloaded.

    Args:
        vocab: token -> id, as read from ``vocab.txt`` (line number = id).
        context_length: T, tokens per prompt including ``[CLS]`` and ``[SEP]``.
        lowercase: lower-case and strip accents first (``uncased`` models).
    """

    def __init__(self, vocab: dict[str, int], context_length: int, lowercase: bool = True) -> None:
        from tokenizers.implementations import BertWordPieceTokenizer

        self.vocab_size = max(vocab.values()) + 1
        self.tokenizer = BertWordPieceTokenizer(vocab, lowercase=lowercase)
        self.tokenizer.enable_truncation(context_length)
        self.tokenizer.enable_padding(length=context_length, pad_id=vocab["[PAD]"], pad_token="[PAD]")

    def __call__(self, prompts: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(prompts, str) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of strings, got {prompts!r}")
        # One by one: encode_batch would start the tokenizers thread pool, which warns and turns itself off in
        # every DataLoader worker forked afterwards; a batch of prompts is a few dozen short strings.
        encodings = [self.tokenizer.encode(prompt) for prompt in prompts]
        ids = torch.tensor([e.ids for e in encodings], dtype=torch.int64)  # (B, T)
        mask = torch.tensor([e.attention_mask for e in encodings], dtype=torch.bool)  # (B, T)
        return ids, mask


def read_vocab(path: Path, label: str) -> dict[str, int]:
    """``vocab.txt`` as token -> id (the line number), with BERT's special tokens required."""
    if not path.is_file():
        raise CheckpointError(f"{label}: {path.name} is missing (a pretrained BERT needs its WordPiece vocabulary)")
    # One token per line, split on newlines only (as transformers reads it): str.splitlines would also split on
    # characters such as U+2028 that a vocabulary may hold as tokens, shifting every later id.
    with open(path, encoding="utf-8") as stream:
        vocab = {line.rstrip("\n"): i for i, line in enumerate(stream)}
    missing = [token for token in SPECIAL_TOKENS if token not in vocab]
    if missing:
        raise CheckpointError(f"{label}: {path.name} lacks the special token(s) {', '.join(missing)}")
    return vocab


def bert_weights_from_transformers(state: dict[str, torch.Tensor], label: str) -> dict[str, torch.Tensor]:
    """A transformers BERT state dict keyed for a ``BertModel`` without pooler (the encoder's ``bert``).

    Drops ``bert.`` prefixes, the pre-training heads (``cls.*``), the pooler and saved position / token-type id
    buffers; renames legacy ``LayerNorm.gamma`` / ``LayerNorm.beta`` to ``weight`` / ``bias``.
    """
    mapped: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key.removeprefix("bert.")
        if name.startswith(("cls.", "pooler.")) or name in ("embeddings.position_ids", "embeddings.token_type_ids"):
            continue
        name = re.sub(r"LayerNorm\.gamma$", "LayerNorm.weight", re.sub(r"LayerNorm\.beta$", "LayerNorm.bias", name))
        if name in mapped:
            raise CheckpointError(f"{label}: two tensors in the file map to {name} (e.g. {key})")
        mapped[name] = value
    return mapped


def load_pretrained_bert(encoder: BertTextEncoder) -> str:
    """Load ``encoder.config.pretrained`` into ``encoder.bert`` and give the encoder its tokenizer.

    Everything is read and checked before the encoder changes. Returns the checkpoint source loaded.

    Raises:
        CheckpointError: a file is missing or unreadable, ``config.json`` differs from the encoder's
            architecture (naming each field), or the weights do not match (naming the keys).
    """
    from transformers import BertConfig  # the encoder has imported transformers already

    name = encoder.config.pretrained
    if name is None:
        raise CheckpointError("the BERT text encoder's config names no pretrained weights (text.pretrained)")
    label, folder = backbone_folder(name, BERT_FILES)
    stored = read_json(folder, BERT_CONFIG, label)
    defaults = BertConfig()  # what transformers assumes for a field a config.json leaves out
    check_architecture(
        {field: stored.get(field, getattr(defaults, field)) for field in ARCHITECTURE_FIELDS},
        {field: getattr(encoder.bert.config, field) for field in ARCHITECTURE_FIELDS},
        label,
        BERT_CONFIG,
    )
    vocab = read_vocab(folder / BERT_VOCAB, label)
    lowercase = True  # BERT's default; cased models say do_lower_case: false
    if (folder / BERT_TOKENIZER_CONFIG).is_file():
        lowercase = bool(read_json(folder, BERT_TOKENIZER_CONFIG, label).get("do_lower_case", True))
    tokenizer = WordPieceTokenizer(vocab, encoder.config.context_length, lowercase)
    if tokenizer.vocab_size > encoder.config.resolved_vocab_size:
        raise CheckpointError(
            f"{label}: {BERT_VOCAB} has {tokenizer.vocab_size} tokens, more than the model's "
            f"{encoder.config.resolved_vocab_size} embeddings"
        )
    state = bert_weights_from_transformers(read_safetensors(folder, BERT_WEIGHTS, label), label)
    load_state_strict(encoder.bert, state, label)
    encoder.wordpiece = tokenizer
    return backbone_source(name)
