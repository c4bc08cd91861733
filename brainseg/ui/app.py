"""The Gradio app: layout and wiring only; behaviour lives in :mod:`brainseg.ui.viewer`,
:mod:`brainseg.ui.segmentation`, :mod:`brainseg.ui.review` and :mod:`brainseg.ui.api`.

Named API endpoints (for ``gradio_client``):

* ``/segment`` (t1, t1ce, t2, flair, model, prompt) -> (segmentation ``.nii.gz``, report dict with
  ``report["regions"][R]["volume_ml"]``); ``model`` None or empty runs the default model.
* ``/load_example`` (an example name) and ``/load_upload`` (files): the views, slider positions, texts.
* ``/refine`` (t1, t1ce, t2, flair, seg, clicks, boxes) -> (refined segmentation ``.nii.gz``, report with
  ``report["edits"]`` and ``report["segmentation_is"]``); clicks ``I,J,K,SIGN,REGION`` and boxes
  ``I0,J0,K0,I1,J1,K1,REGION`` in input-grid voxels, one per line or ``;``-separated.
* ``/move_axial``, ``/move_coronal``, ``/move_sagittal`` (undocumented): re-render at a cursor (x, y, z).

The display settings live in one ``gr.State`` (a :class:`brainseg.ui.viewer.Display` per browser tab), updated
by one small handler per control; the other handlers read it, so none takes the controls' values.

Checkpoints: every registered variant is offered; where its checkpoint comes from is set by the
environment variable ``BRAINSEG_MODEL_SOURCES`` (see :mod:`brainseg.ui.model_menu`). Errors: a
:class:`brainseg.errors.BrainSegError` becomes a ``gr.Error`` with the same one-line message the CLI prints
(:func:`brainseg.ui.widgets.user_errors`), and the page keeps what it showed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from brainseg.errors import BrainSegError, CaseFilesError
from brainseg.inference.protocol import SegmenterFactory
from brainseg.io.naming import SEQUENCES
from brainseg.labels import SUBREGIONS
from brainseg.ui import compare, editing, rano_panel, screen_updates, segmentation, teaching, viewer
from brainseg.ui.api import refine_uploaded, segment_files
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.ui.layout import Page, build_page
from brainseg.ui.model_menu import DEFAULT_MODEL, ModelChoice, choice_markdown, model_choices
from brainseg.ui.review import EXPORT_CONVENTIONS, Review, export_run, snapshot
from brainseg.ui.segmentation import default_segmenters
from brainseg.ui.viewer import Upload
from brainseg.ui.widgets import CSS, JS, user_errors, without_folders
from brainseg.viz import PLANES

MAX_FILE_SIZE = "1gb"
"""Largest accepted upload (a zip of four BraTS volumes is ~40 MB compressed; float32 NIfTI ~140 MB each)."""
DELETE_CACHE = (3600, 7200)
"""Every hour, delete uploaded, rendered and exported files older than two hours."""
STATE_SESSIONS = 16
"""Sessions whose case is kept in memory (oldest dropped first): an uploaded BraTS-size case takes ~180 MB,
and a segmentation of it ~150 MB more (labels, probabilities, quantized maps)."""
SEGMENT_CONCURRENCY = 2
"""Segmentations running at once (both CPU cores); each model runs one case at a time on top of that,
as a :class:`brainseg.inference.segmenter.Segmenter` serializes its calls."""


def _as_library(examples: ExampleLibrary | Iterable[Example | str | Path] | None) -> ExampleLibrary:
    if examples is None:
        return ExampleLibrary()
    if isinstance(examples, ExampleLibrary):
        return examples
    return ExampleLibrary([e if isinstance(e, Example) else Example.from_folder(Path(e)) for e in examples])


@dataclass(frozen=True)
class _App:
    """What the wiring functions share: the page, the examples, the models offered, the segmenter factory."""

    page: Page
    library: ExampleLibrary
    choices: dict[str, ModelChoice]
    segmenters: SegmenterFactory


def create_app(
    examples: ExampleLibrary | Iterable[Example | str | Path] | None = None,
    segmenters: SegmenterFactory | None = None,
) -> gr.Blocks:
    """Build the app.

    Args:
        examples: the example cases to offer: an :class:`ExampleLibrary`, or a list of :class:`Example`
            or case folders; default: every folder under ``assets/examples/`` plus the real cases of
            ``../shared/data/real/`` when present. The first bundled example is shown on page load.
        segmenters: checkpoint source -> segmenter (default
            :func:`brainseg.inference.segmenter.get_segmenter`); tests pass a fake.
    """
    library = _as_library(examples)
    choices = model_choices()
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in choices else next(iter(choices))
    with gr.Blocks(title="BrainSeg", analytics_enabled=False, delete_cache=DELETE_CACHE, fill_width=True) as demo:
        page = build_page(library, choices, default_model)
        app = _App(page, library, choices, segmenters or default_segmenters)
        _wire_loading(demo, app)
        _wire_viewer(app)
        _wire_editing(app)
        _wire_segment(app)
        _wire_export(app)
        _wire_rano(app)
        _wire_compare(app)
        _wire_teaching(app)
        _wire_api(app)
    demo.brainseg_library = library  # type: ignore[attr-defined]  # lets launch() warm the default example
    return demo


# The handlers' parameter names are the API's parameter names (``client.predict(name=..., files=...)``), so
# they repeat the names of the components they receive. The session and display states come first.


def _opened(page: Page, loaded: tuple[viewer.Session, viewer.Screen], shown_as: viewer.Display) -> list:
    """The session, display state and :attr:`Page.full_outputs` updates of a case just loaded."""
    new_state, shown = loaded
    shown_as = viewer.honest(new_state, shown_as)  # the same views; the radio and readout say what they show
    shown = dataclasses.replace(shown, readout=viewer.readout(new_state, shown.cursor, shown_as))
    return [new_state, shown_as, *screen_updates.full(page, new_state, shown, shown_as)]


def _wire_loading(demo: gr.Blocks, app: _App) -> None:
    """The default example on page load and an example picked: a new case on screen; then the uploads."""
    page, library = app.page, app.library

    @user_errors("Cannot load this case")
    def on_start(state, shown_as):
        if state is not None or library.default is None:
            return [gr.skip()] * (3 + len(page.full_outputs))
        shown_as = shown_as.for_new_case()
        new_state, *shown = _opened(page, viewer.load_example(state, library.default, shown_as, library), shown_as)
        return new_state, gr.Radio(value=library.default), *shown

    @user_errors("Cannot load this case")
    def on_example(state, shown_as, name):
        shown_as = shown_as.for_new_case()
        return _opened(page, viewer.load_example(state, name, shown_as, library), shown_as)

    states = [page.session, page.display]
    # The default example loads when the page opens; a case the user picks or uploads meanwhile wins.
    # Loading shows its progress (and a failure its "Error" badge) on the control used, never on the
    # views: after a bad upload the previous case stays in view, marked as not the upload.
    picked = [page.session, page.example_list, page.display, *page.full_outputs]
    start = demo.load(on_start, states, picked, api_visibility="private")
    page.example_list.input(
        on_example,
        [*states, page.example_list],
        [*states, *page.full_outputs],
        api_name="load_example",
        api_description="Load an example case by name; returns the views and the case texts.",
        cancels=[start],
        show_progress_on=[page.example_list],
    )
    _wire_upload(app, start)


def _wire_upload(app: _App, start: Any) -> None:
    """Load case, and files loading as soon as they make a case; a refused upload stays on the page."""
    page = app.page
    refusals: dict[str, str] = {}  # browser session -> the last upload's refusal, for the page to keep showing

    @user_errors("Cannot load this case")
    def on_upload(
        state, shown_as, t1, t1ce, t2, flair, files, truth, labels, request: gr.Request,
        progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        progress(0.1, desc="Reading and checking the files")
        upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
        shown_as = shown_as.for_new_case()
        try:
            new_state, *shown = _opened(page, viewer.load_upload(state, upload, shown_as), shown_as)
        except BrainSegError as exc:
            if len(refusals) > 1000:
                refusals.clear()
            refusals[request.session_hash or ""] = without_folders(str(exc))
            raise
        return new_state, gr.Radio(value=None), *shown, viewer.loaded_markdown(new_state)

    def on_arrived(state, shown_as, t1, t1ce, t2, flair, files, truth, labels, request: gr.Request):
        upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
        if upload.complete and viewer.pending_upload(state, upload):
            return on_upload(state, shown_as, t1, t1ce, t2, flair, files, truth, labels, request, _quiet)
        return [gr.skip()] * (len(outputs) - 1) + [viewer.waiting_markdown(upload)]

    def on_refused(state, request: gr.Request):
        message = refusals.pop(request.session_hash or "", "the files were refused")
        return viewer.refused_title(state, message), f"✗ **Not loaded**: {message}"

    inputs = [page.session, page.display, *page.upload_inputs]
    outputs = [page.session, page.example_list, page.display, *page.full_outputs, page.load_status]
    refused = {"fn": on_refused, "inputs": [page.session], "outputs": [page.title, page.load_status]}

    def on_loaded(state):
        """The reassignment lists, filled from the case just loaded."""
        return [gr.Dropdown(choices=c, value=v) for c, v in viewer.assignment_choices(state)]

    @user_errors("Cannot load these sequences")
    def on_reassign(
        state, shown_as, t1, t1ce, t2, flair, files, truth, labels, as_t1, as_t1ce, as_t2, as_flair, register,
        request: gr.Request,
    ):  # fmt: skip
        upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
        if not upload.files:
            raise CaseFilesError("nothing to reassign: upload a case first")
        chosen = (as_t1, as_t1ce, as_t2, as_flair)
        assign = {sequence: value or "" for sequence, value in zip(SEQUENCES, chosen, strict=True)}
        shown_as = shown_as.for_new_case()
        try:
            loaded_case = viewer.load_upload(state, upload, shown_as, assign, register=bool(register))
            new_state, *shown = _opened(page, loaded_case, shown_as)
        except BrainSegError as exc:
            refusals[request.session_hash or ""] = without_folders(str(exc))
            raise
        return new_state, gr.Radio(value=None), *shown, viewer.loaded_markdown(new_state)

    def on_loaded_if_shown(state, status):
        """After files arrived: the reassignment lists, when they made a case (else unchanged)."""
        if state is None or not str(status).startswith("✓"):
            return [gr.skip()] * len(SEQUENCES)
        return on_loaded(state)

    assignments = list(page.assignments.values())
    loaded = {"fn": on_loaded, "inputs": [page.session], "outputs": assignments, "api_visibility": "private"}
    loading = page.load_button.click(
        on_upload,
        inputs,
        outputs,
        api_name="load_upload",
        api_description="Load uploaded files (the sequences, FLAIR or T1ce at least, and/or a whole case) and an "
        "optional truth.",
        cancels=[start],
        show_progress_on=[page.load_button],
    )
    loading.success(**loaded)
    loading.failure(**refused, api_visibility="private")
    reassigning = page.assign_button.click(
        on_reassign,
        [*inputs, *assignments, page.register],
        outputs,
        api_visibility="private",
        cancels=[start],
        show_progress_on=[page.assign_button],
    )
    reassigning.success(**loaded)
    reassigning.failure(**refused, api_visibility="private")
    for field in [*page.slots.values(), page.case_files, page.truth_file]:
        arriving = field.upload(
            on_arrived, inputs, outputs, api_visibility="private", cancels=[start], show_progress_on=[page.load_button]
        )
        arriving.success(on_loaded_if_shown, [page.session, page.load_status], assignments, api_visibility="private")
        arriving.failure(**refused, api_visibility="private")


def _quiet(fraction: float, desc: str = "") -> None:
    """A progress callback that shows nothing (a handler called by another reports through that one)."""


def _wire_viewer(app: _App) -> None:
    """Slice sliders, clicks on a view, and the display controls: re-render from what is in memory."""
    page = app.page
    move = {"show_progress": "hidden", "trigger_mode": "always_last"}
    where = [page.session, page.display, *page.cursor_inputs]

    def on_move(state, shown_as, x, y, z):
        new_state, shown = viewer.move_cursor(state, (x, y, z), shown_as)
        return new_state, *screen_updates.partial(page, shown)

    clicked_outputs = [page.session, *page.view_outputs, *page.linked_outputs, *page.slider_outputs, page.readout]
    for plane in PLANES:
        page.sliders[plane].input(
            on_move, where, page.move_outputs, api_name=f"move_{plane}", api_visibility="undocumented", **move
        )
        # A click on a view edits with the tool chosen (see _wire_editing); on a map view it moves the cursor.
        page.heat_images[plane].select(
            _click_handler(page, plane), where, clicked_outputs, api_visibility="private", **move
        )
    # ``input``, not ``change``: only the user's own changes re-render. A segmentation sets some controls
    # itself (map, accepted regions, difference region), with the display state, and has drawn the views
    # with them already.
    for name, control in page.display_controls.items():
        control.input(
            _control_handler(page, name),
            [*where, control],
            [page.display, *page.move_outputs],
            api_visibility="private",
            **move,
        )


def _click_handler(page: Page, plane: str) -> Callable:
    """A click on ``plane``'s view (or map view) moves the cursor there."""

    def on_click(state, shown_as, x, y, z, evt: gr.SelectData):
        if evt.index is None:  # a click on the letterbox around the image
            return state, *screen_updates.partial(page, None, with_sliders=True)
        new_state, shown = viewer.click_view(state, plane, evt.index, (x, y, z), shown_as)
        return new_state, *screen_updates.partial(page, shown, with_sliders=True)

    return on_click


