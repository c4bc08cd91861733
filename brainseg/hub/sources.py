"""Where a checkpoint comes from: a bundled name, ``local-dir:PATH`` or ``hf-hub:org/repo@revision``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from brainseg.errors import BrainSegError

BUNDLED_DIR = Path(__file__).resolve().parents[2] / "assets" / "checkpoints"
"""Small demo checkpoints shipped in the repository, one folder per variant (a sub-folder holds a variant's
checkpoint for cases lacking sequences, :data:`brainseg.hub.checkpoint.MISSING_SEQUENCES_FOLDER`)."""

_REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
SOURCE_FORMS = "a bundled name (e.g. clip-unet3d), local-dir:PATH or hf-hub:org/repo@revision"


class CheckpointError(BrainSegError):
    """A checkpoint source is malformed, missing, unsafe or does not match its model."""


@dataclass(frozen=True)
class CheckpointSource:
    """A parsed checkpoint source.

    Attributes:
        kind: ``bundled``, ``local-dir`` or ``hf-hub``.
        location: bundled name, folder path, or Hub repo id.
        revision: the pinned Hub revision (commit hash, tag or branch); None for local sources.
    """

    kind: str
    location: str
    revision: str | None = None

    def __str__(self) -> str:
        if self.kind == "hf-hub":
            return f"hf-hub:{self.location}@{self.revision}"
        if self.kind == "local-dir":
            return f"local-dir:{self.location}"
        return self.location


def parse_source(text: str) -> CheckpointSource:
    """Parse a source string; errors name the bad value and the accepted forms.

    ``hf-hub:`` sources must pin a revision (``@<commit>`` best, ``@<tag>`` or ``@main`` when meant),
    so that a checkpoint never changes under a user silently.
    """
    text = (text or "").strip()
    if text.startswith("hf-hub:"):
        spec = text[len("hf-hub:") :]
        repo, _, revision = spec.partition("@")
        if not _REPO_ID.match(repo):
            raise CheckpointError(f"checkpoint source {text!r}: {repo!r} is not a Hub repo id like org/name")
        if not revision:
            raise CheckpointError(
                f"checkpoint source {text!r} has no revision; pin one: hf-hub:{repo}@<commit hash or tag>"
            )
        return CheckpointSource("hf-hub", repo, revision)
    if text.startswith("local-dir:"):
        path = text[len("local-dir:") :]
        if not path:
            raise CheckpointError(f"checkpoint source {text!r} names no folder; expected local-dir:PATH")
        return CheckpointSource("local-dir", path)
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*(/[a-z0-9][a-z0-9-]*)?", text):  # a variant, or a checkpoint beside it
        return CheckpointSource("bundled", text)
    raise CheckpointError(f"checkpoint source {text!r} is not {SOURCE_FORMS}")
