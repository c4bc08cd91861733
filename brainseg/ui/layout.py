"""The page: every component of the app, laid out; :mod:`brainseg.ui.app` wires them to the callbacks.

Left sidebar: the case (examples, uploads) and the display controls. Main column, top to bottom: the
model, prompt and Segment bar; the three views with their sliders; the cursor readout; then tabs for the
attention and uncertainty maps, the 3D view, scores and timings, review and export, and the case details.
One function per panel. Element ids (``bs-...``) are what the browser tests find.
"""

from __future__ import annotations

import gradio as gr

from brainseg.io.naming import SEQUENCES
from brainseg.labels import CONVENTIONS, EVALUATION_REGIONS, REGIONS, SUBREGIONS
from brainseg.ui import editing, rano_panel, segmentation, teaching, viewer
from brainseg.ui.examples import ExampleLibrary
from brainseg.ui.model_menu import ModelChoice, choice_markdown
from brainseg.ui.review import EXPORT_CONVENTIONS
from brainseg.ui.viewer import OVERLAYS
from brainseg.ui.widgets import legend_html
from brainseg.viz import FILL_REGIONS, OUTLINE_REGIONS, PLANES
from brainseg.viz.slices import layout

SLIDER_LABELS = {"axial": "Axial slice (z)", "coronal": "Coronal slice (y)", "sagittal": "Sagittal slice (x)"}
"""Short, so that the three sliders keep one height (and the views one row) on narrow screens."""
EXAMPLE_PROMPTS = (
    "segment the enhancing tumor",
    "whole tumor",
    "tumor core",
    "peritumoral edema",
    "necrotic core and enhancing rim",
    "segment the liver",
)
"""Shown under the prompt box; the last one shows a refusal."""
LOAD_HINT = (
    "A whole case (zip, or files named by sequence) or all four sequences load as soon as they arrive; "
    "fewer sequences (FLAIR or T1ce at least) load with **Load case**."
)
VIEW_MIN_WIDTH = 200
"""Pixels: three views side by side from a window 800 px wide (the sidebar closed) up."""
NO_RUN = "No segmentation yet: pick a model and press **Segment**."
NO_HEAT = '<div class="bs-colorbar">The attention and uncertainty maps appear here after <b>Segment</b>.</div>'
INTRO = (
    "## BrainSeg\n"
    "<span class='bs-step'>1</span> Pick an example or upload a case (the sidebar on the left; › opens it) · "
    "<span class='bs-step'>2</span> choose a model and, optionally, type what to segment · "
    "<span class='bs-step'>3</span> press **Segment**, then browse the views, attention maps, 3D view and scores, "
    "and review and download the result. Click a view to move the other two there; radiological convention "
    "(the patient's right on your left). Research and teaching only, not for clinical use."
)
DEFAULT_DISPLAY = viewer.DEFAULT


