"""Segmenting in the app without a browser or a network: the callbacks with a fake segmenter.

The fake predicts the tiny case's truth (a 6 x 6 x 6 voxel tumor: 152 ED, 56 NCR, 8 ET voxels of 1 mm)
without the ED of the tumor's first x plane (36 voxels), so the scores below are known by hand.
"""

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.labels import ED, ET, NCR
from brainseg.text.prompts import PromptRefused
from brainseg.ui import viewer
from brainseg.ui.model_menu import CheckpointMissing, ModelChoice
from brainseg.ui.review import Review, export_run
from brainseg.ui.segmentation import (
    interpretation_markdown,
    lesion_rows,
    metrics_rows,
    run_markdown,
    run_segmentation,
)
from brainseg.ui.viewer import Display
from brainseg.viz.overlay import DIFFERENCE_COLORS, FALSE_NEGATIVE, FALSE_POSITIVE
from tests.casefiles import LPS_AFFINE
from tests.ui.fakes import FakeFactory

READY = ModelChoice("clip-unet3d", "test model", "000.txt", "local-dir:/checkpoints/clip", None, True, "demo", 10)
MISSING = ModelChoice("unet3d", "baseline", "000.txt", "unet3d", None, False)


@pytest.fixture
def loaded(tiny_library):
    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    return session, shown


@pytest.fixture
def segmented(loaded):
    session, shown = loaded
    factory = FakeFactory()
    steps = []
    run = run_segmentation(
        session.loaded, READY, "", segmenters=factory, progress=lambda f, m: steps.append((round(f, 2), m))
    )
    return session, session.with_run(run), shown, factory, steps


def test_segment_keeps_the_run_in_a_new_session_and_reports_progress(segmented):
    before, after, _, factory, steps = segmented
    assert before.run is None and after.run is not None  # the session given is never modified
    assert after.loaded is before.loaded
    run = after.run
    assert factory.segmenters["local-dir:/checkpoints/clip"].calls == [("segment", None)]
    assert run.model == "clip-unet3d" and run.prompt is None
    assert run.labels.shape == (12, 14, 10)
    assert set(run.heatmaps) == {"semantic", "WT", "TC", "ET"}
    assert [f for f, _ in steps] == sorted(f for f, _ in steps)  # progress only moves forward
    assert steps[0] == (0.0, "Loading clip-unet3d") and steps[-1] == (1.0, "Done")
    assert any("fake network" in message for _, message in steps)  # with a time only once one was measured here
    assert "metrics" in run.timings and "segment (app)" in run.timings


def test_screen_after_segmentation_shows_prediction_and_heat_maps(segmented, loaded):
    _, after, shown_before, _, _ = segmented
    shown = viewer.screen(after, shown_before.cursor, Display(overlay="prediction", heatmap="semantic"))
    assert {p: v.shape for p, v in shown.heat_views.items()} == {p: (480, 480, 3) for p in shown.views}
    assert "semantic attention" in shown.colorbar and "linear-gradient" in shown.colorbar
    assert "prediction: " in shown.readout and "semantic attention: " in shown.readout
    assert "Overlay: prediction" in shown.readout
    before = viewer.screen(loaded[0], shown_before.cursor, Display())
    assert before.heat_views is None and before.colorbar == ""
    assert "Overlay: truth" in before.readout and "no prediction yet" in before.readout


def test_refused_prompt_raises_and_keeps_the_previous_run(segmented):
    _, after, _, factory, _ = segmented
    with pytest.raises(PromptRefused, match="'liver' is outside what BrainSeg segments"):
        run_segmentation(after.loaded, READY, "segment the liver", segmenters=factory)
    assert after.run is not None and after.run.prompt is None  # what was shown stays
    assert [c for c in factory.segmenters["local-dir:/checkpoints/clip"].calls if c[0] == "segment"] == [
        ("segment", None)
    ]  # the refusal came before the model was asked


def test_a_model_without_checkpoint_says_so(loaded):
    factory = FakeFactory()
    with pytest.raises(CheckpointMissing, match="^no trained checkpoint for unet3d is bundled yet"):
        run_segmentation(loaded[0].loaded, MISSING, None, segmenters=factory)
    assert factory.segmenters == {}
    local = ModelChoice("unet3d", "", "", "local-dir:/nowhere", None, False)
    with pytest.raises(CheckpointMissing, match="^no trained checkpoint for unet3d at local-dir:/nowhere"):
        local.require()


