"""The options of one training run (:class:`TrainConfig`) and their checks (:meth:`TrainConfig.validate`).

A bad option raises :class:`ConfigError`, whose message names the option by its field name
(``metastasis_share must be in [0, 1], got 1.5``); a front end renders it with its own names for them,
as ``brainseg train`` does with its flags (``--metastasis-share must be in [0, 1], got 1.5``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields, is_dataclass

from brainseg.errors import BrainSegError
from brainseg.losses import create_loss
from brainseg.models.registry import load_config
from brainseg.training.augment import DEFAULT_HARD_NEGATIVE_KINDS, check_hard_negative_kinds
from brainseg.training.recipe import DIV_FACTOR, INITIAL_LR, RECIPES


class ConfigError(BrainSegError):
    """A training option is wrong.

    ``template`` is a :meth:`str.format` string in which ``{field}`` stands for a :class:`TrainConfig` field's
    name and every other placeholder for one of ``values``. ``str()`` shows the field names; :meth:`render`
    shows the names a front end gives them instead.
    """

    def __init__(self, template: str, **values: object) -> None:
        self.template, self.values = template, values
        super().__init__(self.render(lambda field: field))

    def render(self, name: Callable[[str], str]) -> str:
        """The message with each field shown as ``name(field)``."""
        return self.template.format(**{f.name: name(f.name) for f in fields(TrainConfig)}, **self.values)


@dataclass
class TrainConfig:
    """Options of one training run (``brainseg train``).

    Attributes:
        model, size: the variant and its JSON size.
        data: ``synth`` (generated cases, domain-randomized), a folder of BraTS-layout cases with truth, or
            ``synth+DIR`` for both together (see :meth:`data_parts`).
        real_share: with ``synth+DIR``, the share of patches cut from the real cases (the rest from
            synthetic ones); each real case is drawn equally often, and so is each synthetic case.
        fold, folds: train on every real case but those of fold ``fold`` of ``folds``
            (:mod:`brainseg.training.folds`, by case name), and validate on the held-back ones (real Dice)
            instead of the synthetic validation cases. None: every real case trains.
        real_augment: augment with the real-domain transforms (thick slices, per-sequence shading,
            contrast, noise; :func:`~brainseg.training.augment.real_domain_augmentation`).
        out: the run folder; an existing run there is resumed from its last checkpoint.
        steps: optimizer steps in all (the one-cycle schedule spans them).
        patch_size: edge of the cubic training patches (divisible by 16).
        peak_lr: the schedule's peak rate before group multipliers (A.1: 20 x 5e-5).
        train_cases: synthetic cases in the training pool (cached under ``cache``).
        realistic_share: share of them with realistic contrast; the rest are domain-randomized.
        metastasis_share: share of each contrast part with metastasis-like (cystic, thin-rimmed) lesions
            instead of gliomas.
        low_grade_share: share of each contrast part with non-enhancing (low-grade-like) gliomas, on top of
            the fifth of gliomas that are drawn non-enhancing anyway.
        val_cases, val_every: fixed synthetic validation cases, and how often (steps) they are scored.
        cache_cases: normalized cases each loader process keeps in memory (~75 MB each at full size); as
            many as there are training cases makes every patch after the first epoch's a cache hit, fewer
            and most steps reread cases from disk. None: every training case, up to
            :data:`DEFAULT_CACHE_CASES`.
        tumor_probability: share of patches centred on a tumor voxel (the rest on any brain voxel).
        hard_negative_share: share of patches centred on normal tissue that looks like tumor
            (:func:`~brainseg.training.augment.hard_negative_mask`), taken from the brain-centred rest; at
            most ``1 - tumor_probability``.
        hard_negative_kinds: which tissue those are: ``sinus`` (contrast-filled sinuses), ``bright-flair``
            (FLAIR-bright normal tissue) or both.
        edge_artifacts: augment with simulated skull-stripping rims (not in the paper's A.2).
        bias_field: augment with per-sequence smooth intensity shading (not in the paper's A.2).
        slab_cuts: augment with the brain ending at a plane, as where a sequence's slab ends (not in A.2).
        sequence_dropout: share of patches that keep only a random subset of the sequences holding FLAIR or
            T1ce, the rest zeroed (not in A.2): the model then runs on cases that lack sequences.
        synth_shape: grid of generated cases (same field of view, larger voxels), e.g. [60, 60, 40] for tests.
        loss: a loss name from :data:`brainseg.losses.LOSSES` instead of the variant's paper's (e.g. paper 002's
            loss comparison); None keeps the recipe's.
        model_overrides: model-config fields changed from the size's JSON, e.g. ``{"pixel_fusion": False}`` for
            an ablation; the checkpoint stores the resulting config.
        init: start from this checkpoint's weights (any source ``load_checkpoint`` takes); its variant and
            size must be the run's. The schedule, optimizer and data start afresh.
        stop_after: train at most this many steps now (checkpointing at the end), e.g. to fit a time box.
        pretrain_text: before segmentation training, train the model's text encoder this many steps to name
            each prompt's region (:mod:`brainseg.training.text_pretraining`), standing in for a pretrained
            encoder; 0: none. Not repeated on resume.
        ema: decay of an exponential moving average of the weights (e.g. 0.999, a horizon of ~1000 steps);
            validation and checkpoints then use the average, which smooths the step-to-step swings of a
            small-batch run. None trains and saves the weights themselves.
        device: ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    """

    model: str
    size: str = "demo"
    data: str = "synth"
    real_share: float = 0.5
    fold: int | None = None
    folds: int | None = None
    real_augment: bool = False
    out: str = "runs/run"
    steps: int = 1000
    patch_size: int = 96
    batch_size: int = 1
    peak_lr: float = INITIAL_LR * DIV_FACTOR
    train_cases: int = 32
    realistic_share: float = 0.0
    metastasis_share: float = 0.0
    low_grade_share: float = 0.0
    val_cases: int = 2
    val_every: int = 100
    log_every: int = 10
    seed: int = 0
    workers: int = 1
    cache_cases: int | None = None
    tumor_probability: float = 0.7
    hard_negative_share: float = 0.0
    hard_negative_kinds: tuple[str, ...] = DEFAULT_HARD_NEGATIVE_KINDS
    edge_artifacts: bool = False
    bias_field: bool = False
    slab_cuts: bool = False
    sequence_dropout: float = 0.0
    device: str = "auto"
    cache: str = ".cache/synth"
    synth_shape: list[int] | None = None  # None: the BraTS grid; smaller grids make quick smoke runs
    loss: str | None = None  # None: the variant's paper's loss (RECIPES)
    model_overrides: dict | None = None  # ablations: config fields changed from the size's JSON
    init: str | None = None  # a checkpoint source to start from instead of random weights (fine-tuning)
    stop_after: int | None = None  # stop this session after so many steps; rerun the command to continue
    ema: float | None = None  # weight moving-average decay; None: no averaging
    pretrain_text: int = 0  # text-encoder steps on the region vocabulary before segmentation training

    def data_parts(self) -> tuple[bool, str | None]:
        """``(synthetic cases used, folder of real cases or None)`` from ``data``: ``synth``, ``DIR`` or
        ``synth+DIR`` (the folder's name may itself hold ``+``; only a leading ``synth+`` is read)."""
        if self.data == "synth":
            return True, None
        if self.data.startswith("synth+"):
            return True, self.data.removeprefix("synth+")
        return False, self.data

    def validate(self) -> None:
        """Check every option that can be checked before any work; a bad one raises :class:`ConfigError`.

        The model-config overrides are checked against the size's JSON (fields and value types); a key may
        name a field of a nested config with a dot, e.g. ``text.frozen``.
        """
        if self.steps < 1:
            raise ConfigError("{steps} must be at least 1, got {got}", got=self.steps)
        if self.pretrain_text < 0:
            raise ConfigError("{pretrain_text} must be at least 0, got {got}", got=self.pretrain_text)
        if self.model not in RECIPES:
            raise ConfigError(
                "no training recipe for model {got!r}; recipes: {known}", got=self.model, known=", ".join(RECIPES)
            )
        if self.patch_size % 16:
            raise ConfigError("{patch_size} must be divisible by 16, got {got}", got=self.patch_size)
        self._check_shares()
        self._check_data()
        try:
            check_hard_negative_kinds(self.hard_negative_kinds)
        except BrainSegError as exc:
            raise ConfigError("{hard_negative_kinds}: {reason}", reason=exc) from None
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise ConfigError("{ema} must be between 0 and 1 (e.g. 0.999), got {got:g}", got=self.ema)
        if self.loss:
            try:
                create_loss(self.loss)
            except BrainSegError as exc:
                raise ConfigError("{loss} {got}: {reason}", got=self.loss, reason=exc) from None
        if self.model_overrides:
            self._check_overrides()

    def _check_data(self) -> None:
        folder = self.data_parts()[1]
        if folder is not None and not folder:
            raise ConfigError("{data} {got!r}: expected synth, a folder of BraTS cases, or synth+FOLDER", got=self.data)
        if self.folds is not None and folder is None:
            raise ConfigError("{folds} needs real cases to split: {data} DIR or synth+DIR, got {got}", got=self.data)
        if self.fold is not None and self.folds is None:
            raise ConfigError("{fold} {got} needs {folds} (the number of folds)", got=self.fold)
        if self.folds is not None and self.folds < 2:
            raise ConfigError("{folds} must be at least 2, got {got}", got=self.folds)
        if self.folds is not None and self.fold is None:
            raise ConfigError(
                "{folds} {got} needs {fold} (which fold to hold back, 0..{last})", got=self.folds, last=self.folds - 1
            )
        if self.folds is not None and self.fold is not None and not 0 <= self.fold < self.folds:
            raise ConfigError(
                "{fold} must be in 0..{last} for {folds} {count}, got {got}",
                last=self.folds - 1,
                count=self.folds,
                got=self.fold,
            )

    def _check_shares(self) -> None:
        for name in (
            "real_share",
            "realistic_share",
            "metastasis_share",
            "low_grade_share",
            "tumor_probability",
            "hard_negative_share",
            "sequence_dropout",
        ):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ConfigError("{" + name + "} must be in [0, 1], got {got:g}", got=share)
        for first, second in (("metastasis_share", "low_grade_share"), ("tumor_probability", "hard_negative_share")):
            if getattr(self, first) + getattr(self, second) > 1.0:
                raise ConfigError(
                    "{" + first + "} {first:g} and {" + second + "} {second:g} add up to more than 1",
                    first=getattr(self, first),
                    second=getattr(self, second),
                )

    def _check_overrides(self) -> None:
        base = load_config(self.model, self.size)
        for key, value in (self.model_overrides or {}).items():
            default = base
            for part in key.split("."):
                if not is_dataclass(default) or not hasattr(default, part):
                    known = ", ".join(sorted(f.name for f in fields(default))) if is_dataclass(default) else "none"
                    raise ConfigError(
                        "{model_overrides} {key}: {variant} has no config field {key!r}; fields: {known}",
                        key=key,
                        variant=self.model,
                        known=known,
                    )
                default = getattr(default, part)
            _check_override_value(key, value, default)


def _check_override_value(key: str, value: object, default: object) -> None:
    """An override must replace a leaf field with a value of its type (an int will do for a float)."""
    if is_dataclass(default):
        known = ", ".join(f"{key}.{f.name}" for f in fields(default))
        raise ConfigError(
            "{model_overrides} {key}: a nested config; set one of its fields: {known}", key=key, known=known
        )
    expected = type(default)
    matches = (
        default is None
        or (isinstance(value, bool) == isinstance(default, bool) and isinstance(value, expected))
        or (expected is float and isinstance(value, int) and not isinstance(value, bool))
    )
    if not matches:
        raise ConfigError(
            "{model_overrides} {key}={got}: expected a value of type {expected}, like {like}",
            key=key,
            got=json.dumps(value),
            expected=expected.__name__,
            like=json.dumps(default),
        )