class Page:
    """The app's components by name (``page.prompt``, ``page.images["axial"]`` ...), set by :func:`build_page`,
    and the groups of them that the callbacks read and update (in a fixed order)."""

    images: dict[str, gr.Image]
    sliders: dict[str, gr.Slider]
    heat_images: dict[str, gr.Image]

    @property
    def display_controls(self) -> dict[str, gr.components.Component]:
        """Control name (a :meth:`brainseg.ui.viewer.Display.with_control` name) -> the control."""
        names = (
            "compare_region",
            "sequence",
            "fill",
            "outline",
            "opacity",
            "crosshair",
            "overlay",
            "difference_region",
            "heatmap",
            "diameters",
            "rano_rule",
        )
        return {**{name: getattr(self, name) for name in names}, "accepted": self.accepted}

    @property
    def cursor_inputs(self) -> list[gr.Slider]:
        """The sliders in x, y, z order: sagittal cuts at x, coronal at y, axial at z."""
        return [self.sliders[p] for p in sorted(PLANES, key=lambda p: layout(p).slice_axis)]

    @property
    def view_outputs(self) -> list[gr.Image]:
        return [self.images[p] for p in PLANES]

    @property
    def linked_outputs(self) -> list[gr.components.Component]:
        """The views that follow the cursor beyond the three: the map views, their colorbar, the comparison."""
        return [*(self.heat_images[p] for p in PLANES), self.colorbar, self.compare_view]

    @property
    def slider_outputs(self) -> list[gr.Slider]:
        return [self.sliders[p] for p in PLANES]

    @property
    def run_outputs(self) -> list[gr.components.Component]:
        """What a run fills: map radio, 3D plot, run text, region and lesion tables, downloads, edit history, and
        the RANO table (a new run has not been measured)."""
        return [
            self.heatmap,
            self.plot,
            self.run_info,
            self.metrics,
            self.lesions,
            self.exported,
            self.edit_history,
            self.rano_table,
        ]

    @property
    def edit_inputs(self) -> list[gr.components.Component]:
        """The edit controls, in :class:`brainseg.ui.editing.ToolChoice`'s order."""
        return [self.edit_tool, self.edit_label, self.edit_region, self.brush_mm, self.brush_3d]

    @property
    def edited_outputs(self) -> list[gr.components.Component]:
        """What an edit changes besides the views: the edit history, the run text and the two tables."""
        return [self.edit_history, self.run_info, self.metrics, self.lesions]

    @property
    def full_outputs(self) -> list[gr.components.Component]:
        """Everything a newly loaded case changes (see :func:`brainseg.ui.screen_updates.full`)."""
        texts = [self.title, self.readout, self.warnings, self.summary]
        return [*self.view_outputs, *self.slider_outputs, *texts, *self.linked_outputs, *self.run_outputs, self.overlay]

    @property
    def upload_inputs(self) -> list[gr.components.Component]:
        """The upload form, in the order of ``/load_upload``'s parameters: four slots, files, truth, labels."""
        return [*self.slots.values(), self.case_files, self.truth_file, self.label_convention]

    @property
    def move_outputs(self) -> list[gr.components.Component]:
        """What a cursor move or a display change re-renders (see :func:`brainseg.ui.screen_updates.partial`)."""
        return [self.session, *self.view_outputs, *self.linked_outputs, self.readout]


def _view_image(label: str, elem_id: str, **layout) -> gr.Image:
    """A server-rendered view (PNG, not editable, downloadable, full screen); ``layout`` e.g. ``min_width``."""
    return gr.Image(
        label=label,
        show_label=False,
        format="png",
        interactive=False,
        buttons=["download", "fullscreen"],
        elem_id=elem_id,
        elem_classes="bs-view",
        **layout,
    )


def build_page(library: ExampleLibrary, choices: dict[str, ModelChoice], default_model: str) -> Page:
    """Create every component inside the current ``gr.Blocks`` context and return them.

    Args:
        library: the example cases listed; the default one is preselected.
        choices: every model variant offered, with its checkpoint's state.
        default_model: the variant preselected.
    """
    page = Page()
    page.images, page.sliders, page.heat_images = {}, {}, {}
    page.session = gr.State(None)
    page.display = gr.State(DEFAULT_DISPLAY)  # the display controls' values, one Display per browser tab
    with gr.Sidebar(width=340, elem_id="bs-sidebar"):
        _case_panel(page, library)
        _display_panel(page)
    gr.Markdown(INTRO)
    _run_bar(page, choices, default_model)
    _views(page)
    _edit_panel(page)
    with gr.Tabs(elem_id="bs-result-tabs"):
        _heat_tab(page)
        with gr.Tab("3D", elem_id="bs-tab-3d"):
            page.plot = gr.Plot(label="Predicted regions in 3D", show_label=False, elem_id="bs-plot")
        _scores_tab(page)
        _review_tab(page)
        _case_tab(page)
    # The tools that measure, compare and teach: a second row of tabs, so that each row's labels fit at 800 px.
    with gr.Tabs(elem_id="bs-tool-tabs"):
        _rano_tab(page)
        _compare_tab(page, choices)
        _teaching_tab(page)
    _api_components(page)
    return page