def _wire_editing(app: _App) -> None:
    """Clicks on the views with an edit tool, the tool's hint, undo, redo and back to the model; after each
    edit the 3D view is drawn again (a second step, so that the views answer first)."""
    page = app.page
    where = [page.session, page.display, *page.cursor_inputs]
    views = [*page.view_outputs, *page.linked_outputs, *page.slider_outputs, page.readout]
    outputs = [page.session, page.box_corner, *views, *page.edited_outputs]
    plot = {"fn": _redraw_plot, "inputs": [page.session], "outputs": [page.plot]}
    hidden = {"api_visibility": "private", "show_progress": "hidden"}
    # One edit at a time: two handlers given the same session would each return it with only their own edit.
    serial = {"concurrency_id": "edit", "concurrency_limit": 1}
    for plane in PLANES:
        page.images[plane].select(
            _edit_click_handler(page, plane),
            [*where, *page.edit_inputs, page.box_corner],
            outputs,
            trigger_mode="always_last",
            **serial,
            **hidden,
        ).success(**plot, **hidden)

    def on_tool(tool):
        return gr.Radio(info=editing.TOOLS.get(tool, "")), None  # a new tool starts no box

    page.edit_tool.input(on_tool, [page.edit_tool], [page.edit_tool, page.box_corner], queue=False, **hidden)
    for button, action in ((page.undo_button, "undo"), (page.redo_button, "redo"), (page.reset_button, "reset")):
        button.click(_step_handler(page, action), where, outputs, **serial, **hidden).success(**plot, **hidden)


