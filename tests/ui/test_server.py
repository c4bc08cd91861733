"""End to end through the API of a real ``python app.py`` server, driven by gradio_client."""

import zipfile

import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from brainseg.cli import main as cli_main
from brainseg.ui.examples import find_examples
from tests.casefiles import write_case

DISPLAY = ("FLAIR", ["NCR", "ED", "ET"], [], 0.45, True)  # sequence, fill, outline, opacity, crosshair


@pytest.fixture(scope="module")
def client(app_url):
    return Client(app_url, verbose=False)


def _image(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def test_api_names_the_two_loading_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/load_example", "/load_upload"} <= set(endpoints)
    parameters = [p["parameter_name"] for p in endpoints["/load_upload"]["parameters"]]
    assert parameters[:7] == ["t1", "t1ce", "t2", "flair", "files", "truth", "labels"]


def test_upload_four_files_returns_three_views(client, tmp_path):
    paths = write_case(tmp_path / "c", truth=False)  # 12 x 14 x 10 voxels of 1 mm
    files = [handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")]
    example, axial, coronal, sagittal, z, y, x, title, readout, warnings, summary = client.predict(
        *files, None, None, "auto", *DISPLAY, api_name="/load_upload"
    )
    views = {"axial": _image(axial), "coronal": _image(coronal), "sagittal": _image(sagittal)}
    # 480 / 14 pixels per mm; the three views share one 480 x 480 canvas.
    assert {plane: view.shape for plane, view in views.items()} == {p: (480, 480, 3) for p in views}
    # The sagittal slice (10 mm high, 343 px) is centred: 68 black rows above it.
    assert not views["sagittal"][:68].any() and views["sagittal"][68:80].any()
    assert (x["maximum"], y["maximum"], z["maximum"]) == (11, 13, 9)
    assert (x["value"], y["value"], z["value"]) == (5, 6, 4)
    assert example["value"] is None  # no example is selected any more
    assert title.startswith("### case\nuploaded case")
    assert "naming: explicit" in summary and "No warnings" in warnings
    assert readout.startswith("voxel x 5, y 6, z 4")


def test_bad_upload_is_the_cli_line_and_the_case_stays(client, tmp_path, capsys):
    paths = write_case(tmp_path / "c", truth=False)
    client.predict(*(handle_file(str(paths[s])) for s in ("T1", "T1ce", "T2", "FLAIR")), None, None, "auto",
                   *DISPLAY, api_name="/load_upload")  # fmt: skip
    archive = tmp_path / "no-flair.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for sequence in ("T1", "T1ce", "T2"):
            zf.write(paths[sequence], paths[sequence].name)
    with pytest.raises(AppError) as caught:
        client.predict(None, None, None, None, [handle_file(str(archive))], None, "auto", *DISPLAY,
                       api_name="/load_upload")  # fmt: skip
    assert cli_main(["inspect", str(archive)]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert cli_line.startswith("error: no-flair.zip: missing FLAIR")
    assert f"error: {caught.value}" == cli_line
    # The session still holds the uploaded case: moving a slider renders it.
    axial, _, _, readout = client.predict(5, 6, 2, *DISPLAY, api_name="/move_axial")
    assert _image(axial).shape == (480, 480, 3)
    assert readout.startswith("voxel x 5, y 6, z 2")


def test_load_an_example_by_name(client):
    examples = find_examples()  # the server lists the same folders
    if not examples:
        pytest.skip("no example cases in assets/examples or ../shared/data/real")
    result = client.predict(examples[0].name, *DISPLAY, api_name="/load_example")
    axial, coronal, sagittal, title = result[0], result[1], result[2], result[6]
    sizes = {_image(path).shape for path in (axial, coronal, sagittal)}
    assert len(sizes) == 1  # one canvas for the three views
    assert title.startswith(f"### {examples[0].name}\n{examples[0].kind} example")
