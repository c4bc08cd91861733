"""Teach a randomly initialized text encoder which region each prompt names, before segmentation training.

Paper 002 conditions its network on a frozen, pretrained BERT, whose embeddings already tell "enhancing tumor"
from "tumor core". The demo size's BERT is a small random stand-in (no weights can be downloaded here).
Frozen at random, it maps the prompts of every region to nearly the same vector: cosine 0.978 between the
canonical ET and TC prompts. The prompted network then cannot tell which region is asked.

This stage gives the stand-in that knowledge. A linear probe on the pooled embedding learns, together with the
encoder, to name each prompt's region. The prompts are drawn from the synonym vocabulary and phrasings
that segmentation training samples (:func:`brainseg.training.tasks.sample_prompt`). The probe is dropped
afterwards, and a frozen encoder is frozen again.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from brainseg.models.text_encoders import TextEncoder
from brainseg.text.vocabulary import REGION_PHRASES
from brainseg.training.tasks import PROMPT_TEMPLATES, sample_prompt

PROMPTS_PER_STEP = 64
LEARNING_RATE = 1e-3


def every_prompt() -> tuple[list[str], list[int]]:
    """Every training prompt (phrase x phrasing) and its region's index in :data:`REGION_PHRASES`."""
    prompts, regions = [], []
    for index, phrases in enumerate(REGION_PHRASES.values()):
        for phrase in sorted(phrases):
            prompts += [template.format(phrase) for template in PROMPT_TEMPLATES]
            regions += [index] * len(PROMPT_TEMPLATES)
    return prompts, regions


def region_probe_accuracy(encoder: TextEncoder, probe: nn.Module) -> float:
    """Share of :func:`every_prompt` whose region ``probe`` names from the encoder's (eval-mode) embedding."""
    prompts, regions = every_prompt()
    was_training = encoder.training
    encoder.eval()
    with torch.no_grad():
        named = probe(encoder(prompts)).argmax(1).cpu()
    encoder.train(was_training)
    return float((named == torch.tensor(regions)).float().mean())


def pretrain_text_encoder(encoder: TextEncoder, steps: int, seed: int) -> dict[str, float]:
    """Train ``encoder`` for ``steps`` steps of AdamW to name each prompt's region (cross-entropy, 5 regions).

    Returns ``{"steps", "loss"}`` (the last step's) and ``"accuracy"``: the probe's share of every training
    prompt named right afterwards. Seeds torch's global generator with ``seed`` (the probe's initialization
    and the encoder's dropout draw from it), so the run that follows is as reproducible as without this stage.
    """
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    regions = list(REGION_PHRASES)
    was_frozen = encoder.frozen
    encoder.frozen = False
    encoder.requires_grad_(True)
    encoder.train()
    probe = nn.Linear(encoder.config.output_dim, len(regions)).to(encoder.device)
    optimizer = torch.optim.AdamW([*encoder.parameters(), *probe.parameters()], lr=LEARNING_RATE)
    loss = torch.zeros(())
    for _ in range(steps):
        asked = rng.integers(len(regions), size=PROMPTS_PER_STEP)
        prompts = [sample_prompt(regions[index], rng) for index in asked]
        loss = F.cross_entropy(probe(encoder(prompts)), torch.as_tensor(asked, device=encoder.device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    accuracy = region_probe_accuracy(encoder, probe)
    if was_frozen:
        encoder.freeze()
    return {"steps": steps, "loss": round(float(loss.detach()), 4), "accuracy": round(accuracy, 4)}