def test_a_prompt_decides_the_regions_shown_and_the_prompt_map(loaded):
    run = run_segmentation(loaded[0].loaded, READY, "enhancing tumor", segmenters=FakeFactory())
    assert run.prompt == "enhancing tumor"
    assert set(np.unique(run.labels)) == {0, ET}  # only the asked region is shown and exported
    assert next(iter(run.heatmaps)) == "prompt" and run.heatmaps["prompt"].title == "prompt attention (ET)"
    assert "✓ **ET**" in run_markdown(run)
    _, rows = metrics_rows(run, loaded[0].loaded.case.spacing)
    assert [row[0] for row in rows] == ["WT", "TC", "ET (asked)", "NCR", "ED"]
    assert rows[0][1] == 0.18  # scores are of the whole prediction, not only of the asked region


def test_overlay_modes(segmented):
    _, after, shown, _, _ = segmented
    truth = after.loaded.case.truth
    predicted = after.run.labels
    options, layers = viewer.overlay_layers(after, Display(overlay="prediction"))
    assert layers["labels"] is predicted
    _, layers = viewer.overlay_layers(after, Display(overlay="truth"))
    assert layers["labels"] is truth
    options, layers = viewer.overlay_layers(after, Display(overlay="both", outline=()))
    assert layers["labels"] is predicted and layers["outline_labels"] is truth
    assert options.outline == ("WT", "TC", "ET")  # the truth is outlined even when no outline was picked
    options, layers = viewer.overlay_layers(after, Display(overlay="difference", difference_region="WT"))
    codes = layers["difference"]
    missed = (truth > 0) & (predicted == 0)
    assert missed.sum() == 36 and np.all(codes[missed] == FALSE_NEGATIVE)
    assert not np.any(codes == FALSE_POSITIVE)
    # Drawn at full opacity, a missed voxel shows the miss colour.
    voxel = tuple(int(v) for v in np.argwhere(missed)[0])
    display = Display(overlay="difference", opacity=1.0, crosshair=False)
    axial = viewer.screen(after, voxel, display).views["axial"]
    renderer = after.loaded.renderer
    from brainseg.viz.slices import voxel_to_native

    row, column = renderer.grids["axial"].to_display(*voxel_to_native(voxel, after.shape, "axial"))
    assert tuple(axial[row, column]) == DIFFERENCE_COLORS[FALSE_NEGATIVE]
    views = {
        mode: viewer.screen(after, shown.cursor, Display(overlay=mode)).views["axial"]
        for mode in ("prediction", "truth", "both", "difference")
    }
    assert len({v.tobytes() for v in views.values()}) == 4


def test_without_truth_every_overlay_falls_back_to_the_prediction(tmp_path):
    from tests.casefiles import write_case

    paths = write_case(tmp_path / "c", truth=False)
    session, _ = viewer.load_upload(None, viewer.Upload(case_files=[str(p) for p in paths.values()]), Display())
    assert viewer.overlay_mode(session, Display(overlay="difference")) == "none"
    after = session.with_run(run_segmentation(session.loaded, READY, None, segmenters=FakeFactory()))
    for mode in ("truth", "both", "difference"):
        assert viewer.overlay_mode(after, Display(overlay=mode)) == "prediction"
    assert "this case has no truth" in viewer.overlay_note(after, Display(overlay="difference"))
    headers, rows = metrics_rows(after.run, after.loaded.case.spacing)
    assert headers == ["region", "predicted mL"]
    assert dict((r, v) for r, v in rows) == {"WT": 0.027, "TC": 0.027, "ET": 0.027, "NCR": 0.0, "ED": 0.0}
    assert lesion_rows(after.run) == []


