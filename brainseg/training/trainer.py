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
from dataclasses import asdict, dataclass, replace
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from brainseg.hub import LoadedCheckpoint, load_checkpoint, save_checkpoint
from brainseg.inference import logits_to_labels, predict_volume
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.losses import create_loss
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.models import SegmentationModel, create
from brainseg.models.text_encoders import TextEncoder
from brainseg.preprocess.coverage import normalize_covered
from brainseg.training.augment import DEFAULT_HARD_NEGATIVE_KINDS, HARD_NEGATIVE_KINDS
from brainseg.training.averaging import WeightAverage
from brainseg.training.config import ConfigError, TrainConfig
from brainseg.training.data import PatchDataset
from brainseg.training.logbook import append_row, truncate_after, write_curves
from brainseg.training.recipe import RECIPES, build_optimizer
from brainseg.training.run_data import CASES_FILE, RunData, training_data, validation_data
from brainseg.training.tasks import TrainingStep
from brainseg.training.text_pretraining import pretrain_text_encoder

STATE_FILE = "training_state.pt"
INIT_FILE = "init.json"
TEXT_PRETRAINING_FILE = "text_pretraining.json"
LAST_DIR = Path("checkpoints") / "last"


DEFAULT_CACHE_CASES = 64
"""Normalized cases a loader process keeps by default: a whole synthetic pool, at most ~4.8 GB."""


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
            raise ConfigError("{device} cuda: no CUDA device is available; use {device} cpu or auto")
        return torch.device("cuda", rank % torch.cuda.device_count())
    return torch.device("cpu")


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


@dataclass
class _Session:
    """One training session's model, optimizer and counters: what a checkpoint saves and a resume restores."""

    config: TrainConfig
    device: torch.device
    rank: int
    world: int
    model: SegmentationModel
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: WeightAverage | None
    rng: np.random.Generator
    started_from: dict | None  # the --init checkpoint's provenance
    step: int = 0
    best: float = -1.0  # best mean validation Dice so far
    earlier_seconds: float = 0.0  # training time of the sessions before this resume
    started: float = 0.0  # perf_counter when this session's steps began
    last_val: dict = dataclass_field(default_factory=dict)
    data_description: str = ""  # the card's training.data line
    val_description: str = ""  # what the validation Dice is measured on

    @property
    def run_dir(self) -> Path:
        return Path(self.config.out)

    @property
    def saved(self) -> SegmentationModel:
        """What is validated and saved: the moving average when there is one, else the trained model."""
        return self.ema.module if self.ema is not None else self.model


def train(config: TrainConfig) -> dict:
    """Run (or resume) training; returns a summary (steps, seconds, last and best validation Dice)."""
    config.validate()
    rank, world = _distributed()
    session = _start_session(config, _device(config.device, rank), rank, world)
    wrapped = _step_module(session)
    data = training_data(config)
    dataset = _patch_dataset(config, data, session.model)
    val_cases: list = []
    if rank == 0:
        val_cases, session.val_description = validation_data(config, data)
        session.data_description = data.describe(config)
        (session.run_dir / CASES_FILE).write_text(json.dumps(data.record(config), indent=2) + "\n")
    _run_steps(session, wrapped, dataset, val_cases)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    seconds = time.perf_counter() - session.started
    return {
        "steps": session.step,
        "processes": world,
        "seconds": seconds,
        "val": session.last_val,
        "best_mean_dice": session.best,
    }


def _start_session(config: TrainConfig, device: torch.device, rank: int, world: int) -> _Session:
    """The seeded model, optimizer and schedule, from the run's last checkpoint when there is one."""
    torch.manual_seed(config.seed + rank)
    rng = np.random.default_rng(config.seed + rank)
    run_dir = Path(config.out)
    resuming = (run_dir / LAST_DIR / STATE_FILE).is_file()
    model, started_from = _initial_model(config, device, run_dir / INIT_FILE if resuming else None)
    if config.pretrain_text and not resuming:  # a resumed run's weights already hold it
        text_pretraining = pretrain_text_encoder(_text_encoder(model, config), config.pretrain_text, config.seed)
        if rank == 0:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / TEXT_PRETRAINING_FILE).write_text(json.dumps(text_pretraining) + "\n")
    optimizer, scheduler = build_optimizer(model, config.steps, config.peak_lr)
    ema = WeightAverage(model, config.ema) if config.ema else None
    session = _Session(config, device, rank, world, model, optimizer, scheduler, ema, rng, started_from)
    if resuming:
        _resume(session)
    elif rank == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "train_config.json").write_text(json.dumps(asdict(config), indent=2) + "\n")
        if started_from is not None:
            (run_dir / INIT_FILE).write_text(json.dumps(started_from, indent=2) + "\n")
    return session