def _case_panel(page: Page, library: ExampleLibrary) -> None:
    """Step 1: the example list and the upload form."""
    gr.Markdown("### <span class='bs-step'>1</span> Case")
    with gr.Tabs():
        with gr.Tab("Examples"):
            page.example_list = gr.Radio(
                [(e.label, e.name) for e in library.examples],
                value=library.default,
                label="Example",
                show_label=False,
                info=None if library.examples else "No examples found; use the Upload tab.",
                elem_id="bs-examples",
            )
        with gr.Tab("Upload"):
            page.case_files = gr.File(
                label="Whole case: one .zip, or the .nii / .nii.gz files named by sequence",
                file_count="multiple",
                height=160,
                elem_id="bs-case-files",
            )
            # Explicit slots override same-role files of the whole-case upload.
            with gr.Accordion("…or one file per sequence (any names)", open=False, elem_id="bs-slots"):
                page.slots = {
                    name: gr.File(label=name, height=110, elem_id=f"bs-file-{name.lower()}") for name in SEQUENCES
                }
            page.truth_file = gr.File(label="Ground truth segmentation (optional)", height=110, elem_id="bs-file-truth")
            page.label_convention = gr.Dropdown(
                ["auto", *CONVENTIONS],
                value="auto",
                label="Truth label convention",
                info="auto tells BraTS 2015, 2017-2021 and 2023 apart; name brats2024 or msd.",
            )
            page.load_button = gr.Button("Load case", variant="primary", elem_id="bs-load")
            page.load_status = gr.Markdown(LOAD_HINT, elem_id="bs-load-status")
            # Filled from each loaded upload: the file each sequence was read from, to change by hand.
            with gr.Accordion("Sequences: reassign a file by hand, register to FLAIR", open=False, elem_id="bs-assign"):
                page.assignments = {
                    name: gr.Dropdown([], value=None, label=name, interactive=True, elem_id=f"bs-assign-{name.lower()}")
                    for name in SEQUENCES
                }
                page.register = gr.Checkbox(
                    False,
                    label="Register to FLAIR",
                    info="rigid, mutual information (SimpleITK): for sequences not co-registered; ~10-25 s each",
                    elem_id="bs-register",
                )
                page.assign_button = gr.Button("Reload with these sequences", elem_id="bs-assign-apply")


def _display_panel(page: Page) -> None:
    """The display controls, each starting at :data:`DEFAULT_DISPLAY`'s value."""
    shown = DEFAULT_DISPLAY
    gr.Markdown("### Display")
    page.overlay = gr.Radio(
        list(OVERLAYS),
        value=shown.overlay,
        label="Overlay",
        info="both: prediction filled, truth outlined · difference: needs a truth",
        elem_id="bs-overlay",
    )
    page.sequence = gr.Radio(list(SEQUENCES), value=shown.sequence, label="Background sequence")
    page.fill = gr.CheckboxGroup(list(FILL_REGIONS), value=list(shown.fill), label="Fill regions")
    page.outline = gr.CheckboxGroup(list(OUTLINE_REGIONS), value=list(shown.outline), label="Outline regions")
    page.difference_region = gr.Radio(
        list(REGIONS), value=shown.difference_region, label="Region of the difference overlay"
    )
    page.opacity = gr.Slider(0, 1, value=shown.opacity, step=0.05, label="Fill opacity", buttons=[])
    page.crosshair = gr.Checkbox(value=shown.crosshair, label="Crosshair")
    gr.HTML(legend_html())


def _run_bar(page: Page, choices: dict[str, ModelChoice], default_model: str) -> None:
    """Steps 2 and 3: model, prompt, uncertainty, Segment."""
    with gr.Row(equal_height=False, elem_id="bs-run-bar"):
        with gr.Column(scale=3, min_width=260):
            page.model = gr.Dropdown(
                [(c.label, name) for name, c in choices.items()],
                value=default_model,
                label="2 · Model",
                elem_id="bs-model",
            )
            page.model_info = gr.Markdown(choice_markdown(choices[default_model]), elem_id="bs-model-info")
        with gr.Column(scale=4, min_width=300):
            page.prompt = gr.Textbox(
                label="Prompt (optional): what to segment",
                placeholder="e.g. segment the enhancing tumor; empty = every region",
                lines=1,
                max_lines=3,
                elem_id="bs-prompt",
            )
            page.interpretation = gr.Markdown(segmentation.interpretation_markdown(None), elem_id="bs-interpretation")
            gr.Examples(
                [[p] for p in EXAMPLE_PROMPTS],
                inputs=[page.prompt],
                label="Example prompts",
                api_name="example_prompt",  # its default, load_example, is the example-case endpoint's name
                api_visibility="private",
            )
        with gr.Column(scale=2, min_width=200):
            page.uncertainty = gr.Checkbox(
                value=False,
                label="Uncertainty map",
                info="one more (mirrored) network pass",
                elem_id="bs-uncertainty",
            )
            page.segment_button = gr.Button("3 · Segment", variant="primary", elem_id="bs-segment")
            page.run_status = gr.Markdown("", elem_id="bs-run-status")


