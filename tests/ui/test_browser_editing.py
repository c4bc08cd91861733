"""Correcting a segmentation in a real headless Chromium: brush, undo, redo, a refining click, export.

The exported segmentation is compared with the one exported before the edits: it must differ in exactly the
voxels the edits changed, the brushed ones holding the brushed label. Screenshots go to tests/artifacts/.
"""

import json

import nibabel as nib
import numpy as np
import pytest

from tests.editing.phantom import write_phantom_folder
from tests.ui.test_browser import ARTIFACTS, TIMEOUT_MS, _wait_loaded, open_page

pytestmark = pytest.mark.browser


def _click_view(page, plane: str, fx: float, fy: float) -> None:
    _wait_loaded(page, f"#bs-view-{plane} img")
    page.locator(f"#bs-view-{plane} img").scroll_into_view_if_needed()  # a mouse click needs it on screen
    box = page.locator(f"#bs-view-{plane} img").bounding_box()
    page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)


def _history_after(page, text: str, plane: str, fx: float, fy: float) -> None:
    """Click the view until the edit history says ``text`` (a click on an image being replaced is lost)."""
    from playwright.sync_api import expect

    for attempt in range(3):
        _click_view(page, plane, fx, fy)
        try:
            expect(page.locator("#bs-edit-history")).to_contain_text(text, timeout=TIMEOUT_MS // 3)
            return
        except AssertionError:
            if attempt == 2:
                raise


def _export(page, folder):
    """Press Export and fetch the segmentation and the report it lists; returns (labels, report)."""
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Review & export").click()
    old = page.locator("#bs-exported a").evaluate_all("links => links.map(l => l.href)")
    page.locator("#bs-export").click()
    expect(page.locator("#bs-exported a").first).to_be_visible(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "old => { const l = [...document.querySelectorAll('#bs-exported a')].map(a => a.href);"
        " return l.length >= 2 && l.some(h => !old.includes(h)); }",
        arg=old,
    )
    links = page.locator("#bs-exported a").evaluate_all("links => links.map(l => l.href)")
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for name in ("segmentation.nii.gz", "report.json"):
        url = next(h for h in links if h.split("?")[0].endswith(name))
        (folder / name).write_bytes(page.request.get(url).body())
        found[name] = folder / name
    labels = np.asarray(nib.load(found["segmentation.nii.gz"]).dataobj)
    return labels, json.loads(found["report.json"].read_text())


def open_phantom(browser, app_url, folder):
    """A new page with the editing phantom (and its truth) uploaded; returns (page, role -> file)."""
    from playwright.sync_api import expect

    paths = write_phantom_folder(folder)
    page = open_page(browser, app_url)
    page.get_by_role("tab", name="Upload").click()
    page.locator("#bs-case-files input[type=file]").set_input_files([str(p) for p in paths.values()])
    expect(page.locator("#bs-title")).to_contain_text("BraTS-PH-00000-000", timeout=TIMEOUT_MS)
    return page, paths


def test_brush_undo_redo_click_and_export_in_the_browser(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    page, _paths = open_phantom(browser, app_url, tmp_path / "PH")
    page.locator("#bs-segment").click()
    expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=TIMEOUT_MS)
    model_labels, model_report = _export(page, tmp_path / "model")
    assert model_report["segmentation_is"] == "model" and model_report["corrections"]["edits"] == []

    page.get_by_role("button", name="✎ Correct the segmentation").click()
    page.locator("#bs-edit-tool").get_by_label("brush", exact=True).check()
    page.locator("#bs-edit-label").get_by_label("ET", exact=True).check()
    _history_after(page, "model + 1 edit", "axial", 0.25, 0.5)  # healthy brain left of the tumor
    page.locator("#bs-undo").click()
    expect(page.locator("#bs-edit-history")).to_contain_text("Segmentation: model ·", timeout=TIMEOUT_MS)
    page.locator("#bs-redo").click()
    expect(page.locator("#bs-edit-history")).to_contain_text("model + 1 edit", timeout=TIMEOUT_MS)
    page.locator("#bs-edit-tool").get_by_label("click -", exact=True).check()
    page.locator("#bs-edit-region").get_by_label("WT", exact=True).check()
    _history_after(page, "model + 2 edits", "axial", 0.25, 0.5)  # "this is not tumor": the brushed disk
    page.locator("#bs-undo").click()
    expect(page.locator("#bs-edit-history")).to_contain_text("model + 1 edit", timeout=TIMEOUT_MS)
    page.screenshot(path=str(ARTIFACTS / "app_editing.png"), full_page=True)

    labels, report = _export(page, tmp_path / "edited")
    assert report["segmentation_is"] == "model + 1 edit"
    (edit,) = report["corrections"]["edits"]
    assert (edit["tool"], edit["region"], edit["plane"], edit["radius_mm"]) == ("brush", "ET", "axial", 5.0)
    changed = np.argwhere(labels != model_labels)
    assert len(changed) == edit["voxels_changed"] > 50  # exactly the brushed voxels changed ...
    assert (labels[tuple(changed.T)] == 3).all()  # ... to ET (BraTS 2023 labels)
    i, j, k = edit["input_voxel"]
    assert set(changed[:, 2]) == {k}  # on the one axial slice clicked
    assert np.max(np.hypot(changed[:, 0] - i, changed[:, 1] - j)) <= 5.0  # within the 5 mm radius
    page.get_by_role("tab", name="Scores").click()
    expect(page.locator("#bs-run-info")).to_contain_text("Corrected: model + 1 edit", timeout=TIMEOUT_MS)
    page.close()
