"""Correcting a prediction in the app, without a browser: the edit callbacks with a fake segmenter.

The case is the editing phantom (48 x 48 x 40 voxels of 1 mm, a known tumor); the fake predicts its truth
without the edema of the tumor's first x plane.
"""

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.editing import EditError
from brainseg.labels import ED, ET, region_mask
from brainseg.ui import editing, viewer
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.ui.review import Review, export_run
from brainseg.ui.segmentation import metrics_rows, run_segmentation
from brainseg.ui.viewer import Display
from tests.editing.phantom import CENTRE, write_phantom_folder
from tests.ui.fakes import FakeFactory
from tests.ui.test_segmentation import READY

BRUSH_ED = editing.ToolChoice("brush", label="ED", radius_mm=3.0)
OUTSIDE = (8, 24, 20)
"""A healthy voxel far from the tumor (canonical x, y, z)."""
RIM = (CENTRE[0] + 5, CENTRE[1], CENTRE[2])
"""A voxel of the enhancing rim."""


@pytest.fixture
def segmented(tmp_path):
    write_phantom_folder(tmp_path / "PH")
    library = ExampleLibrary([Example.from_folder(tmp_path / "PH")])
    session, _ = viewer.load_example(None, "PH", Display(), library)
    factory = FakeFactory()
    run = run_segmentation(session.loaded, READY, None, segmenters=factory)
    return session.with_run(run), factory


def _ed_ml(session):
    headers, rows = metrics_rows(session.run, session.loaded.case.spacing)
    return {row[0]: row[1] for row in rows}["ED"], headers


def test_a_brush_stroke_changes_the_views_volumes_scores_and_history_at_once(segmented):
    session, _ = segmented
    before_ml, headers = _ed_ml(session)
    assert "Dice" in headers  # the phantom has a truth: the table scores against it
    edited, corner, status = editing.edit_at(session, "axial", OUTSIDE, BRUSH_ED, None)
    assert corner is None and status.startswith("brush ED: +0.03 mL")  # 29 voxels of a 3 mm disk
    assert session.run.history is None  # the session given is untouched
    assert edited.run.labels[OUTSIDE] == ED and np.count_nonzero(edited.run.labels != session.run.labels) == 29
    after_ml, _ = _ed_ml(edited)
    assert after_ml == pytest.approx(before_ml + 0.029)
    dice = edited.run.evaluation["regions"]["WT"]["dice"]
    assert dice < session.run.evaluation["regions"]["WT"]["dice"]  # a false positive: scored again
    shown = viewer.screen(edited, OUTSIDE, Display())
    assert "prediction: ED" in shown.readout
    assert "model + 1 edit" in editing.history_markdown(edited)


def test_undo_redo_and_back_to_the_model(segmented):
    session, _ = segmented
    model = session.run.labels.copy()
    first, _, _ = editing.edit_at(session, "axial", OUTSIDE, BRUSH_ED, None)
    second, _, _ = editing.edit_at(first, "coronal", (40, 24, 20), BRUSH_ED, None)
    undone = editing.step(second, "undo")
    assert np.array_equal(undone.run.labels, first.run.labels)
    assert np.array_equal(editing.step(undone, "redo").run.labels, second.run.labels)
    reset = editing.step(second, "reset")
    assert np.array_equal(reset.run.labels, model) and reset.run.history.summary() == "model + 3 edits"
    assert np.array_equal(editing.step(reset, "undo").run.labels, second.run.labels)
    assert editing.step(session, "undo") is session  # nothing to undo: the same session


def test_erase_the_tumor_then_one_click_grows_it_back_in_3d(segmented):
    session, _ = segmented
    eraser = editing.ToolChoice("eraser", radius_mm=10.0, sphere=True)
    erased, _, _ = editing.edit_at(session, "axial", CENTRE, eraser, None)
    truth = session.loaded.case.truth
    wt = lambda s: region_mask(s.run.labels, "WT")  # noqa: E731
    dice = lambda s: 2 * np.count_nonzero(wt(s) & (truth > 0)) / (np.count_nonzero(wt(s)) + np.count_nonzero(truth))  # noqa: E731
    assert dice(erased) < 0.65  # the core and the inner edema gone
    edema = (CENTRE[0] + 9, CENTRE[1], CENTRE[2])  # erased, in the edema
    grown, _, status = editing.edit_at(erased, "axial", edema, editing.ToolChoice("click +", region="WT"), None)
    assert dice(grown) > 0.9 and "click +WT" in status
    assert len(np.flatnonzero(wt(grown).any(axis=(0, 1)))) >= 20  # through the slices


def test_a_box_takes_two_clicks_on_one_view(segmented):
    session, _ = segmented
    box = editing.ToolChoice("box", region="ET")
    waiting, corner, status = editing.edit_at(session, "axial", (14, 14, 20), box, None)
    assert waiting is session and corner == ("axial", (14, 14, 20)) and "first corner" in status
    done, corner, status = editing.edit_at(waiting, "axial", (34, 34, 20), box, corner)
    assert corner is None and status.startswith("box ET")
    assert done.run.history.records()[0]["box"][2] < 20 < done.run.history.records()[0]["box"][5]  # through slices


def test_tools_refuse_with_one_line_and_keep_the_session(segmented):
    session, _ = segmented
    with pytest.raises(EditError, match="not in a hole enclosed by ET"):
        editing.edit_at(session, "axial", OUTSIDE, editing.ToolChoice("fill hole", label="ET"), None)
    with pytest.raises(EditError, match="there is no TC at voxel"):
        editing.edit_at(session, "axial", OUTSIDE, editing.ToolChoice("remove component", region="TC"), None)
    unsegmented = session.with_run(None)
    with pytest.raises(EditError, match="press Segment first"):
        editing.edit_at(unsegmented, "axial", OUTSIDE, BRUSH_ED, None)


def test_the_export_carries_the_edits_and_lists_them_and_rejection_still_works(segmented, tmp_path):
    session, factory = segmented
    edited, _, _ = editing.edit_at(session, "axial", OUTSIDE, BRUSH_ED, None)
    edited, _, _ = editing.edit_at(edited, "axial", RIM, editing.ToolChoice("remove component", region="ET"), None)
    files = export_run(edited, Review(), tmp_path / "all", segmenters=factory)
    written = np.asarray(nib.load(files[0]).dataobj)
    expected = edited.loaded.case.frame.to_input(edited.run.labels)
    assert np.array_equal(written, expected)  # exactly the corrected labels, on the input grid
    assert written[48 - 1 - OUTSIDE[0], 48 - 1 - OUTSIDE[1], OUTSIDE[2]] == ED and not (written == ET).any()
    report = json.loads(files[1].read_text())
    assert report["segmentation_is"] == "model + 2 edits"
    edits = report["corrections"]["edits"]
    assert [(e["tool"], e["region"]) for e in edits] == [("brush", "ED"), ("remove component", "ET")]
    assert edits[0]["voxels_added"] == 29 and edits[1]["voxels_removed"] == np.count_nonzero(session.run.labels == ET)
    assert all(e["made_at"].endswith("+00:00") for e in edits)
    rejected = export_run(edited, Review(accepted=("NCR", "ET")), tmp_path / "no-ed", segmenters=factory)
    assert not (np.asarray(nib.load(rejected[0]).dataobj) == ED).any()
    assert json.loads(rejected[1].read_text())["segmentation_is"] == "model + 2 edits, then ED rejected"
