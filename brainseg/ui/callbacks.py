"""What the viewer does, as plain functions of (session, inputs) -> (session, screen).

No Gradio here: :mod:`brainseg.ui.app` wires these to components, turns :class:`brainseg.errors.BrainSegError`
into ``gr.Error`` and a :class:`Screen` into component updates. A callback that raises leaves the
session it was given untouched, so a bad upload keeps the previous case on screen.

The cursor (x, y, z), a RAS voxel of the case, lives in the three slice sliders: axial shows slice z,
coronal slice y, sagittal slice x, and each view's crosshair marks the other two.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from brainseg.errors import CaseFilesError
from brainseg.io import case_summary, format_summary, load_case
from brainseg.io.naming import SEQUENCES
from brainseg.labels import SUBREGIONS, region_mask
from brainseg.ui.examples import ExampleLibrary, LoadedCase, prepare
from brainseg.viz import FILL_REGIONS, PLANES, ViewOptions
from brainseg.viz.slices import layout, native_to_voxel

Cursor = tuple[int, int, int]
"""RAS voxel (x, y, z) of the loaded case."""

DEFAULT_SEQUENCE = "FLAIR"
"""Background shown first: FLAIR shows the whole tumor (edema included) best."""


@dataclass(frozen=True)
class Display:
    """The display controls' values.

    Attributes:
        sequence: background sequence (T1, T1ce, T2 or FLAIR).
        fill: sub-regions of the truth to fill (NCR, ED, ET).
        outline: regions of the truth to outline (WT, TC, ET).
        opacity: fill opacity 0..1.
        crosshair: show the crosshair.
    """

    sequence: str = DEFAULT_SEQUENCE
    fill: tuple[str, ...] = FILL_REGIONS
    outline: tuple[str, ...] = ()
    opacity: float = 0.45
    crosshair: bool = True

    @property
    def options(self) -> ViewOptions:
        return ViewOptions(
            fill=tuple(self.fill),
            outline=tuple(self.outline),
            opacity=float(self.opacity),
            crosshair=bool(self.crosshair),
        )


@dataclass
class Session:
    """One user's data (held in ``gr.State``): the case on screen.

    Attributes:
        loaded: the case and its renderer (for examples, shared read-only with other sessions).
        origin: where the case came from, e.g. ``example`` or ``upload``.
        summary: the ``brainseg inspect`` text of the case, computed once.
        warnings: every warning raised while loading the case.
    """

    loaded: LoadedCase
    origin: str
    summary: str
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.loaded.renderer.shape


@dataclass(frozen=True)
class Screen:
    """Everything the page shows for a session.

    Attributes:
        views: plane -> (H, W, 3) uint8 RGB image.
        cursor: RAS voxel (x, y, z) the views go through.
        shape: (X, Y, Z) of the case (slider ranges are 0 .. n - 1).
        title: Markdown heading naming the case.
        readout: Markdown line: cursor position, intensities, truth label there.
        warnings: HTML block listing every warning (or saying there are none).
        summary: plain-text inspect summary.
    """

    views: dict[str, np.ndarray]
    cursor: Cursor
    shape: tuple[int, int, int]
    title: str
    readout: str
    warnings: str
    summary: str

    @property
    def sliders(self) -> dict[str, tuple[int, int]]:
        """plane -> (value, maximum) of its slice slider."""
        return {
            plane: (self.cursor[layout(plane).slice_axis], self.shape[layout(plane).slice_axis] - 1) for plane in PLANES
        }


@dataclass(frozen=True)
class Upload:
    """What the upload form holds (paths of uploaded files; None where a slot is empty).

    Attributes:
        t1, t1ce, t2, flair: one file per sequence (their names do not matter).
        case_files: a zip or several NIfTI files whose names say their roles.
        truth: optional ground-truth label map.
        labels: truth label convention, ``auto`` or a name from :data:`brainseg.labels.CONVENTIONS`.
    """

    t1: str | None = None
    t1ce: str | None = None
    t2: str | None = None
    flair: str | None = None
    case_files: Sequence[str] = ()
    truth: str | None = None
    labels: str = "auto"


def open_case(loaded: LoadedCase, origin: str) -> tuple[Session, Cursor]:
    """A new session for ``loaded`` and the cursor to start at (the tumor if there is a truth, else the brain)."""
    case = loaded.case
    session = Session(loaded, origin, format_summary(case_summary(case)), list(case.warnings))
    return session, start_cursor(loaded)


def start_cursor(loaded: LoadedCase) -> Cursor:
    """The tumor's centre of mass (snapped into the tumor) if the truth has one, else the brain's box centre."""
    truth = loaded.case.truth
    if truth is not None and truth.any():
        tumor = np.argwhere(region_mask(truth, "WT"))  # (N, 3)
        centre = tumor.mean(axis=0)
        nearest = tumor[np.argmin(((tumor - centre) ** 2).sum(axis=1))]
        return tuple(int(v) for v in nearest)  # type: ignore[return-value]
    brain = loaded.renderer.grey[SEQUENCES[1]] > 0
    if not brain.any():
        return loaded.renderer.center
    centre = []
    for axis in range(3):
        present = np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != axis)))
        centre.append(int(present[0] + present[-1]) // 2)
    return tuple(centre)  # type: ignore[return-value]


def screen(session: Session, cursor: Cursor, display: Display) -> Screen:
    """Render the three views and texts of ``session`` at ``cursor``."""
    cursor = clamp(cursor, session.shape)
    views = session.loaded.renderer.render_all(cursor, display.sequence, display.options)
    return Screen(
        views=views,
        cursor=cursor,
        shape=session.shape,
        title=_title(session),
        readout=readout(session, cursor),
        warnings=warnings_html(session.warnings),
        summary=session.summary,
    )


def clamp(cursor: Sequence[float], shape: tuple[int, int, int]) -> Cursor:
    """Round a cursor to integers inside the volume (sliders may send floats or stale values)."""
    return tuple(min(max(round(float(v)), 0), n - 1) for v, n in zip(cursor, shape, strict=True))  # type: ignore[return-value]


def _title(session: Session) -> str:
    case = session.loaded.case
    x, y, z = case.shape
    truth = "truth overlay" if case.truth is not None else "no truth"
    return f"### {case.name}\n{session.origin} · {x} x {y} x {z} voxels · {truth}"


def readout(session: Session, cursor: Cursor) -> str:
    """One Markdown line about the voxel under the cursor: position, world mm, intensities, truth label."""
    case = session.loaded.case
    world = case.affine @ np.r_[cursor, 1.0]
    values = " · ".join(f"{name} {case.images[i][cursor]:g}" for i, name in enumerate(SEQUENCES))
    text = f"voxel x {cursor[0]}, y {cursor[1]}, z {cursor[2]} · RAS {world[0]:.1f}, {world[1]:.1f}, {world[2]:.1f} mm"
    text += f" · {values}"
    if case.truth is not None:
        label = int(case.truth[cursor])
        names = [name for name, value in SUBREGIONS.items() if value == label]
        text += f" · truth: {names[0] if names else 'background'}"
    return text


def warnings_html(warnings: Sequence[str]) -> str:
    """HTML list of every warning (escaped), or a line saying there are none."""
    if not warnings:
        return '<div class="bs-warnings bs-none">No warnings: every file was read as given.</div>'
    items = "".join(f"<li>{html.escape(w)}</li>" for w in warnings)
    count = f"{len(warnings)} warning{'s' if len(warnings) > 1 else ''}"
    return f'<div class="bs-warnings"><strong>⚠ {count}</strong><ul>{items}</ul></div>'


def load_example(
    session: Session | None, name: str, display: Display, library: ExampleLibrary
) -> tuple[Session, Screen]:
    """Show example ``name``; raises :class:`brainseg.errors.BrainSegError` for an unknown name or bad files."""
    example = library.get(name)
    new_session, cursor = open_case(library.load(name), f"{example.kind} example")
    return new_session, screen(new_session, cursor, display)


def load_upload(session: Session | None, upload: Upload, display: Display) -> tuple[Session, Screen]:
    """Load an uploaded case: explicit per-sequence files override same-role files of the whole-case upload.

    Raises:
        BrainSegError: nothing uploaded, or anything :func:`brainseg.io.load_case` refuses (same message
            as ``brainseg inspect`` prints).
    """
    slots = {"t1": upload.t1, "t1ce": upload.t1ce, "t2": upload.t2, "flair": upload.flair, "truth": upload.truth}
    explicit = {key: Path(path) for key, path in slots.items() if path}
    case_files = [Path(p) for p in upload.case_files or ()]
    if not case_files and not any(key != "truth" for key in explicit):
        raise CaseFilesError(
            "nothing to load: upload the four sequences (T1, T1ce, T2, FLAIR) or one .zip / several files of a case"
        )
    case = load_case(case_files or None, **explicit, labels=upload.labels)
    new_session, cursor = open_case(prepare(case), "uploaded case")
    return new_session, screen(new_session, cursor, display)


def move_cursor(
    session: Session | None, cursor: Sequence[float], display: Display
) -> tuple[Session | None, Screen | None]:
    """Re-render at ``cursor`` (a slider moved or a display control changed); no case, nothing to show."""
    if session is None:
        return None, None
    return session, screen(session, clamp(cursor, session.shape), display)


def click_view(
    session: Session | None, plane: str, pixel: Sequence[int], cursor: Sequence[float], display: Display
) -> tuple[Session | None, Screen | None]:
    """Move the cursor to the voxel clicked in ``plane``; the other two views then cut through it.

    Args:
        plane: the view clicked.
        pixel: (column, row) in that view's display image (``gr.SelectData.index``).
        cursor: the current cursor; its index on ``plane``'s slice axis is kept.
    """
    if session is None:
        return None, None
    cursor = clamp(cursor, session.shape)
    grid = session.loaded.renderer.grids[plane]
    row, column = grid.to_native(pixel[1], pixel[0])
    index = cursor[layout(plane).slice_axis]
    return session, screen(session, native_to_voxel(row, column, index, session.shape, plane), display)
