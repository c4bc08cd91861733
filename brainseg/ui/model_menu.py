"""The model variants the app offers: where each one's checkpoint comes from, whether it is there, run times.

Every registered variant is listed. Its checkpoint source is the bundled one of the same name
(``assets/checkpoints/<variant>/``) unless the environment variable :data:`SOURCES_ENV` names another::

    BRAINSEG_MODEL_SOURCES="clip-unet3d=local-dir:/data/ckpt/clip,unet3d=hf-hub:org/brainseg-unet3d@v1"

(pairs ``variant=source`` separated by commas or new lines; sources in any form
:func:`brainseg.hub.parse_source` accepts). A variant whose checkpoint is missing stays in the list and
says so; picking it, or running it, raises :class:`CheckpointMissing`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from brainseg.errors import BrainSegError
from brainseg.hub.sources import BUNDLED_DIR, parse_source
from brainseg.inference.segmenter import DEFAULT_MODEL  # preselected in the app, run by /segment without a model
from brainseg.models import get_variant, list_models

SOURCES_ENV = "BRAINSEG_MODEL_SOURCES"

REFERENCE_VOXELS = 240 * 240 * 155
"""A BraTS-size case: what the model card's time is given for."""


__all__ = ["DEFAULT_MODEL", "SOURCES_ENV", "CheckpointMissing", "ModelChoice", "model_choices", "model_sources"]


class CheckpointMissing(BrainSegError):
    """The picked variant has no checkpoint where its source points."""


def model_sources(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Variant name -> checkpoint source string, every registered variant, overrides from :data:`SOURCES_ENV`.

    Raises:
        BrainSegError: the variable names an unknown variant, or a pair is not ``variant=source``.
    """
    names = list_models()
    sources = {name: name for name in names}
    text = (os.environ if environ is None else environ).get(SOURCES_ENV, "")
    for item in text.replace("\n", ",").split(","):
        if not item.strip():
            continue
        name, sep, source = (part.strip() for part in item.partition("="))
        if not sep or not source:
            raise BrainSegError(f"{SOURCES_ENV}: {item.strip()!r} is not variant=source")
        if name not in sources:
            raise BrainSegError(f"{SOURCES_ENV}: unknown model {name!r}; valid models: {', '.join(names)}")
        parse_source(source)  # a malformed source fails at start, not at the first run
        sources[name] = source
    return sources


@dataclass(frozen=True)
class ModelChoice:
    """One entry of the model dropdown.

    Attributes:
        name: registry name, e.g. ``clip-unet3d``.
        description: one line from the registry.
        paper: the seed paper file it implements.
        source: checkpoint source string.
        folder: local checkpoint folder, when the source is local (bundled or ``local-dir:``).
        available: the checkpoint's files are there (``hf-hub:`` sources count as available: they are
            fetched on first use).
        size: the checkpoint's size name (``demo``, ``paper``) when its config.json says.
        parameters: parameter count read from the safetensors header, when the file is local.
        citation: the paper's title and authors.
    """

    name: str
    description: str
    paper: str
    source: str
    folder: Path | None
    available: bool
    size: str | None = None
    parameters: int | None = None
    citation: str = ""

    @property
    def label(self) -> str:
        """Dropdown label: the name, and a warning when there is nothing to run."""
        return self.name if self.available else f"{self.name} (no checkpoint yet)"

    @property
    def missing_message(self) -> str:
        where = "is bundled yet" if parse_source(self.source).kind == "bundled" else f"at {self.source}"
        return (
            f"no trained checkpoint for {self.name} {where}; pick another model, or point {SOURCES_ENV} "
            f"at one ({self.name}=local-dir:PATH or {self.name}=hf-hub:org/repo@revision)"
        )

    def require(self) -> str:
        """The source to load; raises :class:`CheckpointMissing` when there is no checkpoint."""
        if not self.available:
            raise CheckpointMissing(self.missing_message)
        return self.source


def _parameters(weights: Path) -> int | None:
    """Parameter count from a safetensors header (no tensor is read)."""
    try:
        with open(weights, "rb") as stream:
            length = int.from_bytes(stream.read(8), "little")
            header = json.loads(stream.read(length))
    except (OSError, ValueError):
        return None
    total = 0
    for key, entry in header.items():
        if key != "__metadata__":
            count = 1
            for n in entry.get("shape", []):
                count *= n
            total += count
    return total


def describe(name: str, source: str) -> ModelChoice:
    """The :class:`ModelChoice` of variant ``name`` with its checkpoint at ``source`` (reads only small files)."""
    variant = get_variant(name)
    parsed = parse_source(source)
    folder = None
    if parsed.kind == "bundled":
        folder = BUNDLED_DIR / parsed.location
    elif parsed.kind == "local-dir":
        folder = Path(parsed.location).expanduser()
    if folder is None:
        return ModelChoice(name, variant.description, variant.paper, source, None, True, citation=variant.citation)
    weights = folder / "model.safetensors"
    available = (folder / "config.json").is_file() and weights.is_file()
    size = None
    if available:
        try:
            size = json.loads((folder / "config.json").read_text()).get("size")
        except (OSError, ValueError):
            available = False
    parameters = _parameters(weights) if available else None
    return ModelChoice(
        name, variant.description, variant.paper, source, folder, available, size, parameters, variant.citation
    )


def model_choices(environ: dict[str, str] | None = None) -> dict[str, ModelChoice]:
    """Every registered variant, in registry order, with its checkpoint's state."""
    return {name: describe(name, source) for name, source in model_sources(environ).items()}


def choice_markdown(choice: ModelChoice, device: str = "cpu", voxels: int = REFERENCE_VOXELS) -> str:
    """Markdown card of a model: description, paper, size, source, checkpoint state and expected run time."""
    facts = [f"paper: *{choice.citation}*" if choice.citation else f"paper `{choice.paper or '-'}`"]
    if choice.size:
        facts.append(f"size {choice.size}")
    if choice.parameters is not None:
        facts.append(f"{choice.parameters / 1e6:.2f}M parameters")
    facts.append(f"checkpoint `{choice.source}`")
    lines = [f"**{choice.name}**: {choice.description}", " · ".join(facts)]
    if choice.available:
        seconds = RUN_TIMES.estimate(choice.name, voxels, device)
        if seconds is not None:  # only what was measured here: a guess from elsewhere was off by up to 2.5x
            lines.append(f"about {seconds:.0f} s per BraTS-size case on {device} (measured on this machine)")
    else:
        lines.append(f"⚠ {choice.missing_message}")
    return "  \n".join(lines)


class RunTimes:
    """Seconds per voxel that each (model, device) took here, to estimate the next run (thread-safe); cached
    results, which ran no network, are not recorded."""

    def __init__(self) -> None:
        self._per_voxel: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def record(self, model: str, device: str, voxels: int, seconds: float) -> None:
        if voxels > 0 and seconds > 0:
            with self._lock:
                old = self._per_voxel.get((model, device))
                new = seconds / voxels
                self._per_voxel[(model, device)] = new if old is None else 0.5 * (old + new)

    def estimate(self, model: str, voxels: int, device: str = "cpu") -> float | None:
        """Seconds a run of ``model`` on a case of ``voxels`` voxels should take on ``device``, from the runs
        measured in this process; None before the first one (no guess from another machine)."""
        with self._lock:
            measured = self._per_voxel.get((model, device))
        return None if measured is None else measured * voxels


RUN_TIMES = RunTimes()
"""This process's measured run times (shared by every session: they describe the machine, not a user)."""
