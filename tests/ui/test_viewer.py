"""The viewer's behaviour without a browser: callbacks are plain (session, inputs) -> (session, screen)."""

import zipfile
from pathlib import Path

import numpy as np
import pytest

from brainseg.cli import main as cli_main
from brainseg.errors import BrainSegError, CaseFilesError
from brainseg.hub import bundled_for_missing_sequences
from brainseg.labels import ED
from brainseg.ui import viewer
from brainseg.ui.viewer import Display, Upload
from brainseg.viz import PLANES
from brainseg.viz.slices import voxel_to_native
from tests.casefiles import write_case

# Tiny cases are 12 x 14 x 10 voxels of 1 mm: 480 / 14 pixels per mm, one 480 x 480 canvas for all views.
CANVAS = (480, 480, 3)


def test_load_example_shows_three_views_at_the_tumor(tiny_library):
    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    assert session.loaded.case.name == "Case-001"
    assert {plane: view.shape for plane, view in shown.views.items()} == {plane: CANVAS for plane in PLANES}
    assert shown.shape == (12, 14, 10)
    assert session.loaded.case.truth[shown.cursor] > 0  # the views open on the tumor
    assert shown.sliders == {
        "axial": (shown.cursor[2], 9),
        "coronal": (shown.cursor[1], 13),
        "sagittal": (shown.cursor[0], 11),
    }
    assert "Case-001" in shown.title and "truth overlay" in shown.title
    assert "labels brats2021" in shown.summary
    assert "No warnings" in shown.warnings
    assert "truth: " in shown.readout


def test_start_cursor_is_the_brain_centre_without_truth(tmp_path):
    paths = write_case(tmp_path / "c", truth=False)
    _, shown = viewer.load_upload(None, Upload(case_files=[str(p) for p in paths.values()]), Display())
    assert shown.cursor == (5, 6, 4)  # middle of the 12 x 14 x 10 nonzero box
    assert "no truth" in shown.title and "truth:" not in shown.readout


def test_load_upload_from_four_slots_ignores_file_names(tmp_path):
    paths = write_case(tmp_path / "c", truth=False)
    renamed = {}
    for role, path in paths.items():
        renamed[role] = path.rename(path.with_name(f"upload-{role}.nii.gz"))
    upload = Upload(t1=renamed["T1"], t1ce=renamed["T1ce"], t2=renamed["T2"], flair=renamed["FLAIR"])
    session, shown = viewer.load_upload(None, upload, Display())
    assert session.loaded.case.scheme == "explicit"
    assert session.origin == "uploaded case"
    assert shown.views["axial"].shape == CANVAS


def test_load_upload_from_a_zip_with_truth(tmp_path):
    paths = write_case(tmp_path / "c", scheme="brats2023", case_id="BraTS-GLI-00009-000", truth_convention="brats2023")
    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in paths.values():
            zf.write(path, f"folder/{path.name}")
    session, shown = viewer.load_upload(None, Upload(case_files=[str(archive)]), Display())
    assert session.loaded.case.name == "BraTS-GLI-00009-000"
    assert session.loaded.case.truth is not None
    assert "labels brats2023" in shown.summary


def test_a_separate_truth_file_with_a_named_convention(tmp_path):
    paths = write_case(tmp_path / "c", truth=True, truth_convention="brats2021")
    truth = paths.pop("truth")
    upload = Upload(case_files=[str(p) for p in paths.values()], truth=str(truth), labels="brats2021")
    session, _ = viewer.load_upload(None, upload, Display())
    assert "named by the user" in session.summary


