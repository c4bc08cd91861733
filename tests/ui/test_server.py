"""End to end through the API of a real ``python app.py`` server, driven by gradio_client."""

import zipfile

import nibabel as nib
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from brainseg.cli import main as cli_main
from brainseg.hub import file_sha256
from brainseg.ui.examples import find_examples
from tests.casefiles import LPS_AFFINE, write_case

LOAD_OUTPUTS = (
    "example axial coronal sagittal z y x title readout warnings summary heat_axial heat_coronal heat_sagittal "
    "colorbar compare heatmap plot run_info metrics lesions exported edit_history rano overlay"
).split()
UPLOAD_OUTPUTS = (*LOAD_OUTPUTS, "load_status")  # and what each file was read as


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def _image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_api_names_the_segment_and_loading_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/segment", "/refine", "/load_example", "/load_upload"}
    parameters = [p["parameter_name"] for p in endpoints["/load_upload"]["parameters"]]
    # The display settings are the page's own state, not parameters: a client sees the default display.
    assert parameters == ["t1", "t1ce", "t2", "flair", "files", "truth", "labels"]
    parameters = [p["parameter_name"] for p in endpoints["/segment"]["parameters"]]
    assert parameters == ["t1", "t1ce", "t2", "flair", "model", "prompt"]
    assert len(endpoints["/segment"]["returns"]) == 2


