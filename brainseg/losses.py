"""Segmentation and distillation losses, by name, for multi-label sigmoid outputs (WT, TC, ET channels).

The overlap losses are MONAI's (well tested, used by the BraTS community); this module names them as the
papers do, fixes the papers' settings, and adds what MONAI lacks: deep-supervision weighting and the
response + feature distillation of the three-tier model (paper 001).

Every loss takes ``logits`` (B, C, *spatial) and ``target`` (B, C, *spatial) with 0/1 (or soft) values
and returns a scalar tensor.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from monai.losses import DiceFocalLoss, DiceLoss, FocalLoss, HausdorffDTLoss, TverskyLoss
from torch import nn

from brainseg.errors import BrainSegError

TVERSKY_ALPHA, TVERSKY_BETA = 0.7, 0.3
"""Paper 002: alpha weights false positives, beta false negatives (MONAI's convention too)."""


def _dice(batch: bool = False) -> nn.Module:
    return DiceLoss(sigmoid=True, batch=batch)


def _jaccard(batch: bool = False) -> nn.Module:
    return DiceLoss(sigmoid=True, jaccard=True, batch=batch)


def _tversky(batch: bool = False) -> nn.Module:
    return TverskyLoss(sigmoid=True, alpha=TVERSKY_ALPHA, beta=TVERSKY_BETA, batch=batch)


def _dice_bce(batch: bool = False) -> nn.Module:
    # Not MONAI's DiceCELoss: with several channels it applies softmax cross-entropy, which is wrong for
    # nested regions (a voxel of ET is also TC and WT). Per-channel binary cross-entropy is right.
    return WeightedSum({"dice": (_dice(batch), 1.0), "bce": (nn.BCEWithLogitsLoss(), 1.0)})


def _focal(batch: bool = False) -> nn.Module:  # no overlap term: batch does not apply
    return FocalLoss(gamma=2.0, alpha=0.25)


def _focal_dice(batch: bool = False) -> nn.Module:
    # "FocalDice (0.5 Focal + Dice)".
    return DiceFocalLoss(sigmoid=True, gamma=2.0, lambda_dice=1.0, lambda_focal=0.5, batch=batch)


def _ce_dice(batch: bool = False) -> nn.Module:
    # Paper 004: a composite of cross-entropy and Dice, equally weighted (binary CE per region channel).
    return _dice_bce(batch)


def _boundary(batch: bool = False) -> nn.Module:  # a distance loss: batch does not apply
    # Karimi & Salcudean's distance-transform Hausdorff loss; MONAI computes the transforms on the CPU.
    return HausdorffDTLoss(sigmoid=True, include_background=True, alpha=2.0)


def _dice_boundary(batch: bool = False) -> nn.Module:
    return WeightedSum({"dice": (_dice(batch), 1.0), "boundary": (_boundary(), 0.1)})


LOSSES: dict[str, Callable[..., nn.Module]] = {
    "dice": _dice,
    "jaccard": _jaccard,
    "tversky": _tversky,
    "dice-bce": _dice_bce,
    "focal": _focal,
    "focal-dice": _focal_dice,
    "ce-dice": _ce_dice,
    "boundary": _boundary,
    "dice-boundary": _dice_boundary,
}
"""Loss name -> builder. ``create_loss(name)`` builds one."""


class LossConfigError(BrainSegError):
    """An unknown loss name."""


def create_loss(name: str, batch: bool = False) -> nn.Module:
    """Build a loss by name; an unknown name lists the valid ones.

    ``batch``: overlap terms (Dice, Jaccard, Tversky) sum over the whole batch per channel instead of
    averaging per-sample scores. For 2D slice training this matters: on a slice without tumor a per-slice
    Dice is ~1 whatever is predicted (no gradient against false positives); over the batch it is not.
    """
    if name not in LOSSES:
        raise LossConfigError(f"unknown loss {name!r}; valid losses: {', '.join(LOSSES)}")
    return LOSSES[name](batch=batch)


class WeightedSum(nn.Module):
    """``sum(weight * loss(logits, target))`` over named terms; the last values are kept in ``last_terms``."""

    def __init__(self, terms: dict[str, tuple[nn.Module, float]]) -> None:
        super().__init__()
        self.losses = nn.ModuleDict({name: loss for name, (loss, _) in terms.items()})
        self.weights = {name: weight for name, (_, weight) in terms.items()}
        self.last_terms: dict[str, float] = {}

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        total = logits.new_zeros(())
        for name, loss in self.losses.items():
            value = loss(logits, target)
            self.last_terms[name] = float(value.detach())
            total = total + self.weights[name] * value
        return total


def deep_supervision_weights(levels: int) -> list[float]:
    """Weights for the full-resolution output then each coarser head: 1, 1/2, 1/4, ... normalized to sum 1."""
    raw = [0.5**level for level in range(levels)]
    return [w / sum(raw) for w in raw]


class DeepSupervisionLoss(nn.Module):
    """Apply ``loss`` to the main output and every deep-supervision head, weighted by resolution.

    Targets are downsampled to each head's size by max-pooling-like nearest-area resizing (a voxel is
    foreground at low resolution when any voxel it covers is), so small ET is not lost at coarse levels.
    """

    def __init__(self, loss: nn.Module) -> None:
        super().__init__()
        self.loss = loss

    def forward(self, logits: torch.Tensor, extra: Sequence[torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        outputs = [logits, *extra]
        weights = deep_supervision_weights(len(outputs))
        total = logits.new_zeros(())
        for weight, output in zip(weights, outputs, strict=True):
            total = total + weight * self.loss(output, resize_target(target, output.shape[2:]))
        return total


def resize_target(target: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """(B, C, *S) 0/1 target -> (B, C, *size) by adaptive max pooling (any foreground stays foreground)."""
    if tuple(target.shape[2:]) == tuple(size):
        return target
    pool = F.adaptive_max_pool3d if target.dim() == 5 else F.adaptive_max_pool2d
    return pool(target.float(), tuple(size))


def response_distillation(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 2.0
) -> torch.Tensor:
    """Soft-target distillation for sigmoid outputs: BCE of student vs teacher probabilities at ``temperature``.

    Scaled by ``temperature**2`` (Hinton et al.) so its gradient size does not depend on the temperature.
    """
    soft_teacher = torch.sigmoid(teacher_logits.detach() / temperature)
    return F.binary_cross_entropy_with_logits(student_logits / temperature, soft_teacher) * temperature**2


def feature_distillation(student_features: torch.Tensor, teacher_features: torch.Tensor) -> torch.Tensor:
    """``1 - cosine similarity`` between (B, C, *S) feature maps per position, averaged (cross-modal alignment)."""
    if student_features.shape != teacher_features.shape:
        raise LossConfigError(
            f"feature distillation needs equal shapes, got {tuple(student_features.shape)} "
            f"and {tuple(teacher_features.shape)}"
        )
    return (1 - F.cosine_similarity(student_features, teacher_features.detach(), dim=1)).mean()


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: Sequence[torch.Tensor],
    student_features: Sequence[torch.Tensor],
    teacher_features: Sequence[torch.Tensor],
    response_weight: float = 1.0,
    feature_weight: float = 0.5,
    temperature: float = 2.0,
) -> torch.Tensor:
    """Multi-teacher distillation (paper 001): mean response loss over teachers + weighted feature loss.

    Args:
        student_logits: (B, C, *S) student output.
        teacher_logits: one (B, C, *S) output per teacher (MRI, US, CT, ...).
        student_features / teacher_features: paired (B, F, *S') feature maps (the student's projected to
            each teacher's space), one pair per teacher.
    """
    if not teacher_logits:
        raise LossConfigError("distillation needs at least one teacher")
    responses = [response_distillation(student_logits, t, temperature) for t in teacher_logits]
    response = sum(responses[1:], start=responses[0]) / len(responses)  # started on a tensor, so it is one
    pairs = list(zip(student_features, teacher_features, strict=True))
    feature = sum(feature_distillation(s, t) for s, t in pairs) / max(len(pairs), 1)
    return response_weight * response + feature_weight * feature
