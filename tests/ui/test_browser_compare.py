"""The Compare tab in a real headless Chromium: two variants side by side, their agreement, one crosshair."""

import pytest

from tests.ui.test_browser import ARTIFACTS, TIMEOUT_MS, _wait_loaded
from tests.ui.test_browser_editing import open_phantom

pytestmark = pytest.mark.browser


def test_two_variants_are_compared_and_the_grid_follows_the_slider(browser, app_url, tmp_path):
    from playwright.sync_api import expect

    page, _paths = open_phantom(browser, app_url, tmp_path / "PH")
    page.get_by_role("tab", name="Compare").click()
    models = page.locator("#bs-compare-models")
    for box in models.locator("input[type=checkbox]").all():
        box.uncheck()
    for name in ("clip-unet3d", "unet3d"):
        models.get_by_label(name, exact=True).check()
    page.locator("#bs-compare").click()
    dice = page.locator("#bs-compare-dice")
    expect(dice).to_contain_text("clip-unet3d | unet3d", timeout=TIMEOUT_MS)
    expect(page.locator("#bs-compare-volumes")).to_contain_text("majority fusion")
    _wait_loaded(page, "#bs-compare-view img")
    before = page.locator("#bs-compare-view img").get_attribute("src")
    height = page.locator("#bs-compare-view img").evaluate("i => i.naturalHeight")
    assert height == 3 * (200 + 22)  # two variants and the agreement row
    page.screenshot(path=str(ARTIFACTS / "app_compare.png"), full_page=True)
    # One crosshair: moving the axial slider of the main views moves the comparison's views too.
    slider = page.locator("#bs-slider-axial input[type=number]")
    slider.fill("12")
    slider.press("Enter")
    page.wait_for_function(
        "old => { const i = document.querySelector('#bs-compare-view img'); return i && i.src !== old; }", arg=before
    )
    page.close()