def _edit_click_handler(page: Page, plane: str) -> Callable:
    """A click on ``plane``'s view: moves the cursor there, and with an edit tool edits there too."""

    @user_errors("Cannot edit")
    def on_view_click(state, shown_as, x, y, z, tool, label, region, radius_mm, sphere, corner, evt: gr.SelectData):
        unchanged = [gr.skip()] * len(page.edited_outputs)
        if evt.index is None:  # a click on the letterbox around the image
            return state, gr.skip(), *screen_updates.partial(page, None, with_sliders=True), *unchanged
        choice = editing.ToolChoice(tool or editing.MOVE, label or "ED", region or "WT", float(radius_mm or 5), sphere)
        if choice.tool == editing.MOVE or state is None:
            moved, shown = viewer.click_view(state, plane, evt.index, (x, y, z), shown_as)
            return moved, gr.skip(), *screen_updates.partial(page, shown, with_sliders=True), *unchanged
        voxel = viewer.clicked_voxel(state, plane, evt.index, (x, y, z))
        new_state, corner, status = editing.edit_at(state, plane, voxel, choice, corner)
        views = screen_updates.partial(page, viewer.screen(new_state, voxel, shown_as), with_sliders=True)
        return new_state, corner, *views, *screen_updates.edited(new_state, status)

    return on_view_click