def test_bad_upload_raises_the_cli_message_and_keeps_the_session(tiny_library, tmp_path, capsys):
    session, _ = viewer.load_example(None, "Case-001", Display(), tiny_library)
    before = (session.loaded, session.summary, list(session.warnings))
    paths = write_case(tmp_path / "bad", truth=False)
    archive = tmp_path / "two-sequences.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for sequence in ("T1", "T2"):  # neither FLAIR nor T1ce: nothing informative to segment
            zf.write(paths[sequence], paths[sequence].name)
    with pytest.raises(BrainSegError) as caught:
        viewer.load_upload(session, Upload(case_files=[str(archive)]), Display())
    assert cli_main(["inspect", str(archive)]) == 2
    assert capsys.readouterr().err == f"error: {caught.value}\n"  # the same single line as the CLI
    assert str(caught.value).startswith("two-sequences.zip: missing FLAIR and T1ce (found: ")
    assert (session.loaded, session.summary, session.warnings) == before


def test_nothing_uploaded_is_a_clear_error():
    with pytest.raises(
        CaseFilesError, match=r"nothing to load: upload the sequences \(T1, T1ce, T2, FLAIR; FLAIR or T1ce at least\)"
    ):
        viewer.load_upload(None, Upload(truth="seg.nii.gz"), Display())


def test_unknown_example_lists_the_valid_names(tiny_library):
    with pytest.raises(CaseFilesError, match="unknown example 'nope'; expected one of: Case-001"):
        viewer.load_example(None, "nope", Display(), tiny_library)


def test_moving_a_slider_re_renders_the_views(tiny_library):
    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    x, y, z = shown.cursor
    same_session, moved = viewer.move_cursor(session, (x, y, z + 1), Display())
    assert same_session is session
    assert moved.cursor == (x, y, z + 1)
    assert not np.array_equal(moved.views["axial"], shown.views["axial"])
    # Sliders can send floats and out-of-range values; the cursor is rounded and kept inside.
    _, clamped = viewer.move_cursor(session, (x + 0.4, 99, -3), Display())
    assert clamped.cursor == (x, 13, 0)


def test_display_controls_change_the_views(tiny_library):
    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    _, other_sequence = viewer.move_cursor(session, shown.cursor, Display(sequence="T1"))
    assert not np.array_equal(other_sequence.views["axial"], shown.views["axial"])
    _, no_fill = viewer.move_cursor(session, shown.cursor, Display(fill=()))
    _, outlined = viewer.move_cursor(session, shown.cursor, Display(fill=(), outline=("WT",)))
    assert not np.array_equal(no_fill.views["axial"], shown.views["axial"])
    assert not np.array_equal(outlined.views["axial"], no_fill.views["axial"])


def test_clicking_a_view_moves_the_other_two_views(tiny_library):
    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    z = shown.cursor[2]
    target = (3, 12, z)  # a voxel of the axial slice on screen
    row, column = session.loaded.renderer.grids["axial"].to_display(*voxel_to_native(target, shown.shape, "axial"))
    _, clicked = viewer.click_view(session, "axial", (column, row), shown.cursor, Display())
    assert clicked.cursor == target  # x and y follow the click; z, the axial slice, stays
    assert clicked.sliders["sagittal"][0] == 3 and clicked.sliders["coronal"][0] == 12
    # A click on the sagittal view (anterior on the left, superior on top) moves y and z, keeps x.
    row, column = session.loaded.renderer.grids["sagittal"].to_display(0, 0)
    _, clicked = viewer.click_view(session, "sagittal", (column, row), target, Display())
    assert clicked.cursor == (3, 13, 9)


def test_without_a_case_slider_and_click_do_nothing():
    assert viewer.move_cursor(None, (1, 2, 3), Display()) == (None, None)
    assert viewer.click_view(None, "axial", (5, 5), (1, 2, 3), Display()) == (None, None)


def test_every_warning_is_listed_and_escaped():
    html = viewer.warnings_html(["a.nii: <b>bad</b> & resampled", "second"])
    assert html.count("<li>") == 2
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; resampled" in html
    assert "2 warnings" in html


def test_readout_names_the_truth_label_under_the_cursor(tiny_library):
    session, _ = viewer.load_example(None, "Case-001", Display(), tiny_library)
    truth = session.loaded.case.truth
    edema = tuple(int(v) for v in np.argwhere(truth == ED)[0])
    assert "truth: ED" in viewer.readout(session, edema)
    assert "truth: background" in viewer.readout(session, (0, 0, 0))


