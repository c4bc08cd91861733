"""Text and visual CLIP-architecture towers: shapes, determinism, freezing, config and weight round-trips."""

from __future__ import annotations

import open_clip
import pytest
import torch
from open_clip.model import CLIP

from brainseg.models.contract import ModelConfigError
from brainseg.models.text_encoders import (
    TextEncoderConfig,
    VisualEncoderConfig,
    bpe_tokenizer,
    build_clip_visual,
    build_text_encoder,
    load_pretrained_text_weights,
    load_pretrained_visual_weights,
    text_weights_from_open_clip,
    visual_weights_from_open_clip,
)

TINY = {"width": 32, "layers": 1, "heads": 2, "output_dim": 24}


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def tiny_text(kind: str, **overrides) -> TextEncoderConfig:
    """A one-layer tower; BERT with paper 002's 16 tokens and a small vocabulary (ids are folded into it)."""
    if kind == "bert":
        overrides = {"context_length": 16, "vocab_size": 1000, **overrides}
    return TextEncoderConfig(kind=kind, **{**TINY, **overrides})


def test_bundled_bpe_tokenizer_works_offline():
    ids = bpe_tokenizer()(["enhancing tumor"], context_length=8)
    assert ids.shape == (1, 8)
    assert ids[0, 0] == bpe_tokenizer().sot_token_id
    assert (ids[0] == bpe_tokenizer().eot_token_id).sum() == 1


@pytest.mark.parametrize("kind", ["clip", "bert"])
def test_text_encoder_shapes_and_determinism(kind):
    torch.manual_seed(0)
    encoder = build_text_encoder(tiny_text(kind)).eval()
    with torch.no_grad():
        embeddings = encoder(["enhancing tumor", "peritumoral edema", "enhancing tumor"])
        features, mask = encoder.encode_tokens(["enhancing tumor", "a much longer description of the edema"])
    assert embeddings.shape == (3, 24)
    assert embeddings.dtype == torch.float32
    assert torch.equal(embeddings[0], embeddings[2])
    assert not torch.allclose(embeddings[0], embeddings[1], atol=1e-4)
    context = encoder.config.context_length
    assert features.shape == (2, context, 32)
    assert mask.shape == (2, context) and mask.dtype == torch.bool
    # <sot> enhancing tumor <eot> = 4 real tokens; the longer prompt has more
    assert mask[0].sum() == 4
    assert mask[1].sum() > 4


def test_bert_truncates_to_its_context():
    encoder = build_text_encoder(tiny_text("bert")).eval()
    features, mask = encoder.encode_tokens([" ".join(["tumor"] * 40)])
    assert features.shape == (1, 16, 32)
    assert mask.all()


def test_frozen_encoder_has_no_trainable_parameters_and_stays_in_eval():
    encoder = build_text_encoder(tiny_text("clip", frozen=True))
    encoder.train()
    assert not encoder.training
    assert not any(p.requires_grad for p in encoder.parameters())
    assert not encoder(["whole tumor"]).requires_grad


def test_trainable_encoder_gets_gradients():
    encoder = build_text_encoder(tiny_text("clip"))
    encoder(["whole tumor", "tumor core"]).pow(2).sum().backward()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)


def test_prompts_must_be_a_list():
    encoder = build_text_encoder(tiny_text("clip"))
    with pytest.raises(ValueError, match="non-empty list"):
        encoder("whole tumor")


def test_text_config_round_trip_and_errors():
    config = tiny_text("bert", frozen=True, pretrained="hf-hub:org/bert")
    assert TextEncoderConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ModelConfigError, match="unknown field.*colour"):
        TextEncoderConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ModelConfigError, match="kind 'gpt'"):
        TextEncoderConfig(kind="gpt")
    with pytest.raises(ModelConfigError, match="width 30 is not divisible by heads 4"):
        TextEncoderConfig(width=30, heads=4)
    with pytest.raises(ModelConfigError, match="vocab_size 1000 is smaller than the BPE vocabulary"):
        TextEncoderConfig(kind="clip", vocab_size=1000)


def test_pretrained_bert_needs_its_tokenizer():
    encoder = build_text_encoder(tiny_text("bert", pretrained="hf-hub:org/bert"))
    with pytest.raises(ModelConfigError, match="WordPiece tokenizer"):
        encoder(["whole tumor"])

    def wordpiece(prompts):
        ids = torch.tensor([[101, 7, 8, 102]] * len(prompts))
        return ids, torch.ones_like(ids, dtype=torch.bool)

    encoder = build_text_encoder(tiny_text("bert", pretrained="hf-hub:org/bert"), tokenizer=wordpiece)
    assert encoder(["whole tumor", "core"]).shape == (2, 24)


def test_load_pretrained_text_weights_is_strict():
    source = build_text_encoder(tiny_text("clip"))
    target = build_text_encoder(tiny_text("clip"))
    load_pretrained_text_weights(target, source.state_dict())
    with torch.no_grad():
        assert torch.equal(source.eval()(["edema"]), target.eval()(["edema"]))
    partial = dict(source.state_dict())
    partial.pop("transformer.ln_final.weight")
    with pytest.raises(ModelConfigError, match="do not fit"):
        load_pretrained_text_weights(target, partial)


def test_visual_encoder_shapes_and_size_check():
    encoder = build_clip_visual(VisualEncoderConfig(image_size=32, patch_size=16, width=32, layers=1, heads=2))
    assert encoder(torch.rand(5, 3, 32, 32)).shape == (5, 128)
    with pytest.raises(ValueError, match=r"expects \(B, 3, 32, 32\), got \(1, 3, 64, 64\)"):
        encoder(torch.rand(1, 3, 64, 64))
    with pytest.raises(ModelConfigError, match="image_size 50 is not divisible by patch_size 16"):
        VisualEncoderConfig(image_size=50, patch_size=16)
    config = VisualEncoderConfig(frozen=True)
    assert VisualEncoderConfig.from_dict(config.to_dict()) == config


@pytest.mark.slow
def test_paper_towers_take_open_clip_vit_b_32_weights():
    """The paper-size towers have exactly the layout of open_clip's ViT-B/32, so its weights load strictly."""
    reference = CLIP(**open_clip.get_model_config("ViT-B-32"), quick_gelu=True)  # random weights, no download
    weights = reference.state_dict()
    text = build_text_encoder(TextEncoderConfig(width=512, layers=12, heads=8, output_dim=512, quick_gelu=True))
    visual = build_clip_visual(
        VisualEncoderConfig(
            image_size=224, patch_size=32, width=768, layers=12, heads=12, output_dim=512, quick_gelu=True
        )
    )
    load_pretrained_text_weights(text, text_weights_from_open_clip(weights))
    load_pretrained_visual_weights(visual, visual_weights_from_open_clip(weights))
    assert sum(p.numel() for p in text.parameters()) == 63_428_096
    assert sum(p.numel() for p in visual.parameters()) == 87_849_216
    tokens = bpe_tokenizer()(["whole tumor"])
    with torch.no_grad():
        expected = reference.encode_text(tokens)
        assert torch.allclose(text.eval()(["whole tumor"]), expected, atol=1e-5)