def _step_handler(page: Page, action: str) -> Callable:
    """Undo, redo or back to the model: the views at the cursor, the history and the scores follow."""

    @user_errors(f"Cannot {action}")
    def on_step(state, shown_as, x, y, z):
        new_state = editing.step(state, action)
        shown = viewer.screen(new_state, viewer.clamp((x, y, z), new_state.shape), shown_as)
        views = screen_updates.partial(page, shown, with_sliders=True)
        done = {"undo": "Undone", "redo": "Redone", "reset": "Back to the model's result"}[action]
        status = done if new_state is not state else f"Nothing to {action}"
        return new_state, None, *views, *screen_updates.edited(new_state, status)

    on_step.__name__ = f"on_{action}"
    return on_step


def _redraw_plot(state):
    """The 3D view of the run's labels, drawn again after an edit (skipped when it is up to date).

    The session is not an output: an undo made meanwhile must not be overwritten by this older session; the
    figure is kept on the run it was drawn for (that run's own cache)."""
    run = state.run if state is not None else None
    if run is None or run.figure is not None:
        return gr.skip()
    run.figure = segmentation.labels_figure(state.loaded, run.labels, state.visible_truth)
    return run.figure


def _control_handler(page: Page, name: str) -> Callable:
    """A change of the display control ``name``: the new display state, and the views drawn with it."""

    def on_control(state, shown_as, x, y, z, value):
        shown_as = shown_as.with_control(name, value)
        new_state, shown = viewer.move_cursor(state, (x, y, z), shown_as)
        return shown_as, new_state, *screen_updates.partial(page, shown)

    on_control.__name__ = f"on_{name}"
    return on_control