def test_display_controls_update_one_field_each_as_gradio_sends_them():
    shown = Display()
    assert shown.with_control("fill", ["ET"]).fill == ("ET",)
    assert shown.with_control("opacity", 1).opacity == 1.0 and isinstance(
        shown.with_control("opacity", 1).opacity, float
    )
    assert shown.with_control("sequence", None).sequence == shown.sequence  # a cleared control: the default
    assert shown.with_control("outline", None).outline == ()
    rejected = shown.with_control("accepted", ["NCR"])
    assert rejected.rejected == ("ED", "ET")
    assert rejected.with_control("accepted", ["NCR", "ED", "ET"]).rejected == ()
    assert (
        rejected.for_new_case().rejected == ()
        and shown.with_control("heatmap", "ET").for_new_case().heatmap == "semantic"
    )


def test_an_upload_without_truth_after_a_case_with_truth_draws_nothing_yet(tiny_library, tmp_path):
    session, _ = viewer.load_example(None, "Case-001", Display(), tiny_library)
    shown_as = viewer.honest(session, Display())
    assert shown_as.overlay == "truth" and viewer.overlay_choices(session) == ["truth"]
    paths = write_case(tmp_path / "c", truth=False)
    upload = Upload(*(str(paths[s]) for s in ("T1", "T1ce", "T2", "FLAIR")))
    assert viewer.pending_upload(session, upload).startswith("Case-001_t1.nii.gz, Case-001_t1ce.nii.gz")
    after, shown = viewer.load_upload(session, upload, shown_as)  # the display still says "truth"
    assert viewer.overlay_mode(after, shown_as) == "none" and viewer.overlay_choices(after) == []
    assert "Overlay: none" in shown.readout and after.loaded.case.name == "Case-001"
    assert viewer.pending_upload(after, upload) is None


def test_after_a_run_the_cursor_goes_to_the_largest_predicted_component(tiny_library):
    from types import SimpleNamespace

    session, shown = viewer.load_example(None, "Case-001", Display(), tiny_library)
    labels = np.zeros(session.shape, np.uint8)
    labels[0:2, 0:2, 0:2] = ED  # 8 voxels
    labels[8:11, 9:12, 6:9] = ED  # 27 voxels: the largest
    ran = session.with_run(SimpleNamespace(labels=labels))
    assert viewer.run_cursor(ran, shown.cursor) == (9, 10, 7)
    assert viewer.run_cursor(session.with_run(SimpleNamespace(labels=labels * 0)), (1, 2, 3)) == (1, 2, 3)


def test_four_slots_are_named_after_what_their_file_names_share():
    assert viewer.common_stem(["Brats18_x_t1.nii.gz", "Brats18_x_t1ce.nii.gz", "Brats18_x_flair.nii.gz"]) == "Brats18_x"
    assert viewer.common_stem(["BraTS-GLI-00001-000-t1n.nii.gz", "BraTS-GLI-00001-000-t2f.nii.gz"]) == (
        "BraTS-GLI-00001-000"
    )
    assert viewer.common_stem(["patient12a.nii", "patient12b.nii"]) == "patient12"
    assert viewer.common_stem(["T1.nii", "T1ce.nii", "T2.nii", "FLAIR.nii"]) == "case"


def _zip(archive, paths, sequences):
    with zipfile.ZipFile(archive, "w") as zf:
        for sequence in sequences:
            zf.write(paths[sequence], paths[sequence].name)
    return archive


