"""Teaching mode in a real headless Chromium: hide the truth, draw with the brush, score the drawing, the quiz."""

import pytest

from tests.ui.test_browser import ARTIFACTS, TIMEOUT_MS
from tests.ui.test_browser_editing import _history_after, open_phantom

pytestmark = pytest.mark.browser


def test_draw_with_the_truth_hidden_then_score(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    page, _paths = open_phantom(browser, app_url, tmp_path / "PH")
    expect(page.locator("#bs-readout")).to_contain_text("truth:")
    page.get_by_role("tab", name="Teaching").click()
    page.locator("#bs-quiz").get_by_label("Click the necrotic core (NCR)", exact=True).check()
    page.locator("#bs-quiz-check").click()  # the cursor starts at the tumor's centre: the necrotic core
    expect(page.locator("#bs-quiz-answer")).to_contain_text("Right", timeout=TIMEOUT_MS)
    page.locator("#bs-teach-start").click()
    expect(page.locator("#bs-teach-scores")).to_contain_text("the truth is hidden", timeout=TIMEOUT_MS)
    expect(page.locator("#bs-title")).to_contain_text("truth hidden")
    expect(page.locator("#bs-readout")).not_to_contain_text("truth:")
    page.get_by_role("button", name="✎ Correct the segmentation").click()
    page.locator("#bs-edit-tool").get_by_label("brush", exact=True).check()
    page.locator("#bs-edit-label").get_by_label("ET", exact=True).check()
    _history_after(page, "blank + 1 edit", "axial", 0.5, 0.5)  # the tumor's centre
    page.get_by_role("tab", name="Teaching").click()
    page.locator("#bs-teach-score").click()
    scores = page.locator("#bs-teach-scores")
    expect(scores).to_contain_text("What each region looks like here", timeout=TIMEOUT_MS)
    expect(scores.locator("table")).to_contain_text("ET")
    expect(page.locator("#bs-title")).to_contain_text("truth overlay")
    expect(page.locator("#bs-readout")).to_contain_text("Overlay: difference")
    page.screenshot(path=str(ARTIFACTS / "app_teaching.png"), full_page=True)
    page.locator("#bs-teach-export").click()
    expect(page.locator("#bs-teach-files a").first).to_be_visible(timeout=TIMEOUT_MS)
    page.close()
