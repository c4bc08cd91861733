"""Training data: synthetic and BraTS case sources, normalized tumor-focused patches, augmentation."""

from brainseg.training.augment import (
    Compose,
    RandomFlip,
    RandomGamma,
    RandomRotation,
    RegionContrastStretch,
    crop_patch,
    default_augmentation,
)
from brainseg.training.data import (
    VALIDATION_SEED_START,
    BratsFolderSet,
    PatchDataset,
    SyntheticPool,
    validation_cases,
)

__all__ = [
    "VALIDATION_SEED_START",
    "BratsFolderSet",
    "Compose",
    "PatchDataset",
    "RandomFlip",
    "RandomGamma",
    "RandomRotation",
    "RegionContrastStretch",
    "SyntheticPool",
    "crop_patch",
    "default_augmentation",
    "validation_cases",
]