def test_upload_four_files_returns_three_views(client, tmp_path):
    paths = write_case(tmp_path / "c", truth=False)  # 12 x 14 x 10 voxels of 1 mm
    files = [handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")]
    shown = dict(zip(UPLOAD_OUTPUTS, client.predict(*files, None, None, "auto", api_name="/load_upload"),
                     strict=True))  # fmt: skip
    example, axial, coronal, sagittal = shown["example"], shown["axial"], shown["coronal"], shown["sagittal"]
    x, y, z, title, readout = shown["x"], shown["y"], shown["z"], shown["title"], shown["readout"]
    warnings, summary = shown["warnings"], shown["summary"]
    assert shown["heat_axial"] is None and "after <b>Segment</b>" in shown["colorbar"]  # nothing segmented yet
    assert shown["run_info"].startswith("No segmentation yet")
    views = {"axial": _image(axial), "coronal": _image(coronal), "sagittal": _image(sagittal)}
    # 480 / 14 pixels per mm; the three views share one 480 x 480 canvas.
    assert {plane: view.shape for plane, view in views.items()} == {p: (480, 480, 3) for p in views}
    # The sagittal slice (10 mm high, 343 px) is centred: 68 black rows above it.
    assert not views["sagittal"][:68].any() and views["sagittal"][68:80].any()
    assert (x["maximum"], y["maximum"], z["maximum"]) == (11, 13, 9)
    assert (x["value"], y["value"], z["value"]) == (5, 6, 4)
    assert example["value"] is None  # no example is selected any more
    assert title.startswith("### Case-001\nuploaded case")  # four slots: named after what their names share
    assert "naming: explicit" in summary and "1 warning" in warnings and "not skull-stripped" in warnings  # tiny
    assert readout.startswith("voxel x 5, y 6, z 4")
    assert shown["overlay"]["choices"] == [] and shown["overlay"]["value"] is None  # nothing to draw yet
    assert (
        shown["load_status"].startswith("✓ **Loaded Case-001**")
        and f"FLAIR ← `{paths['FLAIR'].name}`" in shown["load_status"]
    )


def test_bad_upload_is_the_cli_line_and_the_case_stays(client, tmp_path, capsys):
    paths = write_case(tmp_path / "c", truth=False)
    client.predict(*(handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")), None, None, "auto",
                   api_name="/load_upload")  # fmt: skip
    archive = tmp_path / "t1-t2.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for sequence in ("T1", "T2"):
            zf.write(paths[sequence], paths[sequence].name)
    with pytest.raises(AppError) as caught:
        client.predict(None, None, None, None, [handle_file(str(archive))], None, "auto",
                       api_name="/load_upload")  # fmt: skip
    assert cli_main(["inspect", str(archive)]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert cli_line.startswith("error: t1-t2.zip: missing FLAIR and T1ce")
    assert f"error: {caught.value}" == cli_line
    # The session still holds the uploaded case: moving a slider renders it.
    axial, _, _, heat, _, _, _, compare, readout = client.predict(5, 6, 2, api_name="/move_axial")
    assert heat is None and compare is None  # no segmentation, no comparison yet
    assert _image(axial).shape == (480, 480, 3)
    assert readout.startswith("voxel x 5, y 6, z 2")


def test_load_an_example_by_name(client):
    examples = find_examples()  # the server lists the same folders
    if not examples:
        pytest.skip("no example cases in assets/examples or ../shared/data/real")
    result = client.predict(examples[0].name, api_name="/load_example")
    shown = dict(zip(LOAD_OUTPUTS[1:], result, strict=True))
    axial, coronal, sagittal, title = shown["axial"], shown["coronal"], shown["sagittal"], shown["title"]
    sizes = {_image(path).shape for path in (axial, coronal, sagittal)}
    assert len(sizes) == 1  # one canvas for the three views
    assert title.startswith(f"### {examples[0].name}\n{examples[0].kind} example")


def test_segment_four_files_with_the_default_model(client, tmp_path, demo_checkpoint):
    paths = write_case(tmp_path / "c", truth=False)
    files = [handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")]
    segmentation, report = client.predict(*files, None, "segment the enhancing tumor", api_name="/segment")
    image = nib.load(segmentation)
    assert image.shape == (12, 14, 10)  # the input's own grid and affine, not the canonical RAS one
    np.testing.assert_allclose(image.affine, LPS_AFFINE)
    assert set(np.unique(np.asarray(image.dataobj))) <= {0, 3}  # only the prompt's region (ET = 3) is written
    for region in ("WT", "TC", "ET"):
        assert report["regions"][region]["volume_ml"] >= 0.0
    assert report["target_regions"] == ["ET"]
    assert report["model"]["model"] == "clip-unet3d"
    assert report["model"]["sha256"] == file_sha256(demo_checkpoint / "model.safetensors")
    assert report["model"]["source"] == f"local-dir:{demo_checkpoint}"


@pytest.mark.parametrize(
    ("prompt", "sequences", "expected"),
    [
        ("segment the liver", ("T1", "T1ce", "T2", "FLAIR"), "'liver' is outside what BrainSeg segments"),
        (None, ("T1", "T2"), "missing FLAIR and T1ce (given: T1, T2): give FLAIR or T1ce at least"),
    ],
)
def test_segment_refuses_bad_input_with_the_cli_line(client, tmp_path, demo_checkpoint, capsys, prompt, sequences,
                                                     expected):  # fmt: skip
    paths = write_case(tmp_path / "c", truth=False)
    files = [handle_file(str(paths[s])) if s in sequences else None for s in ("T1", "T1ce", "T2", "FLAIR")]
    with pytest.raises(AppError) as caught:
        client.predict(*files, "", prompt, api_name="/segment")
    argv = ["predict", "--model", f"local-dir:{demo_checkpoint}", "--out", str(tmp_path / "out")]
    argv += [arg for s in sequences for arg in (f"--{s.lower()}", str(paths[s]))]
    assert cli_main([*argv, *(["--prompt", prompt] if prompt else [])]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert expected in cli_line
    assert f"error: {caught.value}" == cli_line


def test_refine_endpoint_writes_what_the_cli_writes_and_refuses_with_its_line(client, tmp_path, capsys):
    from tests.editing.phantom import input_voxel, write_phantom

    paths = write_phantom(tmp_path / "case")
    i, j, k = input_voxel((34, 24, 20))  # in the edema the start misses
    files = [handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")]
    clicks = f"{i},{j},{k},+,WT"
    refined, report = client.predict(*files, handle_file(str(paths["start"])), clicks, "", api_name="/refine")
    assert report["segmentation_is"] == "start.nii.gz + 1 edit" and report["edits"][0]["input_voxel"] == [i, j, k]
    argv = ["refine", *[a for s in ("T1", "T1ce", "T2", "FLAIR") for a in (f"--{s.lower()}", str(paths[s]))]]
    argv += ["--seg", str(paths["start"]), "--out", str(tmp_path / "cli")]
    assert cli_main([*argv, "--click", clicks]) == 0
    from_cli = np.asarray(nib.load(tmp_path / "cli" / "segmentation.nii.gz").dataobj)
    assert np.array_equal(np.asarray(nib.load(refined).dataobj), from_cli)
    assert np.count_nonzero(from_cli) > np.count_nonzero(np.asarray(nib.load(paths["start"]).dataobj))
    with pytest.raises(AppError) as caught:
        client.predict(*files, handle_file(str(paths["start"])), "1,2,3,+,NCR", "", api_name="/refine")
    capsys.readouterr()
    assert cli_main([*argv, "--click", "1,2,3,+,NCR"]) == 2
    assert f"error: {caught.value}" == capsys.readouterr().err.strip()
