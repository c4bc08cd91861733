"""One training step's loss for each kind of variant: 3D regions, 2D slices, prompted targets, distillation.

A batch is what :class:`brainseg.training.data.PatchDataset` yields, collated: ``images`` (B, 4, P, P, P)
normalized, ``target`` (B, 3, P, P, P) WT/TC/ET masks, ``labels`` (B, P, P, P) internal labels.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from brainseg.labels import REGIONS
from brainseg.losses import DeepSupervisionLoss, distillation_loss
from brainseg.models import SegmentationModel
from brainseg.models.registry import VariantRecipe
from brainseg.text.vocabulary import REGION_PHRASES

PROMPT_TEMPLATES = ("segment the {}", "{}", "show the {}", "highlight the {}", "outline the {}", "find the {}")
TUMOR_SLICE_PROBABILITY = 0.7


def sample_prompt(region: str, rng: np.random.Generator) -> str:
    """A prompt for ``region`` drawn from its synonyms and a few phrasings (paper 002, section 3.3)."""
    phrases = sorted(REGION_PHRASES[region])
    return PROMPT_TEMPLATES[rng.integers(len(PROMPT_TEMPLATES))].format(phrases[rng.integers(len(phrases))])


def take_slices(batch: dict, count: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``count`` axial slices per patch, mostly through tumor: images (N, 4, P, P), target (N, 3, P, P), labels."""
    images, targets, labels = [], [], []
    for b in range(batch["images"].shape[0]):
        depth = batch["images"].shape[-1]
        tumor = torch.nonzero(batch["labels"][b].flatten(0, 1).amax(0) > 0).flatten().tolist()
        for _ in range(count):
            use_tumor = tumor and rng.random() < TUMOR_SLICE_PROBABILITY
            z = int(tumor[rng.integers(len(tumor))] if use_tumor else rng.integers(depth))
            images.append(batch["images"][b, ..., z])
            targets.append(batch["target"][b, ..., z])
            labels.append(batch["labels"][b, ..., z])
    return torch.stack(images), torch.stack(targets), torch.stack(labels)


def region_target(labels: torch.Tensor, region: str) -> torch.Tensor:
    """(N, *S) internal labels -> (N, 1, *S) float mask of ``region``."""
    values = torch.tensor(REGIONS[region], device=labels.device)
    return torch.isin(labels, values).unsqueeze(1).float()


class TrainingStep(nn.Module):
    """A model with its recipe and loss, whose ``forward(batch, rng)`` is one step's ``(loss, terms)``.

    This, not the bare model, is what DistributedDataParallel wraps: every path that makes gradients
    (tritier-film's teachers and distillation included) then runs inside DDP's forward, so all of them
    are synchronized across processes.
    """

    def __init__(self, model: SegmentationModel, recipe: VariantRecipe, loss_fn: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.recipe = recipe
        self.loss_fn = loss_fn

    def forward(self, batch: dict, rng: np.random.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        return training_loss(self.model, batch, self.recipe, self.loss_fn, rng)


def training_loss(
    model: SegmentationModel,
    batch: dict,
    recipe: VariantRecipe,
    loss_fn: nn.Module,
    rng: np.random.Generator,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The variant's loss on one batch and its named terms (for the log)."""
    images, target = batch["images"], batch["target"]
    terms: dict[str, float] = {}
    if recipe.slices_per_patch:
        images, target, labels = take_slices(batch, recipe.slices_per_patch, rng)
        if recipe.prompted:
            regions = [list(REGIONS)[rng.integers(len(REGIONS))] for _ in range(len(images))]
            prompts = [sample_prompt(region, rng) for region in regions]
            target = torch.cat([region_target(labels[i : i + 1], r) for i, r in enumerate(regions)])
            out = model(images, prompts)
        else:
            out = model(images)
        loss = loss_fn(out.logits, target)
        terms["segmentation"] = float(loss.detach())
        return loss, terms

    if recipe.distillation_weight:
        return _distillation_step(model, images, target, recipe, loss_fn)

    out = model(images)
    if recipe.deep_supervision and out.deep_supervision:
        loss = DeepSupervisionLoss(loss_fn)(out.logits, out.deep_supervision, target)
    else:
        loss = loss_fn(out.logits, target)
    terms["segmentation"] = float(loss.detach())
    if recipe.tumor_type_weight and "tumor_type" in out.aux:
        # Synthetic and BraTS 2021+ cases carry no grade; a patch with enhancing tumor stands in for
        # high grade (class 1), one without for low grade (class 0), the paper's LGG / HGG split.
        grade = (batch["labels"].flatten(1) == 3).any(1).long()
        type_loss = F.cross_entropy(out.aux["tumor_type"], grade)
        terms["tumor_type"] = float(type_loss.detach())
        loss = loss + recipe.tumor_type_weight * type_loss
    return loss, terms


def _distillation_step(
    model: nn.Module, images: torch.Tensor, target: torch.Tensor, recipe: VariantRecipe, loss_fn: nn.Module
) -> tuple[torch.Tensor, dict[str, float]]:
    # Teachers learn segmentation from their own modality; the student learns it from MRI and is pulled
    # towards the (detached) teachers' answers and features (paper 001's dual distillation loss).
    teacher_loss = sum(loss_fn(logits, target) for logits, _ in model.teacher_outputs(images).values())
    targets = model.distillation_targets(images)
    student_loss = loss_fn(targets["student_logits"], target)
    teachers = targets["teacher_logits"].unbind(1)
    distill = distillation_loss(
        targets["student_logits"],
        teachers,
        targets["student_features"].unbind(1),
        targets["teacher_features"].unbind(1),
    )
    loss = student_loss + teacher_loss / len(teachers) + recipe.distillation_weight * distill
    return loss, {
        "segmentation": float(student_loss.detach()),
        "teachers": float(teacher_loss.detach()) / len(teachers),
        "distillation": float(distill.detach()),
    }
