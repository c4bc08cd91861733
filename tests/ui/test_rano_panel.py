"""The RANO tab without a browser: what is measured (truth, prediction, reviewed, corrected), the diameters
drawn and where, and the response to an uploaded earlier segmentation."""

import dataclasses

import nibabel as nib
import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.metrics.rano import measure
from brainseg.ui import editing, rano_panel, viewer
from brainseg.ui.segmentation import run_segmentation
from brainseg.ui.viewer import Display
from tests.editing.phantom import LPS, phantom
from tests.ui.fakes import FakeFactory
from tests.ui.test_segmentation import READY


def test_the_truth_is_measured_before_a_run_and_the_prediction_after(session):
    truth_measurement, what = rano_panel.shown_measurement(session, Display())
    assert what == "truth"
    expected = measure(session.loaded.case.truth, session.loaded.case.spacing)
    assert truth_measurement.sum_of_products_mm2 == pytest.approx(expected.sum_of_products_mm2)
    assert rano_panel.shown_measurement(session, Display())[0] is truth_measurement  # cached on the case
    run = run_segmentation(session.loaded, READY, None, segmenters=FakeFactory())
    segmented = session.with_run(run)
    predicted, what = rano_panel.shown_measurement(segmented, Display())
    assert what == "prediction"
    assert predicted.volumes_ml["TC"] == pytest.approx(
        measure(run.labels, session.loaded.case.spacing).volumes_ml["TC"]
    )
    # Rejecting ET and NCR leaves no lesion to measure; a correction is measured as corrected.
    rejected = dataclasses.replace(Display(), rejected=("ET", "NCR"))
    assert rano_panel.shown_measurement(segmented, rejected)[0].lesions == ()
    brushed, _, _ = editing.edit_at(segmented, "axial", (8, 24, 20), editing.ToolChoice("brush", label="ET"), None)
    corrected, what = rano_panel.shown_measurement(brushed, Display())
    assert what == "corrected prediction" and len(corrected.lesions) == len(predicted.lesions) + 1


def test_diameters_are_drawn_only_when_asked_and_only_on_the_measured_axial_slice(session):
    assert rano_panel.diameter_lines(session, Display()) == ()
    shown = dataclasses.replace(Display(), diameters=True)
    lines = rano_panel.diameter_lines(session, shown)
    measurement, _ = rano_panel.shown_measurement(session, shown)
    assert len(lines) == 2 * len(measurement.lesions) and lines[0].slice == measurement.lesions[0].slice
    cursor = rano_panel.largest_lesion_cursor(measurement, (0, 0, 0))
    assert cursor[2] == measurement.lesions[0].slice
    plain = viewer.screen(session, cursor, Display())
    drawn = viewer.screen(session, cursor, shown)
    assert not np.array_equal(plain.views["axial"], drawn.views["axial"])
    np.testing.assert_array_equal(plain.views["coronal"], drawn.views["coronal"])  # axial lines only
    elsewhere = (cursor[0], cursor[1], cursor[2] + 3)
    np.testing.assert_array_equal(viewer.screen(session, elsewhere, Display()).views["axial"],
                                  viewer.screen(session, elsewhere, shown).views["axial"])  # fmt: skip


def test_an_earlier_segmentation_gives_the_response_and_a_bad_file_one_line(session, tmp_path):
    _, truth = phantom()
    measurement, _ = rano_panel.shown_measurement(session, Display())
    smaller = np.where(truth == 3, 2, truth).astype(np.uint8)  # the same tumor without its enhancing rim
    nib.save(nib.Nifti1Image(np.ascontiguousarray(smaller[::-1, ::-1, :]), LPS), tmp_path / "earlier.nii.gz")
    text = rano_panel.response_markdown(str(tmp_path / "earlier.nii.gz"), measurement)
    assert "bidimensional:" in text and "volumetric:" in text and "RANO 2.0" in text
    assert rano_panel.response_markdown(None, measurement) == ""
    (tmp_path / "bad.nii.gz").write_bytes(b"not a nifti")
    with pytest.raises(BrainSegError, match="bad.nii.gz"):
        rano_panel.response_markdown(str(tmp_path / "bad.nii.gz"), measurement)
    with pytest.raises(BrainSegError, match="unknown RANO rule"):
        rano_panel.check_rule("recist")
