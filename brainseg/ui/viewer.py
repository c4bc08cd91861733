"""What the viewer does, as plain functions of (session, inputs) -> (session, screen).

No Gradio here: :mod:`brainseg.ui.app` wires these to components, turns :class:`brainseg.errors.BrainSegError`
into ``gr.Error`` and a :class:`Screen` into component updates. A callback that raises leaves the
session it was given untouched, so a bad upload keeps the previous case on screen.

The cursor (x, y, z), a RAS voxel of the case, lives in the three slice sliders: axial shows slice z,
coronal slice y, sagittal slice x, and each view's crosshair marks the other two.

After a segmentation (:mod:`brainseg.ui.segmentation`) the session holds the run; a slice change then
re-renders from arrays already in memory (the model never runs again): the label overlay chosen by
:attr:`Display.overlay` and, in a second row, the heat map chosen by :attr:`Display.heatmap`.
"""

from __future__ import annotations

import dataclasses
import html
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from brainseg.errors import CaseFilesError
from brainseg.hub import bundled_for_missing_sequences
from brainseg.io import case_summary, format_summary, load_case
from brainseg.io.availability import INFORMATIVE, missing_region_reasons, supported_regions
from brainseg.io.naming import SEQUENCES
from brainseg.labels import LABEL_NAMES, SUBREGIONS
from brainseg.preprocess.input_checks import case_input_warnings
from brainseg.preprocess.registration import register_case
from brainseg.ui.compare import Comparison, grid_image
from brainseg.ui.examples import ExampleLibrary, LoadedCase, prepare
from brainseg.ui.rano_panel import diameter_lines
from brainseg.ui.teaching import Teaching
from brainseg.viz import FILL_REGIONS, PLANES, ViewOptions
from brainseg.viz.heatmap import colorbar_html
from brainseg.viz.overlay import DIFFERENCE_COLORS, DIFFERENCE_NAMES
from brainseg.viz.slices import layout, native_to_voxel, tumor_cursor

if TYPE_CHECKING:
    from brainseg.ui.segmentation import Run

Cursor = tuple[int, int, int]
"""RAS voxel (x, y, z) of the loaded case."""

DEFAULT_SEQUENCE = "FLAIR"
"""Background shown first: FLAIR shows the whole tumor (edema included) best."""

OVERLAYS: dict[str, str] = {
    "prediction": "the model's regions (filled and outlined as chosen)",
    "truth": "the ground truth that came with the case",
    "both": "prediction filled, truth outlined",
    "difference": "agreement (teal), false positives (red) and misses (blue) of one region",
}
"""Overlay mode -> what it draws."""