def _initial_model(
    config: TrainConfig, device: torch.device, recorded_init: Path | None
) -> tuple[SegmentationModel, dict | None]:
    """(model, provenance of its ``init`` checkpoint or None): fresh weights, or the ``init`` checkpoint's."""
    model = create(config.model, config.size, **(config.model_overrides or {})).to(device)
    if not config.init:
        return model, None
    start = load_checkpoint(config.init)
    if (start.model.config.variant, start.model.config.size) != (config.model, config.size):
        raise ConfigError(
            "{init} {source}: a {got_variant} ({got_size}) checkpoint, not {want_variant} ({want_size})",
            source=config.init,
            got_variant=start.model.config.variant,
            got_size=start.model.config.size,
            want_variant=config.model,
            want_size=config.size,
        )
    model.load_state_dict(start.model.state_dict())
    return model, _started_from(start, recorded_init)


def _resume(session: _Session) -> None:
    """Restore weights, optimizer, schedule, counters and random states from ``checkpoints/last``."""
    last_dir = session.run_dir / LAST_DIR
    state = torch.load(last_dir / STATE_FILE, map_location=session.device, weights_only=False)
    if "model" in state:  # an averaged run: the checkpoint holds the average, the state the trained weights
        session.model.load_state_dict(state["model"])
    else:
        checkpoint = load_checkpoint(f"local-dir:{last_dir}", device=session.device)
        session.model.load_state_dict(checkpoint.model.state_dict())
    if (session.ema is None) == ("ema" in state):
        raise ConfigError(
            "{run}: this run was started {how} {ema}; resume it the same way",
            run=session.run_dir,
            how="with" if "ema" in state else "without",
        )
    if session.ema is not None:
        session.ema.load_state_dict(state["ema"])
    session.optimizer.load_state_dict(state["optimizer"])
    session.scheduler.load_state_dict(state["scheduler"])
    session.step, session.best = state["step"], state["best"]
    session.earlier_seconds = state.get("seconds", 0.0)
    session.rng.bit_generator.state = state["rng"]
    torch.set_rng_state(state["torch_rng"])
    if session.rank == 0:
        truncate_after(session.run_dir, session.step)


def _step_module(session: _Session) -> torch.nn.Module:
    """The model in training mode behind its recipe's loss, wrapped for DistributedDataParallel when distributed."""
    config = session.config
    recipe = replace(RECIPES[config.model], loss=config.loss) if config.loss else RECIPES[config.model]
    session.model.train()
    step_module = TrainingStep(session.model, recipe, create_loss(recipe.loss, batch=recipe.batch_dice))
    # Unused parameters exist: e.g. clip-unet3d's tumor-type head when the recipe gives it no weight.
    return DistributedDataParallel(step_module, find_unused_parameters=True) if session.world > 1 else step_module


def _patch_dataset(config: TrainConfig, data: RunData, model: SegmentationModel) -> PatchDataset:
    source = data.source
    return PatchDataset(
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
        real_domain=config.real_augment,
        sequence_dropout=config.sequence_dropout,
        case_weights=data.case_weights,
    )


def _run_steps(session: _Session, wrapped: torch.nn.Module, dataset: PatchDataset, val_cases: list) -> None:
    """Train up to ``steps`` (or ``stop_after`` more), epoch by epoch, logging and checkpointing on rank 0."""
    config = session.config
    steps_per_epoch = len(dataset) // (config.batch_size * session.world)
    autocast = (
        torch.autocast("cuda", dtype=torch.bfloat16)
        if session.device.type == "cuda"
        else torch.autocast("cpu", enabled=False)
    )
    session.started, epoch = time.perf_counter(), session.step // steps_per_epoch
    stop = min(config.steps, session.step + config.stop_after) if config.stop_after else config.steps
    progress = _progress(config, session.step, session.rank)
    while session.step < stop:
        for batch in _epoch_loader(session, dataset, epoch, steps_per_epoch):
            loss, terms = _optimizer_step(session, wrapped, batch, autocast)
            if session.rank == 0:
                _log_and_checkpoint(session, loss, terms, stop, val_cases)
                last_val = {k: f"{v:.2f}" for k, v in session.last_val.items()}
                progress.update(1)
                progress.set_postfix(loss=f"{float(loss.detach()):.3f}", **last_val)
            if session.step >= stop:
                break
        epoch += 1
    progress.close()


def _epoch_loader(session: _Session, dataset: PatchDataset, epoch: int, steps_per_epoch: int) -> DataLoader:
    """This process's batches of ``epoch``, less those a resumed run already trained on."""
    config = session.config
    dataset.set_epoch(epoch)
    skip = (session.step - epoch * steps_per_epoch) * config.batch_size
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=epoch_indices(len(dataset), epoch, config.seed, session.rank, session.world, skip),
        num_workers=config.workers,
        drop_last=True,
        # Its own generator: a loader created on resume must not draw from the global RNG (dropout's).
        generator=torch.Generator().manual_seed(config.seed + epoch),
    )


