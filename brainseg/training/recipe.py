"""The training recipe: paper 000's appendix A.1 schedule for every variant, each with its own paper's loss
(declared by the variant: :class:`brainseg.models.registry.VariantRecipe`).

Appendix A.1: batch 1, AdamW (weight decay 1e-4), OneCycleLR with cosine annealing (pct_start 0.2,
div_factor 20, final_div_factor 100) from an initial rate of 5e-5, so the peak is 20 x 5e-5 = 1e-3;
parameter-group multipliers encoder/decoder 2x, CLIP adapter 0.1x, attention modules 3x; mixed precision
on CUDA.
"""

from __future__ import annotations

import torch
from torch import nn

from brainseg.models import SegmentationModel, get_variant, list_models
from brainseg.models.registry import VariantRecipe

INITIAL_LR = 5e-5
DIV_FACTOR = 20.0
FINAL_DIV_FACTOR = 100.0
PCT_START = 0.2
WEIGHT_DECAY = 1e-4


RECIPES: dict[str, VariantRecipe] = {name: get_variant(name).recipe for name in list_models()}
"""Variant name -> its recipe; each variant declares its own (:class:`brainseg.models.registry.Variant`)."""


def parameter_groups(model: SegmentationModel, base_lr: float) -> list[dict]:
    """Optimizer parameter groups with the variant's multipliers (paper A.1) where it has them, else one group.

    ``base_lr`` is the rate the multipliers scale (the schedule's peak is ``DIV_FACTOR`` x this for the
    one-cycle schedule, see :func:`build_optimizer`).
    """
    multipliers = get_variant(model.config.variant).recipe.lr_multipliers
    groups_of = getattr(model, "parameter_groups", None)
    if callable(groups_of) and multipliers:
        return [
            {"params": params, "lr": base_lr * multipliers[name], "name": name}
            for name, params in groups_of().items()
            if params
        ]
    return [{"params": [p for p in model.parameters() if p.requires_grad], "lr": base_lr, "name": "all"}]


def build_optimizer(
    model: nn.Module, total_steps: int, peak_lr: float = INITIAL_LR * DIV_FACTOR
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.OneCycleLR]:
    """AdamW and the one-cycle cosine schedule; each group's peak is ``peak_lr`` x its multiplier."""
    groups = parameter_groups(model, peak_lr)  # type: ignore[arg-type]
    optimizer = torch.optim.AdamW(groups, lr=peak_lr, weight_decay=WEIGHT_DECAY)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[g["lr"] for g in groups],
        total_steps=max(total_steps, 1),
        pct_start=PCT_START,
        anneal_strategy="cos",
        div_factor=DIV_FACTOR,
        final_div_factor=FINAL_DIV_FACTOR,
    )
    return optimizer, scheduler