def _wire_segment(app: _App) -> None:
    """The model card, the prompt's reading as it is typed, and the Segment button."""
    page, choices = app.page, app.choices

    def on_prompt(prompt):
        return segmentation.interpretation_markdown(prompt)

    def on_model(model):
        return choice_markdown(choices[model]) if model in choices else ""

    @user_errors("Model not available")
    def check_model(model):
        if model in choices:
            choices[model].require()

    @user_errors("Cannot segment")
    def on_segment(
        state, shown_as, model, prompt, uncertainty, x, y, z, t1, t1ce, t2, flair, files, truth, labels,
        progress=gr.Progress(),  # noqa: B008
    ):  # fmt: skip
        upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
        if (waiting := viewer.pending_upload(state, upload)) is not None:  # never answer for another case
            raise BrainSegError(waiting)
        if state is None:
            raise BrainSegError("no case loaded: pick an example or upload a case first")
        if model not in choices:
            raise BrainSegError(f"unknown model {model!r}; valid models: {', '.join(choices)}")
        run = segmentation.run_segmentation(
            state.loaded,
            choices[model],
            prompt,
            uncertainty=bool(uncertainty),
            segmenters=app.segmenters,
            progress=lambda fraction, message: progress(fraction, desc=message),
        )
        if state.run is not None and state.run.edited:  # the old run's corrections go with it: say so
            count = state.run.history.count  # type: ignore[union-attr]
            gr.Warning(f"Segmented again: the {count} correction(s) of the previous result were dropped with it")
        new_state = state.with_run(run)
        shown_as = viewer.honest(new_state, shown_as.after_run(run))
        # The views go to the predicted tumor (the case's centre would show none of it without a truth).
        shown = viewer.screen(new_state, viewer.run_cursor(new_state, (x, y, z)), shown_as)
        pictures, heat_views = screen_updates.views(page, shown)
        return (
            new_state,
            shown_as,
            *pictures,
            *heat_views,
            *(gr.Slider(value=v) for v, _ in shown.sliders.values()),
            shown.readout,
            screen_updates.overlay_radio(new_state, shown_as),
            *screen_updates.run_panel(new_state, shown_as.heatmap),
            gr.CheckboxGroup(value=list(SUBREGIONS)),
            gr.Radio(value=shown_as.difference_region),
            segmentation.run_interpretation_markdown(run),
            choice_markdown(choices[model], run.info.get("device", "cpu")),  # with the time just measured
            segmentation.done_markdown(run),
        )

    quick = {"queue": False, "api_visibility": "private"}
    page.prompt.change(on_prompt, [page.prompt], [page.interpretation], show_progress="hidden", **quick)
    # The card updates first, then a model without checkpoint raises its error (an Error toast).
    page.model.input(on_model, [page.model], [page.model_info], **quick).then(
        check_model, [page.model], None, api_visibility="private", show_progress="hidden"
    )
    upload = page.upload_inputs

    def on_started():
        return "Segmenting…"

    def on_failed():
        return "✗ Not segmented: see the message"

    # The status line is cleared first, so that neither a running nor a failed run sits under the last "Done".
    page.segment_button.click(on_started, None, page.run_status, **quick).then(
        on_segment,
        [page.session, page.display, page.model, page.prompt, page.uncertainty, *page.cursor_inputs, *upload],
        [
            page.session,
            page.display,
            *page.view_outputs,
            *page.linked_outputs,
            *page.slider_outputs,
            page.readout,
            page.overlay,
            *page.run_outputs,
            page.accepted,
            page.difference_region,
            page.interpretation,
            page.model_info,
            page.run_status,
        ],
        api_visibility="private",
        concurrency_id="segment",
        concurrency_limit=SEGMENT_CONCURRENCY,
        show_progress_on=[page.run_status],
    ).failure(on_failed, None, page.run_status, **quick)


