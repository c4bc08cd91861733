"""What a first visit meets, in a real headless Chromium: files uploaded but not loaded, a refused upload, the
overlay radio before and after Segment, the views after Segment on a case without truth, an 800 px window.

Each test opens its own page (a fresh session). Screenshots go to tests/artifacts/ (git-ignored).
"""

import re

import nibabel as nib
import numpy as np
import pytest

from brainseg.ui.examples import find_examples
from tests.casefiles import LPS_AFFINE, write_case
from tests.ui.test_browser import ARTIFACTS, TIMEOUT_MS, _upload, _wait_loaded, open_page

pytestmark = pytest.mark.browser


def _checked(page, element_id: str) -> list[str]:
    """The labels of the checked inputs in a radio or checkbox group."""
    return page.locator(f"#{element_id} label").evaluate_all(
        "labels => labels.filter(l => l.querySelector('input')?.checked).map(l => l.innerText.trim())"
    )


def _choices(page, element_id: str) -> list[str]:
    return page.locator(f"#{element_id} label").evaluate_all("labels => labels.map(l => l.innerText.trim())")


def test_files_not_yet_a_case_are_never_segmented_as_another_case(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, app_url)
    shown = page.locator("#bs-title").inner_text()
    paths = write_case(tmp_path / "c", truth=False)
    page.get_by_role("tab", name="Upload").click()
    page.get_by_text("or one file per sequence").click()
    for sequence in ("T1", "T2"):
        _upload(page, f"bs-file-{sequence.lower()}", paths[sequence])
    expect(page.locator("#bs-load-status")).to_contain_text("Received T1, T2; add FLAIR or T1ce at least")
    assert page.locator("#bs-title").inner_text() == shown  # nothing loaded yet
    page.locator("#bs-segment").click()
    expect(page.get_by_text(re.compile(r"uploaded but not loaded \(the views show ")).first).to_be_visible()
    expect(page.locator("#bs-run-status")).to_contain_text("Not segmented")
    # The last two files make a case: it loads without Load case, named after the files, each file listed.
    for sequence in ("T1ce", "FLAIR"):
        _upload(page, f"bs-file-{sequence.lower()}", paths[sequence])
    expect(page.locator("#bs-title")).to_contain_text("Case-001", timeout=TIMEOUT_MS)
    expect(page.locator("#bs-title")).to_contain_text("uploaded case")
    for sequence in ("T1", "T1ce", "T2", "FLAIR"):
        expect(page.locator("#bs-load-status")).to_contain_text(f"{sequence} ← {paths[sequence].name}")
    page.close()


def test_a_refused_upload_says_so_on_the_page_and_keeps_the_message(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, app_url)
    paths = write_case(tmp_path / "c", truth=False)
    page.get_by_role("tab", name="Upload").click()
    bad = tmp_path / "bad_flair.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((3, 3), np.float32), LPS_AFFINE), bad)  # 2D: not a sequence volume
    page.locator("#bs-case-files input[type=file]").set_input_files([str(paths[s]) for s in ("T1", "T1ce", "T2")]
                                                                     + [str(bad)])  # fmt: skip
    expect(page.locator("#bs-title")).to_contain_text("Upload not loaded", timeout=TIMEOUT_MS)
    title = page.locator("#bs-title").inner_text()
    assert "bad_flair.nii.gz" in title and "/tmp" not in title  # the file's name, not the server's folder
    if find_examples():
        assert "Still showing the previous case" in title
    expect(page.locator("#bs-load-status")).to_contain_text("Not loaded")
    page.wait_for_timeout(11_000)  # longer than the error toast lasts: the page still says why
    expect(page.locator("#bs-title")).to_contain_text("bad_flair.nii.gz: has shape (3, 3)")
    expect(page.locator("#bs-load-status")).to_contain_text("bad_flair.nii.gz: has shape (3, 3)")
    page.screenshot(path=str(ARTIFACTS / "first_visit_refused.png"))
    page.close()


def test_the_overlay_radio_offers_and_says_what_is_drawn(browser, app_url):
    from playwright.sync_api import expect

    examples = [e for e in find_examples() if e.has_truth]
    if not examples:
        pytest.skip("no example case with truth")
    page = open_page(browser, app_url)
    page.locator("#bs-examples").get_by_text(examples[0].label).click()
    expect(page.locator("#bs-title")).to_contain_text(examples[0].name)
    expect(page.locator("#bs-readout")).to_contain_text("Overlay: truth")
    assert _choices(page, "bs-overlay") == ["truth"] and _checked(page, "bs-overlay") == ["truth"]
    page.locator("#bs-segment").click()
    expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=4 * TIMEOUT_MS)
    expect(page.locator("#bs-readout")).to_contain_text("Overlay: prediction")
    assert _choices(page, "bs-overlay") == ["prediction", "truth", "both", "difference"]
    assert _checked(page, "bs-overlay") == ["prediction"]
    assert "truth: " not in page.locator("#bs-readout").inner_text()  # the prediction is drawn, not the truth
    page.close()


def test_after_segment_without_truth_the_views_show_the_predicted_tumor(browser, app_url):
    from playwright.sync_api import expect

    examples = [e for e in find_examples() if not e.has_truth]
    if not examples:
        pytest.skip("no example case without truth")
    page = open_page(browser, app_url)
    page.locator("#bs-examples").get_by_text(examples[0].label).click()
    expect(page.locator("#bs-title")).to_contain_text(examples[0].name)
    page.locator("#bs-segment").click()
    expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=4 * TIMEOUT_MS)
    readout = page.locator("#bs-readout")
    page.get_by_role("tab", name="Scores").click()
    if "no tumor found" in page.locator("#bs-run-info").inner_text():
        pytest.skip("the test server's checkpoint finds no tumor on this case")
    expect(readout).to_contain_text(re.compile(r"prediction: (NCR|ED|ET)"))  # the cursor sits in the tumor
    page.close()


def test_an_800_px_window_shows_the_views_maps_and_tabs(browser, app_url):
    from playwright.sync_api import expect

    page = open_page(browser, app_url, width=800)
    expect(page.locator("#bs-sidebar")).not_to_have_class(re.compile(r"\bopen\b"))  # closed, not over the page
    tops = [page.locator(f"#bs-view-{p}").bounding_box()["y"] for p in ("axial", "coronal", "sagittal")]
    assert max(tops) - min(tops) < 2  # one row
    for name in ("Attention maps", "3D", "Scores", "Review & export", "Case details", "RANO", "Compare", "Teaching"):
        expect(page.get_by_role("tab", name=name)).to_be_visible()  # none hidden behind a "..." menu
    if find_examples():
        page.get_by_role("tab", name="Attention maps").click()
        page.locator("#bs-segment").click()
        expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=4 * TIMEOUT_MS)
        for plane in ("axial", "coronal", "sagittal"):
            _wait_loaded(page, f"#bs-heat-{plane} img")
            box = page.locator(f"#bs-heat-{plane} img").bounding_box()
            assert box["height"] > 150 and box["width"] > 150
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "first_visit_800px.png"), full_page=True)
    page.close()
