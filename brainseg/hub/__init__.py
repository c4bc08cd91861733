"""Checkpoints in Hugging Face Hub layout: sources, safe loading, model cards."""

from brainseg.hub.checkpoint import (
    LoadedCheckpoint,
    bundled_for_missing_sequences,
    export_checkpoint,
    file_sha256,
    load_checkpoint,
    load_state_strict,
    missing_sequences_source,
    resolve_source,
    runs_on_missing_sequences,
    save_checkpoint,
)
from brainseg.hub.sources import CheckpointError, CheckpointSource, parse_source

__all__ = [
    "CheckpointError",
    "CheckpointSource",
    "LoadedCheckpoint",
    "bundled_for_missing_sequences",
    "export_checkpoint",
    "file_sha256",
    "load_checkpoint",
    "load_state_strict",
    "missing_sequences_source",
    "parse_source",
    "resolve_source",
    "runs_on_missing_sequences",
    "save_checkpoint",
]
