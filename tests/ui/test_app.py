"""The Gradio wiring, built in-process (no server): endpoints, examples, launch settings."""

import gradio as gr
import pytest

from brainseg.ui import app as viewer
from brainseg.ui.examples import Example, ExampleLibrary
from tests.casefiles import write_case


def _api_names(demo: gr.Blocks) -> set[str]:
    return {fn.api_name for fn in demo.fns.values() if fn.api_name}


def test_app_builds_without_examples_and_names_its_endpoints():
    demo = viewer.create_app(ExampleLibrary([]))
    assert {"load_example", "load_upload"} <= _api_names(demo)
    assert demo.delete_cache == viewer.DELETE_CACHE
    assert demo.brainseg_library.default is None


def test_examples_can_be_given_as_folders(tmp_path):
    write_case(tmp_path / "case-a", truth=True)
    write_case(tmp_path / "case-b", truth=False)
    demo = viewer.create_app([tmp_path / "case-a", str(tmp_path / "case-b")])
    assert [(e.name, e.has_truth) for e in demo.brainseg_library.examples] == [("case-a", True), ("case-b", False)]
    demo = viewer.create_app([Example("x", tmp_path, "real", False)])
    assert demo.brainseg_library.default == "x"


@pytest.fixture
def captured(monkeypatch):
    """Record what launch() asks of Gradio instead of starting a server."""
    calls = {}

    def queue(self, **options):
        calls["queue"] = options
        return self

    def launch(self, **options):
        calls["launch"] = options

    monkeypatch.setattr(gr.Blocks, "queue", queue)
    monkeypatch.setattr(gr.Blocks, "launch", launch)
    return calls


def test_launch_defaults_to_localhost_7860_with_upload_limits(captured, monkeypatch):
    monkeypatch.delenv("GRADIO_SERVER_NAME", raising=False)
    monkeypatch.delenv("GRADIO_SERVER_PORT", raising=False)
    viewer.launch(viewer.create_app(ExampleLibrary([])))
    options = captured["launch"]
    assert (options["server_name"], options["server_port"]) == ("127.0.0.1", 7860)
    assert options["max_file_size"] == "1gb"
    assert options["state_session_capacity"] == viewer.STATE_SESSIONS
    assert "queue" in captured


def test_launch_honours_the_gradio_environment(captured, monkeypatch):
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7999")
    viewer.launch(viewer.create_app(ExampleLibrary([])))
    assert (captured["launch"]["server_name"], captured["launch"]["server_port"]) == ("0.0.0.0", 7999)
