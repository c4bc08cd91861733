"""The training loop: ``brainseg train`` and ``torchrun ... -m brainseg.cli train`` (DistributedDataParallel).

A run is a folder::

    RUN_DIR/
      train_config.json         what was asked (the command's options)
      init.json                 with --init: the starting checkpoint's source, sha256 and own training record
      text_pretraining.json     with --pretrain-text: its steps, last loss and the region probe's accuracy
      metrics.jsonl             one line per logged step and per validation
      curves.html, curves.png   loss and validation Dice against step
      checkpoints/last/         Hub-layout checkpoint + training_state.pt (optimizer, schedule, step): resumable
      checkpoints/best/         the checkpoint with the best mean validation Dice so far

With ``--ema DECAY`` the validated and saved weights are an exponential moving average of the trained ones
(:class:`~brainseg.training.averaging.WeightAverage`); the trained weights travel in ``training_state.pt``
for resuming.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from brainseg.errors import BrainSegError
from brainseg.hub import LoadedCheckpoint, load_checkpoint, save_checkpoint
from brainseg.inference import logits_to_labels, predict_volume
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.losses import create_loss
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.models import SegmentationModel, create
from brainseg.models.registry import load_config
from brainseg.models.text_encoders import TextEncoder
from brainseg.preprocess.coverage import normalize_covered
from brainseg.training.augment import DEFAULT_HARD_NEGATIVE_KINDS, HARD_NEGATIVE_KINDS, check_hard_negative_kinds
from brainseg.training.averaging import WeightAverage
from brainseg.training.data import BratsFolderSet, PatchDataset, training_pool, validation_cases
from brainseg.training.logbook import append_row, truncate_after, write_curves
from brainseg.training.recipe import DIV_FACTOR, INITIAL_LR, RECIPES, build_optimizer
from brainseg.training.tasks import TrainingStep
from brainseg.training.text_pretraining import pretrain_text_encoder

STATE_FILE = "training_state.pt"
INIT_FILE = "init.json"
TEXT_PRETRAINING_FILE = "text_pretraining.json"


DEFAULT_CACHE_CASES = 64
"""Normalized cases a loader process keeps by default: a whole synthetic pool, at most ~4.8 GB."""


@dataclass
class TrainConfig:
    """Options of one training run (``brainseg train``).

    Attributes:
        model, size: the variant and its JSON size.
        data: ``synth`` (generated cases, domain-randomized) or a folder of BraTS-layout cases.
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
    device: str = "auto"
    cache: str = ".cache/synth"
    synth_shape: list[int] | None = None  # None: the BraTS grid; smaller grids make quick smoke runs
    loss: str | None = None  # None: the variant's paper's loss (RECIPES)
    model_overrides: dict | None = None  # ablations: config fields changed from the size's JSON
    init: str | None = None  # a checkpoint source to start from instead of random weights (fine-tuning)
    stop_after: int | None = None  # stop this session after so many steps; rerun the command to continue
    ema: float | None = None  # weight moving-average decay; None: no averaging
    pretrain_text: int = 0  # text-encoder steps on the region vocabulary before segmentation training