def _wire_export(app: _App) -> None:
    """Export the reviewed run: segmentation, report and a snapshot of the views as shown."""
    page = app.page

    @user_errors("Cannot export")
    def on_export(state, shown_as, accepted, note, export_labels, x, y, z, progress=gr.Progress()):  # noqa: B008
        review = Review(tuple(accepted or ()), note or "", export_labels or EXPORT_CONVENTIONS[0])
        if state is None or state.run is None:
            raise BrainSegError("nothing to export yet: load a case and press Segment first")
        progress(0.2, desc="Writing the segmentation and the report")
        out_dir = Path(page.exported.GRADIO_CACHE) / "exports" / uuid.uuid4().hex
        picture = snapshot(state, (x, y, z), shown_as)
        files = export_run(state, review, out_dir, snapshot=picture, segmenters=app.segmenters)
        uncertainty_file = out_dir / "uncertainty.nii.gz"
        if uncertainty_file.exists():
            files.insert(2, uncertainty_file)
        return [str(p) for p in files]

    page.export_button.click(
        on_export,
        [page.session, page.display, page.accepted, page.note, page.export_labels, *page.cursor_inputs],
        [page.exported],
        api_visibility="private",
        show_progress_on=[page.exported],
    )


def _wire_rano(app: _App) -> None:
    """Measure: the RANO table of the segmentation on screen, its diameters drawn, the views at the largest
    lesion; with an earlier segmentation uploaded, the response."""
    page = app.page
    where = [page.session, page.display, *page.cursor_inputs]
    views = [*page.view_outputs, *page.linked_outputs, *page.slider_outputs, page.readout]

    @user_errors("Cannot measure")
    def on_measure(state, shown_as, x, y, z, rule, baseline):
        shown_as = dataclasses.replace(shown_as, diameters=True, rano_rule=rano_panel.check_rule(rule or "rano2"))
        measurement, what = rano_panel.shown_measurement(state, shown_as)
        if measurement is None:
            raise BrainSegError("nothing to measure: press Segment first, or load a case with a truth")
        cursor = rano_panel.largest_lesion_cursor(measurement, (x, y, z))
        shown = viewer.screen(state, cursor, shown_as)
        table = rano_panel.measurement_markdown(measurement, what)
        answer = rano_panel.response_markdown(baseline, measurement)
        return shown_as, True, *screen_updates.partial(page, shown, with_sliders=True), table, answer

    page.measure_button.click(
        on_measure,
        [*where, page.rano_rule, page.baseline_file],
        [page.display, page.diameters, *views, page.rano_table, page.rano_response],
        api_name="measure_rano",
        api_visibility="private",
    )


