"""Pixel-level preprocessing: intensity normalization per sequence and padding for strided networks."""

from brainseg.preprocess.normalize import (
    NORMALIZATIONS,
    brain_mask,
    check_method,
    normalize,
    pad_to_multiple,
    unpad,
)

__all__ = ["NORMALIZATIONS", "brain_mask", "check_method", "normalize", "pad_to_multiple", "unpad"]