def _optimizer_step(session: _Session, wrapped: torch.nn.Module, batch: dict, autocast) -> tuple[torch.Tensor, dict]:
    """One optimizer step on ``batch``; returns its loss and the loss terms."""
    batch = {k: v.to(session.device) if torch.is_tensor(v) else v for k, v in batch.items()}
    with autocast:
        loss, terms = wrapped(batch, session.rng)
    session.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(session.model.parameters(), 12.0)
    session.optimizer.step()
    session.scheduler.step()
    if session.ema is not None:
        session.ema.update(session.model)
    session.step += 1
    return loss, terms


def _log_and_checkpoint(session: _Session, loss: torch.Tensor, terms: dict, stop: int, val_cases: list) -> None:
    """Log the step every ``log_every`` steps; validate and checkpoint every ``val_every`` and at the end."""
    config, step = session.config, session.step
    if step % config.log_every == 0 or step == config.steps:
        lr = session.scheduler.get_last_lr()[0]
        append_row(session.run_dir, {"step": step, "loss": float(loss.detach()), **terms, "lr": lr})
    if step % config.val_every == 0 or step in (config.steps, stop):
        _validate_and_save(session, val_cases)


def _validate_and_save(session: _Session, val_cases: list) -> None:
    """Score the saved weights, keep them as ``best`` if they beat the best so far, and save ``last``."""
    config, saved = session.config, session.saved
    session.last_val = validate(saved, val_cases, session.device)
    append_row(session.run_dir, {"step": session.step, "val": session.last_val})
    seconds = session.earlier_seconds + time.perf_counter() - session.started
    metadata = _metadata(session, seconds)
    mean = float(np.mean(list(session.last_val.values())))
    if mean > session.best:
        session.best = mean
        _save(saved, session.run_dir / "checkpoints" / "best", metadata, None)
    _save(saved, session.run_dir / LAST_DIR, metadata, _training_state(session, seconds))
    write_curves(session.run_dir, f"{config.model} ({config.size}) on {config.data}")


def _training_state(session: _Session, seconds: float) -> dict:
    """What a resume needs beyond the saved weights (``training_state.pt``)."""
    state = {
        "optimizer": session.optimizer.state_dict(),
        "scheduler": session.scheduler.state_dict(),
        "step": session.step,
        "best": session.best,
        "rng": session.rng.bit_generator.state,
        "torch_rng": torch.get_rng_state(),
        "seconds": seconds,
    }
    if session.ema is not None:
        state |= {"model": session.model.state_dict(), "ema": session.ema.state_dict()}
    return state


def _text_encoder(model: SegmentationModel, config: TrainConfig) -> TextEncoder:
    encoder = getattr(model, "text_encoder", None)
    if encoder is None:
        raise ConfigError(
            "{pretrain_text}: {variant} ({variant_size}) has no text encoder",
            variant=config.model,
            variant_size=config.size,
        )
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
    ("real_augment", "--real-augment", "real-domain thick slices, per-sequence shading, contrast and noise"),
)
"""Our augmentations beyond A.2, in card order: :class:`TrainConfig` switch, ``brainseg train`` flag, card name."""


def _extra_augmentation_text(config: TrainConfig) -> str:
    """``; augmentation beyond A.2: ...`` naming the options of ours that a run turned on, or ''."""
    extras = [name for field, _, name in _OPTIONAL_AUGMENTATIONS if getattr(config, field)]
    if config.hard_negative_share:
        kinds = " or ".join(HARD_NEGATIVE_KINDS[kind] for kind in config.hard_negative_kinds)
        extras.append(f"{config.hard_negative_share:g} of patches centred on {kinds}")
    if config.sequence_dropout:
        extras.append(f"sequence dropout on {config.sequence_dropout:g} of patches (a subset holding FLAIR or T1ce)")
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


def _metadata(session: _Session, seconds: float) -> dict:
    """The checkpoint card's ``training`` and ``metrics`` records."""
    config, device, started_from = session.config, session.device, session.started_from
    hardware = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    )
    return {
        "training": {
            "data": session.data_description,
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
            "steps": session.step,
            "seconds": round(seconds, 1),
            "hardware": hardware,
            "command": _command_text(config),
            # Read by the Segmenter: only a model that saw zeroed sequences runs on a case lacking some.
            **({"sequence_dropout": config.sequence_dropout} if config.sequence_dropout else {}),
            **({"init": started_from} if started_from is not None else {}),
        },
        "metrics": {"validation": session.val_description, "dice": session.last_val},
    }


def _command_text(config: TrainConfig) -> str:
    """The ``brainseg train`` command that repeats a run, for its card."""
    return (
        f"brainseg train --model {config.model} --size {config.size} --data {config.data} "
        + (f"--real-share {config.real_share:g} " if config.data.startswith("synth+") else "")
        + (f"--fold {config.fold} --folds {config.folds} " if config.folds else "")
        + f"--steps {config.steps} --patch-size {config.patch_size} --batch-size {config.batch_size} "
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
        + (f" --sequence-dropout {config.sequence_dropout:g}" if config.sequence_dropout else "")
    )
