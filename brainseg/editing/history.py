"""Edits of a label map as sparse differences, and the undo / redo history a correction session keeps.

An :class:`Edit` stores only the voxels it changed (flat indices into the (X, Y, Z) array, values before and
after), so a brush stroke of a few thousand voxels costs tens of kilobytes and undoing it is exact. An
:class:`EditHistory` is immutable: every step returns a new history, so a Gradio session given to a callback
is never modified, and a callback that fails keeps what the user had.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from brainseg.labels import LABEL_NAMES, REGIONS

MAX_UNDO = 100
"""Edits that can be undone; older ones stay in effect and in the record, but can no longer be undone."""
RESET = "back to the model"
"""The tool name of the step that restores the model's labels (itself undoable)."""


def now_iso() -> str:
    """UTC now, ISO 8601 to the second (the time stamp of an edit)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Edit:
    """One change of a label map.

    Attributes:
        tool: what made it: ``brush``, ``eraser``, ``remove component``, ``fill hole``, ``click``, ``box``,
            or :data:`RESET`.
        region: the region or label it was made for (``NCR``, ``ED``, ``ET``, ``WT``, ``TC``), "" for a reset.
        detail: JSON-able parameters (canonical voxel, input-grid voxel, radius in mm, plane, sign, box ...).
        index: (N,) int64 flat indices (C order) into the (X, Y, Z) label map of the voxels changed.
        before: (N,) uint8 internal labels there before the edit.
        after: (N,) uint8 internal labels there after it.
        made_at: UTC time, ISO 8601.
        seconds: what computing the edit took.
    """

    tool: str
    region: str
    detail: dict[str, Any]
    index: np.ndarray
    before: np.ndarray
    after: np.ndarray
    made_at: str = field(default_factory=now_iso)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        """Voxels whose label changed."""
        return int(self.index.size)

    def voxels_added(self, region: str | None = None) -> int:
        """Voxels that joined ``region`` (default: the edit's own region; the whole tumor for a reset)."""
        values = REGIONS[region or self.region or "WT"]
        return int(np.count_nonzero(np.isin(self.after, values) & ~np.isin(self.before, values)))

    def voxels_removed(self, region: str | None = None) -> int:
        """Voxels that left ``region`` (default: the edit's own region; the whole tumor for a reset)."""
        values = REGIONS[region or self.region or "WT"]
        return int(np.count_nonzero(np.isin(self.before, values) & ~np.isin(self.after, values)))

    def label_changes(self) -> dict[str, int]:
        """Sub-region (NCR, ED, ET) and ``background`` -> net voxels gained (negative: lost)."""
        gained = np.bincount(self.after, minlength=4) - np.bincount(self.before, minlength=4)
        return {name: int(gained[value]) for value, name in LABEL_NAMES.items() if gained[value]}

    def record(self, voxel_ml: float) -> dict[str, Any]:
        """The JSON-able entry of this edit in ``report.json``.

        Args:
            voxel_ml: the volume of one voxel in mL (product of the spacing in mm / 1000).
        """
        added, removed = self.voxels_added(), self.voxels_removed()
        return {
            "tool": self.tool,
            "region": self.region or "WT",
            **self.detail,
            "voxels_added": added,
            "voxels_removed": removed,
            "ml_added": round(added * voxel_ml, 3),
            "ml_removed": round(removed * voxel_ml, 3),
            "voxels_changed": self.changed,
            "label_changes": self.label_changes(),
            "made_at": self.made_at,
            "seconds": round(self.seconds, 3),
        }


def make_edit(
    labels: np.ndarray,
    where: np.ndarray,
    value: int | np.ndarray,
    tool: str,
    region: str,
    detail: dict[str, Any] | None = None,
    *,
    offset: tuple[slice, ...] | None = None,
    seconds: float = 0.0,
) -> Edit:
    """The edit that sets ``labels[where]`` to ``value`` (only voxels whose label changes are kept).

    Args:
        labels: (X, Y, Z) uint8 internal labels before the edit (not modified).
        where: bool mask of the voxels to set: the whole (X, Y, Z), or the crop ``labels[offset]``.
        value: the new label, or an array of new labels of ``where``'s shape.
        offset: the crop ``where`` covers (slices of ``labels``); None: ``where`` covers the whole map.
    """
    box = offset or tuple(slice(0, n) for n in labels.shape)
    local = np.argwhere(where)  # (N, 3) in the crop
    start = np.array([s.start or 0 for s in box])
    voxels = local + start
    flat = np.ravel_multi_index(tuple(voxels.T), labels.shape) if voxels.size else np.zeros(0, np.int64)
    before = labels.reshape(-1)[flat]
    after = np.asarray(value, dtype=np.uint8)
    after = np.broadcast_to(after, where.shape)[where] if after.ndim else np.full(flat.shape, after, np.uint8)
    keep = before != after
    return Edit(
        tool,
        region,
        dict(detail or {}),
        flat[keep].astype(np.int64),
        before[keep].astype(np.uint8),
        after[keep].astype(np.uint8),
        seconds=seconds,
    )


def _applied(labels: np.ndarray, index: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A read-only copy of ``labels`` with ``values`` at the flat ``index``."""
    out = labels.copy()
    out.reshape(-1)[index] = values
    out.setflags(write=False)
    return out


@dataclass(frozen=True)
class EditHistory:
    """The model's labels, the edits made on them, and the labels now in effect.

    Attributes:
        model: (X, Y, Z) uint8 internal labels as the model gave them (read-only).
        labels: (X, Y, Z) uint8 internal labels after the edits in effect (read-only).
        edits: the edits in effect (oldest first) followed by those undone (redo-able).
        applied: how many of ``edits`` are in effect.
        settled: records of edits older than :data:`MAX_UNDO` steps: in effect, no longer undoable.
        voxel_ml: volume of one voxel in mL.
        origin: what the starting labels are, for :meth:`summary` (``model``; ``blank`` for a drawing).
    """

    model: np.ndarray
    labels: np.ndarray
    edits: tuple[Edit, ...] = ()
    applied: int = 0
    settled: tuple[dict[str, Any], ...] = ()
    voxel_ml: float = 0.001
    origin: str = "model"

    @classmethod
    def start(cls, model: np.ndarray, spacing: tuple[float, float, float], origin: str = "model") -> EditHistory:
        """A history with no edits on ``model`` ((X, Y, Z) internal labels, voxels of ``spacing`` mm)."""
        frozen = np.array(model, dtype=np.uint8)
        frozen.setflags(write=False)
        return cls(frozen, frozen, voxel_ml=float(np.prod(spacing)) / 1000.0, origin=origin)

    @property
    def count(self) -> int:
        """Edits in effect (the settled ones included)."""
        return len(self.settled) + self.applied

    @property
    def can_undo(self) -> bool:
        return self.applied > 0

    @property
    def can_redo(self) -> bool:
        return self.applied < len(self.edits)

    def apply(self, edit: Edit) -> EditHistory:
        """This history with ``edit`` made (the undone edits are dropped, as in every editor).

        An edit that changes nothing is not recorded: the same history comes back."""
        if edit.changed == 0:
            return self
        edits = (*self.edits[: self.applied], edit)
        settled = self.settled
        if len(edits) > MAX_UNDO:  # the oldest leaves the undo stack but stays in the record
            settled = (*settled, edits[0].record(self.voxel_ml))
            edits = edits[1:]
        labels = _applied(self.labels, edit.index, edit.after)
        return dataclasses.replace(self, labels=labels, edits=edits, applied=len(edits), settled=settled)

    def undo(self) -> EditHistory:
        """The history one edit back (the same one when there is nothing to undo)."""
        if not self.can_undo:
            return self
        edit = self.edits[self.applied - 1]
        labels = _applied(self.labels, edit.index, edit.before)
        return dataclasses.replace(self, labels=labels, applied=self.applied - 1)

    def redo(self) -> EditHistory:
        """The history with the last undone edit made again (the same one when there is none)."""
        if not self.can_redo:
            return self
        edit = self.edits[self.applied]
        labels = _applied(self.labels, edit.index, edit.after)
        return dataclasses.replace(self, labels=labels, applied=self.applied + 1)

    def reset(self) -> EditHistory:
        """Back to the model's labels, as one more (undoable) edit."""
        changed = self.labels != self.model
        edit = make_edit(self.labels, changed, self.model, RESET, "", {})
        return self.apply(edit)

    def records(self) -> list[dict[str, Any]]:
        """Every edit in effect, oldest first, as ``report.json`` lists them."""
        return [*self.settled, *(e.record(self.voxel_ml) for e in self.edits[: self.applied])]

    def summary(self) -> str:
        """``model`` or ``model + N edits`` (what the labels are; ``blank`` instead of ``model`` for a drawing)."""
        if self.count == 0:
            return self.origin
        return f"{self.origin} + {self.count} edit{'s' if self.count != 1 else ''}"
