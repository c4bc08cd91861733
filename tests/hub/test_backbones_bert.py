"""A transformers BERT checkpoint (+ vocab.txt) loads into BertTextEncoder with its WordPiece tokenizer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file, save_file

from brainseg.hub import CheckpointError
from brainseg.hub.backbones import backbone_source, load_pretrained_backbones
from brainseg.models import build_from_config, load_config
from brainseg.models.contract import ModelConfigError
from brainseg.models.text_encoders import TextEncoderConfig
from tests.hub.hubcache import write_hub_cache

# A WordPiece vocabulary laid out like BERT's: [PAD] first, then the other special tokens, words, suffixes.
VOCAB = ["[PAD]", "[unused0]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "segment", "the", "whole", "tumor"]
VOCAB += ["enhancing", "core", "##s", "edema"]
TINY_BERT = {"kind": "bert", "width": 32, "layers": 1, "heads": 2, "context_length": 16, "output_dim": 24}
TINY_BERT.update(vocab_size=len(VOCAB), frozen=True)
# "Segment the WHOLE tumors" -> [CLS] segment the whole tumor ##s [SEP], padded with [PAD] to 16 tokens.
WHOLE_TUMORS = [3, 6, 7, 8, 9, 12, 4] + [0] * 9


pytestmark = pytest.mark.usefixtures("torch_one_thread")


def legacy_names(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """LayerNorm parameters named gamma / beta, as in BERT checkpoints converted from TensorFlow."""
    return {key.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): value
            for key, value in state.items()}  # fmt: skip


def write_bert_checkpoint(folder, legacy: bool = False):
    """A random ``BertForPreTraining`` (heads and pooler included) saved as its Hub repository holds it."""
    from transformers import BertConfig, BertForPreTraining

    torch.manual_seed(0)
    reference = BertForPreTraining(
        BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                   intermediate_size=128)
    ).eval()  # fmt: skip
    with torch.no_grad():
        for parameter in reference.parameters():  # LayerNorms start at one / zero: make every tensor count
            parameter.add_(0.1 * torch.randn_like(parameter))
    reference.save_pretrained(folder)
    if legacy:
        save_file(legacy_names(load_file(folder / "model.safetensors")), folder / "model.safetensors")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True, "model_max_length": 512}))
    return reference


def tiny_film_unet(source: str):
    config = load_config("film-unet2d", "demo")
    config.text = TextEncoderConfig(**TINY_BERT, pretrained=source)
    return build_from_config(config).eval()


@pytest.mark.parametrize("legacy", [False, True], ids=["weight-bias", "gamma-beta"])
def test_bert_and_its_tokenizer_load_into_film_unet2d(tmp_path, legacy):
    reference = write_bert_checkpoint(tmp_path, legacy)
    assert any(key.startswith("cls.") for key in load_file(tmp_path / "model.safetensors"))
    model = tiny_film_unet(f"local-dir:{tmp_path}")
    images, prompts = torch.randn(2, 4, 32, 32), ["Segment the WHOLE tumors", "edema core"]
    with pytest.raises(ModelConfigError, match="needs its WordPiece tokenizer"):
        model(images, prompts)  # not loaded yet: the BPE stand-in is refused for pretrained weights
    projection = {k: v.clone() for k, v in model.text_encoder.projection.state_dict().items()}

    assert load_pretrained_backbones(model) == [f"text_encoder <- local-dir:{tmp_path}"]

    ids, mask = model.text_encoder.bert_ids(prompts)
    assert ids[0].tolist() == WHOLE_TUMORS
    assert mask[0].tolist() == [True] * 7 + [False] * 9
    assert ids[1, :4].tolist() == [3, 13, 11, 4]
    with torch.no_grad():
        features, _ = model.text_encoder.encode_tokens(prompts)  # (2, 16, 32)
        expected = reference.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # (2, 16, 32)
    torch.testing.assert_close(features, expected, atol=1e-5, rtol=1e-5)
    for key, value in model.text_encoder.projection.state_dict().items():
        assert torch.equal(value, projection[key]), key  # the projection is BrainSeg's, not BERT's
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    with torch.no_grad():
        assert model(images, prompts).logits.shape == (2, 1, 32, 32)


def test_paper_size_names_bert_base_uncased():
    assert load_config("film-unet2d", "paper").text.pretrained == "bert-base-uncased"
    assert backbone_source("bert-base-uncased").startswith("hf-hub:google-bert/bert-base-uncased@")


def test_missing_or_mismatched_files_are_clear_errors(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    write_bert_checkpoint(source)
    model = tiny_film_unet(f"local-dir:{tmp_path}")

    def expect(fragment: str) -> None:
        with pytest.raises(CheckpointError, match=fragment):
            load_pretrained_backbones(model)

    expect("config.json is missing")
    config = json.loads((source / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "hidden_size": 64, "hidden_act": "relu"}))
    expect("does not match the model: hidden_size 64 in the file, 32 in the model; hidden_act 'relu' in the file")
    (tmp_path / "config.json").write_text(json.dumps(config))
    expect("vocab.txt is missing")
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[SEP]\ntumor\n")
    expect(r"vocab.txt lacks the special token\(s\) \[CLS\]")
    (tmp_path / "vocab.txt").write_text((source / "vocab.txt").read_text())
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(2)}, tmp_path / "pytorch_model.bin")
    expect(r"model.safetensors is missing \(found pytorch_model.bin, only safetensors are read: pickle files are")
    state = load_file(source / "model.safetensors")
    state.pop("bert.encoder.layer.0.output.dense.bias")
    save_file(state, tmp_path / "model.safetensors")
    expect(r"does not match its model: 1 missing \(e.g. encoder.layer.0.output.dense.bias\)")
    state = load_file(source / "model.safetensors")
    state["bert.embeddings.LayerNorm.gamma"] = state["bert.embeddings.LayerNorm.weight"].clone()
    save_file(state, tmp_path / "model.safetensors")
    expect("two tensors in the file map to embeddings.LayerNorm.weight")


def test_bert_from_an_offline_hub_cache(tmp_path):
    """A pre-filled Hub cache with HF_HUB_OFFLINE=1: BERT and its tokenizer load; an uncached repo is named."""
    folder = tmp_path / "bert"
    folder.mkdir()
    reference = write_bert_checkpoint(folder, legacy=True)
    save_file({k: v.contiguous() for k, v in reference.bert.state_dict().items()}, tmp_path / "expected.safetensors")
    commit = "89abcdef0123456789abcdef0123456789abcdef"
    write_hub_cache(tmp_path / "hub", "brainseg/tiny-bert", commit, folder)
    script = textwrap.dedent(
        f"""
        import torch
        from safetensors.torch import load_file
        from brainseg.hub import CheckpointError
        from brainseg.hub.backbones import load_pretrained_backbones
        from brainseg.models.text_encoders import TextEncoderConfig, build_text_encoder
        expected = load_file({str(tmp_path / "expected.safetensors")!r})
        source = "hf-hub:brainseg/tiny-bert@{commit}"
        encoder = build_text_encoder(TextEncoderConfig(**{TINY_BERT!r}, pretrained=source))
        print("LOADED:", load_pretrained_backbones(encoder))
        state = encoder.bert.state_dict()
        assert all(torch.equal(value, expected[key]) for key, value in state.items())
        print("IDS:", encoder.bert_ids(["Segment the WHOLE tumors"])[0][0].tolist())
        encoder.config.pretrained = "hf-hub:brainseg/other-bert@main"
        try:
            load_pretrained_backbones(encoder)
        except CheckpointError as exc:
            print("ERROR:", exc)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"LOADED: ['model <- hf-hub:brainseg/tiny-bert@{commit}']" in result.stdout
    assert f"IDS: {WHOLE_TUMORS}" in result.stdout
    assert (
        "ERROR: checkpoint hf-hub:brainseg/other-bert@main: not in the local Hub cache and HF_HUB_OFFLINE is set"
        in result.stdout
    )
