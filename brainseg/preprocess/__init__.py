"""Pixel-level preprocessing: intensity normalization per sequence and padding for strided networks."""

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
    "bounding_box",
    "brain_box",
    "brain_mask",
    "check_method",
    "normalize",
    "pad_to_multiple",
    "unpad",
]
