import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from brainseg.cli import main
from brainseg.hub import CheckpointError, file_sha256, load_checkpoint, parse_source, save_checkpoint
from tests.hub.hubcache import write_hub_cache
from tests.hub.tiny_variant import TinyConfig, TinyModel, registered_tiny_variant

pytestmark = pytest.mark.usefixtures("tiny_variant")


@pytest.fixture
def tiny_variant():
    with registered_tiny_variant():
        yield


def trained_tiny(channels: int = 4) -> TinyModel:
    torch.manual_seed(0)
    model = TinyModel(TinyConfig(channels=channels))
    model.train()
    model(torch.randn(2, 4, 6, 6, 6))  # moves BatchNorm running statistics away from their init
    return model


def assert_same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key].cpu(), state_b[key].cpu()), key


def test_local_dir_round_trip_is_bit_identical(tmp_path):
    model = trained_tiny()
    folder = save_checkpoint(model, tmp_path / "ckpt", metadata={"training": {"steps": 3}})
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = load_checkpoint(f"local-dir:{folder}")
    assert_same_state(model, loaded.model)
    assert not loaded.model.training
    assert loaded.sha256 == file_sha256(folder / "model.safetensors")
    assert loaded.metadata["training"] == {"steps": 3}
    card = (folder / "README.md").read_text()
    assert "Research and teaching only. Not for clinical use" in card and '"steps": 3' in card


def test_export_in_half_precision_keeps_metadata_and_adds_metrics(tmp_path, capsys):
    torch.manual_seed(1)
    model = TinyModel(TinyConfig(channels=64))  # big enough that the header is small next to the weights
    run = save_checkpoint(model, tmp_path / "run" / "best", metadata={"training": {"steps": 7}})
    metrics = tmp_path / "table.json"
    metrics.write_text(json.dumps([{"name": "tiny", "dice": {"WT": 0.5}}]))
    notes = ["--note", "misses tiny lesions", "--note", "trained on synthetic cases"]
    code = main(["export-checkpoint", f"local-dir:{run}", str(tmp_path / "bundle"), "--metrics", str(metrics), *notes])
    assert code == 0 and "wrote" in capsys.readouterr().out
    bundle = tmp_path / "bundle"
    full, half = (folder / "model.safetensors" for folder in (run, bundle))
    assert 0.45 < half.stat().st_size / full.stat().st_size < 0.6
    loaded = load_checkpoint(f"local-dir:{bundle}")
    assert loaded.metadata["training"] == {"steps": 7} and loaded.metadata["storage_dtype"] == "float16"
    assert loaded.metadata["metrics"]["evaluation"][0]["dice"] == {"WT": 0.5}
    card = (bundle / "README.md").read_text()
    assert "float16" in card and '"WT": 0.5' in card
    assert "## Limitations\n- misses tiny lesions\n- trained on synthetic cases\n" in card
    for name, tensor in model.state_dict().items():
        restored = loaded.model.state_dict()[name]
        assert restored.dtype == tensor.dtype, name  # float32 again in memory
        assert torch.allclose(restored, tensor, rtol=1e-3, atol=1e-4), name
    # Re-exported as float32, the copy must not claim float16 storage from the metadata it carries over.
    assert main(["export-checkpoint", f"local-dir:{bundle}", str(tmp_path / "full"), "--float32"]) == 0
    assert "storage_dtype" not in load_checkpoint(f"local-dir:{tmp_path / 'full'}").metadata
    assert main(["export-checkpoint", f"local-dir:{run}", str(tmp_path / "b2"), "--metrics", str(run)]) == 2
    assert "error: --metrics" in capsys.readouterr().err


def test_mismatched_config_is_a_clear_error(tmp_path):
    folder = save_checkpoint(trained_tiny(), tmp_path / "ckpt")
    config = json.loads((folder / "config.json").read_text())
    config["channels"] = 8
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match=r"does not match its model: .*of another shape \(e.g. conv.bias: \(4,\)"):
        load_checkpoint(f"local-dir:{folder}")
    config["bogus"] = 1
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="unknown field.*bogus"):
        load_checkpoint(f"local-dir:{folder}")


def test_pickle_is_never_loaded(tmp_path):
    folder = save_checkpoint(trained_tiny(), tmp_path / "ckpt")
    (folder / "model.safetensors").unlink()
    torch.save(trained_tiny().state_dict(), folder / "pytorch_model.bin")
    with pytest.raises(
        CheckpointError, match="model.safetensors is missing .*pytorch_model.bin: pickle files are never"
    ):
        load_checkpoint(f"local-dir:{folder}")


def test_bundled_name(tmp_path, monkeypatch):
    import brainseg.hub.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "BUNDLED_DIR", tmp_path)
    save_checkpoint(trained_tiny(), tmp_path / "test-tiny")
    assert load_checkpoint("test-tiny").source == "test-tiny"
    with pytest.raises(CheckpointError, match="no bundled checkpoint 'nope'; bundled: test-tiny"):
        load_checkpoint("nope")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("hf-hub:org/repo", "has no revision; pin one"),
        ("hf-hub:not a repo@main", "is not a Hub repo id"),
        ("local-dir:", "names no folder"),
        ("s3://bucket/x", "is not a bundled name"),
    ],
)
def test_bad_sources(text, fragment):
    with pytest.raises(CheckpointError, match=fragment):
        parse_source(text)


def test_hf_hub_source_from_offline_cache(tmp_path):
    """A pre-filled Hub cache with HF_HUB_OFFLINE=1: a pinned revision loads, an uncached one is a clear error."""
    model = trained_tiny()
    folder = save_checkpoint(model, tmp_path / "ckpt")
    torch.save(model.state_dict(), tmp_path / "expected.pt")
    commit = "0123456789abcdef0123456789abcdef01234567"
    write_hub_cache(tmp_path / "hub", "brainseg/tiny", commit, folder)
    script = textwrap.dedent(
        f"""
        import torch
        from brainseg.hub import CheckpointError, load_checkpoint
        from tests.hub.tiny_variant import registered_tiny_variant
        expected = torch.load({str(tmp_path / "expected.pt")!r}, map_location="cpu", weights_only=True)
        with registered_tiny_variant():
            for revision in ("{commit}", "main"):
                loaded = load_checkpoint("hf-hub:brainseg/tiny@" + revision)
                assert all(torch.equal(loaded.model.state_dict()[k], v) for k, v in expected.items())
            try:
                load_checkpoint("hf-hub:brainseg/other@main")
            except CheckpointError as exc:
                print("ERROR:", exc)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "ERROR: checkpoint hf-hub:brainseg/other@main: not in the local Hub cache and HF_HUB_OFFLINE is set" in (
        result.stdout
    )