def _views(page: Page) -> None:
    """The case title, the three views with their slice sliders, and the cursor readout."""
    page.title = gr.Markdown("### No case loaded\nPick an example or upload a case.", label="Case", elem_id="bs-title")
    with gr.Row(equal_height=True):
        for plane in PLANES:
            with gr.Column(min_width=VIEW_MIN_WIDTH):
                page.images[plane] = _view_image(plane.capitalize(), f"bs-view-{plane}")
                page.sliders[plane] = gr.Slider(
                    0, 1, value=0, step=1, label=SLIDER_LABELS[plane], buttons=[], elem_id=f"bs-slider-{plane}"
                )
    page.readout = gr.Markdown(label="Cursor", elem_id="bs-readout")


def _edit_panel(page: Page) -> None:
    """The correction tools: what a click on a view does, its label or region and size, undo, redo, reset,
    and the edit history."""
    page.box_corner = gr.State(None)  # a box's first corner, waiting for the second click
    title = "✎ Correct the segmentation: brush, eraser, clicks, box, undo"
    with gr.Accordion(title, open=False, elem_id="bs-edit"), gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=280):
            page.edit_tool = gr.Radio(
                list(editing.TOOLS),
                value=editing.MOVE,
                label="A click on a view",
                info=editing.TOOLS[editing.MOVE],
                elem_id="bs-edit-tool",
            )
            with gr.Row():
                page.edit_label = gr.Radio(
                    list(editing.PAINT_LABELS),
                    value="ED",
                    label="Label (brush, fill hole)",
                    min_width=140,
                    elem_id="bs-edit-label",
                )
                page.edit_region = gr.Radio(
                    list(editing.EDIT_REGIONS),
                    value="WT",
                    label="Region (remove, clicks, box)",
                    min_width=140,
                    elem_id="bs-edit-region",
                )
            with gr.Row():
                page.brush_mm = gr.Slider(
                    1, 30, value=5, step=1, label="Brush radius (mm)", buttons=[], elem_id="bs-brush-mm"
                )
                page.brush_3d = gr.Checkbox(value=False, label="3D brush (sphere)", elem_id="bs-brush-3d")
        with gr.Column(scale=2, min_width=240):
            with gr.Row():
                page.undo_button = gr.Button("↶ Undo", size="sm", elem_id="bs-undo")
                page.redo_button = gr.Button("↷ Redo", size="sm", elem_id="bs-redo")
                page.reset_button = gr.Button("Back to the model", size="sm", elem_id="bs-reset")
            page.edit_history = gr.Markdown(editing.history_markdown(None), elem_id="bs-edit-history")


def _heat_tab(page: Page) -> None:
    """The map choice, its colorbar and the three map views."""
    with gr.Tab("Attention maps", elem_id="bs-tab-heat"):
        with gr.Row(equal_height=True):
            page.heatmap = gr.Radio(
                [DEFAULT_DISPLAY.heatmap],
                value=DEFAULT_DISPLAY.heatmap,
                label="Map",
                info="prompt: the attention for the regions asked; uncertainty needs its checkbox",
                scale=2,
                elem_id="bs-heatmap",
            )
            page.colorbar = gr.HTML(NO_HEAT, elem_id="bs-colorbar")
        with gr.Row(equal_height=True):
            for plane in PLANES:
                with gr.Column(min_width=VIEW_MIN_WIDTH):  # as the views: a column each, or they collapse
                    page.heat_images[plane] = _view_image(f"{plane.capitalize()} map", f"bs-heat-{plane}")


