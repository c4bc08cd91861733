"""The RANO tab in a real headless Chromium: measure the segmentation on screen, see its diameters drawn on
the axial view at the lesion's slice, and the response against an earlier segmentation.

The numbers shown are checked against ``brainseg rano`` on the same truth file (an independent path through
the CLI); the diameters against the pixels of the axial view.
"""

import base64
import io
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.editing.phantom import write_phantom_folder
from tests.ui.test_browser import ARTIFACTS, TIMEOUT_MS, _slider_value, _wait_loaded
from tests.ui.test_browser_editing import open_phantom

pytestmark = pytest.mark.browser


def _axial_pixels(page) -> np.ndarray:
    _wait_loaded(page, "#bs-view-axial img")
    src = page.locator("#bs-view-axial img").get_attribute("src") or ""
    data = base64.b64decode(src.split(",", 1)[1]) if src.startswith("data:") else page.request.get(src).body()
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)


def _magenta(pixels: np.ndarray) -> int:
    return int(((pixels[..., 0] > 225) & (pixels[..., 1] < 40) & (pixels[..., 2] > 225)).sum())


def test_measure_draws_the_diameters_and_gives_the_response(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    paths = write_phantom_folder(tmp_path / "PH")
    command = [sys.executable, "-m", "brainseg.cli", "rano", "--seg", str(paths["truth"]), "--labels", "brats2023"]
    cli = subprocess.run([*command, "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert cli.returncode == 0, cli.stderr
    expected = json.loads((tmp_path / "r.json").read_text())
    largest = expected["lesions"][0]

    page, _paths = open_phantom(browser, app_url, tmp_path / "PH-page")
    before = _magenta(_axial_pixels(page))
    page.get_by_role("tab", name="RANO").click()
    page.locator("#bs-rano-measure").click()
    table = page.locator("#bs-rano-table")
    expect(table).to_contain_text("Measured: the truth", timeout=TIMEOUT_MS)
    expect(table).to_contain_text(f"{largest['longest_mm']:.1f}")
    expect(table).to_contain_text(f"{expected['sum_of_products_mm2']:.0f} mm²")
    page.wait_for_function(
        "z => document.querySelector('#bs-slider-axial input[type=number]')?.value == String(z)", arg=largest["slice"]
    )
    assert _slider_value(page, "axial") == largest["slice"]  # the views went to the measured slice
    page.wait_for_timeout(500)
    drawn = _magenta(_axial_pixels(page))
    # Two lines of ~2 px over the lesion's diameters (mm) at the view's 2+ px per mm: many magenta pixels.
    assert drawn - before > 2 * (largest["longest_mm"] + largest["perpendicular_mm"])
    page.screenshot(path=str(ARTIFACTS / "app_rano.png"), full_page=True)
    page.locator("#bs-diameters input").uncheck()
    expect(page.locator("#bs-diameters input")).not_to_be_checked()
    page.wait_for_timeout(1500)
    assert _magenta(_axial_pixels(page)) < drawn / 4  # hidden again

    page.locator("#bs-rano-baseline input[type=file]").set_input_files(str(paths["truth"]))
    page.locator("#bs-rano-baseline a.download-link").wait_for()
    page.locator("#bs-rano-measure").click()
    expect(page.locator("#bs-rano-response")).to_contain_text("bidimensional: stable disease", timeout=TIMEOUT_MS)
    expect(page.locator("#bs-rano-response")).to_contain_text("+0.0%")
    page.close()