def test_metrics_against_the_truth(segmented):
    _, after, _, _, _ = segmented
    headers, rows = metrics_rows(after.run, after.loaded.case.spacing)
    assert headers[:4] == ["region", "predicted mL", "truth mL", "Dice"]
    table = {row[0]: dict(zip(headers, row, strict=True)) for row in rows}
    # WT: 180 predicted voxels inside 216 true ones; ED: 116 of 152.
    assert table["WT"]["Dice"] == round(2 * 180 / (180 + 216), 3)
    assert table["WT"]["IoU"] == round(180 / 216, 3)
    assert table["WT"]["precision"] == 1.0 and table["WT"]["sensitivity"] == round(180 / 216, 3)
    assert (table["WT"]["predicted mL"], table["WT"]["truth mL"]) == (0.18, 0.216)
    assert table["ED"]["Dice"] == round(2 * 116 / (116 + 152), 3)
    assert table["TC"]["Dice"] == 1.0 and table["TC"]["HD95 mm"] == 0.0
    assert table["WT"]["HD95 mm"] == 1.0  # the missing plane is 1 mm away from the predicted surface
    lesions = {row[0]: row for row in lesion_rows(after.run)}
    assert lesions["TC"][1:] == [1.0, 0.0, 1, 1, 0, 0]  # one 64-voxel lesion, found exactly
    assert "Scores against the uploaded truth" in run_markdown(after.run)


def test_slice_change_after_segmentation_renders_without_the_model(segmented):
    _, after, shown, factory, _ = segmented
    x, y, z = shown.cursor
    display = Display(heatmap="ET")
    same, first = viewer.move_cursor(after, (x, y, z), display)
    _, moved = viewer.move_cursor(after, (x, y, z + 1), display)
    assert same is after
    assert not np.array_equal(first.views["axial"], moved.views["axial"])
    assert not np.array_equal(first.heat_views["axial"], moved.heat_views["axial"])
    assert factory.segmenters["local-dir:/checkpoints/clip"].calls == [("segment", None)]


def test_rejected_regions_leave_the_views(segmented):
    _, after, _, _, _ = segmented
    run = after.run
    kept = run.reviewed_labels(("ED",))
    assert not np.any(kept == ED) and np.array_equal(kept == NCR, run.labels == NCR)
    assert run.reviewed_labels(("ED",)) is kept  # cached
    _, layers = viewer.overlay_layers(after, Display(rejected=("ED",)))
    assert not np.any(layers["labels"] == ED)
    assert "rejected, hidden: ED" in viewer.overlay_note(after, Display(rejected=("ED",)))


def test_review_decisions_are_in_the_exported_report(segmented, tmp_path):
    _, after, _, factory, _ = segmented
    from PIL import Image

    review = Review(accepted=("NCR", "ET"), note="edema over-called near the ventricle", labels="brats2021")
    files = export_run(after, review, tmp_path / "export", snapshot=Image.new("RGB", (8, 8)), segmenters=factory)
    assert [f.name for f in files] == ["segmentation.nii.gz", "report.json", "snapshot.png"]
    report = json.loads(files[1].read_text())
    assert report["review"]["decisions"] == {"NCR": "accepted", "ED": "rejected", "ET": "accepted"}
    assert report["review"]["reviewer_note"] == "edema over-called near the ventricle"
    assert report["review"]["removed_from_segmentation"] == ["ED"]
    assert report["review"]["decided_at"].endswith("+00:00")
    assert report["model"]["source"] == "local-dir:/checkpoints/clip"
    assert report["regions"]["ED"]["volume_ml"] == 0.0 and report["regions"]["NCR"]["volume_ml"] == 0.056
    assert report["evaluation_before_review"]["regions"]["WT"]["dice"] == pytest.approx(360 / 396)
    image = nib.load(files[0])
    assert set(np.unique(np.asarray(image.dataobj))) == {0, 1, 4}  # brats2021: ET = 4, no ED (2)
    assert image.shape == (12, 14, 10)
    np.testing.assert_allclose(image.affine, LPS_AFFINE)  # the input's own grid and affine


def test_export_needs_a_run_and_a_valid_review(loaded, tmp_path):
    from brainseg.errors import BrainSegError

    with pytest.raises(BrainSegError, match="nothing to export yet"):
        export_run(loaded[0], Review(), tmp_path)
    with pytest.raises(BrainSegError, match="export label convention 'msd'"):
        Review(labels="msd")
    with pytest.raises(BrainSegError, match="unknown region"):
        Review(accepted=("WT",))


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("", "No prompt: every region"),
        ("   ", "No prompt: every region"),
        ("segment the enhancing tumour", "✓ **ET**"),
        ("segment the liver", "✗ **Refused**: 'liver' is outside"),
        ("tumor except edema", "✗ **Refused**: 'except' (a negation)"),
    ],
)
def test_the_prompt_is_interpreted_as_typed(prompt, expected):
    assert expected in interpretation_markdown(prompt)
