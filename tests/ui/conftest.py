"""Fixtures for the viewer tests: a tiny example library, and the real app served by ``python app.py``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from brainseg.ui.examples import Example, ExampleLibrary
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
def app_url(tmp_path_factory: pytest.TempPathFactory):
    """URL of ``python app.py`` started on a free port; stopped (by its pid) after the session."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    env = {
        **os.environ,
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "GRADIO_TEMP_DIR": str(tmp_path_factory.mktemp("gradio")),
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
