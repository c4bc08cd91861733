"""Teaching mode without a browser: a drawing with the truth hidden everywhere, its scores, the quiz, export."""

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.labels import ET, SUBREGIONS
from brainseg.ui import editing, teaching, viewer
from brainseg.ui.examples import describe
from brainseg.ui.segmentation import labels_figure, run_segmentation
from brainseg.ui.viewer import Display
from tests.editing.phantom import CENTRE
from tests.ui.fakes import FakeFactory
from tests.ui.test_segmentation import READY

RIM = (CENTRE[0] + 5, CENTRE[1], CENTRE[2])
"""A voxel of the phantom's enhancing rim."""


def test_while_drawing_nothing_shows_the_truth(session):
    drawing = teaching.start_drawing(session)
    assert drawing.visible_truth is None and not drawing.run.labels.any()
    display = Display(overlay="both")
    assert viewer.overlay_mode(drawing, display) == "prediction"  # not the truth's outlines
    assert "truth:" not in viewer.readout(drawing, CENTRE, display)
    assert "truth hidden" in viewer.screen(drawing, CENTRE, display).title
    brushed, _, _ = editing.edit_at(drawing, "axial", RIM, editing.ToolChoice("brush", label="ET"), None)
    assert brushed.run.evaluation is None  # no Dice while the truth is hidden
    plain = viewer.screen(brushed, CENTRE, Display())
    assert not np.array_equal(plain.views["axial"], viewer.screen(drawing, CENTRE, Display()).views["axial"])
    # The 3D view drawn after an edit carries no truth either.
    assert len(labels_figure(brushed.loaded, brushed.run.labels, brushed.visible_truth).data) < len(
        labels_figure(brushed.loaded, brushed.run.labels).data
    )


def test_the_score_reveals_the_truth_with_the_drawing_scored_and_explained(session):
    run = run_segmentation(session.loaded, READY, None, segmenters=FakeFactory())
    drawing = teaching.start_drawing(session.with_run(run))
    assert drawing.teaching.model_run is run
    tool = editing.ToolChoice("brush", label="ET", radius_mm=3.0, sphere=True)
    brushed, _, _ = editing.edit_at(drawing, "axial", RIM, tool, None)
    scored, record = teaching.score(brushed)
    assert scored.visible_truth is not None and scored.run.evaluation is not None
    truth = session.loaded.case.truth
    drawn = brushed.run.labels
    overlap = np.logical_and(drawn == ET, truth == ET).sum()
    expected = 2 * overlap / ((drawn == ET).sum() + (truth == ET).sum())
    assert record["truth"]["regions"]["ET"]["dice"] == pytest.approx(expected)
    assert 0 < record["model_vs_truth"]["WT"] <= 1 and set(record["model"]) == {"WT", "TC", "ET"}
    text = teaching.score_markdown(record)
    assert "| ET |" in text and "Dice vs model" in text
    et_line = next(line for line in record["explanations"] if line.startswith("ET"))
    assert "T1ce" in et_line and "x the healthy brain" in et_line
    ratio = float(et_line.split("here ")[1].split("x")[0])
    images = session.loaded.case.images
    assert ratio > 1.0 and np.median(images[1][truth == SUBREGIONS["ET"]]) > np.median(images[1][truth == 0])


def test_the_quiz_checks_the_voxel_under_the_cursor(session):
    assert teaching.check_click(session, RIM, "Click the enhancing rim (ET)").startswith("✔")
    wrong = teaching.check_click(session, (2, 2, 2), "Click the enhancing rim (ET)")
    assert wrong.startswith("✘") and "healthy brain" in wrong and "T1ce" in wrong
    assert teaching.check_click(session, (8, 24, 20), "Click healthy brain (no tumor)").startswith("✔")


def test_a_drawing_exports_as_nifti_and_json_with_its_scores(session, tmp_path):
    drawing = teaching.start_drawing(session)
    with pytest.raises(BrainSegError, match="start a drawing"):
        teaching.export_drawing(session, tmp_path / "none")
    brushed, _, _ = editing.edit_at(drawing, "axial", RIM, editing.ToolChoice("brush", label="ET"), None)
    scored, record = teaching.score(brushed)
    segmentation, report = teaching.export_drawing(scored, tmp_path / "out")
    written = np.asarray(nib.load(segmentation).dataobj)
    assert (written == 3).sum() == (brushed.run.labels == ET).sum()  # BraTS 2023 labels, every drawn voxel
    saved = json.loads(report.read_text())
    assert saved["model"]["model"] == teaching.STUDENT and saved["teaching"]["drawing"] == "blank + 1 edit"
    assert saved["teaching"]["scores"]["truth"]["regions"]["ET"]["dice"] == record["truth"]["regions"]["ET"]["dice"]


def test_a_case_without_truth_cannot_be_drawn_and_cases_are_described(session, tmp_path):
    import dataclasses

    no_truth = dataclasses.replace(session.loaded, case=dataclasses.replace(session.loaded.case, truth=None))
    with pytest.raises(BrainSegError, match="no truth"):
        teaching.start_drawing(dataclasses.replace(session, loaded=no_truth))
    assert describe("Brats18_TCIA10_628_1", "real") == "TCGA-LGG lower-grade glioma"
    assert describe("Brats18_2013_2_1", "real") == "BRATS 2013 clinical case"
    assert describe("BrainSeg-Synth-001", "bundled").startswith("glioma, WT")