def test_an_upload_without_t1ce_says_what_is_missing_and_what_runs(tmp_path):
    paths = write_case(tmp_path / "c", truth=False)
    archive = _zip(tmp_path / "no-t1ce.zip", paths, ("T1", "T2", "FLAIR"))
    session, shown = viewer.load_upload(None, Upload(case_files=[str(archive)]), Display())
    text = viewer.loaded_markdown(session)
    assert f"FLAIR ← `no-t1ce.zip:{paths['FLAIR'].name}`" in text
    assert "T1ce — *missing*" in text
    assert "Regions these sequences allow: WT" in text and "TC not (needs T1ce)" in text
    assert bundled_for_missing_sequences() == ["clip-unet3d"]  # its sequence-dropout/ checkpoint
    assert "Variants that run without T1ce: clip-unet3d (with a checkpoint trained with sequence dropout)" in text
    assert "sequences used: T1, T2, FLAIR" in shown.warnings


def test_the_reassignment_lists_every_file_and_reloads_with_the_users_choice(tmp_path):
    paths = write_case(tmp_path / "c", truth=False)
    archive = _zip(tmp_path / "up.zip", paths, ("T1", "T1ce", "T2", "FLAIR"))
    session, _ = viewer.load_upload(None, Upload(case_files=[str(archive)]), Display())
    choices = viewer.assignment_choices(session)
    assert [current for _, current in choices] == [f"up.zip:{paths[s].name}" for s in ("T1", "T1ce", "T2", "FLAIR")]
    assert choices[0][0][0] == ("(not used)", "")
    assert {value for _, value in choices[0][0][1:]} == {f"up.zip:{p.name}" for p in paths.values()}
    # The user says the file named T1 is really T1ce and the reverse, and drops T2.
    swapped = {"T1": choices[1][1], "T1ce": choices[0][1], "T2": "", "FLAIR": choices[3][1]}
    reloaded, _ = viewer.load_upload(session, Upload(case_files=[str(archive)]), Display(), assign=swapped)
    before, after = session.loaded.case, reloaded.loaded.case
    np.testing.assert_array_equal(after.image("T1"), before.image("T1ce"))
    np.testing.assert_array_equal(after.image("T1ce"), before.image("T1"))
    assert after.missing == ("T2",)
    assert "T2 — *missing*" in viewer.loaded_markdown(reloaded)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (("T1", "T2"), "Received T1, T2; add FLAIR or T1ce at least (T1ce, FLAIR are missing)."),
        (("FLAIR",), "Received FLAIR; add T1, T1ce, T2, or press **Load case** to use these (regions they allow: WT)."),
        (("T1", "T1ce", "T2", "FLAIR"), "These files are the case on screen."),
    ],
)
def test_the_waiting_line_says_what_is_missing_and_what_would_run(tmp_path, given, expected):
    slots = {sequence.lower(): f"/tmp/{sequence}.nii.gz" if sequence in given else None
             for sequence in ("T1", "T1ce", "T2", "FLAIR")}  # fmt: skip
    assert viewer.waiting_markdown(Upload(**slots)) == expected


def test_an_upload_with_a_shifted_sequence_is_warned_and_registered_on_request(tmp_path):
    import nibabel as nib

    from brainseg.io import load_case

    example = load_case(Path(__file__).resolve().parents[2] / "assets" / "examples" / "BrainSeg-Synth-001")
    box = (slice(40, 200), slice(30, 215), slice(0, 150))  # around the brain: a faster registration
    slots = {}
    for sequence, key in (("T1", "t1"), ("T1ce", "t1ce"), ("T2", "t2"), ("FLAIR", "flair")):
        image = example.image(sequence)[box]
        image = np.roll(image, 6, axis=1) if sequence == "T2" else image
        slots[key] = str(tmp_path / f"up_{key}.nii.gz")
        nib.save(nib.Nifti1Image(image, example.affine), slots[key])
    session, _ = viewer.load_upload(None, Upload(**slots), Display())
    assert (
        [w for w in session.warnings if "misregistered" in w]
        == [w for w in session.warnings if w.startswith("up_t2.nii.gz (T2) looks misregistered to FLAIR")]
        != []
    )
    registered, _ = viewer.load_upload(session, Upload(**slots), Display(), register=True)
    assert not any("misregistered" in w for w in registered.warnings)
    assert sum(w.startswith("registered up_") and "to FLAIR" in w for w in registered.warnings) == 3