def _scores_tab(page: Page) -> None:
    """What ran, the region table and the lesion-wise table."""
    with gr.Tab("Scores", elem_id="bs-tab-metrics"):
        page.run_info = gr.Markdown(NO_RUN, elem_id="bs-run-info")
        page.metrics = gr.Dataframe(
            headers=["region", "predicted mL"],
            label="Regions (volumes; with a truth also Dice, IoU, precision, sensitivity, HD95)",
            interactive=False,
            elem_id="bs-metrics",
        )
        page.lesions = gr.Dataframe(
            headers=segmentation.LESION_HEADERS,
            label="Lesion-wise (BraTS 2023 rules; needs a truth)",
            interactive=False,
            elem_id="bs-lesions",
        )


def _rano_tab(page: Page) -> None:
    """Measure the enhancing lesions (RANO), draw the diameters, and compare with an earlier segmentation."""
    with gr.Tab("RANO", elem_id="bs-tab-rano"), gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=260):
            page.rano_rule = gr.Radio(
                [("RANO 2.0 (3 targets)", "rano2"), ("RANO (5 targets)", "rano")],
                value=DEFAULT_DISPLAY.rano_rule,
                label="Rule",
                elem_id="bs-rano-rule",
            )
            page.baseline_file = gr.File(
                label="Earlier segmentation of the same patient (optional): percent change and response",
                file_types=[".nii", ".gz"],
                elem_id="bs-rano-baseline",
            )
            page.measure_button = gr.Button("Measure", variant="primary", elem_id="bs-rano-measure")
            page.diameters = gr.Checkbox(
                value=DEFAULT_DISPLAY.diameters, label="Draw the diameters on the axial view", elem_id="bs-diameters"
            )
        with gr.Column(scale=3):
            page.rano_table = gr.Markdown(rano_panel.NOTHING_MEASURED, elem_id="bs-rano-table")
            page.rano_response = gr.Markdown("", elem_id="bs-rano-response")


def _compare_tab(page: Page, choices: dict[str, ModelChoice]) -> None:
    """Run several variants, one row of views each and the agreement row, their volumes, times and Dice."""
    available = [name for name, choice in choices.items() if choice.available]
    with gr.Tab("Compare", elem_id="bs-tab-compare"):
        with gr.Row(equal_height=False):
            page.compare_models = gr.CheckboxGroup(
                available,
                value=available[:3],
                label="Variants to compare (two or more)",
                scale=3,
                elem_id="bs-compare-models",
            )
            page.compare_region = gr.Radio(
                list(EVALUATION_REGIONS),
                value=DEFAULT_DISPLAY.compare_region,
                label="Agreement on",
                scale=1,
                elem_id="bs-compare-region",
            )
            page.compare_button = gr.Button("Run and compare", variant="primary", scale=1, elem_id="bs-compare")
        gr.Markdown(
            "One row per variant, then how many of them call each voxel the region (teal: all; red: all but one, "
            "to yellow: one); through the cursor of the views above, which the sliders and clicks move."
        )
        page.compare_view = gr.Image(
            label="Comparison",
            show_label=False,
            format="png",
            interactive=False,
            buttons=["download", "fullscreen"],
            elem_id="bs-compare-view",
        )
        with gr.Row():
            page.compare_volumes = gr.Dataframe(
                headers=["variant", "WT mL", "TC mL", "ET mL", "seconds"],
                label="Volumes and times",
                interactive=False,
                elem_id="bs-compare-volumes",
            )
            page.compare_dice = gr.Dataframe(
                headers=["pair", "Dice WT", "Dice TC", "Dice ET"],
                label="Agreement between variants (Dice)",
                interactive=False,
                elem_id="bs-compare-dice",
            )


