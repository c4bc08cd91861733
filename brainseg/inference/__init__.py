"""Inference: run a variant over a whole case and turn its outputs into labels.

:mod:`brainseg.inference.segmenter` is the user-facing lifecycle (``Segmenter``, ``get_segmenter``);
:mod:`brainseg.inference.forward` the bare network-over-a-volume step the trainer uses as well (sliding
windows, 2D slice-wise variants); :mod:`brainseg.inference.passes` the plain and mirrored passes over a case;
:mod:`brainseg.inference.protocol` the type the app codes against (``SegmenterProtocol``).
"""

from typing import Any

from brainseg.inference.forward import REGION_PROMPTS, logits_to_labels, pad_spatial, predict_volume
from brainseg.inference.protocol import SegmenterFactory, SegmenterProtocol

_LAZY = {"DEFAULT_MODEL", "Segmentation", "Segmenter", "get_segmenter"}

__all__ = [
    "DEFAULT_MODEL",
    "REGION_PROMPTS",
    "Segmentation",
    "Segmenter",
    "SegmenterFactory",
    "SegmenterProtocol",
    "get_segmenter",
    "logits_to_labels",
    "pad_spatial",
    "predict_volume",
]


def __getattr__(name: str) -> Any:
    # The segmenter pulls in the hub, case I/O and prompts; the trainer, which only needs predict_volume,
    # does not pay for them.
    if name in _LAZY:
        from brainseg.inference import segmenter

        return getattr(segmenter, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
