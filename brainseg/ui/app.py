"""The Gradio app: layout and wiring only; behaviour lives in :mod:`brainseg.ui.viewer`,
:mod:`brainseg.ui.segmentation`, :mod:`brainseg.ui.review` and :mod:`brainseg.ui.api`.

Named API endpoints (for ``gradio_client``):

* ``/segment`` (t1, t1ce, t2, flair, model, prompt) -> (segmentation ``.nii.gz``, report dict with
  ``report["regions"][R]["volume_ml"]``); ``model`` None or empty runs the default model.
* ``/load_example`` (an example name) and ``/load_upload`` (files): the views, slider positions, texts.
* ``/move_axial``, ``/move_coronal``, ``/move_sagittal`` (undocumented): re-render at a cursor.

Checkpoints: every registered variant is offered; where its checkpoint comes from is set by the
environment variable ``BRAINSEG_MODEL_SOURCES`` (see :mod:`brainseg.ui.model_menu`). Errors: a
:class:`brainseg.errors.BrainSegError` becomes a ``gr.Error`` with the same one-line message the CLI prints
(:func:`brainseg.ui.widgets.user_errors`), and the page keeps what it showed.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path

import gradio as gr

from brainseg.errors import BrainSegError
from brainseg.labels import SUBREGIONS
from brainseg.ui import segmentation, viewer
from brainseg.ui.api import segment_files
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.ui.layout import NO_HEAT, NO_RUN, build_page
from brainseg.ui.model_menu import DEFAULT_MODEL, choice_markdown, model_choices
from brainseg.ui.review import EXPORT_CONVENTIONS, Review, export_run
from brainseg.ui.segmentation import SegmenterFactory, default_segmenters
from brainseg.ui.viewer import Screen, Upload
from brainseg.ui.widgets import CSS, display, png_in_cache, user_errors
from brainseg.viz import PLANES
from brainseg.viz.slices import layout
from brainseg.viz.snapshot import compose_snapshot

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


def _plain(markdown: str) -> str:
    """Markdown/HTML of a readout line as plain text (for the snapshot caption)."""
    return re.sub(r"<[^>]+>|\*\*", "", markdown).replace("■", "")


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
    default = library.default
    factory = segmenters or default_segmenters
    choices = model_choices()
    default_model = DEFAULT_MODEL if DEFAULT_MODEL in choices else next(iter(choices))

    with gr.Blocks(title="BrainSeg", analytics_enabled=False, delete_cache=DELETE_CACHE, fill_width=True) as demo:
        page = build_page(library, choices, default_model)

        display_inputs = [
            page.sequence,
            page.fill,
            page.outline,
            page.opacity,
            page.crosshair,
            page.overlay,
            page.difference_region,
            page.heatmap,
            page.accepted,
        ]
        # Sliders in x, y, z order: sagittal cuts at x, coronal at y, axial at z.
        cursor_inputs = [page.sliders[p] for p in sorted(PLANES, key=lambda p: layout(p).slice_axis)]
        view_outputs = [page.images[p] for p in PLANES]
        heat_outputs = [*(page.heat_images[p] for p in PLANES), page.colorbar]
        slider_outputs = [page.sliders[p] for p in PLANES]
        run_outputs = [page.heatmap, page.plot, page.run_info, page.metrics, page.lesions, page.exported]
        full_outputs = [
            *view_outputs,
            *slider_outputs,
            page.title,
            page.readout,
            page.warnings,
            page.summary,
            *heat_outputs,
            *run_outputs,
        ]

        def views(shown: Screen) -> list:
            pictures = [png_in_cache(shown.views[p], page.images[p].GRADIO_CACHE, p) for p in PLANES]
            if shown.heat_views is None:
                return [*pictures, None, None, None, NO_HEAT]
            heat = [png_in_cache(shown.heat_views[p], page.images[p].GRADIO_CACHE, f"heat-{p}") for p in PLANES]
            return [*pictures, *heat, shown.colorbar]

        def split(rendered: list) -> tuple[list, list]:
            return rendered[:3], rendered[3:]

        def run_panel(state: viewer.Session | None, heat: str | None) -> list:
            """Updates of the result panels for the session's run (or their empty state)."""
            run = state.run if state is not None else None
            if run is None:
                empty_lesions = {"headers": segmentation.LESION_HEADERS, "data": []}
                return [
                    gr.Radio(choices=["semantic"], value="semantic"),
                    None,
                    NO_RUN,
                    {"headers": ["region", "predicted mL"], "data": []},
                    empty_lesions,
                    None,
                ]
            names = list(run.heatmaps) or ["semantic"]
            headers, rows = segmentation.metrics_rows(run, state.loaded.case.spacing)
            return [
                gr.Radio(choices=names, value=heat if heat in names else names[0]),
                run.figure,
                segmentation.run_markdown(run),
                {"headers": headers, "data": rows},
                {"headers": segmentation.LESION_HEADERS, "data": segmentation.lesion_rows(run)},
                None,
            ]

        # The handlers' parameter names are the API's parameter names (``client.predict(name=..., sequence=...)``),
        # so they repeat the names of the components they receive, shadowing them inside the handler.

        def full(state, shown: Screen) -> list:
            slider_updates = [gr.Slider(value=v, maximum=m) for v, m in shown.sliders.values()]
            pictures, heat = split(views(shown))
            texts = [shown.title, shown.readout, shown.warnings, shown.summary]
            return [*pictures, *slider_updates, *texts, *heat, *run_panel(state, None)]

        def partial(shown: Screen | None, with_sliders: bool) -> list:
            if shown is None:
                return [gr.skip()] * (2 * len(PLANES) + 2 + (len(PLANES) if with_sliders else 0))
            pictures, heat = split(views(shown))
            values = [gr.Slider(value=v) for v, _ in shown.sliders.values()] if with_sliders else []
            return [*pictures, *heat, *values, shown.readout]

        # Display controls, in the order of ``display_inputs``: sequence, fill, outline, opacity, crosshair,
        # overlay, difference_region, heatmap, accepted (spelt out: Gradio maps inputs to named parameters).

        @user_errors("Cannot load this case")
        def on_example(
            state, name, sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
        ):
            shown_as = display(
                sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
            )
            new_state, shown = viewer.load_example(state, name, shown_as, library)
            return new_state, *full(new_state, shown)

        @user_errors("Cannot load this case")
        def on_upload(
            state,
            t1,
            t1ce,
            t2,
            flair,
            files,
            truth,
            labels,
            sequence,
            fill,
            outline,
            opacity,
            crosshair,
            overlay,
            difference_region,
            heatmap,
            accepted,
            progress=gr.Progress(),  # noqa: B008
        ):
            upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
            progress(0.1, desc="Reading and checking the files")
            shown_as = display(
                sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
            )
            new_state, shown = viewer.load_upload(state, upload, shown_as)
            return new_state, gr.Radio(value=None), *full(new_state, shown)

        @user_errors("Cannot load this case")
        def on_start(state, sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted):
            if state is not None or default is None:
                return [gr.skip()] * (2 + len(full_outputs))
            shown_as = display(
                sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
            )
            new_state, shown = viewer.load_example(state, default, shown_as, library)
            return new_state, gr.Radio(value=default), *full(new_state, shown)

        def on_move(
            state, x, y, z, sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
        ):
            shown_as = display(
                sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
            )
            new_state, shown = viewer.move_cursor(state, (x, y, z), shown_as)
            return new_state, *partial(shown, with_sliders=False)

        def click_handler(plane: str) -> Callable:
            def on_click(
                state,
                x,
                y,
                z,
                sequence,
                fill,
                outline,
                opacity,
                crosshair,
                overlay,
                difference_region,
                heatmap,
                accepted,
                evt: gr.SelectData,
            ):
                if evt.index is None:  # a click on the letterbox around the image
                    return state, *partial(None, with_sliders=True)
                shown_as = display(
                    sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted
                )
                new_state, shown = viewer.click_view(state, plane, evt.index, (x, y, z), shown_as)
                return new_state, *partial(shown, with_sliders=True)

            return on_click

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
            state,
            model,
            prompt,
            uncertainty,
            x,
            y,
            z,
            sequence,
            fill,
            outline,
            opacity,
            crosshair,
            overlay,
            difference_region,
            heatmap,
            accepted,
            progress=gr.Progress(),  # noqa: B008
        ):
            if state is None:
                raise BrainSegError("no case loaded: pick an example or upload a case first")
            if model not in choices:
                raise BrainSegError(f"unknown model {model!r}; valid models: {', '.join(choices)}")

            def report(fraction: float, message: str) -> None:
                progress(fraction, desc=message)

            run = segmentation.run_segmentation(
                state.loaded,
                choices[model],
                prompt,
                uncertainty=bool(uncertainty),
                segmenters=factory,
                progress=report,
            )
            new_state = state.with_run(run)
            # A new run starts with every region accepted and, after a prompt, the prompt's attention map.
            heat = segmentation.PROMPT if segmentation.PROMPT in run.heatmaps else heatmap
            targets = run.result.target_regions
            compared = targets[0] if len(targets) == 1 else difference_region  # the difference of what was asked
            shown_as = display(sequence, fill, outline, opacity, crosshair, overlay, compared, heat, None)
            shown = viewer.screen(new_state, (x, y, z), shown_as)
            pictures, heat_views = split(views(shown))
            seconds = sum(v for k, v in run.timings.items() if k.endswith("(app)") or k == "metrics")
            status = f"✓ Done in {seconds:.1f} s: {run.model} on {run.info.get('device', '?')}"
            return (
                new_state,
                *pictures,
                *heat_views,
                shown.readout,
                *run_panel(new_state, heat),
                gr.CheckboxGroup(value=list(SUBREGIONS)),
                gr.Radio(value=compared),
                segmentation.interpretation_markdown(prompt),
                choice_markdown(choices[model], run.info.get("device", "cpu")),  # with the time just measured
                status,
            )

        @user_errors("Cannot export")
        def on_export(
            state,
            accepted,
            note,
            export_labels,
            x,
            y,
            z,
            sequence,
            fill,
            outline,
            opacity,
            crosshair,
            overlay,
            difference_region,
            heatmap,
            accepted_shown,
            progress=gr.Progress(),  # noqa: B008
        ):
            review = Review(tuple(accepted or ()), note or "", export_labels or EXPORT_CONVENTIONS[0])
            if state is None or state.run is None:
                raise BrainSegError("nothing to export yet: load a case and press Segment first")
            progress(0.2, desc="Writing the segmentation and the report")
            shown_as = display(
                sequence, fill, outline, opacity, crosshair, overlay, difference_region, heatmap, accepted_shown
            )
            shown = viewer.screen(state, (x, y, z), shown_as)
            run = state.run
            caption = [
                f"{state.loaded.case.name} · {run.model} ({run.info.get('size', '?')}) · prompt: "
                f"{run.prompt or 'none (every region)'} · {run.finished}",
                _plain(shown.readout.split("\n")[-1]),
            ]
            heat = viewer.heat_volume(state, shown_as)
            if heat is not None:
                caption.append(f"Lower row: {heat.title}, {heat.low:.2f} (transparent) to {heat.high:.2f} (yellow)")
            caption.append("Research and teaching only, not for clinical use.")
            rows = [list(shown.views.values())] + ([list(shown.heat_views.values())] if shown.heat_views else [])
            out_dir = Path(page.exported.GRADIO_CACHE) / "exports" / uuid.uuid4().hex
            files = export_run(state, review, out_dir, snapshot=compose_snapshot(rows, caption), segmenters=factory)
            uncertainty_file = out_dir / "uncertainty.nii.gz"
            if uncertainty_file.exists():
                files.insert(2, uncertainty_file)
            return [str(p) for p in files]

        @user_errors("Cannot segment")
        def api_segment(t1, t1ce, t2, flair, model, prompt, progress=gr.Progress()):  # noqa: B008
            """Segment four sequence files; returns the segmentation NIfTI and the report."""
            out_dir = Path(page.api_segmentation.GRADIO_CACHE) / "api" / uuid.uuid4().hex

            def report(fraction: float, message: str) -> None:
                progress(fraction, desc=message)

            path, result = segment_files(
                t1, t1ce, t2, flair, model, prompt, out_dir, choices, segmenters=factory, progress=report
            )
            return str(path), result

        # The default example loads when the page opens; a case the user picks or uploads meanwhile wins.
        # Loading shows its progress (and a failure its "Error" badge) on the control used, never on the
        # views: after a bad upload the previous case stays in view, next to the error message.
        start = demo.load(
            on_start,
            [page.session, *display_inputs],
            [page.session, page.example_list, *full_outputs],
            api_visibility="private",
        )
        page.example_list.input(
            on_example,
            [page.session, page.example_list, *display_inputs],
            [page.session, *full_outputs],
            api_name="load_example",
            api_description="Load an example case by name; returns the views and the case texts.",
            cancels=[start],
            show_progress_on=[page.example_list],
        )
        page.load_button.click(
            on_upload,
            [
                page.session,
                *page.slots.values(),
                page.case_files,
                page.truth_file,
                page.label_convention,
                *display_inputs,
            ],
            [page.session, page.example_list, *full_outputs],
            api_name="load_upload",
            api_description="Load uploaded files (four sequences and/or a whole case) and an optional truth.",
            cancels=[start],
            show_progress_on=[page.load_button],
        )
        page.prompt.change(
            on_prompt,
            [page.prompt],
            [page.interpretation],
            queue=False,
            show_progress="hidden",
            api_visibility="private",
        )
        # The card updates first, then a model without checkpoint raises its error (an Error toast).
        page.model.input(on_model, [page.model], [page.model_info], queue=False, api_visibility="private").then(
            check_model, [page.model], None, api_visibility="private", show_progress="hidden"
        )
        page.segment_button.click(
            on_segment,
            [page.session, page.model, page.prompt, page.uncertainty, *cursor_inputs, *display_inputs],
            [
                page.session,
                *view_outputs,
                *heat_outputs,
                page.readout,
                *run_outputs,
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
        )
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
        page.export_button.click(
            on_export,
            [page.session, page.accepted, page.note, page.export_labels, *cursor_inputs, *display_inputs],
            [page.exported],
            api_visibility="private",
            show_progress_on=[page.exported],
        )
        move = {"show_progress": "hidden", "trigger_mode": "always_last"}
        move_outputs = [page.session, *view_outputs, *heat_outputs, page.readout]
        for plane in PLANES:
            page.sliders[plane].input(
                on_move,
                [page.session, *cursor_inputs, *display_inputs],
                move_outputs,
                api_name=f"move_{plane}",
                api_visibility="undocumented",
                **move,
            )
            for picture in (page.images[plane], page.heat_images[plane]):
                picture.select(
                    click_handler(plane),
                    [page.session, *cursor_inputs, *display_inputs],
                    [page.session, *view_outputs, *heat_outputs, *slider_outputs, page.readout],
                    api_visibility="private",
                    **move,
                )
        # ``input``, not ``change``: only the user's own changes re-render. A segmentation sets some controls
        # itself (map, accepted regions, difference region) and has drawn the views with them already; a
        # ``change`` would re-render with values the page may not have settled yet (a radio whose choices
        # and value are replaced together).
        for control in display_inputs:
            control.input(
                on_move, [page.session, *cursor_inputs, *display_inputs], move_outputs, api_visibility="private", **move
            )
    demo.brainseg_library = library  # type: ignore[attr-defined]  # lets launch() warm the default example
    return demo


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
        "theme": gr.themes.Soft(primary_hue="indigo"),
    }
    app.launch(**{**options, **launch_options})


def _warm(library: ExampleLibrary, name: str) -> None:
    # A broken example is reported when a user opens it; warming up is only a head start.
    with contextlib.suppress(BrainSegError):
        library.load(name)