@dataclass(frozen=True)
class Display:
    """The display controls' values.

    Attributes:
        sequence: background sequence (T1, T1ce, T2 or FLAIR).
        fill: sub-regions of the truth to fill (NCR, ED, ET).
        outline: regions of the truth to outline (WT, TC, ET).
        opacity: fill opacity 0..1.
        crosshair: show the crosshair.
        overlay: what the views draw, a key of :data:`OVERLAYS`; without a prediction the truth is shown,
            without a truth the prediction.
        difference_region: region compared in the ``difference`` overlay (WT, TC, ET, NCR or ED).
        heatmap: map of the second row of views (``semantic``, ``WT``, ``TC``, ``ET``, ``uncertainty``).
        rejected: sub-regions (NCR, ED, ET) the reviewer rejected: left out of the prediction shown.
        diameters: draw the RANO diameters of the segmentation shown on the axial view.
        rano_rule: the RANO rule measured by (a key of :data:`brainseg.metrics.rano.RULES`).
        compare_region: the region (WT, TC, ET) of the comparison's agreement row.
    """

    sequence: str = DEFAULT_SEQUENCE
    fill: tuple[str, ...] = FILL_REGIONS
    outline: tuple[str, ...] = ()
    opacity: float = 0.45
    crosshair: bool = True
    overlay: str = "prediction"
    difference_region: str = "WT"
    heatmap: str = "semantic"
    rejected: tuple[str, ...] = ()
    diameters: bool = False
    rano_rule: str = "rano2"
    compare_region: str = "WT"

    def with_control(self, name: str, value: object) -> Display:
        """A copy with one control's value, as Gradio sends it, applied: ``name`` is a field, or ``accepted``
        (the review's accepted sub-regions, which set :attr:`rejected`); None or empty resets a field."""
        if name == "accepted":
            accepted = tuple(value or ())  # type: ignore[call-overload]
            return dataclasses.replace(self, rejected=tuple(r for r in SUBREGIONS if r not in accepted))
        default = getattr(DEFAULT, name)
        if isinstance(default, tuple):
            value = tuple(value or ())  # type: ignore[call-overload]
        elif value is None or value == "":
            value = default
        else:
            value = type(default)(value)
        return dataclasses.replace(self, **{name: value})

    def for_new_case(self) -> Display:
        """The display a newly loaded case starts with: the same, but the first map and no rejection."""
        return dataclasses.replace(self, heatmap=DEFAULT.heatmap, rejected=())

    def after_run(self, run: Run) -> Display:
        """The display a new run starts with: its prediction drawn (or compared with the truth, if that was
        chosen), every region accepted; after a prompt, the prompt's attention map and, when it asks for one
        region, the difference overlay of that region; the map first shown is one measured to point at the
        tumor (:attr:`Run.first_map`), else the prompt's."""
        from brainseg.ui.segmentation import PROMPT

        targets = run.result.target_regions
        return dataclasses.replace(
            self,
            overlay=self.overlay if self.overlay in ("both", "difference") else "prediction",
            heatmap=run.first_map or (PROMPT if PROMPT in run.heatmaps else self.heatmap),
            difference_region=targets[0] if len(targets) == 1 else self.difference_region,
            rejected=(),
        )

    @property
    def options(self) -> ViewOptions:
        return ViewOptions(
            fill=tuple(self.fill),
            outline=tuple(self.outline),
            opacity=float(self.opacity),
            crosshair=bool(self.crosshair),
        )


DEFAULT = Display()
"""What the page shows before any control is touched."""


@dataclass
class Session:
    """One user's data (held in ``gr.State``): the case on screen.

    Attributes:
        loaded: the case and its renderer (for examples, shared read-only with other sessions).
        origin: where the case came from, e.g. ``example`` or ``upload``.
        summary: the ``brainseg inspect`` text of the case, computed once.
        warnings: every warning raised while loading the case.
        run: the last segmentation of this case, or None.
        files: the uploaded files it was read from (server paths; empty for an example).
        comparison: several variants run on this case (the Compare tab), or None.
        teaching: the Teaching tab's state (a hidden truth, the model's run set aside), or None.
    """

    loaded: LoadedCase
    origin: str
    summary: str
    warnings: list[str] = field(default_factory=list)
    run: Run | None = None
    files: tuple[str, ...] = ()
    comparison: Comparison | None = None
    teaching: Teaching | None = None

    @property
    def visible_truth(self) -> np.ndarray | None:
        """The case's truth, or None while the Teaching tab hides it (nothing on the page may show it then)."""
        return None if self.teaching is not None and self.teaching.hidden else self.loaded.case.truth

    def with_run(self, run: Run | None) -> Session:
        """A copy of this session holding ``run`` (the session given to a callback is never modified)."""
        return dataclasses.replace(self, run=run)

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
        readout: Markdown: cursor position, intensities, labels and map value there; what the overlay shows.
        warnings: HTML block listing every warning (or saying there are none).
        summary: plain-text inspect summary.
        heat_views: plane -> (H, W, 3) uint8 heat-map view, or None before a segmentation.
        colorbar: HTML colorbar of the heat map shown (empty before a segmentation).
        comparison: (H, W, 3) uint8 grid of the Compare tab through the cursor, or None before a comparison.
    """

    views: dict[str, np.ndarray]
    cursor: Cursor
    shape: tuple[int, int, int]
    title: str
    readout: str
    warnings: str
    summary: str
    heat_views: dict[str, np.ndarray] | None = None
    colorbar: str = ""
    comparison: np.ndarray | None = None

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

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the form holds."""
        slots = (self.t1, self.t1ce, self.t2, self.flair, *self.case_files, self.truth)
        return tuple(str(p) for p in slots if p)

    @property
    def complete(self) -> bool:
        """Whether the form holds a case to load: a whole-case upload, or all four sequences."""
        return bool(self.case_files) or all((self.t1, self.t1ce, self.t2, self.flair))


