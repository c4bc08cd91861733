"""The Gradio wiring, built in-process (no server): endpoints, examples, launch settings."""

import json
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from brainseg.models import list_models
from brainseg.ui import app as app_module
from brainseg.ui import model_menu
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.ui.model_menu import DEFAULT_MODEL, model_choices
from brainseg.ui.viewer import Display
from tests.casefiles import write_case
from tests.ui.fakes import FakeFactory


def _api_names(demo: gr.Blocks) -> set[str]:
    return {fn.api_name for fn in demo.fns.values() if fn.api_name}


def _public_api_names(demo: gr.Blocks) -> set[str]:
    return {fn.api_name for fn in demo.fns.values() if fn.api_name and fn.api_visibility != "private"}


def test_app_builds_without_examples_and_names_its_endpoints():
    demo = app_module.create_app(ExampleLibrary([]))
    assert _public_api_names(demo) == {"segment", "refine", "load_example", "load_upload", "move_axial", "move_coronal",
                                       "move_sagittal"}  # fmt: skip
    assert demo.delete_cache == app_module.DELETE_CACHE
    assert demo.brainseg_library.default is None


def test_every_model_variant_is_offered_and_segmentations_share_one_queue_limit():
    demo = app_module.create_app(ExampleLibrary([]))
    dropdown = next(b for b in demo.blocks.values() if isinstance(b, gr.Dropdown) and b.elem_id == "bs-model")
    assert [value for _, value in dropdown.choices] == list_models()
    assert dropdown.value == DEFAULT_MODEL
    runs = [fn for fn in demo.fns.values() if fn.name in ("on_segment", "api_segment")]
    assert len(runs) == 2
    assert {(fn.concurrency_id, fn.concurrency_limit) for fn in runs} == {("segment", app_module.SEGMENT_CONCURRENCY)}


def test_examples_can_be_given_as_folders(tmp_path):
    write_case(tmp_path / "case-a", truth=True)
    write_case(tmp_path / "case-b", truth=False)
    demo = app_module.create_app([tmp_path / "case-a", str(tmp_path / "case-b")])
    assert [(e.name, e.has_truth) for e in demo.brainseg_library.examples] == [("case-a", True), ("case-b", False)]
    demo = app_module.create_app([Example("x", tmp_path, "real", False)])
    assert demo.brainseg_library.default == "x"


@pytest.fixture
def captured(monkeypatch):
    """Record what launch() asks of Gradio instead of starting a server."""
    calls = {}

    def queue(self, **options):
        calls["queue"] = options
        return self

    def launch(self, **options):
        calls["launch"] = options

    monkeypatch.setattr(gr.Blocks, "queue", queue)
    monkeypatch.setattr(gr.Blocks, "launch", launch)
    return calls


