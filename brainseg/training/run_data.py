"""Which cases one training run learns from and is validated on (``brainseg train --data``).

``--data synth`` trains on cached synthetic cases, ``--data DIR`` on a folder of real BraTS-layout cases
with truth, ``--data synth+DIR`` on both, the real cases getting ``--real-share`` of the patches. With
``--fold K --folds N`` the real cases of fold K (:mod:`brainseg.training.folds`) are held back and
validate the run (real Dice); otherwise the fixed synthetic validation cases do. :class:`RunData`
records every real case's name, for the run folder's ``cases.json`` and the checkpoint's card.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brainseg.synth import GENERATOR_VERSION
from brainseg.training.config import TrainConfig
from brainseg.training.data import BratsFolderSet, CaseSource, ConcatSource, training_pool, validation_cases
from brainseg.training.folds import split_fold

CASES_FILE = "cases.json"
"""The run folder's record of the cases it trained and validated on."""


@dataclass
class RunData:
    """A run's training source and what it holds.

    Attributes:
        source: every training case (synthetic first, then real).
        case_weights: per-case sampling weights (mixed runs), or None for equal use.
        synthetic_cases: how many synthetic cases train (0 without ``synth``).
        real_training, real_validation: names of the real cases trained on and held back (sorted).
        real_folder: the folder they come from, or None.
    """

    source: CaseSource
    case_weights: list[float] | None
    synthetic_cases: int
    real_training: list[str] = field(default_factory=list)
    real_validation: list[str] = field(default_factory=list)
    real_folder: str | None = None

    def record(self, config: TrainConfig) -> dict:
        """What ``cases.json`` holds: the real cases by name, the synthetic count and generator version."""
        return {
            "synthetic": {"cases": self.synthetic_cases, "generator_version": GENERATOR_VERSION}
            if self.synthetic_cases
            else None,
            "real": {
                "folder": self.real_folder,
                "training": self.real_training,
                "validation": self.real_validation,
                "fold": config.fold,
                "folds": config.folds,
                "share_of_patches": _real_share(config, self) if self.real_training else 0.0,
            }
            if self.real_folder
            else None,
        }

    def describe(self, config: TrainConfig) -> str:
        """One line for the card's ``training.data``."""
        parts = []
        if self.synthetic_cases:
            parts.append(
                f"synthetic (brainseg.synth, generator v{GENERATOR_VERSION}), {config.train_cases} cases, "
                f"{1 - config.realistic_share:.0%} domain-randomized, the rest realistic contrast"
                + (f", {config.metastasis_share:.0%} metastasis-like lesions" if config.metastasis_share else "")
                + (f", {config.low_grade_share:.0%} non-enhancing low-grade-like" if config.low_grade_share else "")
            )
        if self.real_folder:
            held = (
                f"; fold {config.fold} of {config.folds} held back: {', '.join(self.real_validation)}"
                if self.real_validation
                else ""
            )
            share = f", {_real_share(config, self):.0%} of patches" if self.synthetic_cases else ""
            parts.append(
                f"{len(self.real_training)} real cases with expert truth from {Path(self.real_folder).name}{share}: "
                f"{', '.join(self.real_training)}{held}"
            )
        return " + ".join(parts)


def _real_share(config: TrainConfig, data: RunData) -> float:
    return config.real_share if data.synthetic_cases else 1.0


def training_data(config: TrainConfig) -> RunData:
    """The run's training cases (synthetic ones generated into the cache when missing)."""
    synthetic, folder = config.data_parts()
    parts: list[CaseSource] = []
    synthetic_cases = 0
    if synthetic:
        pool = training_pool(
            Path(config.cache) / "train",
            config.train_cases,
            config.seed,
            config.realistic_share,
            metastasis_share=config.metastasis_share,
            low_grade_share=config.low_grade_share,
            **synthetic_shape(config),
        )
        for part in pool.sources:
            part.prepare(workers=max(config.workers, 1))
        parts.append(pool)
        synthetic_cases = len(pool)
    if folder is None:
        return RunData(parts[0], None, synthetic_cases)
    names = BratsFolderSet(Path(folder)).names
    training, held_out = split_fold(names, config.fold, config.folds) if config.folds else (names, [])
    real = BratsFolderSet(Path(folder), cases=training, crop=True)
    parts.append(real)
    weights = None
    if synthetic_cases:
        weights = [(1 - config.real_share) / synthetic_cases] * synthetic_cases
        weights += [config.real_share / len(real)] * len(real)
    source = parts[0] if len(parts) == 1 else ConcatSource(parts)
    return RunData(source, weights, synthetic_cases, real.names, held_out, folder)


def validation_data(config: TrainConfig, data: RunData) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """``(cases, description)``: the held-back real fold when there is one, else the synthetic validation set."""
    if data.real_validation and data.real_folder:
        held_out = BratsFolderSet(Path(data.real_folder), cases=data.real_validation, crop=True)
        names = ", ".join(held_out.names)
        return list(held_out), f"{len(held_out)} held-out real cases (fold {config.fold} of {config.folds}): {names}"
    pool = validation_cases(Path(config.cache) / "val", config.val_cases, **synthetic_shape(config))
    pool.prepare(workers=max(config.workers, 1))
    return list(pool), f"{config.val_cases} fixed synthetic cases (realistic contrast)"


def synthetic_shape(config: TrainConfig) -> dict:
    """``{"shape": ...}`` for a run on a smaller synthetic grid, else ``{}`` (the BraTS grid)."""
    return {"shape": tuple(config.synth_shape)} if config.synth_shape else {}
