"""The model list of the app: every variant, where its checkpoint comes from, what the card says."""

import pytest

from brainseg.errors import BrainSegError
from brainseg.hub import save_checkpoint
from brainseg.hub.sources import CheckpointError
from brainseg.models import create, list_models
from brainseg.ui import model_menu
from brainseg.ui.model_menu import (
    DEFAULT_MODEL,
    SOURCES_ENV,
    CheckpointMissing,
    RunTimes,
    choice_markdown,
    describe,
    model_choices,
    model_sources,
)


def test_every_registered_variant_is_offered_with_its_bundled_source_by_default():
    sources = model_sources({})
    assert list(sources) == list_models()
    assert all(sources[name] == name for name in sources)
    assert DEFAULT_MODEL in sources


def test_the_environment_points_variants_at_other_checkpoints():
    text = "clip-unet3d=local-dir:/data/clip,\n unet3d = hf-hub:org/unet@v1 ,"
    sources = model_sources({SOURCES_ENV: text})
    assert sources["clip-unet3d"] == "local-dir:/data/clip"
    assert sources["unet3d"] == "hf-hub:org/unet@v1"
    assert sources["msfen"] == "msfen"


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("nope=local-dir:/x", BrainSegError, "unknown model 'nope'; valid models: clip-unet3d, "),
        ("clip-unet3d", BrainSegError, "'clip-unet3d' is not variant=source"),
        ("clip-unet3d=hf-hub:org/repo", CheckpointError, "has no revision"),
    ],
)
def test_a_bad_sources_variable_fails_with_a_clear_message(text, error, message):
    with pytest.raises(error, match=message):
        model_sources({SOURCES_ENV: text})


def test_a_local_checkpoint_is_available_with_its_size_and_parameter_count(tmp_path):
    model = create("unet3d", "demo")
    save_checkpoint(model, tmp_path / "unet")
    choice = describe("unet3d", f"local-dir:{tmp_path / 'unet'}")
    assert choice.available and choice.size == "demo"
    assert choice.parameters == sum(p.numel() for p in model.state_dict().values())
    assert choice.label == "unet3d"
    assert choice.require() == f"local-dir:{tmp_path / 'unet'}"
    card = choice_markdown(choice)
    assert "**unet3d**: Plain residual 3D U-Net" in card
    assert "paper: *Zhang, M.-D.: A Brain Tumor Segmentation Method Based on CLIP" in card  # not a file name
    assert f"size demo · {choice.parameters / 1e6:.2f}M parameters · checkpoint `local-dir:" in card
    assert "per BraTS-size case" not in card  # no time before one was measured on this machine


def test_a_missing_checkpoint_is_listed_and_explained(tmp_path, monkeypatch):
    monkeypatch.setattr(model_menu, "BUNDLED_DIR", tmp_path / "nothing-bundled")  # whatever the repo ships
    choice = describe("msfen", "msfen")
    assert choice.label == "msfen (no checkpoint yet)"
    assert "⚠ no trained checkpoint for msfen is bundled yet" in choice_markdown(choice)
    with pytest.raises(CheckpointMissing, match="^no trained checkpoint for msfen is bundled yet; pick another"):
        choice.require()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert not describe("msfen", f"local-dir:{empty}").available


def test_hub_sources_count_as_available():
    choices = model_choices({SOURCES_ENV: "sam-dmif=hf-hub:org/sam@abc123"})
    assert choices["sam-dmif"].available and choices["sam-dmif"].folder is None


def test_run_time_estimate_is_only_what_was_measured_here():
    times = RunTimes()
    voxels = 240 * 240 * 155
    assert times.estimate("unet3d", voxels) is None  # no guess from another machine
    times.record("unet3d", "cpu", voxels, 10.0)
    assert times.estimate("unet3d", voxels) == pytest.approx(10.0)
    assert times.estimate("unet3d", voxels // 2) == pytest.approx(5.0)
    assert times.estimate("unet3d", voxels, "cuda") is None
    times.record("unet3d", "cpu", voxels, 20.0)
    assert times.estimate("unet3d", voxels) == pytest.approx(15.0)  # the mean of the old estimate and the new time
