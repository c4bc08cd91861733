"""Retake the README's app screenshots: the real app, a real browser, the bundled checkpoints.

    GRADIO_ANALYTICS_ENABLED=False .venv/bin/python docs/make_screenshots.py [--case BraTS-GLI-00001-000]
        [--feature segment|compare|rano|teaching] [--out docs/images/app_segmented.png]

Starts ``python app.py`` on a free port, opens it in Debian's Chromium (headless), clicks the example case
(a real case of ``../shared/data/real/`` when present), types a prompt, presses Segment and saves
``docs/images/app_segmented.png`` once the run is done.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: the browser settings live with the browser test

from tests.ui.test_browser import ARGS, CHROMIUM  # noqa: E402  (Debian's Chromium and the project's flags)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"error: app.py exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"error: app.py did not answer on {url} within {seconds:.0f} s")


def show_segment(page, prompt: str, expect) -> None:
    page.locator("#bs-prompt textarea").fill(prompt)
    page.get_by_role("tab", name="Attention maps").click()
    page.locator("#bs-segment").click()
    expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=180_000)


def show_compare(page, prompt: str, expect) -> None:
    page.get_by_role("tab", name="Compare").click()
    models = page.locator("#bs-compare-models")
    for box in models.locator("input[type=checkbox]").all():
        box.uncheck()
    for name in ("clip-unet3d", "tritier-film", "unet3d"):
        models.get_by_label(name, exact=True).check()
    page.locator("#bs-compare").click()
    expect(page.locator("#bs-compare-dice")).to_contain_text("clip-unet3d | tritier-film", timeout=300_000)


def show_rano(page, prompt: str, expect) -> None:
    page.locator("#bs-segment").click()
    expect(page.locator("#bs-run-status")).to_contain_text("Done", timeout=180_000)
    page.get_by_role("tab", name="RANO").click()
    page.locator("#bs-rano-measure").click()
    expect(page.locator("#bs-rano-table")).to_contain_text("sum of products", timeout=60_000)


def show_teaching(page, prompt: str, expect) -> None:
    page.get_by_role("tab", name="Teaching").click()
    page.locator("#bs-teach-start").click()
    expect(page.locator("#bs-teach-scores")).to_contain_text("the truth is hidden", timeout=60_000)
    page.get_by_role("button", name="✎ Correct the segmentation").click()
    page.locator("#bs-edit-tool").get_by_label("click +", exact=True).check()
    page.locator("#bs-view-axial img").scroll_into_view_if_needed()
    box = page.locator("#bs-view-axial img").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # "this is tumor": the cursor
    expect(page.locator("#bs-edit-history")).to_contain_text("1 edit", timeout=60_000)
    page.get_by_role("tab", name="Teaching").click()
    page.locator("#bs-teach-score").click()
    expect(page.locator("#bs-teach-scores")).to_contain_text("What each region looks like", timeout=60_000)


FEATURES = {"segment": show_segment, "compare": show_compare, "rano": show_rano, "teaching": show_teaching}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="BraTS-GLI-00001-000", help="example name to click")
    parser.add_argument("--prompt", default="segment the enhancing tumor")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "app_segmented.png")
    parser.add_argument(
        "--feature",
        choices=["segment", "compare", "rano", "teaching"],
        default="segment",
        help="what to show: a prompted run (default), the Compare tab (three variants), the RANO tab after a "
        "run, or a scored drawing in the Teaching tab",
    )
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    port = free_port()
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("BRAINSEG_MODEL_SOURCES", None)  # the bundled checkpoints, as a user gets them
    process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env)
    try:
        url = f"http://127.0.0.1:{port}/"
        wait_for(url, process)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_function("() => document.querySelector('#bs-title')?.innerText.includes('voxels')")
            page.locator("#bs-examples").get_by_text(args.case).first.click()
            expect(page.locator("#bs-title")).to_contain_text(args.case)
            FEATURES[args.feature](page, args.prompt, expect)
            time.sleep(2)  # the images arrive after the text
            page.screenshot(path=str(args.out), full_page=True)
            browser.close()
        print(f"wrote {args.out}")
    finally:
        process.terminate()
        process.wait(timeout=30)


if __name__ == "__main__":
    main()
