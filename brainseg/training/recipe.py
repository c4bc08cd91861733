"""The training recipe: paper 000's appendix A.1 schedule for every variant, each with its own paper's loss.

Appendix A.1: batch 1, AdamW (weight decay 1e-4), OneCycleLR with cosine annealing (pct_start 0.2,
div_factor 20, final_div_factor 100) from an initial rate of 5e-5, so the peak is 20 x 5e-5 = 1e-3;
parameter-group multipliers encoder/decoder 2x, CLIP adapter 0.1x, attention modules 3x; mixed precision
on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from brainseg.models import SegmentationModel

INITIAL_LR = 5e-5
DIV_FACTOR = 20.0
FINAL_DIV_FACTOR = 100.0
PCT_START = 0.2
WEIGHT_DECAY = 1e-4


@dataclass(frozen=True)
class VariantRecipe:
    """What differs per variant.

    Attributes:
        loss: a name from :data:`brainseg.losses.LOSSES` (the variant's paper's loss).
        deep_supervision: weight the model's deep-supervision heads into the loss.
        tumor_type_weight: weight of the tumor-type classification loss (clip-unet3d's head).
        distillation_weight: weight of the multi-teacher distillation (tritier-film).
        prompted: a single-target variant trained on prompts sampled from the region vocabulary.
        slices_per_patch: for 2D variants, axial slices taken from each 3D training patch.
        batch_dice: overlap losses over the whole batch (see :func:`brainseg.losses.create_loss`); on for the
            2D variants, whose batches hold many slices without tumor.
    """

    loss: str
    deep_supervision: bool = False
    tumor_type_weight: float = 0.0
    distillation_weight: float = 0.0
    prompted: bool = False
    slices_per_patch: int = 0
    batch_dice: bool = False


RECIPES: dict[str, VariantRecipe] = {
    # Paper 000 trains with Dice and cross-entropy on the three nested regions; heads at each decoder level.
    "clip-unet3d": VariantRecipe("dice-bce", deep_supervision=True, tumor_type_weight=0.1),
    "unet3d": VariantRecipe("dice-bce", deep_supervision=True),
    # Paper 001: segmentation loss on the student plus response and feature distillation from the teachers.
    "tritier-film": VariantRecipe("dice-bce", distillation_weight=0.5),
    # Paper 002: Dice is its best loss for single brain tumors (its Table 3); prompts sampled per region.
    "film-unet2d": VariantRecipe("dice", prompted=True, slices_per_patch=8, batch_dice=True),
    # Paper 003 (SAM fine-tuning): Dice + BCE on the automatic masks.
    "sam-dmif": VariantRecipe("dice-bce", slices_per_patch=8, batch_dice=True),
    # Paper 004: "a composite loss function combining cross-entropy and Dice Loss".
    "msfen": VariantRecipe("ce-dice"),
}


def parameter_groups(model: SegmentationModel, base_lr: float) -> list[dict]:
    """Optimizer parameter groups with the A.1 multipliers where the model defines groups, else one group.

    ``base_lr`` is the rate the multipliers scale (the schedule's peak is ``DIV_FACTOR`` x this for the
    one-cycle schedule, see :func:`build_optimizer`).
    """
    from brainseg.models.clip_unet3d import LR_MULTIPLIERS

    groups_of = getattr(model, "parameter_groups", None)
    if callable(groups_of):
        return [
            {"params": params, "lr": base_lr * LR_MULTIPLIERS[name], "name": name}
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