def _wire_compare(app: _App) -> None:
    """Run and compare: the chosen variants on the case, a row of views each and their agreement, tables."""
    page = app.page
    where = [page.session, page.display, *page.cursor_inputs]
    views = [*page.view_outputs, *page.linked_outputs, page.readout]  # screen_updates.partial, no sliders

    @user_errors("Cannot compare")
    def on_compare(state, shown_as, x, y, z, models, progress=gr.Progress()):  # noqa: B008
        if state is None:
            raise BrainSegError("load a case first")
        chosen = [app.choices[name] for name in models or () if name in app.choices]
        comparison = compare.run_comparison(state.loaded, chosen, app.segmenters, lambda f, m: progress(f, desc=m))
        new_state = dataclasses.replace(state, comparison=comparison)
        shown = viewer.screen(new_state, (x, y, z), shown_as)
        headers, rows = compare.volume_rows(comparison, state.loaded.case.spacing)
        dice_headers, dice = compare.dice_rows(comparison)
        return (
            new_state,
            *screen_updates.partial(page, shown),
            {"headers": headers, "data": rows},
            {"headers": dice_headers, "data": dice},
        )

    page.compare_button.click(
        on_compare,
        [*where, page.compare_models],
        [page.session, *views, page.compare_volumes, page.compare_dice],
        api_name="compare",
        api_visibility="private",
    )


def _wire_teaching(app: _App) -> None:
    """Start a drawing (the truth hidden), score it (the truth shown with the difference), the quiz, export."""
    page = app.page
    where = [page.session, page.display, *page.cursor_inputs]
    views = [*page.view_outputs, *page.linked_outputs, *page.slider_outputs, page.readout]
    outputs = [page.session, page.display, page.title, page.overlay, *views, *page.run_outputs, page.teach_scores]

    def shown(new_state, shown_as, cursor, message):
        screen = viewer.screen(new_state, cursor, shown_as)
        return [
            new_state,
            shown_as,
            screen.title,
            screen_updates.overlay_radio(new_state, shown_as),
            *screen_updates.partial(page, screen, with_sliders=True),
            *screen_updates.run_panel(new_state, None),
            message,
        ]

    @user_errors("Cannot start a drawing")
    def on_start(state, shown_as, x, y, z):
        new_state = teaching.start_drawing(state)
        shown_as = dataclasses.replace(shown_as, overlay="prediction", rejected=())
        message = "Drawing started: the truth is hidden. Draw with *Correct the segmentation*, then score it."
        return shown(new_state, shown_as, (x, y, z), message)

    @user_errors("Cannot score")
    def on_score(state, shown_as, x, y, z):
        new_state, record = teaching.score(state)
        shown_as = dataclasses.replace(shown_as, overlay="difference", difference_region="WT", rejected=())
        return shown(new_state, shown_as, (x, y, z), teaching.score_markdown(record))

    @user_errors("Cannot check")
    def on_check(state, x, y, z, question):
        return teaching.check_click(state, viewer.clamp((x, y, z), state.shape), question)

    @user_errors("Cannot export the drawing")
    def on_export_drawing(state):
        out_dir = Path(page.teach_files.GRADIO_CACHE) / "drawings" / uuid.uuid4().hex
        return [str(path) for path in teaching.export_drawing(state, out_dir)]

    serial = {"concurrency_id": "edit", "concurrency_limit": 1, "api_visibility": "private"}
    page.teach_start.click(on_start, where, outputs, **serial)
    page.teach_score.click(on_score, where, outputs, **serial)
    page.quiz_check.click(on_check, [page.session, *page.cursor_inputs, page.quiz], [page.quiz_answer], **serial)
    page.teach_export.click(on_export_drawing, [page.session], [page.teach_files], **serial)


