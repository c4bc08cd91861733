"""The text-encoder pretraining stage: a random stand-in BERT learns which region each prompt names."""

import torch
import torch.nn.functional as F

from brainseg.inference.forward import REGION_PROMPTS
from brainseg.models import load_config
from brainseg.models.text_encoders import build_text_encoder
from brainseg.training.text_pretraining import every_prompt, pretrain_text_encoder


def canonical_cosines(encoder) -> torch.Tensor:
    """(3, 3) cosine similarities of the WT, TC and ET prompts the app asks with."""
    with torch.no_grad():
        embeddings = F.normalize(encoder.eval()(list(REGION_PROMPTS.values())), dim=1)
    return embeddings @ embeddings.T


def test_a_frozen_random_encoder_is_taught_the_regions_and_stays_frozen():
    torch.manual_seed(0)
    encoder = build_text_encoder(load_config("film-unet2d", "demo").text)
    assert encoder.frozen
    before = canonical_cosines(encoder)
    assert before[1, 2] > 0.9  # at random, "tumor core" and "enhancing tumor" are nearly the same vector
    result = pretrain_text_encoder(encoder, steps=60, seed=0)
    assert result["steps"] == 60 and result["accuracy"] >= 0.95, result
    after = canonical_cosines(encoder)
    assert after[0, 1] < 0.5 and after[0, 2] < 0.5 and after[1, 2] < 0.5, after
    assert encoder.frozen and not encoder.training
    assert not any(parameter.requires_grad for parameter in encoder.parameters())


def test_a_trainable_encoder_stays_trainable_and_the_prompt_set_covers_every_region():
    torch.manual_seed(0)
    encoder = build_text_encoder(load_config("clip-unet3d", "demo").text)
    assert not encoder.frozen
    pretrain_text_encoder(encoder, steps=2, seed=0)
    assert not encoder.frozen and all(parameter.requires_grad for parameter in encoder.parameters())
    prompts, regions = every_prompt()
    assert len(prompts) == len(regions) and sorted(set(regions)) == [0, 1, 2, 3, 4]
    assert "segment the enhancing tumor" in prompts and "segment the non enhancing tumor" in prompts
