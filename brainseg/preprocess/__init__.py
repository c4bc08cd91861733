"""Pixel-level preprocessing: intensity normalization per sequence, the voxels every sequence covers, and
padding for strided networks."""

from brainseg.preprocess.coverage import Coverage, keep_covered, normalize_covered, sequence_coverage
from brainseg.preprocess.normalize import (
    BRAIN_BOX_MARGIN,
    NORMALIZATIONS,
    bounding_box,
    brain_box,
    brain_mask,
    check_method,
    normalize,
    pad_to_multiple,
    unpad,
)

__all__ = [
    "BRAIN_BOX_MARGIN",
    "NORMALIZATIONS",
    "Coverage",
    "bounding_box",
    "brain_box",
    "brain_mask",
    "check_method",
    "keep_covered",
    "normalize",
    "normalize_covered",
    "pad_to_multiple",
    "sequence_coverage",
    "unpad",
]