def _wire_api(app: _App) -> None:
    """``/segment``: four files, a model and a prompt in; the segmentation and its report out."""
    page = app.page

    @user_errors("Cannot segment")
    def api_segment(t1, t1ce, t2, flair, model, prompt, progress=gr.Progress()):  # noqa: B008
        """Segment four sequence files; returns the segmentation NIfTI and the report."""
        out_dir = Path(page.api_segmentation.GRADIO_CACHE) / "api" / uuid.uuid4().hex
        path, result = segment_files(
            t1,
            t1ce,
            t2,
            flair,
            model,
            prompt,
            out_dir,
            app.choices,
            segmenters=app.segmenters,
            progress=lambda fraction, message: progress(fraction, desc=message),
        )
        return str(path), result

    page.api_trigger.click(
        api_segment,
        [*page.api_files.values(), page.api_model, page.api_prompt],
        [page.api_segmentation, page.api_report],
        api_name="segment",
        api_description=(
            "Segment a case of four sequence files (t1, t1ce, t2, flair) with a model (None: "
            f"{DEFAULT_MODEL}) and an optional prompt; returns segmentation.nii.gz and the report."
        ),
        concurrency_id="segment",
        concurrency_limit=SEGMENT_CONCURRENCY,
    )

    @user_errors("Cannot refine")
    def api_refine(t1, t1ce, t2, flair, seg, clicks, boxes):
        """Refine a segmentation of four sequence files with clicks and boxes; returns the NIfTI and the report."""
        out_dir = Path(page.api_refined.GRADIO_CACHE) / "refine" / uuid.uuid4().hex
        path, report = refine_uploaded(t1, t1ce, t2, flair, seg, clicks, boxes, out_dir)
        return str(path), report

    page.api_refine_trigger.click(
        api_refine,
        [*page.api_files.values(), page.api_seg, page.api_clicks, page.api_boxes],
        [page.api_refined, page.api_refine_report],
        api_name="refine",
        api_description=(
            "Refine a segmentation (seg, BraTS 2023 labels on the sequences' grid) with clicks 'I,J,K,SIGN,REGION' "
            "and boxes 'I0,J0,K0,I1,J1,K1,REGION' (input-grid voxels; one per line or ';'-separated)."
        ),
    )


def launch(app: gr.Blocks | None = None, **launch_options) -> None:
    """Serve the app on ``GRADIO_SERVER_NAME``:``GRADIO_SERVER_PORT`` (default 127.0.0.1:7860).

    The default example is read in the background while the server starts, so the first page shows it
    at once. Extra keyword arguments go to ``gr.Blocks.launch``.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    app = app or create_app()
    library: ExampleLibrary | None = getattr(app, "brainseg_library", None)
    if library is not None and library.default is not None:
        threading.Thread(target=_warm, args=(library, library.default), daemon=True).start()
    app.queue(default_concurrency_limit=4)
    options = {
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
        "server_port": int(os.environ.get("GRADIO_SERVER_PORT", "7860")),
        "max_file_size": MAX_FILE_SIZE,
        "state_session_capacity": STATE_SESSIONS,
        "css": CSS,
        "js": JS,
        "theme": gr.themes.Soft(primary_hue="indigo"),
    }
    app.launch(**{**options, **launch_options})


def _warm(library: ExampleLibrary, name: str) -> None:
    # A broken example is reported when a user opens it; warming up is only a head start.
    with contextlib.suppress(BrainSegError):
        library.load(name)