def test_launch_defaults_to_localhost_7860_with_upload_limits(captured, monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    app_module.launch(app_module.create_app(ExampleLibrary([])))
    options = captured["launch"]
    assert (options["server_name"], options["server_port"]) == ("127.0.0.1", 7860)
    assert options["max_file_size"] == "1gb"
    assert options["state_session_capacity"] == app_module.STATE_SESSIONS
    assert "queue" in captured


def test_launch_honours_the_gradio_environment(captured, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    app_module.launch(app_module.create_app(ExampleLibrary([])))
    assert (captured["launch"]["server_name"], captured["launch"]["server_port"]) == ("0.0.0.0", 7999)


def _handler(demo: gr.Blocks, name: str):
    return next(fn.fn for fn in demo.fns.values() if fn.name == name)


def test_picking_a_model_without_checkpoint_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.delenv("BRAINSEG_MODEL_SOURCES", raising=False)
    monkeypatch.setattr(model_menu, "BUNDLED_DIR", tmp_path / "nothing-bundled")  # whatever the repo ships
    demo = app_module.create_app(ExampleLibrary([]))
    missing = [c for c in model_choices().values() if not c.available]
    assert [c.name for c in missing] == list_models()
    with pytest.raises(gr.Error, match=f"no trained checkpoint for {missing[0].name} is bundled yet"):
        _handler(demo, "check_model")(missing[0].name)
    assert "⚠ no trained checkpoint" in _handler(demo, "on_model")(missing[0].name)


NO_UPLOAD = (None, None, None, None, None, None, "auto")  # the upload form, empty


def test_segment_then_export_through_the_handlers(tiny_library, demo_checkpoint, monkeypatch):
    monkeypatch.setenv("BRAINSEG_MODEL_SOURCES", f"{DEFAULT_MODEL}=local-dir:{demo_checkpoint}")
    factory = FakeFactory()
    demo = app_module.create_app(tiny_library, segmenters=factory)
    shown_as = Display()
    state, _, *_ = _handler(demo, "on_example")(None, shown_as, "Case-001")
    with pytest.raises(gr.Error, match="'liver' is outside"):
        _handler(demo, "on_segment")(state, shown_as, DEFAULT_MODEL, "the liver", False, 5, 6, 4, *NO_UPLOAD)
    outputs = _handler(demo, "on_segment")(state, shown_as, DEFAULT_MODEL, "tumor core", True, 5, 6, 4, *NO_UPLOAD)
    new_state, after, status = outputs[0], outputs[1], outputs[-1]
    assert new_state.run is not None and state.run is None
    assert status.startswith("✓ Done in") and f"{DEFAULT_MODEL} on cpu" in status
    assert "uncertainty" in new_state.run.heatmaps
    # The run chose the prompt's map and the difference of the one region asked, in the display state.
    assert (after.heatmap, after.difference_region, after.rejected) == ("prompt", "TC", ())
    # Unticking ED in the review is one small handler: the display state and the views follow.
    reviewed, same_state, *views = _handler(demo, "on_accepted")(new_state, after, 5, 6, 4, ["NCR", "ET"])
    assert reviewed.rejected == ("ED",) and same_state is new_state
    assert "rejected, hidden: ED" in views[-1]
    files = _handler(demo, "on_export")(new_state, reviewed, ["NCR", "ET"], "checked", "brats2023", 5, 6, 4)
    assert [Path(f).name for f in files] == ["segmentation.nii.gz", "report.json", "uncertainty.nii.gz", "snapshot.png"]
    report = json.loads(Path(files[1]).read_text())
    assert report["review"]["decisions"]["ED"] == "rejected" and report["review"]["reviewer_note"] == "checked"
    assert report["target_regions"] == ["TC"]
    snapshot = Image.open(files[3])
    assert snapshot.size[0] >= 3 * 480 and snapshot.size[1] > 2 * 480  # the views and the heat-map views


def test_undo_through_the_handler_and_a_new_segment_says_the_corrections_are_dropped(tiny_library, demo_checkpoint,
                                                                                     monkeypatch):  # fmt: skip
    from brainseg.ui import editing

    monkeypatch.setenv("BRAINSEG_MODEL_SOURCES", f"{DEFAULT_MODEL}=local-dir:{demo_checkpoint}")
    demo = app_module.create_app(tiny_library, segmenters=FakeFactory())
    shown_as = Display()
    state, _, *_ = _handler(demo, "on_example")(None, shown_as, "Case-001")
    segmented = _handler(demo, "on_segment")(state, shown_as, DEFAULT_MODEL, "", False, 5, 6, 4, *NO_UPLOAD)[0]
    edited, _, _ = editing.edit_at(segmented, "axial", (1, 1, 4), editing.ToolChoice("brush", label="ET"), None)
    undone, corner, *rest = _handler(demo, "on_undo")(edited, shown_as, 1, 1, 4)
    assert corner is None and np.array_equal(undone.run.labels, segmented.run.labels)
    assert "Undone" in rest[-4] and "model** · undo 0 · redo 1" in rest[-4]  # the edit history panel
    assert "Redo brings back" in rest[-4]
    with pytest.warns(UserWarning, match=r"the 1 correction\(s\) of the previous result were dropped"):
        _handler(demo, "on_segment")(edited, shown_as, DEFAULT_MODEL, "", False, 5, 6, 4, *NO_UPLOAD)
