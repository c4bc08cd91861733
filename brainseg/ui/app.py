"""The Gradio viewer: layout and wiring only; behaviour lives in :mod:`brainseg.ui.callbacks`.

Named API endpoints (for ``gradio_client``): ``/load_example`` (an example name) and ``/load_upload``
(files). Both return the three views (PNG), the three slider positions, the title, the cursor readout,
the warnings and the inspect summary. This module is the one place where a
:class:`brainseg.errors.BrainSegError` becomes a ``gr.Error`` with the same one-line message the CLI prints.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import html
import io
import os
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import gradio as gr
import numpy as np
from PIL import Image

from brainseg.errors import BrainSegError
from brainseg.io.naming import SEQUENCES
from brainseg.labels import CONVENTIONS, REGION_NAMES
from brainseg.ui import callbacks
from brainseg.ui.callbacks import Display, Screen, Upload
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.viz import FILL_REGIONS, OUTLINE_REGIONS, PLANES, REGION_COLORS
from brainseg.viz.slices import layout

MAX_FILE_SIZE = "1gb"
"""Largest accepted upload (a zip of four BraTS volumes is ~40 MB compressed; float32 NIfTI ~140 MB each)."""
DELETE_CACHE = (3600, 7200)
"""Every hour, delete uploaded and rendered files older than two hours."""
STATE_SESSIONS = 32
"""Sessions whose case is kept in memory (oldest dropped first): an uploaded BraTS-size case takes ~180 MB."""

SLIDER_LABELS = {"axial": "Axial slice (z)", "coronal": "Coronal slice (y)", "sagittal": "Sagittal slice (x)"}
"""Short, so that the three sliders keep one height (and the views one row) on narrow screens."""

CSS = """
.bs-view img { background: #000; }
#bs-summary textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.bs-warnings { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.10); padding: 6px 10px;
  border-radius: 4px; }
.bs-warnings ul { margin: 4px 0 0 0; }
.bs-warnings.bs-none { border-left-color: #10b981; background: rgba(16, 185, 129, 0.10); }
.bs-legend { font-size: 13px; line-height: 1.9; }
.bs-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin: 0 4px 0 10px;
  vertical-align: -1px; }
.bs-ring { background: transparent !important; border: 2px solid; }
"""


def _legend_html() -> str:
    def entry(region: str, ring: bool) -> str:
        r, g, b = REGION_COLORS[region]
        style = f"border-color: rgb({r},{g},{b})" if ring else f"background: rgb({r},{g},{b})"
        title = html.escape(REGION_NAMES[region])
        swatch = f'<span class="bs-swatch{" bs-ring" if ring else ""}" style="{style}"></span>'
        return f'<span title="{title}">{swatch}{region}</span>'

    fills = "".join(entry(r, False) for r in FILL_REGIONS)
    outlines = "".join(entry(r, True) for r in OUTLINE_REGIONS)
    return f'<div class="bs-legend">Fill:{fills}<br>Outline:{outlines}</div>'


def _png_in_cache(image: np.ndarray, cache_dir: str, name: str) -> str:
    """Encode an (H, W, 3) uint8 view as PNG into Gradio's cache folder and return its path.

    Gradio would encode a returned array itself at zlib level 6 (~20 ms for a 480 x 480 view);
    level 1 takes a third of that for files ~15 % larger, which matters three times per slice change.
    A path already inside the cache is served as is (and aged out by ``delete_cache``).
    """
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="png", compress_level=1)
    data = buffer.getvalue()
    folder = Path(cache_dir) / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if not path.exists():
        staging = folder / f".{name}.{threading.get_ident()}.png"
        staging.write_bytes(data)
        staging.replace(path)  # atomic: a concurrent reader never sees half a file
    return str(path)


def _user_errors(fn: Callable) -> Callable:
    """Show bad input as a ``gr.Error`` with the CLI's one-line message; the session keeps what it showed."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BrainSegError as exc:
            raise gr.Error(str(exc), title="Cannot load this case", print_exception=False) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            message = f"{exc.filename or exc}: {exc.strerror or 'cannot be read'}"
            raise gr.Error(message, title="Cannot read a file", print_exception=False) from None

    return wrapper


def _display(sequence: str | None, fill, outline, opacity: float | None, crosshair: bool | None) -> Display:
    """The display controls' values (as Gradio passes them) as a :class:`Display`."""
    default = Display()
    return Display(
        sequence or default.sequence,
        tuple(fill or ()),
        tuple(outline or ()),
        default.opacity if opacity is None else float(opacity),
        default.crosshair if crosshair is None else bool(crosshair),
    )


def _as_library(examples: ExampleLibrary | Iterable[Example | str | Path] | None) -> ExampleLibrary:
    if examples is None:
        return ExampleLibrary()
    if isinstance(examples, ExampleLibrary):
        return examples
    return ExampleLibrary([e if isinstance(e, Example) else Example.from_folder(Path(e)) for e in examples])