def open_case(loaded: LoadedCase, origin: str) -> tuple[Session, Cursor]:
    """A new session for ``loaded`` and the cursor to start at (the tumor if there is a truth, else the brain)."""
    case = loaded.case
    session = Session(loaded, origin, format_summary(case_summary(case)), list(case.warnings))
    return session, start_cursor(loaded)


def start_cursor(loaded: LoadedCase) -> Cursor:
    """The tumor's centre of mass (snapped into the tumor) if the truth has one, else the brain's box centre."""
    truth = loaded.case.truth
    if truth is not None and (cursor := tumor_cursor(truth)) is not None:
        return cursor
    brain = loaded.renderer.grey[SEQUENCES[1]] > 0
    if not brain.any():
        return loaded.renderer.center
    centre = []
    for axis in range(3):
        present = np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != axis)))
        centre.append(int(present[0] + present[-1]) // 2)
    return tuple(centre)  # type: ignore[return-value]


def overlay_mode(session: Session, display: Display) -> str:
    """The overlay actually drawn: ``display.overlay`` when the data for it exist, else what does."""
    has_pred, has_truth = session.run is not None, session.visible_truth is not None
    if not has_pred:
        return "truth" if has_truth else "none"
    if not has_truth:
        return "prediction"
    return display.overlay if display.overlay in OVERLAYS else "prediction"


def overlay_choices(session: Session) -> list[str]:
    """The overlay modes the case can draw now (the Overlay radio offers these only): the truth before a run,
    the prediction without a truth, all of them with both."""
    has_pred, has_truth = session.run is not None, session.visible_truth is not None
    if has_pred and has_truth:
        return list(OVERLAYS)
    return ["prediction"] * has_pred + ["truth"] * has_truth


def honest(session: Session, display: Display) -> Display:
    """``display`` with :attr:`Display.overlay` set to what is drawn, so that the radio says what the views show
    (unchanged when nothing can be drawn yet)."""
    mode = overlay_mode(session, display)
    return display if mode == "none" else dataclasses.replace(display, overlay=mode)


def run_cursor(session: Session, cursor: Cursor) -> Cursor:
    """Where the views go after a run: the centre of the prediction's largest tumor component (snapped into
    it), or ``cursor`` when the prediction is empty."""
    if session.run is None:
        return cursor
    tumor = session.run.labels > 0  # (X, Y, Z)
    components, count = ndimage.label(tumor)
    if count == 0:
        return cursor
    sizes = np.bincount(components.ravel())[1:]
    largest = components == int(np.argmax(sizes)) + 1
    return tumor_cursor(largest.astype(np.uint8)) or cursor


def overlay_layers(session: Session, display: Display) -> tuple[ViewOptions, dict]:
    """The view options and label layers (``labels``, ``outline_labels``, ``difference``) of the overlay drawn."""
    run, truth, options = session.run, session.visible_truth, display.options
    mode = overlay_mode(session, display)
    if mode == "none":
        return dataclasses.replace(options, fill=(), outline=()), {"labels": None}
    if mode == "truth":
        return options, {"labels": truth}
    predicted = run.reviewed_labels(display.rejected)  # type: ignore[union-attr]
    if mode == "prediction":
        return options, {"labels": predicted}
    if mode == "both":  # the truth as outlines (all three unless some are picked) over the filled prediction
        outline = options.outline or ("WT", "TC", "ET")
        return dataclasses.replace(options, outline=outline), {"labels": predicted, "outline_labels": truth}
    difference = run.difference(truth, display.difference_region, display.rejected)  # type: ignore[union-attr]
    return dataclasses.replace(options, outline=()), {"labels": predicted, "difference": difference}


def screen(session: Session, cursor: Cursor, display: Display) -> Screen:
    """Render the views (and, after a segmentation, the heat-map views) and texts of ``session`` at ``cursor``."""
    cursor = clamp(cursor, session.shape)
    renderer = session.loaded.renderer
    options, layers = overlay_layers(session, display)
    views = renderer.render_all(cursor, display.sequence, options, **layers, lines=diameter_lines(session, display))
    heat_views, colorbar = None, ""
    heat = heat_volume(session, display)
    if heat is not None:
        plain = ViewOptions(fill=(), outline=(), crosshair=display.crosshair)
        heat_views = renderer.render_all(cursor, display.sequence, plain, heat=heat)
        colorbar = colorbar_html(heat) + map_note_html(session, display)
    return Screen(
        views=views,
        cursor=cursor,
        shape=session.shape,
        title=_title(session),
        readout=readout(session, cursor, display),
        warnings=warnings_html(session.warnings),
        summary=session.summary,
        heat_views=heat_views,
        colorbar=colorbar,
        comparison=None
        if session.comparison is None
        else grid_image(session.loaded, session.comparison, cursor, display, display.compare_region),
    )


def heat_volume(session: Session, display: Display):
    """The heat map to show: ``display.heatmap`` if the run has it, else its first map; None before a run."""
    run = session.run
    if run is None or not run.heatmaps:
        return None
    return run.heatmaps.get(display.heatmap) or next(iter(run.heatmaps.values()))


def map_note_html(session: Session, display: Display) -> str:
    """The line under the map shown: what it is and whether it points at the tumor (empty before a run)."""
    run = session.run
    if run is None or not run.heatmaps:
        return ""
    name = display.heatmap if display.heatmap in run.heatmaps else next(iter(run.heatmaps))
    note = run.map_notes.get(name, "")
    if run.first_map is None and note:
        note += " No map of this model was measured to point at the tumor."
    return f'<div class="bs-map-note">{html.escape(note)}</div>' if note else ""


def clamp(cursor: Sequence[float], shape: tuple[int, int, int]) -> Cursor:
    """Round a cursor to integers inside the volume (sliders may send floats or stale values)."""
    return tuple(min(max(round(float(v)), 0), n - 1) for v, n in zip(cursor, shape, strict=True))  # type: ignore[return-value]


def _title(session: Session) -> str:
    case = session.loaded.case
    x, y, z = case.shape
    truth = (
        "no truth"
        if case.truth is None
        else "truth hidden (teaching)"
        if session.visible_truth is None
        else "truth overlay"
    )
    count = len(session.warnings)
    warned = f" · ⚠ {count} warning{'s' if count > 1 else ''} (see Case details)" if count else ""
    return f"### {case.name}\n{session.origin} · {x} x {y} x {z} voxels · {truth}{warned}"


def readout(session: Session, cursor: Cursor, display: Display | None = None) -> str:
    """Markdown about the voxel under the cursor (position, world mm, intensities, the truth's and the
    prediction's label where the overlay draws them, heat-map value), then a line saying what the overlay shows."""
    display = display or Display()
    case = session.loaded.case
    world = case.affine @ np.r_[cursor, 1.0]
    values = " · ".join(f"{name} {case.images[i][cursor]:g}" for i, name in enumerate(SEQUENCES))
    text = f"voxel x {cursor[0]}, y {cursor[1]}, z {cursor[2]} · RAS {world[0]:.1f}, {world[1]:.1f}, {world[2]:.1f} mm"
    text += f" · {values}"
    mode = overlay_mode(session, display)
    if mode in ("truth", "both", "difference"):  # the labels of what is drawn, nothing else
        text += f" · truth: {LABEL_NAMES[int(case.truth[cursor])]}"  # type: ignore[index]
    run = session.run
    if run is not None:
        if mode != "truth":
            text += f" · prediction: {LABEL_NAMES[int(run.reviewed_labels(display.rejected)[cursor])]}"
        heat = heat_volume(session, display)
        if heat is not None:
            value = heat.low + (heat.high - heat.low) * float(heat.levels[cursor]) / 255.0
            text += f" · {heat.title}: {value:.2f}"
    return f"{text}  \n{overlay_note(session, display)}"


def overlay_note(session: Session, display: Display) -> str:
    """One Markdown line: what the views draw, and why when it is not what the overlay control asks."""
    mode = overlay_mode(session, display)
    asked = display.overlay
    if mode == "none":
        return "Overlay: none (no ground truth; press **Segment** to see a prediction)"
    why = ""
    if mode != asked:
        why = " (no prediction yet: press **Segment**)" if session.run is None else " (this case has no truth)"
    if mode == "difference":
        swatches = " · ".join(
            f'<span style="color: rgb{DIFFERENCE_COLORS[code]}">■</span> {name}'
            for code, name in DIFFERENCE_NAMES.items()
        )
        return f"Overlay: difference of {display.difference_region}, prediction vs truth: {swatches}"
    rejected = f" · rejected, hidden: {', '.join(display.rejected)}" if display.rejected and mode != "truth" else ""
    return f"Overlay: {mode}: {OVERLAYS[mode]}{why}{rejected}"


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


def load_upload(
    session: Session | None,
    upload: Upload,
    display: Display,
    assign: dict[str, str] | None = None,
    register: bool = False,
) -> tuple[Session, Screen]:
    """Load an uploaded case: explicit per-sequence files override same-role files of the whole-case upload,
    and ``assign`` (sequence -> file name as :attr:`brainseg.io.Case.candidates` lists it, ``""`` for none),
    the user's own reassignment, overrides both. ``register`` moves every sequence onto FLAIR rigidly first
    (:func:`brainseg.preprocess.registration.register_case`). The input checks' lines
    (:mod:`brainseg.preprocess.input_checks`) join the session's warnings.

    Raises:
        BrainSegError: nothing uploaded, or anything :func:`brainseg.io.load_case` refuses (same message
            as ``brainseg inspect`` prints).
    """
    slots = {"t1": upload.t1, "t1ce": upload.t1ce, "t2": upload.t2, "flair": upload.flair, "truth": upload.truth}
    explicit = {key: Path(path) for key, path in slots.items() if path}
    case_files = [Path(p) for p in upload.case_files or ()]
    if not case_files and not any(key != "truth" for key in explicit):
        raise CaseFilesError(
            "nothing to load: upload the sequences (T1, T1ce, T2, FLAIR; FLAIR or T1ce at least) or one .zip / "
            "several files of a case"
        )
    case = load_case(case_files or None, **explicit, labels=upload.labels, assign=assign or None)
    if not case_files and case.name == "case":  # four slots of any names: name it after what they share
        case = dataclasses.replace(case, name=common_stem([p.name for k, p in explicit.items() if k != "truth"]))
    if register:
        case = register_case(case)
    new_session, cursor = open_case(prepare(case), "uploaded case")
    new_session.warnings += case_input_warnings(case)  # not the case's own: the segmenter reports them again
    new_session.files = upload.files
    return new_session, screen(new_session, cursor, display)


def loaded_markdown(session: Session) -> str:
    """What an upload was read as: each file's whole name and the sequence (or truth) it was taken as, the
    sequences it lacks, the regions they allow and the model variants that run on them."""
    case = session.loaded.case
    names = {role: _shown_name(s.file) for role, s in case.sources.items()}
    lines = [f"{role} ← `{names[role]}`" if role in names else f"{role} — *missing*" for role in SEQUENCES]
    lines += [f"truth ← `{names['truth']}`"] if "truth" in names else []
    if case.missing:
        reasons = missing_region_reasons(case.available)
        runs = bundled_for_missing_sequences()
        lines.append(
            f"**Regions these sequences allow: {', '.join(supported_regions(case.available))}**"
            + "".join(f"; {region} not ({reason})" for region, reason in reasons.items())
        )
        without = ", ".join(case.missing)
        lines.append(
            f"Variants that run without {without}: {', '.join(runs)} (with a checkpoint trained with sequence "
            "dropout); the others need all four."
            if runs
            else f"No bundled variant runs without {without}: each needs all four (none was trained with sequence "
            "dropout)."
        )
    return f"✓ **Loaded {case.name}**  \n" + "  \n".join(lines)


def _shown_name(file: str) -> str:
    """A file's name as the user gave it (a server path shows its last part only)."""
    return Path(file).name if file.startswith("/") else file


def assignment_choices(session: Session) -> list[tuple[list[tuple[str, str]], str]]:
    """For each sequence in T1, T1ce, T2, FLAIR order: the (label, value) choices of its reassignment list (every
    NIfTI file of the upload, and "not used") and the file it was read from ("" when missing)."""
    case = session.loaded.case
    choices = [("(not used)", ""), *((_shown_name(name), name) for name in case.candidates)]
    current = {role: info.file for role, info in case.sources.items()}
    return [(choices, current.get(sequence, "")) for sequence in SEQUENCES]


def waiting_markdown(upload: Upload) -> str:
    """The upload form's state while it does not yet hold a case: what arrived, what is missing."""
    slots = {"T1": upload.t1, "T1ce": upload.t1ce, "T2": upload.t2, "FLAIR": upload.flair}
    if not any(slots.values()):
        return "Truth received; now upload the case's sequences." if upload.truth else ""
    have = [name for name, path in slots.items() if path]
    missing = [name for name, path in slots.items() if not path]
    if not missing:
        return "These files are the case on screen."
    if not any(name in have for name in INFORMATIVE):
        return f"Received {', '.join(have)}; add FLAIR or T1ce at least ({', '.join(missing)} are missing)."
    return (
        f"Received {', '.join(have)}; add {', '.join(missing)}, or press **Load case** to use these "
        f"(regions they allow: {', '.join(supported_regions(have))})."
    )


def refused_title(session: Session | None, message: str) -> str:
    """The case title after a refused upload: plainly not the upload, and why."""
    still = "Nothing is loaded."
    if session is not None:
        still = f"Still showing the previous case, **{session.loaded.case.name}** ({session.origin}), not the upload."
    return f"### ⚠ Upload not loaded\n{message}  \n{still}"


def common_stem(names: Sequence[str]) -> str:
    """What file names share at their start, separators and a trailing sequence word trimmed
    (``Brats18_x_t1.nii.gz``, ``Brats18_x_flair.nii.gz`` -> ``Brats18_x``); ``case`` when nothing is shared."""
    stems = [name.split(".")[0] for name in names]
    shared = os.path.commonprefix(stems) if stems else ""  # noqa: RUF071 - a shared start of names, not a folder
    if len(stems) > 1 and not all(stem == shared for stem in stems):
        shared = re.sub(r"[_\-. ]+[A-Za-z0-9]*$", "", shared) if shared[-1:].isalnum() else shared
    return shared.strip("_-. ") or "case"


def pending_upload(session: Session | None, upload: Upload) -> str | None:
    """A one-line refusal when the upload form holds files that are not the case on screen, else None."""
    waiting = [path for path in upload.files if session is None or path not in session.files]
    if not waiting:
        return None
    names = ", ".join(Path(p).name for p in waiting)
    shown = f"the views show {session.loaded.case.name}" if session is not None else "no case is loaded"
    return f"{names}: uploaded but not loaded ({shown}); press Load case, or add the missing sequences"


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
    return session, screen(session, clicked_voxel(session, plane, pixel, cursor), display)


def clicked_voxel(session: Session, plane: str, pixel: Sequence[int], cursor: Sequence[float]) -> Cursor:
    """The voxel (x, y, z) under ``pixel`` ((column, row) of ``plane``'s view), on ``cursor``'s slice."""
    cursor = clamp(cursor, session.shape)
    row, column = session.loaded.renderer.grids[plane].to_native(pixel[1], pixel[0])
    return native_to_voxel(row, column, cursor[layout(plane).slice_axis], session.shape, plane)