def _teaching_tab(page: Page) -> None:
    """Hide the truth, draw (with the correction tools) or answer a question by clicking, then be scored."""
    with gr.Tab("Teaching", elem_id="bs-tab-teaching"):
        gr.Markdown(
            "For a case with a truth: **Start drawing** hides the truth and gives you an empty segmentation; draw "
            "NCR, ED and ET with the tools of *Correct the segmentation* (brush, eraser, clicks, box, undo), then "
            "**Score my drawing**: Dice, HD95 and the BraTS lesion-wise scores per region, the difference in the "
            "views, and what each region looks like in this case. A model's result on screen is kept to score "
            "your drawing against it too. Your drawing stays in this browser tab."
        )
        with gr.Row():
            page.teach_start = gr.Button("Start drawing (hide the truth)", elem_id="bs-teach-start")
            page.teach_score = gr.Button("Score my drawing", variant="primary", elem_id="bs-teach-score")
            page.teach_export = gr.Button("Export my drawing", elem_id="bs-teach-export")
        with gr.Row(equal_height=False):
            with gr.Column(scale=2, min_width=260):
                page.quiz = gr.Radio(
                    list(teaching.QUESTIONS),
                    value=next(iter(teaching.QUESTIONS)),
                    label="Quiz: move the cursor there (click a view), then check",
                    elem_id="bs-quiz",
                )
                page.quiz_check = gr.Button("Check the voxel under the cursor", size="sm", elem_id="bs-quiz-check")
                page.quiz_answer = gr.Markdown("", elem_id="bs-quiz-answer")
            with gr.Column(scale=3):
                page.teach_scores = gr.Markdown("", elem_id="bs-teach-scores")
                page.teach_files = gr.File(
                    label="Your drawing: segmentation (input grid) and report.json with its scores",
                    file_count="multiple",
                    interactive=False,
                    elem_id="bs-teach-files",
                )


def _review_tab(page: Page) -> None:
    """Accept or reject each sub-region, a note, the export's label values, the downloads."""
    with gr.Tab("Review & export", elem_id="bs-tab-review"), gr.Row():
        with gr.Column(scale=2):
            page.accepted = gr.CheckboxGroup(
                list(SUBREGIONS),
                value=list(SUBREGIONS),
                label="Accepted regions",
                info="Untick a region to reject it: it leaves the views and the exported segmentation.",
                elem_id="bs-accepted",
            )
            page.note = gr.Textbox(label="Reviewer note", lines=3, max_lines=8, elem_id="bs-note")
            page.export_labels = gr.Radio(
                list(EXPORT_CONVENTIONS),
                value=EXPORT_CONVENTIONS[0],
                label="Label values of the exported NIfTI",
                info="brats2023: ET = 3 · brats2021: ET = 4",
            )
            page.export_button = gr.Button("Export reviewed result", variant="primary", elem_id="bs-export")
        with gr.Column(scale=3):
            page.exported = gr.File(
                label="Downloads: segmentation (input grid and affine), report.json, snapshot",
                file_count="multiple",
                interactive=False,
                elem_id="bs-exported",
            )


def _case_tab(page: Page) -> None:
    """The case's warnings and its ``brainseg inspect`` summary."""
    with gr.Tab("Case details", elem_id="bs-tab-case"), gr.Row(equal_height=False):
        with gr.Column(scale=1):
            page.warnings = gr.HTML(label="Warnings", elem_id="bs-warnings")
        with gr.Column(scale=2):
            page.summary = gr.Textbox(
                label="Inspect summary",
                lines=12,
                max_lines=40,
                interactive=False,
                elem_id="bs-summary",
            )


def _api_components(page: Page) -> None:
    """Hidden components of the /segment and /refine endpoints (an API only: the page works on the case on
    screen)."""
    with gr.Group(visible=False):
        page.api_files = {name: gr.File(label=f"{name} (API)", visible=False) for name in SEQUENCES}
        page.api_model = gr.Textbox(label="model (API)", visible=False)
        page.api_prompt = gr.Textbox(label="prompt (API)", visible=False)
        page.api_segmentation = gr.File(label="segmentation (API)", visible=False)
        page.api_report = gr.JSON(label="report (API)", visible=False)
        page.api_trigger = gr.Button(visible=False)
        page.api_seg = gr.File(label="seg (API)", visible=False)
        page.api_clicks = gr.Textbox(label="clicks (API)", visible=False)
        page.api_boxes = gr.Textbox(label="boxes (API)", visible=False)
        page.api_refined = gr.File(label="refined segmentation (API)", visible=False)
        page.api_refine_report = gr.JSON(label="refine report (API)", visible=False)
        page.api_refine_trigger = gr.Button(visible=False)
