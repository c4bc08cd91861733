"""What the app and the API need of a segmenter, as a type: :class:`SegmenterProtocol`.

:class:`brainseg.inference.segmenter.Segmenter` is the real one; tests pass fakes with the same methods.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from brainseg.inference.result import Segmentation
    from brainseg.io.case import Case
    from brainseg.text.prompts import PromptInterpretation

Progress = Callable[[float, str], None]
"""``(fraction in [0, 1], message)``."""


class SegmenterProtocol(Protocol):
    """A loaded model that segments cases.

    Attributes:
        info: provenance: model, size, source, sha256, description, paper, device, precision.
    """

    info: dict[str, Any]

    def segment(
        self,
        case: Case,
        prompt: str | PromptInterpretation | None = None,
        *,
        uncertainty: bool = False,
        progress: Progress | None = None,
    ) -> Segmentation:
        """The case's segmentation; a prompt (text or its reading) picks the target regions."""
        ...

    def write(
        self, case: Case, result: Segmentation, out_dir: str | Path, labels: str = "brats2023"
    ) -> tuple[Path, Path]:
        """Write ``segmentation.nii.gz`` (the input's grid and affine) and ``report.json``; their paths."""
        ...


SegmenterFactory = Callable[[str], SegmenterProtocol]
"""Checkpoint source -> segmenter (:func:`brainseg.inference.segmenter.get_segmenter`)."""
