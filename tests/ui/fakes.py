"""A fake segmenter with the interface of :class:`brainseg.inference.segmenter.Segmenter`, for fast UI tests.

Its prediction is known in advance: the case's truth with its ED label dropped on the first x slice that
holds tumor (so Dice is high but not 1), or a 3-voxel cube of ET at the volume centre without truth. It
returns real :class:`Segmentation` objects and writes with the real report writer.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainseg.inference.report import write_outputs
from brainseg.inference.segmenter import Segmentation, read_prompt
from brainseg.labels import ED, ET, region_mask


def fake_labels(case) -> np.ndarray:
    """(X, Y, Z) uint8 internal labels the fake predicts for ``case``."""
    if case.truth is not None and case.truth.any():
        labels = case.truth.copy()
        first_x = int(np.argwhere(labels > 0)[:, 0].min())
        plane = labels[first_x]
        plane[plane == ED] = 0
        return labels
    labels = np.zeros(case.shape, np.uint8)
    x, y, z = (n // 2 for n in case.shape)
    labels[x - 1 : x + 2, y - 1 : y + 2, z - 1 : z + 2] = ET
    return labels


class FakeSegmenter:
    """Records its calls; ``refuse`` makes every prompt raise like a refused one would."""

    def __init__(self, source: str, device: str = "cpu") -> None:
        self.info = {
            "model": source.rsplit("/", 1)[-1].removeprefix("local-dir:"),
            "size": "demo",
            "source": source,
            "sha256": "0" * 64,
            "description": "fake",
            "paper": "",
            "device": device,
            "precision": "fp32",
        }
        self.calls: list[tuple[str, object]] = []

    def for_case(self, case) -> FakeSegmenter:
        """The real Segmenter's switch to a sequence-dropout checkpoint: a fake has one checkpoint."""
        return self

    def segment(self, case, prompt=None, *, uncertainty=False, progress=None) -> Segmentation:
        reading = read_prompt(prompt)  # text or a reading, as the real segmenter takes it
        self.calls.append(("segment", None if prompt is None else reading.prompt))
        if progress is not None:
            progress(0.5, "fake network")
        labels = fake_labels(case)
        wt = region_mask(labels, "WT").astype(np.float32)
        ramp = np.linspace(0, 1, case.shape[0], dtype=np.float32)[:, None, None] * np.ones(case.shape, np.float32)
        attention = {"semantic": ramp, "WT": wt, "TC": region_mask(labels, "TC").astype(np.float32), "ET": 1 - ramp}
        probabilities = np.stack([wt, region_mask(labels, "TC"), region_mask(labels, "ET")]).astype(np.float32)
        return Segmentation(
            labels=labels,
            probabilities=probabilities,
            attention=attention,
            uncertainty=0.5 * ramp if uncertainty else None,
            interpretation=reading,
            target_regions=tuple(reading.regions),
            timings={"preprocess": 0.01, "inference": 0.02, "total": 0.03},
        )

    def report(self, case, result, *, labels="brats2023") -> dict:
        from brainseg.inference.report import build_report

        return build_report(case, result, self.info, labels=labels)

    def write(self, case, result, out_dir, labels="brats2023") -> tuple[Path, Path]:
        self.calls.append(("write", labels))
        return write_outputs(case, result, self.info, out_dir, labels=labels)


class FakeFactory:
    """``source -> FakeSegmenter``, one per source, like ``get_segmenter``; remembers the sources asked for."""

    def __init__(self) -> None:
        self.segmenters: dict[str, FakeSegmenter] = {}

    def __call__(self, source: str) -> FakeSegmenter:
        if source not in self.segmenters:
            self.segmenters[source] = FakeSegmenter(source)
        return self.segmenters[source]
