"""CLIP-architecture towers shared by the variants: text encoders (CLIP or BERT) and the CLIP visual encoder.

Nothing here downloads. Towers are built from their architecture alone (random weights); a config's
``pretrained`` field names the weights a checkpoint expects, and the project's hub loader fetches them and
hands the state dict to :func:`load_pretrained_text_weights` / :func:`load_pretrained_visual_weights`.

    >>> encoder = build_text_encoder(TextEncoderConfig(width=128, layers=2, heads=4, output_dim=128))
    >>> encoder(["enhancing tumor", "whole tumor"]).shape
    torch.Size([2, 128])
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from typing import Any

import torch
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.tokenizer import SimpleTokenizer
from open_clip.transformer import QuickGELU, TextTransformer, VisionTransformer
from torch import nn

from brainseg.models.contract import ModelConfigError

TEXT_KINDS = ("clip", "bert")
CLIP_VOCAB_SIZE = 49408  # open_clip's bundled BPE vocabulary (bpe_simple_vocab_16e6), incl. <sot>, <eot>
BERT_VOCAB_SIZE = 30522  # bert-base-uncased WordPiece vocabulary


@cache
def bpe_tokenizer() -> SimpleTokenizer:
    """open_clip's BPE tokenizer; its vocabulary ships inside the wheel, so this works offline."""
    return SimpleTokenizer()