def create_app(examples: ExampleLibrary | Iterable[Example | str | Path] | None = None) -> gr.Blocks:
    """Build the viewer.

    Args:
        examples: the example cases to offer: an :class:`ExampleLibrary`, or a list of :class:`Example`
            or case folders; default: every folder under ``assets/examples/`` plus the real cases of
            ``../shared/data/real/`` when present. The first bundled example is shown on page load.
    """
    library = _as_library(examples)
    default = library.default

    with gr.Blocks(
        title="BrainSeg viewer", analytics_enabled=False, delete_cache=DELETE_CACHE, fill_width=True
    ) as demo:
        session = gr.State(None)
        with gr.Sidebar(width=340, elem_id="bs-sidebar"):
            gr.Markdown("### Case")
            with gr.Tabs():
                with gr.Tab("Examples"):
                    example_list = gr.Radio(
                        [(e.label, e.name) for e in library.examples],
                        value=default,
                        label="Example",
                        show_label=False,
                        info=None if library.examples else "No examples found; use the Upload tab.",
                        elem_id="bs-examples",
                    )
                with gr.Tab("Upload"):
                    case_files = gr.File(
                        label="Whole case: one .zip, or the .nii / .nii.gz files named by sequence",
                        file_count="multiple",
                        height=180,
                        elem_id="bs-case-files",
                    )
                    # Explicit slots override same-role files of the whole-case upload.
                    with gr.Accordion("…or one file per sequence (any names)", open=False, elem_id="bs-slots"):
                        slots = {
                            name: gr.File(label=name, height=120, elem_id=f"bs-file-{name.lower()}")
                            for name in SEQUENCES
                        }
                    truth_file = gr.File(
                        label="Ground truth segmentation (optional)", height=120, elem_id="bs-file-truth"
                    )
                    label_convention = gr.Dropdown(
                        ["auto", *CONVENTIONS],
                        value="auto",
                        label="Truth label convention",
                        info="auto tells BraTS 2015, 2017-2021 and 2023 apart; name brats2024 or msd.",
                    )
                    load_button = gr.Button("Load case", variant="primary", elem_id="bs-load")
            gr.Markdown("### Display")
            sequence = gr.Radio(list(SEQUENCES), value=callbacks.DEFAULT_SEQUENCE, label="Background sequence")
            fill = gr.CheckboxGroup(
                list(FILL_REGIONS),
                value=list(FILL_REGIONS),
                label="Fill truth regions",
                info="Drawn when the case has a ground truth.",
            )
            outline = gr.CheckboxGroup(list(OUTLINE_REGIONS), value=[], label="Outline truth regions")
            opacity = gr.Slider(0, 1, value=Display().opacity, step=0.05, label="Fill opacity", buttons=[])
            crosshair = gr.Checkbox(value=True, label="Crosshair")
            gr.HTML(_legend_html())

        gr.Markdown(
            "## BrainSeg viewer\nFour-sequence brain MRI (T1, T1ce, T2, FLAIR) in three planes, with the tumor "
            "ground truth overlaid when there is one. Click a view to move the other two there. Radiological "
            "convention: the patient's right is on your left. Research and teaching only, not for clinical use."
        )
        title = gr.Markdown("### No case loaded\nPick an example or upload a case.", label="Case", elem_id="bs-title")
        images: dict[str, gr.Image] = {}
        sliders: dict[str, gr.Slider] = {}
        with gr.Row(equal_height=True):
            for plane in PLANES:
                with gr.Column(min_width=240):
                    images[plane] = gr.Image(
                        label=plane.capitalize(),
                        show_label=False,
                        format="png",
                        interactive=False,
                        buttons=["download", "fullscreen"],
                        elem_id=f"bs-view-{plane}",
                        elem_classes="bs-view",
                    )
                    sliders[plane] = gr.Slider(
                        0, 1, value=0, step=1, label=SLIDER_LABELS[plane], buttons=[], elem_id=f"bs-slider-{plane}"
                    )
        readout = gr.Markdown(label="Cursor", elem_id="bs-readout")
        with gr.Row(equal_height=False):
            with gr.Column(scale=1):
                warnings = gr.HTML(label="Warnings", elem_id="bs-warnings")
            with gr.Column(scale=2), gr.Accordion("Inspect summary", open=True):
                summary = gr.Textbox(
                    label="Inspect summary",
                    show_label=False,
                    lines=12,
                    max_lines=40,
                    interactive=False,
                    elem_id="bs-summary",
                )

        display_inputs = [sequence, fill, outline, opacity, crosshair]
        # Sliders in x, y, z order: sagittal cuts at x, coronal at y, axial at z.
        cursor_inputs = [sliders[p] for p in sorted(PLANES, key=lambda p: layout(p).slice_axis)]
        view_outputs = [images[p] for p in PLANES]
        slider_outputs = [sliders[p] for p in PLANES]
        full_outputs = [*view_outputs, *slider_outputs, title, readout, warnings, summary]

        def views(shown: Screen) -> list[str]:
            return [_png_in_cache(shown.views[p], images[p].GRADIO_CACHE, p) for p in PLANES]

        # The handlers' parameter names are the API's parameter names (``client.predict(name=..., sequence=...)``),
        # so they repeat the names of the components they receive, shadowing them inside the handler.

        def full(shown: Screen) -> list:
            slider_updates = [gr.Slider(value=v, maximum=m) for v, m in shown.sliders.values()]
            return [*views(shown), *slider_updates, shown.title, shown.readout, shown.warnings, shown.summary]

        def partial(shown: Screen | None, with_sliders: bool) -> list:
            if shown is None:
                return [gr.skip()] * (len(PLANES) * (2 if with_sliders else 1) + 1)
            values = [gr.Slider(value=v) for v, _ in shown.sliders.values()] if with_sliders else []
            return [*views(shown), *values, shown.readout]

        @_user_errors
        def on_example(state, name, sequence, fill, outline, opacity, crosshair):
            display = _display(sequence, fill, outline, opacity, crosshair)
            new_state, shown = callbacks.load_example(state, name, display, library)
            return new_state, *full(shown)

        @_user_errors
        def on_upload(state, t1, t1ce, t2, flair, files, truth, labels, sequence, fill, outline, opacity, crosshair):
            upload = Upload(t1, t1ce, t2, flair, files or (), truth, labels or "auto")
            display = _display(sequence, fill, outline, opacity, crosshair)
            new_state, shown = callbacks.load_upload(state, upload, display)
            return new_state, gr.Radio(value=None), *full(shown)

        @_user_errors
        def on_start(state, sequence, fill, outline, opacity, crosshair):
            if state is not None or default is None:
                return [gr.skip()] * (2 + len(full_outputs))
            display = _display(sequence, fill, outline, opacity, crosshair)
            new_state, shown = callbacks.load_example(state, default, display, library)
            return new_state, gr.Radio(value=default), *full(shown)

        def on_move(state, x, y, z, sequence, fill, outline, opacity, crosshair):
            display = _display(sequence, fill, outline, opacity, crosshair)
            new_state, shown = callbacks.move_cursor(state, (x, y, z), display)
            return new_state, *partial(shown, with_sliders=False)

        def click_handler(plane: str) -> Callable:
            def on_click(state, x, y, z, sequence, fill, outline, opacity, crosshair, evt: gr.SelectData):
                display = _display(sequence, fill, outline, opacity, crosshair)
                if evt.index is None:  # a click on the letterbox around the image
                    return state, *partial(None, with_sliders=True)
                new_state, shown = callbacks.click_view(state, plane, evt.index, (x, y, z), display)
                return new_state, *partial(shown, with_sliders=True)

            return on_click

        # The default example loads when the page opens; a case the user picks or uploads meanwhile wins.
        # Loading shows its progress (and a failure its "Error" badge) on the control used, never on the
        # views: after a bad upload the previous case stays in view, next to the error message.
        start = demo.load(
            on_start,
            [session, *display_inputs],
            [session, example_list, *full_outputs],
            api_visibility="private",
        )
        example_list.input(
            on_example,
            [session, example_list, *display_inputs],
            [session, *full_outputs],
            api_name="load_example",
            api_description="Load an example case by name; returns the three views and the case texts.",
            cancels=[start],
            show_progress_on=[example_list],
        )
        load_button.click(
            on_upload,
            [session, *slots.values(), case_files, truth_file, label_convention, *display_inputs],
            [session, example_list, *full_outputs],
            api_name="load_upload",
            api_description="Load uploaded files (four sequences and/or a whole case) and an optional truth.",
            cancels=[start],
            show_progress_on=[load_button],
        )
        move = {"show_progress": "hidden", "trigger_mode": "always_last"}
        for plane in PLANES:
            sliders[plane].input(
                on_move,
                [session, *cursor_inputs, *display_inputs],
                [session, *view_outputs, readout],
                api_name=f"move_{plane}",
                api_visibility="undocumented",
                **move,
            )
            images[plane].select(
                click_handler(plane),
                [session, *cursor_inputs, *display_inputs],
                [session, *view_outputs, *slider_outputs, readout],
                api_visibility="private",
                **move,
            )
        for control in display_inputs:
            event = control.input if isinstance(control, gr.Slider) else control.change
            event(
                on_move,
                [session, *cursor_inputs, *display_inputs],
                [session, *view_outputs, readout],
                api_visibility="private",
                **move,
            )
    demo.brainseg_library = library  # type: ignore[attr-defined]  # lets launch() warm the default example
    return demo


def launch(app: gr.Blocks | None = None, **launch_options) -> None:
    """Serve the viewer on ``GRADIO_SERVER_NAME``:``GRADIO_SERVER_PORT`` (default 127.0.0.1:7860).

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