def _distributed() -> tuple[int, int]:
    """(rank, world size); initializes the process group when launched by torchrun with several processes."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _device(name: str, rank: int) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise BrainSegError("--device cuda: no CUDA device is available; use --device cpu or auto")
        return torch.device("cuda", rank % torch.cuda.device_count())
    return torch.device("cpu")


def _shape(config: TrainConfig) -> dict:
    return {"shape": tuple(config.synth_shape)} if config.synth_shape else {}


def _training_source(config: TrainConfig):
    if config.data == "synth":
        pool = training_pool(
            Path(config.cache) / "train",
            config.train_cases,
            config.seed,
            config.realistic_share,
            metastasis_share=config.metastasis_share,
            low_grade_share=config.low_grade_share,
            **_shape(config),
        )
        for part in pool.sources:
            part.prepare(workers=max(config.workers, 1))
        return pool
    return BratsFolderSet(Path(config.data))


def _validation_source(config: TrainConfig):
    pool = validation_cases(Path(config.cache) / "val", config.val_cases, **_shape(config))
    pool.prepare(workers=max(config.workers, 1))
    return pool


def epoch_indices(length: int, epoch: int, seed: int, rank: int, world: int, skip: int = 0) -> list[int]:
    """This process's sample order for an epoch: a seeded permutation, every ``world``-th item from ``rank``.

    Seeded by (seed, epoch) alone, so a resumed run can skip the ``skip`` items already trained on and
    continue exactly where it stopped.
    """
    order = np.random.default_rng([seed, epoch]).permutation(length)
    return order[rank::world][skip:].tolist()


def validate(model: SegmentationModel, cases: list[tuple[np.ndarray, np.ndarray]], device: torch.device) -> dict:
    """Mean Dice per region (WT, TC, ET) over whole validation cases, each predicted in one pass."""
    scores: dict[str, list[float]] = {region: [] for region in EVALUATION_REGIONS}
    model.eval()
    for images, labels in cases:
        normalized, _ = normalize_covered(images, model.config.data.normalization)  # as the Segmenter does
        tensor = torch.from_numpy(normalized)[None].to(device)
        predicted = logits_to_labels(predict_volume(model, tensor).logits)
        for region in EVALUATION_REGIONS:
            scores[region].append(dice(confusion_counts(region_mask(predicted, region), region_mask(labels, region))))
    model.train()
    return {region: float(np.mean(values)) for region, values in scores.items()}


def _save(model: SegmentationModel, folder: Path, metadata: dict, state: dict | None) -> None:
    save_checkpoint(model, folder, metadata=metadata)
    if state is not None:
        torch.save(state, folder / STATE_FILE)


def train(config: TrainConfig) -> dict:
    """Run (or resume) training; returns a summary (steps, seconds, last and best validation Dice)."""
    rank, world = _distributed()
    device = _device(config.device, rank)
    run_dir = Path(config.out)
    if config.model not in RECIPES:
        raise BrainSegError(f"no training recipe for model {config.model!r}; recipes: {', '.join(RECIPES)}")
    if config.patch_size % 16:
        raise BrainSegError(f"--patch-size must be divisible by 16, got {config.patch_size}")
    for option, share in (
        ("--realistic-share", config.realistic_share),
        ("--metastasis-share", config.metastasis_share),
        ("--low-grade-share", config.low_grade_share),
        ("--tumor-probability", config.tumor_probability),
        ("--hard-negative-share", config.hard_negative_share),
    ):
        if not 0.0 <= share <= 1.0:
            raise BrainSegError(f"{option} must be in [0, 1], got {share:g}")
    if config.metastasis_share + config.low_grade_share > 1.0:
        raise BrainSegError(
            f"--metastasis-share {config.metastasis_share:g} and --low-grade-share {config.low_grade_share:g} "
            "add up to more than 1"
        )
    if config.tumor_probability + config.hard_negative_share > 1.0:
        raise BrainSegError(
            f"--tumor-probability {config.tumor_probability:g} and --hard-negative-share "
            f"{config.hard_negative_share:g} add up to more than 1"
        )
    try:
        check_hard_negative_kinds(config.hard_negative_kinds)
    except BrainSegError as exc:
        raise BrainSegError(f"--hard-negative-kinds: {exc}") from None
    if config.ema is not None and not 0.0 < config.ema < 1.0:
        raise BrainSegError(f"--ema must be between 0 and 1 (e.g. 0.999), got {config.ema:g}")
    recipe = RECIPES[config.model]
    if config.loss:
        try:
            create_loss(config.loss)  # an unknown name fails here, before any work
        except BrainSegError as exc:
            raise BrainSegError(f"--loss {config.loss}: {exc}") from None
        recipe = replace(recipe, loss=config.loss)
    torch.manual_seed(config.seed + rank)
    rng = np.random.default_rng(config.seed + rank)

    model = _create_model(config).to(device)
    last_dir = run_dir / "checkpoints" / "last"
    resuming = (last_dir / STATE_FILE).is_file()
    started_from = None
    if config.init:
        start = load_checkpoint(config.init)
        if (start.model.config.variant, start.model.config.size) != (config.model, config.size):
            raise BrainSegError(
                f"--init {config.init}: a {start.model.config.variant} ({start.model.config.size}) checkpoint, "
                f"not {config.model} ({config.size})"
            )
        model.load_state_dict(start.model.state_dict())
        started_from = _started_from(start, run_dir / INIT_FILE if resuming else None)
    if config.pretrain_text and not resuming:  # a resumed run's weights already hold it
        text_pretraining = pretrain_text_encoder(_text_encoder(model, config), config.pretrain_text, config.seed)
        if rank == 0:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / TEXT_PRETRAINING_FILE).write_text(json.dumps(text_pretraining) + "\n")
    optimizer, scheduler = build_optimizer(model, config.steps, config.peak_lr)
    ema = WeightAverage(model, config.ema) if config.ema else None
    step, best, earlier_seconds = 0, -1.0, 0.0
    if resuming:
        state = torch.load(last_dir / STATE_FILE, map_location=device, weights_only=False)
        if "model" in state:  # an averaged run: the checkpoint holds the average, the state the trained weights
            model.load_state_dict(state["model"])
        else:
            model.load_state_dict(load_checkpoint(f"local-dir:{last_dir}", device=device).model.state_dict())
        if (ema is None) == ("ema" in state):
            started_with = "with --ema" if "ema" in state else "without --ema"
            raise BrainSegError(f"{run_dir}: this run was started {started_with}; resume it the same way")
        if ema is not None:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, best = state["step"], state["best"]
        earlier_seconds = state.get("seconds", 0.0)  # training time of the sessions before this resume
        rng.bit_generator.state = state["rng"]
        torch.set_rng_state(state["torch_rng"])
        if rank == 0:
            truncate_after(run_dir, step)
    elif rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
        if started_from is not None:
            (run_dir / INIT_FILE).write_text(json.dumps(started_from, indent=2) + "\n")
    model.train()
    step_module = TrainingStep(model, recipe, create_loss(recipe.loss, batch=recipe.batch_dice))
    # Unused parameters exist: e.g. clip-unet3d's tumor-type head when the recipe gives it no weight.
    wrapped = DistributedDataParallel(step_module, find_unused_parameters=True) if world > 1 else step_module

    source = _training_source(config)
    dataset = PatchDataset(
        source,
        config.patch_size,
        model.config.data.normalization,
        augment=True,
        seed=config.seed,
        samples_per_epoch=max(config.steps * config.batch_size, 1),
        tumor_probability=config.tumor_probability,
        hard_negative_probability=config.hard_negative_share,
        hard_negative_kinds=config.hard_negative_kinds,
        cache_cases=min(len(source), DEFAULT_CACHE_CASES) if config.cache_cases is None else config.cache_cases,
        edge_artifacts=config.edge_artifacts,
        bias_field=config.bias_field,
        slab_cuts=config.slab_cuts,
    )
    steps_per_epoch = len(dataset) // (config.batch_size * world)
    val_cases = list(_validation_source(config)) if rank == 0 else []
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)
    )

    started, epoch = time.perf_counter(), step // steps_per_epoch
    stop = min(config.steps, step + config.stop_after) if config.stop_after else config.steps
    progress = _progress(config, step, rank)
    last_val: dict = {}
    while step < stop:
        dataset.set_epoch(epoch)
        skip = (step - epoch * steps_per_epoch) * config.batch_size
        loader = DataLoader(
            dataset,
            batch_size=config.batch_size,
            sampler=epoch_indices(len(dataset), epoch, config.seed, rank, world, skip),
            num_workers=config.workers,
            drop_last=True,
            # Its own generator: a loader created on resume must not draw from the global RNG (dropout's).
            generator=torch.Generator().manual_seed(config.seed + epoch),
        )
        for batch in loader:
            batch = {k: v.to(device) if torch.is_tensor(v) else v for k, v in batch.items()}
            with autocast:
                loss, terms = wrapped(batch, rng)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 12.0)
            optimizer.step()
            scheduler.step()
            if ema is not None:
                ema.update(model)
            step += 1
            if rank == 0:
                if step % config.log_every == 0 or step == config.steps:
                    append_row(
                        run_dir, {"step": step, "loss": float(loss.detach()), **terms, "lr": scheduler.get_last_lr()[0]}
                    )
                if step % config.val_every == 0 or step in (config.steps, stop):
                    saved = ema.module if ema is not None else model  # what is validated is what is saved
                    last_val = validate(saved, val_cases, device)
                    append_row(run_dir, {"step": step, "val": last_val})
                    seconds = earlier_seconds + time.perf_counter() - started
                    metadata = _metadata(config, step, seconds, last_val, device, started_from)
                    mean = float(np.mean(list(last_val.values())))
                    if mean > best:
                        best = mean
                        _save(saved, run_dir / "checkpoints" / "best", metadata, None)
                    state = {
                        "optimizer": optimizer.state_dict(),
                        "scheduler": scheduler.state_dict(),
                        "step": step,
                        "best": best,
                        "rng": rng.bit_generator.state,
                        "torch_rng": torch.get_rng_state(),
                        "seconds": seconds,
                    }
                    if ema is not None:
                        state |= {"model": model.state_dict(), "ema": ema.state_dict()}
                    _save(saved, last_dir, metadata, state)
                    write_curves(run_dir, f"{config.model} ({config.size}) on {config.data}")
                progress.update(1)
                progress.set_postfix(loss=f"{float(loss.detach()):.3f}", **{k: f"{v:.2f}" for k, v in last_val.items()})
            if step >= stop:
                break
        epoch += 1
    progress.close()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    seconds = time.perf_counter() - started
    return {"steps": step, "processes": world, "seconds": seconds, "val": last_val, "best_mean_dice": best}


def _create_model(config: TrainConfig) -> SegmentationModel:
    """The variant at its size, with ``model_overrides`` checked against the JSON's fields and value types.

    A key may name a field of a nested config with a dot, e.g. ``text.frozen``.
    """
    overrides = config.model_overrides or {}
    if not overrides:
        return create(config.model, config.size)
    base = load_config(config.model, config.size)
    for key, value in overrides.items():
        default = base
        for field in key.split("."):
            if not is_dataclass(default) or not hasattr(default, field):
                known = ", ".join(sorted(f.name for f in fields(default))) if is_dataclass(default) else "none"
                raise BrainSegError(f"--set {key}: {config.model} has no config field {key!r}; fields: {known}")
            default = getattr(default, field)
        if is_dataclass(default):
            known = ", ".join(f"{key}.{f.name}" for f in fields(default))
            raise BrainSegError(f"--set {key}: a nested config; set one of its fields: {known}")
        expected = type(default)
        matches = (
            default is None
            or (isinstance(value, bool) == isinstance(default, bool) and isinstance(value, expected))
            or (expected is float and isinstance(value, int) and not isinstance(value, bool))
        )
        if not matches:
            raise BrainSegError(
                f"--set {key}={json.dumps(value)}: expected a value of type {expected.__name__}, "
                f"like {json.dumps(default)}"
            )
    return create(config.model, config.size, **overrides)


def _text_encoder(model: SegmentationModel, config: TrainConfig) -> TextEncoder:
    encoder = getattr(model, "text_encoder", None)
    if encoder is None:
        raise BrainSegError(f"--pretrain-text: {config.model} ({config.size}) has no text encoder")
    return encoder


def _overrides_text(config: TrainConfig) -> str:
    overrides = config.model_overrides or {}
    return "".join(f", {key}={json.dumps(value)}" for key, value in overrides.items())


def _progress(config: TrainConfig, step: int, rank: int):
    from tqdm.auto import tqdm

    return tqdm(total=config.steps, initial=step, disable=rank != 0, desc=f"train {config.model}", unit="step")


_OPTIONAL_AUGMENTATIONS = (
    ("edge_artifacts", "--edge-artifacts", "simulated skull-stripping rims"),
    ("bias_field", "--bias-field", "per-sequence bias fields"),
    ("slab_cuts", "--slab-cuts", "slab cuts"),
)
"""Our augmentations beyond A.2, in card order: :class:`TrainConfig` switch, ``brainseg train`` flag, card name."""


def _extra_augmentation_text(config: TrainConfig) -> str:
    """``; augmentation beyond A.2: ...`` naming the options of ours that a run turned on, or ''."""
    extras = [name for field, _, name in _OPTIONAL_AUGMENTATIONS if getattr(config, field)]
    if config.hard_negative_share:
        kinds = " or ".join(HARD_NEGATIVE_KINDS[kind] for kind in config.hard_negative_kinds)
        extras.append(f"{config.hard_negative_share:g} of patches centred on {kinds}")
    return f"; augmentation beyond A.2: {', '.join(extras)}" if extras else ""


def _started_from(start: LoadedCheckpoint, recorded: Path | None) -> dict:
    """Provenance of an ``--init`` checkpoint: ``source``, weights ``sha256`` and its own ``training`` record
    (which holds its own ``init`` in turn, so a card shows the whole chain of fine-tunes).

    A resumed run passes its ``RUN_DIR/init.json`` as ``recorded`` and keeps what it was first started from:
    by then ``--init`` may name something else, e.g. a bundled checkpoint since replaced by this run's export.
    """
    if recorded is not None and recorded.is_file():
        return json.loads(recorded.read_text())
    return {"source": start.source, "sha256": start.sha256, "training": start.metadata.get("training")}


def _metadata(
    config: TrainConfig, step: int, seconds: float, val: dict, device: torch.device, started_from: dict | None = None
) -> dict:
    hardware = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )
    return {
        "training": {
            "data": f"synthetic (brainseg.synth), {config.train_cases} cases, "
            f"{1 - config.realistic_share:.0%} domain-randomized, the rest realistic contrast"
            + (f", {config.metastasis_share:.0%} metastasis-like lesions" if config.metastasis_share else "")
            + (f", {config.low_grade_share:.0%} non-enhancing low-grade-like" if config.low_grade_share else "")
            if config.data == "synth"
            else f"BraTS-layout folder {config.data}",
            "recipe": (
                f"paper 000 appendix A.1 schedule; loss {config.loss or RECIPES[config.model].loss}; "
                f"patch {config.patch_size}^3{_overrides_text(config)}"
                + (f"; weights: moving average, decay {config.ema:g}" if config.ema else "")
                + _extra_augmentation_text(config)
                + (
                    f"; text encoder first trained {config.pretrain_text} steps to name each prompt's region"
                    if config.pretrain_text
                    else ""
                )
            ),
            "steps": step,
            "seconds": round(seconds, 1),
            "hardware": hardware,
            "command": (
                f"brainseg train --model {config.model} --size {config.size} --data {config.data} "
                f"--steps {config.steps} --patch-size {config.patch_size} --batch-size {config.batch_size} "
                f"--lr {config.peak_lr:g} --train-cases {config.train_cases} "
                f"--realistic-share {config.realistic_share:g} "
                + (f"--metastasis-share {config.metastasis_share:g} " if config.metastasis_share else "")
                + (f"--low-grade-share {config.low_grade_share:g} " if config.low_grade_share else "")
                + f"--tumor-probability {config.tumor_probability:g} "
                + (f"--hard-negative-share {config.hard_negative_share:g} " if config.hard_negative_share else "")
                + (
                    f"--hard-negative-kinds {','.join(config.hard_negative_kinds)} "
                    if config.hard_negative_share and tuple(config.hard_negative_kinds) != DEFAULT_HARD_NEGATIVE_KINDS
                    else ""
                )
                + f"--seed {config.seed}"
                # Which step is "best" depends on the validation set and how often it is scored.
                + f" --val-cases {config.val_cases} --val-every {config.val_every}"
                + "".join(f" {flag}" for field, flag, _ in _OPTIONAL_AUGMENTATIONS if getattr(config, field))
                + (f" --loss {config.loss}" if config.loss else "")
                + "".join(f" --set {key}={json.dumps(value)}" for key, value in (config.model_overrides or {}).items())
                + (f" --init {config.init}" if config.init else "")
                + (f" --pretrain-text {config.pretrain_text}" if config.pretrain_text else "")
                + (f" --ema {config.ema:g}" if config.ema else "")
            ),
            **({"init": started_from} if started_from is not None else {}),
        },
        "metrics": {"validation": f"{config.val_cases} fixed synthetic cases (realistic contrast)", "dice": val},
    }
