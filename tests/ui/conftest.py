"""Fixtures for the app tests: a tiny example library, a demo checkpoint, the real app run by ``python app.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch

from brainseg.hub import save_checkpoint
from brainseg.hub.sources import BUNDLED_DIR
from brainseg.models import create
from brainseg.ui.examples import Example, ExampleLibrary
from brainseg.ui.model_menu import DEFAULT_MODEL, SOURCES_ENV
from tests.casefiles import REPO, write_case


@pytest.fixture
def tiny_library(tmp_path: Path) -> ExampleLibrary:
    """One bundled-style example, ``Case-001`` (BraTS 2021 names, LPS, with truth)."""
    folder = tmp_path / "examples" / "Case-001"
    write_case(folder)
    return ExampleLibrary([Example("Case-001", folder, "bundled", True)])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def demo_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled ``clip-unet3d`` demo checkpoint, or where none is bundled an untrained one (Hub layout) in a
    temporary folder: real weights, real loading, nothing downloaded. The tests check the plumbing around
    the predictions (the bundled checkpoint's quality is tested in tests/inference/test_bundled_default.py)."""
    if (BUNDLED_DIR / DEFAULT_MODEL / "model.safetensors").is_file():
        return BUNDLED_DIR / DEFAULT_MODEL
    torch.manual_seed(0)
    return save_checkpoint(create(DEFAULT_MODEL, "demo"), tmp_path_factory.mktemp("checkpoints") / DEFAULT_MODEL)


UNAVAILABLE_MODEL = "msfen"
"""The variant the test server has no checkpoint for (its source is :data:`MISSING_FOLDER`)."""
MISSING_FOLDER = Path("/nonexistent/brainseg-test-checkpoint")


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory, demo_checkpoint: Path):
    """URL of ``python app.py`` started on a free port, its default model pointed at :func:`demo_checkpoint`
    through ``BRAINSEG_MODEL_SOURCES``; stopped (by its pid) after the session."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
        # Every variant may have a bundled checkpoint by now: one is pointed at a missing folder, so that the
        # page's "no checkpoint" path stays tested.
        SOURCES_ENV: f"{DEFAULT_MODEL}=local-dir:{demo_checkpoint}, {UNAVAILABLE_MODEL}=local-dir:{MISSING_FOLDER}",
        "OMP_NUM_THREADS": "1",  # the tiny test cases gain nothing from threads on the shared cores
    }
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"app.py exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"app.py did not answer on {url} within 120 s:\n{log_path.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium (Debian's, with the flags of :data:`tests.ui.test_browser.ARGS`), shared by a
    module's browser tests; each test opens its own page. Skips when Chromium is absent."""
    from tests.ui.test_browser import ARGS, CHROMIUM

    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def session(tmp_path):
    """A viewer session on the editing phantom (48 x 48 x 40 voxels of 1 mm, a known tumor, with its truth)."""
    from brainseg.ui import viewer
    from brainseg.ui.examples import Example, ExampleLibrary
    from brainseg.ui.viewer import Display
    from tests.editing.phantom import write_phantom_folder

    write_phantom_folder(tmp_path / "PH")
    library = ExampleLibrary([Example.from_folder(tmp_path / "PH")])
    return viewer.load_example(None, "PH", Display(), library)[0]
