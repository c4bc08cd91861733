"""Correcting the prediction on screen: what a click on a view does with an edit tool, undo, redo, reset.

Plain functions of (session, inputs) -> session, as :mod:`brainseg.ui.viewer`; :mod:`brainseg.ui.app` wires
them. The tools are :mod:`brainseg.editing`'s; every edit goes into the run's
:class:`~brainseg.editing.EditHistory`, so the views, volumes, scores and export follow it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np

from brainseg.editing import Click, EditError, brush, erase, fill_hole, refine_box, refine_click
from brainseg.editing.history import Edit
from brainseg.editing.tools import remove_component
from brainseg.errors import BrainSegError
from brainseg.ui.viewer import Cursor, Session
from brainseg.viz.slices import layout

MOVE = "move cursor"
TOOLS: dict[str, str] = {
    MOVE: "a click moves the cursor (no edit)",
    "brush": "paints the label in a disk (or sphere) of the radius",
    "eraser": "clears every label in a disk (or sphere) of the radius",
    "remove component": "removes the clicked piece of the region, in 3D",
    "fill hole": "fills the hole of the label that the click is in, on this slice",
    "click +": "grows the region from the click, through the slices (it belongs to the region)",
    "click -": "cuts what looks like the click out of the region, through the slices (it does not belong)",
    "box": "two clicks on one view: opposite corners of a box; the region is segmented anew inside it",
}
"""Tool -> what a click on a view does with it (shown under the tool choice)."""
PAINT_LABELS = ("NCR", "ED", "ET")
EDIT_REGIONS = ("WT", "TC", "ET")
NOTHING_TO_EDIT = "nothing to correct yet: press Segment first, then click a view with a tool"


@dataclass(frozen=True)
class ToolChoice:
    """The edit controls' values.

    Attributes:
        tool: a key of :data:`TOOLS`.
        label: the sub-region painted, erased-to or filled (NCR, ED, ET).
        region: the region removed, refined by clicks or segmented in a box (WT, TC, ET).
        radius_mm: brush and eraser radius in mm.
        sphere: a 3D (sphere) brush instead of a disk on the view's slice.
    """

    tool: str = MOVE
    label: str = "ED"
    region: str = "WT"
    radius_mm: float = 5.0
    sphere: bool = False

    def __post_init__(self) -> None:
        if self.tool not in TOOLS:
            raise BrainSegError(f"unknown edit tool {self.tool!r}; tools: {', '.join(TOOLS)}")


BoxCorner = tuple[str, Cursor] | None
"""(plane, voxel) of a box's first corner, waiting for the second; None when no box is being drawn."""


def _box_corners(plane: str, first: Cursor, second: Cursor, spacing: tuple[float, float, float], shape) -> tuple:
    """The 3D box of two corners clicked on ``plane``: their in-plane extent, and through the slices half the
    mean in-plane side either way of the slice."""
    axis = layout(plane).slice_axis
    sides_mm = [abs(first[a] - second[a]) * spacing[a] for a in range(3) if a != axis]
    reach = max(round(float(np.mean(sides_mm)) / 2.0 / spacing[axis]), 1)
    low, high = list(np.minimum(first, second)), list(np.maximum(first, second))
    low[axis] = max(first[axis] - reach, 0)
    high[axis] = min(first[axis] + reach, shape[axis] - 1)
    return tuple(int(v) for v in low), tuple(int(v) for v in high)


def edit_at(
    session: Session | None, plane: str, voxel: Cursor, choice: ToolChoice, corner: BoxCorner
) -> tuple[Session, BoxCorner, str]:
    """Use ``choice``'s tool at ``voxel`` (canonical x, y, z) clicked on ``plane``.

    Returns:
        (the session with the edit made, the box corner waiting for its pair, a one-line Markdown status).

    Raises:
        BrainSegError: no run to edit, or the tool refuses (a one-line message; the session is unchanged).
    """
    if session is None or session.run is None:
        raise EditError(NOTHING_TO_EDIT)
    run, case = session.run, session.loaded.case
    history = run.edit_history(case.spacing)
    labels, axis = history.labels, layout(plane).slice_axis
    flat = None if choice.sphere else axis
    tool = choice.tool
    if tool == "box" and (corner is None or corner[0] != plane):
        return session, (plane, voxel), f"Box: first corner at {voxel} on the {plane} view; click the opposite corner."
    edit: Edit
    if tool == "brush":
        edit = brush(labels, voxel, choice.label, choice.radius_mm, case.spacing, flat)
    elif tool == "eraser":
        edit = erase(labels, voxel, choice.radius_mm, case.spacing, flat)
    elif tool == "remove component":
        edit = remove_component(labels, voxel, choice.region)
    elif tool == "fill hole":
        edit = fill_hole(labels, voxel, choice.label, axis)
    elif tool in ("click +", "click -"):
        click = Click(voxel, tool == "click +", choice.region)
        edit = refine_click(labels, case.images, case.spacing, click, session.loaded.intensity_scale)
    elif tool == "box":
        corners = _box_corners(plane, corner[1], voxel, case.spacing, case.shape)  # type: ignore[index]
        edit = refine_box(labels, case.images, case.spacing, corners, choice.region, session.loaded.intensity_scale)
    else:
        raise EditError(f"the {tool!r} tool does not edit")
    status = _status(edit, history.voxel_ml)
    if edit.changed == 0:
        return session, None, f"{status}: nothing changed"
    new_run = run.with_history(history.apply(edit), session.visible_truth, case.spacing)
    return session.with_run(new_run), None, status


def _status(edit: Edit, voxel_ml: float) -> str:
    region = edit.region or "WT"
    sign = edit.detail.get("sign", "")
    added, removed = edit.voxels_added() * voxel_ml, edit.voxels_removed() * voxel_ml
    return f"{edit.tool} {sign}{region}: +{added:.2f} mL, -{removed:.2f} mL in {edit.seconds:.2f} s"


def step(session: Session | None, action: str) -> Session:
    """The session after ``undo``, ``redo`` or ``reset`` (back to the model's result, itself undoable)."""
    if session is None or session.run is None:
        raise EditError(NOTHING_TO_EDIT)
    run, case = session.run, session.loaded.case
    history = run.edit_history(case.spacing)
    moved = {"undo": history.undo, "redo": history.redo, "reset": history.reset}[action]()
    if moved is history:
        return session
    return session.with_run(run.with_history(moved, session.visible_truth, case.spacing))


def history_markdown(session: Session | None, status: str = "") -> str:
    """The edit history panel: what the segmentation is, the last action, and every edit, newest first."""
    run = session.run if session is not None else None
    if run is None:
        return "No segmentation to correct yet: press **Segment**."
    history = run.edit_history(session.loaded.case.spacing)  # type: ignore[union-attr]
    lines = [
        f"**Segmentation: {history.summary()}** · undo {history.applied} · redo {len(history.edits) - history.applied}"
    ]
    if status:
        lines.append(html.escape(status))
    records = history.records()
    for number, record in reversed(list(enumerate(records, start=1))):
        sign = record.get("sign", "")
        lines.append(
            f"{number}. {record['tool']} {sign}{record['region']}: +{record['ml_added']:.2f} mL, "
            f"-{record['ml_removed']:.2f} mL · {record['made_at'][11:19]} UTC"
        )
    if not records:
        lines.append(
            "No edits in effect: Redo brings back what was undone."
            if history.can_redo
            else "No edits yet: pick a tool, then click a view."
        )
    return "  \n".join(lines)