def _from_dict(cls: type, values: dict[str, Any], what: str) -> Any:
    """Build dataclass ``cls`` from a dict; unknown keys raise an error listing the known ones."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ModelConfigError(f"{what}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return cls(**values)


# ----------------------------------------------------------------------------------------------- configs


@dataclass
class TextEncoderConfig:
    """Architecture of a text tower (JSON-able; nested in the variants' configs).

    Attributes:
        kind: ``clip`` (open_clip's causal text transformer, BPE tokens) or ``bert`` (bidirectional
            ``transformers.BertModel``, mean-pooled).
        width, layers, heads: transformer size (ViT-B/32's text tower: 512, 12, 8).
        context_length: tokens per prompt, padded or truncated (CLIP: 77; paper 002's BERT: 16).
        output_dim: size of ``forward``'s pooled embedding.
        frozen: no gradients and always eval mode (for pretrained towers used as fixed feature extractors).
        pretrained: weights the checkpoint expects, e.g. ``openai`` or ``hf-hub:org/repo``; None = random.
            Recorded only: building never loads or downloads.
        vocab_size: None = the kind's standard vocabulary (CLIP BPE 49,408; BERT WordPiece 30,522). A CLIP
            tower must cover the BPE ids; a BERT one may be smaller (the BPE stand-in folds ids into it).
        quick_gelu: OpenAI-trained CLIP weights use QuickGELU (open_clip's ``-quickgelu`` models).
    """

    kind: str = "clip"
    width: int = 128
    layers: int = 2
    heads: int = 4
    context_length: int = 77
    output_dim: int = 128
    frozen: bool = False
    pretrained: str | None = None
    vocab_size: int | None = None
    quick_gelu: bool = False

    def __post_init__(self) -> None:
        if self.kind not in TEXT_KINDS:
            raise ModelConfigError(f"text encoder kind {self.kind!r}; expected one of {', '.join(TEXT_KINDS)}")
        if self.width % self.heads != 0:
            raise ModelConfigError(f"text encoder width {self.width} is not divisible by heads {self.heads}")
        if self.kind == "clip" and self.vocab_size is not None and self.vocab_size < CLIP_VOCAB_SIZE:
            raise ModelConfigError(
                f"clip text encoder vocab_size {self.vocab_size} is smaller than the BPE vocabulary ({CLIP_VOCAB_SIZE})"
            )
        if self.context_length < 3:
            raise ModelConfigError(f"text encoder context_length {self.context_length}; expected >= 3")

    @property
    def resolved_vocab_size(self) -> int:
        if self.vocab_size is not None:
            return self.vocab_size
        return CLIP_VOCAB_SIZE if self.kind == "clip" else BERT_VOCAB_SIZE

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TextEncoderConfig:
        return _from_dict(cls, values, "text encoder config")


@dataclass
class VisualEncoderConfig:
    """Architecture of a CLIP visual tower (open_clip ``VisionTransformer``, [CLS] pooling).

    Attributes:
        image_size: side of the square input the tower sees; slices are resized to it. ViT-B/32 was trained
            at 224; a small demo tower may use less (e.g. 64 with patch 16: 16 tokens instead of 49) because
            with random weights nothing ties it to 224, and the resize dominates its cost on CPU.
        patch_size, width, layers, heads: ViT size (ViT-B/32: 32, 768, 12, 12).
        output_dim: size of the projected [CLS] feature (ViT-B/32: 512, CLIP's joint space).
        frozen, pretrained, quick_gelu: as in :class:`TextEncoderConfig`.
        mean, std: per-RGB-channel normalization the weights were trained with (OpenAI CLIP's by default).
    """

    image_size: int = 64
    patch_size: int = 16
    width: int = 128
    layers: int = 2
    heads: int = 4
    output_dim: int = 128
    frozen: bool = False
    pretrained: str | None = None
    quick_gelu: bool = False
    mean: list[float] = field(default_factory=lambda: list(OPENAI_DATASET_MEAN))
    std: list[float] = field(default_factory=lambda: list(OPENAI_DATASET_STD))

    def __post_init__(self) -> None:
        if self.image_size % self.patch_size != 0:
            raise ModelConfigError(
                f"visual encoder image_size {self.image_size} is not divisible by patch_size {self.patch_size}"
            )
        if self.width % self.heads != 0:
            raise ModelConfigError(f"visual encoder width {self.width} is not divisible by heads {self.heads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> VisualEncoderConfig:
        return _from_dict(cls, values, "visual encoder config")


# ----------------------------------------------------------------------------------------------- text towers


class _FrozenMixin(nn.Module):
    """``frozen`` towers get no gradients and stay in eval mode whatever ``train()`` says."""

    frozen: bool = False

    def freeze(self) -> None:
        self.frozen = True
        for parameter in self.parameters():
            parameter.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> _FrozenMixin:
        return super().train(mode and not self.frozen)


class TextEncoder(_FrozenMixin, ABC):
    """Prompts -> embeddings. Subclasses implement :meth:`encode_tokens` and :meth:`pooled`.

    ``forward(prompts: list[str]) -> (B, output_dim)`` float32.
    ``encode_tokens(prompts) -> (features (B, T, width), attention_mask (B, T) bool)``, T = context_length,
    mask True on real tokens (incl. start/end), for callers that mean-pool or cross-attend.
    """

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.tokenizer = bpe_tokenizer()

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def token_ids(self, prompts: list[str]) -> torch.Tensor:
        """BPE ids (B, T) int64, ``<sot> ... <eot>`` then zero padding, truncated to T = context_length."""
        if isinstance(prompts, str) or not prompts:
            raise ValueError(f"prompts must be a non-empty list of strings, got {prompts!r}")
        return self.tokenizer(list(prompts), context_length=self.config.context_length).to(self.device)

    @abstractmethod
    def encode_tokens(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """(features (B, T, width), attention mask (B, T)) of the prompts."""

    @abstractmethod
    def forward(self, prompts: list[str]) -> torch.Tensor:
        """(B, output_dim) embedding of the prompts."""


class ClipTextEncoder(TextEncoder):
    """open_clip's text transformer (causal attention, pooled at ``<eot>``, linear projection)."""

    def __init__(self, config: TextEncoderConfig) -> None:
        super().__init__(config)
        self.transformer = TextTransformer(
            context_length=config.context_length,
            vocab_size=config.resolved_vocab_size,
            width=config.width,
            heads=config.heads,
            layers=config.layers,
            output_dim=config.output_dim,
            act_layer=QuickGELU if config.quick_gelu else nn.GELU,
            output_tokens=True,
        )

    def encode_tokens(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids = self.token_ids(prompts)  # (B, T)
        _, tokens = self.transformer(ids)  # (B, T, width), after the final LayerNorm
        return tokens, ids != 0

    def forward(self, prompts: list[str]) -> torch.Tensor:
        pooled, _ = self.transformer(self.token_ids(prompts))  # (B, output_dim)
        return pooled


class BertTextEncoder(TextEncoder):
    """``transformers.BertModel`` (no pooler), mean-pooled over real tokens, projected to ``output_dim``.

    Tokenization: with ``pretrained`` None there is no WordPiece vocabulary offline, so open_clip's BPE ids
    are folded into the BERT vocabulary (``<sot>`` -> 1, ``<eot>`` -> 2, others -> 3 + id mod (V - 3)). This
    is a stand-in that gives distinct prompts distinct ids (up to rare collisions); it is meaningless for
    real BERT weights, so a pretrained BERT must be given its own tokenizer (``tokenizer=``, a callable
    list[str] -> (ids (B, T), mask (B, T))) by the hub loader.
    """

    def __init__(self, config: TextEncoderConfig, tokenizer: Any = None) -> None:
        super().__init__(config)
        from transformers import BertConfig, BertModel  # imported here: transformers is slow to import

        bert_config = BertConfig(
            vocab_size=config.resolved_vocab_size,
            hidden_size=config.width,
            num_hidden_layers=config.layers,
            num_attention_heads=config.heads,
            intermediate_size=4 * config.width,
            max_position_embeddings=max(512, config.context_length),  # 512 so bert-base weights load
        )
        self.bert = BertModel(bert_config, add_pooling_layer=False)
        self.projection = (
            nn.Identity() if config.output_dim == config.width else nn.Linear(config.width, config.output_dim)
        )
        self.wordpiece = tokenizer

    def bert_ids(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token ids (B, T) int64 in the BERT vocabulary and the real-token mask (B, T) bool."""
        if self.wordpiece is not None:
            ids, mask = self.wordpiece(list(prompts))
            return ids.to(self.device), mask.to(self.device).bool()
        if self.config.pretrained is not None:
            raise ModelConfigError(
                f"BERT text encoder {self.config.pretrained!r} needs its WordPiece tokenizer "
                "(build_text_encoder(config, tokenizer=...)); the BPE stand-in only suits random weights"
            )
        bpe = self.token_ids(prompts)  # (B, T)
        sot, eot = self.tokenizer.sot_token_id, self.tokenizer.eot_token_id
        vocab = self.config.resolved_vocab_size
        ids = 3 + bpe % (vocab - 3)
        ids = torch.where(bpe == sot, 1, torch.where(bpe == eot, 2, torch.where(bpe == 0, 0, ids)))
        return ids, bpe != 0

    def encode_tokens(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, mask = self.bert_ids(prompts)  # (B, T) each
        features = self.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (B, T, width)
        return features, mask

    def forward(self, prompts: list[str]) -> torch.Tensor:
        features, mask = self.encode_tokens(prompts)  # (B, T, width), (B, T)
        weights = mask.unsqueeze(-1).to(features.dtype)  # (B, T, 1)
        pooled = (features * weights).sum(1) / weights.sum(1).clamp(min=1)  # (B, width)
        return self.projection(pooled)  # (B, output_dim)


def build_text_encoder(config: TextEncoderConfig, tokenizer: Any = None) -> TextEncoder:
    """The text tower a config describes, with random weights (frozen if ``config.frozen``).

    ``tokenizer`` (BERT only): callable list[str] -> (ids (B, T) int64, mask (B, T)) for pretrained weights.
    """
    if config.kind == "clip":
        if tokenizer is not None:
            raise ModelConfigError("a CLIP text encoder uses open_clip's BPE tokenizer; tokenizer= is for BERT")
        encoder: TextEncoder = ClipTextEncoder(config)
    else:
        encoder = BertTextEncoder(config, tokenizer)
    if config.frozen:
        encoder.freeze()
    return encoder


# ----------------------------------------------------------------------------------------------- visual tower


class ClipVisualEncoder(_FrozenMixin):
    """open_clip's ``VisionTransformer``: RGB images -> projected [CLS] features.

    ``forward(images (B, 3, S, S) float32 in [0, 1], S = image_size) -> (B, output_dim)``; the CLIP
    mean/std normalization is applied inside.
    """

    def __init__(self, config: VisualEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.transformer = VisionTransformer(
            image_size=config.image_size,
            patch_size=config.patch_size,
            width=config.width,
            layers=config.layers,
            heads=config.heads,
            mlp_ratio=4.0,
            output_dim=config.output_dim,
            act_layer=QuickGELU if config.quick_gelu else nn.GELU,
        )
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        size = self.config.image_size
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise ValueError(f"CLIP visual encoder expects (B, 3, {size}, {size}), got {tuple(images.shape)}")
        return self.transformer((images - self.mean) / self.std)  # (B, output_dim)


def build_clip_visual(config: VisualEncoderConfig) -> ClipVisualEncoder:
    """The CLIP visual tower a config describes, with random weights (frozen if ``config.frozen``)."""
    encoder = ClipVisualEncoder(config)
    if config.frozen:
        encoder.freeze()
    return encoder


# ----------------------------------------------------------------------------------------------- weights


def _load_strict(module: nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[0:2]
        raise ModelConfigError(f"{what} weights do not fit the architecture: {' '.join(first_line)}") from error


def load_pretrained_text_weights(encoder: TextEncoder, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a text tower's weights strictly (keys as in ``encoder.state_dict()``; tensors already on CPU).

    The caller (the hub loader) reads the file safely and maps open_clip / transformers key names onto
    this module's (``transformer.*`` for CLIP, ``bert.*`` + ``projection.*`` for BERT). Freezing is kept.
    """
    _load_strict(encoder, state_dict, f"text encoder {encoder.config.pretrained or '(unnamed)'}")


def load_pretrained_visual_weights(encoder: ClipVisualEncoder, state_dict: dict[str, torch.Tensor]) -> None:
    """Load a CLIP visual tower's weights strictly (keys ``transformer.*`` as in ``encoder.state_dict()``)."""
    _load_strict(encoder, state_dict, f"visual encoder {encoder.config.pretrained or '(unnamed)'}")


def text_weights_from_open_clip(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The text-tower entries of an open_clip ``CLIP`` state dict, keyed for :class:`ClipTextEncoder`.

    open_clip keeps the text tower at the top level (``token_embedding.weight``, ``transformer.resblocks.*``,
    ``ln_final.*``, ``text_projection``); here it sits under ``transformer.``.
    """
    return {
        f"transformer.{key}": value
        for key, value in state_dict.items()
        if not key.startswith(("visual.", "logit_scale", "logit_bias"))
    }


def visual_weights_from_open_clip(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The ``visual.*`` entries of an open_clip ``CLIP`` state dict, keyed for :class:`ClipVisualEncoder`."""
    prefix = "visual."
    return {f"transformer.{key[len(prefix) :]}": value for key, value in state_dict.items() if key.startswith(prefix)}
