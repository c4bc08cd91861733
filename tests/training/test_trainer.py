"""``brainseg train`` end to end on tiny synthetic grids: every variant, exact resume, two DDP processes."""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from brainseg.hub import load_checkpoint, save_checkpoint
from brainseg.models import create
from brainseg.training.data import validation_cases
from brainseg.training.trainer import epoch_indices, validate

TINY = ["--patch-size", "32", "--train-cases", "2", "--val-cases", "1", "--synth-shape", "64", "64", "48"]


def train(run_dir: Path, cache: Path, *options: str, launcher: list[str] | None = None) -> dict:
    command = [*(launcher or [sys.executable, "-m"]), "brainseg.cli", "train", "--out", str(run_dir)]
    command += ["--cache", str(cache), "--workers", "0", *TINY, *options]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout[result.stdout.index("{") :])


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("synth-cache")


@pytest.mark.parametrize("variant", ["clip-unet3d", "film-unet2d", "msfen", "sam-dmif", "tritier-film", "unet3d"])
def test_every_variant_trains_and_writes_a_loadable_run(variant, tmp_path, cache):
    summary = train(tmp_path / "run", cache, "--model", variant, "--steps", "2", "--val-every", "2")
    assert summary["steps"] == 2 and set(summary["val"]) == {"WT", "TC", "ET"}
    run = tmp_path / "run"
    for name in ("train_config.json", "metrics.jsonl", "curves.html", "curves.png"):
        assert (run / name).is_file(), name
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1] == {"step": 2, "val": summary["val"]}
    loaded = load_checkpoint(f"local-dir:{run / 'checkpoints' / 'last'}").model
    card = (run / "checkpoints" / "last" / "README.md").read_text()
    assert '"steps": 2' in card and "synthetic" in card
    # Two steps of training changed the weights away from a fresh model's.
    torch.manual_seed(0)
    fresh = create(variant, "demo").state_dict()
    trained = loaded.state_dict()
    assert any(not torch.equal(fresh[k], trained[k]) for k in trained if trained[k].is_floating_point())


def test_resume_continues_exactly(tmp_path, cache):
    options = ["--model", "unet3d", "--steps", "6", "--val-every", "2"]
    whole = tmp_path / "whole"
    train(whole, cache, *options)
    chunked = tmp_path / "chunked"
    assert train(chunked, cache, *options, "--stop-after", "4")["steps"] == 4
    assert train(chunked, cache, *options)["steps"] == 6
    expected = load_file(whole / "checkpoints" / "last" / "model.safetensors")
    resumed = load_file(chunked / "checkpoints" / "last" / "model.safetensors")
    for key, value in expected.items():
        assert torch.equal(value, resumed[key]), key
    # Same log too: validation scores at steps 2, 4, 6 and the final loss row.
    assert (chunked / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()


def test_moving_average_is_what_is_saved_and_resumes_exactly(tmp_path, cache):
    # clip-unet3d: its text tower has a constant -inf mask buffer that a naive average turns into NaN.
    options = ["--model", "clip-unet3d", "--steps", "6", "--val-every", "2", "--ema", "0.5"]
    whole = tmp_path / "whole"
    train(whole, cache, *options)
    chunked = tmp_path / "chunked"
    train(chunked, cache, *options, "--stop-after", "4")
    assert train(chunked, cache, *options)["steps"] == 6
    last = whole / "checkpoints" / "last"
    averaged = load_file(last / "model.safetensors")
    resumed = load_file(chunked / "checkpoints" / "last" / "model.safetensors")
    assert all(torch.equal(value, resumed[key]) for key, value in averaged.items())
    assert (chunked / "metrics.jsonl").read_text() == (whole / "metrics.jsonl").read_text()
    # The checkpoint holds the average, the state the trained weights: they differ after 6 steps.
    trained = torch.load(last / "training_state.pt", weights_only=False)["model"]
    floats = [key for key, value in averaged.items() if value.is_floating_point()]
    assert any(not torch.allclose(averaged[k], trained[k].float(), atol=1e-7) for k in floats)
    saved = load_checkpoint(f"local-dir:{last}")
    training = saved.metadata["training"]
    assert training["command"].endswith("--ema 0.5") and "moving average, decay 0.5" in training["recipe"]
    assert " --val-every 2 " in training["command"]  # it decides which step is "best"
    # What was validated during training is what was saved: the logged score is the checkpoint's.
    cases = list(validation_cases(cache / "val", 1, shape=(64, 64, 48)))
    rows = [json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["val"] == validate(saved.model, cases, torch.device("cpu"))
    # Resuming it without --ema would silently switch what is saved: refused.
    command = [sys.executable, "-m", "brainseg.cli", "train", "--out", str(whole), "--cache", str(cache), *TINY]
    command += ["--model", "clip-unet3d", "--steps", "8", "--val-every", "2"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("this run was started with --ema; resume it the same way")


def test_init_fine_tunes_from_a_checkpoint_and_refuses_another_variant(tmp_path, cache):
    torch.manual_seed(3)
    start = create("unet3d", "demo")
    save_checkpoint(start, tmp_path / "start")
    options = ["--model", "unet3d", "--steps", "1", "--val-every", "1", "--lr", "1e-9", "--realistic-share", "0.5"]
    options += ["--train-cases", "4", "--metastasis-share", "0.5", "--low-grade-share", "0.5", "--bias-field"]
    options += ["--slab-cuts"]
    options += ["--tumor-probability", "0.5", "--hard-negative-share", "0.25"]
    options += ["--hard-negative-kinds", "sinus,bright-flair"]
    train(tmp_path / "tuned", cache, *options, "--init", f"local-dir:{tmp_path / 'start'}")
    tuned = load_checkpoint(f"local-dir:{tmp_path / 'tuned' / 'checkpoints' / 'last'}")
    for key, value in start.state_dict().items():  # one step at a negligible rate: still the start
        if value.is_floating_point():
            assert torch.allclose(value, tuned.model.state_dict()[key], atol=1e-6), key
    assert "--init local-dir:" in tuned.metadata["training"]["command"]
    command = tuned.metadata["training"]["command"]
    assert "--realistic-share 0.5 --metastasis-share 0.5 --low-grade-share 0.5 " in command
    assert " --bias-field --slab-cuts" in command and "--edge-artifacts" not in command
    assert (
        "--tumor-probability 0.5 --hard-negative-share 0.25 --hard-negative-kinds sinus,bright-flair --seed 0 "
        in command
    )
    recipe = tuned.metadata["training"]["recipe"]
    assert recipe.endswith(
        "; augmentation beyond A.2: per-sequence bias fields, slab cuts, 0.25 of patches centred on sinus-like "
        "tissue or "
        "FLAIR-bright normal tissue"
    )
    assert "50% metastasis-like lesions, 50% non-enhancing low-grade-like" in tuned.metadata["training"]["data"]
    names = [path.name for path in (cache / "train").iterdir()]
    assert any("-met-" in name for name in names) and any("-lgg-" in name for name in names)
    save_checkpoint(create("msfen", "demo"), tmp_path / "other")
    command = [sys.executable, "-m", "brainseg.cli", "train", "--out", str(tmp_path / "bad"), "--cache", str(cache)]
    command += [*TINY, *options, "--init", f"local-dir:{tmp_path / 'other'}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: --init local-dir:")
    assert "a msfen (demo) checkpoint, not unet3d (demo)" in result.stderr


def test_init_records_the_chain_of_fine_tunes_and_a_resume_keeps_it(tmp_path, cache):
    options = ["--model", "unet3d", "--steps", "2", "--val-every", "1", "--lr", "1e-9"]
    train(tmp_path / "first", cache, *options)
    first = load_checkpoint(f"local-dir:{tmp_path / 'first' / 'checkpoints' / 'last'}")
    start = tmp_path / "exported"
    shutil.copytree(tmp_path / "first" / "checkpoints" / "last", start)
    train(tmp_path / "second", cache, *options, "--stop-after", "1", "--init", f"local-dir:{start}")
    # The start is replaced (as when a fine-tune is exported over the bundled checkpoint it began from);
    # the resumed run still names what it really started from.
    save_checkpoint(create("unet3d", "demo"), start)
    train(tmp_path / "second", cache, *options, "--init", f"local-dir:{start}")
    second = tmp_path / "second" / "checkpoints" / "last"
    init = load_checkpoint(f"local-dir:{second}").metadata["training"]["init"]
    assert init["source"] == f"local-dir:{start}" and init["sha256"] == first.sha256
    assert init["sha256"] != load_checkpoint(f"local-dir:{start}").sha256
    assert init["training"] == first.metadata["training"] and "init" not in init["training"]
    # A third stage nests the second's record, whose own init is the first: the card shows the chain.
    train(tmp_path / "third", cache, *options, "--steps", "1", "--init", f"local-dir:{second}")
    third = load_checkpoint(f"local-dir:{tmp_path / 'third' / 'checkpoints' / 'last'}").metadata["training"]
    assert third["init"]["training"]["init"]["sha256"] == first.sha256
    card = (tmp_path / "third" / "checkpoints" / "last" / "README.md").read_text()
    assert card.count(json.dumps(first.metadata["training"]["command"])) == 1 and card.count("--init local-dir:") == 2


def test_ablation_and_loss_options_change_the_model_and_the_recipe(tmp_path, cache):
    options = ["--model", "clip-unet3d", "--steps", "1", "--val-every", "1", "--loss", "tversky"]
    sets = ["--set", "pixel_fusion=false", "--set", "semantic_attention=false", "--set", "text.frozen=true"]
    train(tmp_path / "ablated", cache, *options, *sets)
    ablated = load_checkpoint(f"local-dir:{tmp_path / 'ablated' / 'checkpoints' / 'last'}")
    assert not ablated.model.config.pixel_fusion and not ablated.model.config.semantic_attention
    assert ablated.model.config.semantic_guidance  # untouched fields keep the size's JSON
    assert ablated.model.config.text.frozen and not ablated.model.config.visual.frozen  # a dotted key: one field
    full_keys = set(create("clip-unet3d", "demo").state_dict())
    assert set(ablated.model.state_dict()) < full_keys  # the fusion and attention modules are gone
    training = ablated.metadata["training"]
    assert "--loss tversky" in training["command"] and "loss tversky" in training["recipe"]
    assert "--set pixel_fusion=false --set semantic_attention=false --set text.frozen=true" in training["command"]
    for bad, message in [
        (["--set", "pixel_fusion=0"], "error: --set pixel_fusion=0: expected a value of type bool, like true"),
        (["--set", "pixel_fusion"], "error: --set 'pixel_fusion': expected FIELD=VALUE"),
        (["--set", "no_such_field=1"], "error: --set no_such_field: clip-unet3d has no config field"),
        (["--set", "text.no_such_field=1"], "error: --set text.no_such_field: clip-unet3d has no config field"),
        (["--set", "text=1"], "error: --set text: a nested config; set one of its fields: text.kind,"),
        (["--loss", "no-such-loss"], "error: --loss no-such-loss: unknown loss 'no-such-loss'; valid losses: dice"),
        (["--metastasis-share", "1.5"], "error: --metastasis-share must be in [0, 1], got 1.5"),
        (
            ["--metastasis-share", "0.5", "--low-grade-share", "0.75"],
            "error: --metastasis-share 0.5 and --low-grade-share 0.75 add up to more than 1",
        ),
        (["--ema", "1"], "error: --ema must be between 0 and 1 (e.g. 0.999), got 1"),
        (
            ["--tumor-probability", "0.7", "--hard-negative-share", "0.4"],
            "error: --tumor-probability 0.7 and --hard-negative-share 0.4 add up to more than 1",
        ),
        (["--hard-negative-share", "-0.1"], "error: --hard-negative-share must be in [0, 1], got -0.1"),
        (
            ["--hard-negative-kinds", "sinus,cerebellum"],
            "error: --hard-negative-kinds: hard-negative kinds must be some of sinus, bright-flair, "
            "got sinus, cerebellum",
        ),
    ]:
        command = [sys.executable, "-m", "brainseg.cli", "train", "--model", "clip-unet3d"]
        command += ["--out", str(tmp_path / "bad"), "--cache", str(cache), *TINY, *bad]
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
        assert result.stderr.strip().startswith(message), result.stderr
    assert not (tmp_path / "bad").exists()


def test_pretrain_text_stands_in_for_a_pretrained_encoder_and_is_recorded(tmp_path, cache):
    options = ["--model", "film-unet2d", "--steps", "1", "--val-every", "1", "--pretrain-text", "60"]
    train(tmp_path / "run", cache, *options)
    run = tmp_path / "run"
    record = json.loads((run / "text_pretraining.json").read_text())
    assert record["steps"] == 60 and record["accuracy"] >= 0.95, record
    loaded = load_checkpoint(f"local-dir:{run / 'checkpoints' / 'last'}")
    with torch.no_grad():
        embeddings = torch.nn.functional.normalize(
            loaded.model.text_encoder(["segment the tumor core", "segment the enhancing tumor"]), dim=1
        )
    assert float(embeddings[0] @ embeddings[1]) < 0.5  # a random encoder gives these two cosine ~0.98
    assert loaded.model.config.text.frozen  # frozen again for segmentation training, as the paper's BERT
    training = loaded.metadata["training"]
    assert "--pretrain-text 60" in training["command"]
    assert "text encoder first trained 60 steps to name each prompt's region" in training["recipe"]
    command = [sys.executable, "-m", "brainseg.cli", "train", "--model", "unet3d", "--pretrain-text", "5"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "bad"), "--cache", str(cache), *TINY], capture_output=True, text=True
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert result.stderr.strip() == "error: --pretrain-text: unet3d (demo) has no text encoder"
    assert not (tmp_path / "bad").exists()


def test_epoch_order_is_seeded_and_split_across_processes():
    everything = epoch_indices(10, epoch=0, seed=3, rank=0, world=1)
    assert sorted(everything) == list(range(10))
    assert epoch_indices(10, 0, 3, 0, 1) == everything and epoch_indices(10, 1, 3, 0, 1) != everything
    ranks = [epoch_indices(10, 0, 3, r, 2) for r in (0, 1)]
    assert sorted(ranks[0] + ranks[1]) == list(range(10)) and not set(ranks[0]) & set(ranks[1])
    assert epoch_indices(10, 0, 3, 0, 1, skip=4) == everything[4:]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_two_process_ddp_with_gloo(tmp_path, cache):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    assert torchrun, "torchrun comes with torch"
    launcher = [
        torchrun,
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "-m",
    ]
    summary = train(
        tmp_path / "ddp", cache, "--model", "tritier-film", "--steps", "2", "--val-every", "2", launcher=launcher
    )
    assert summary["processes"] == 2 and summary["steps"] == 2
    assert (tmp_path / "ddp" / "checkpoints" / "last" / "model.safetensors").is_file()


def test_evaluate_model_prints_the_papers_table(tmp_path, cache):
    from brainseg.synth import generate_case, write_case

    train(tmp_path / "run", cache, "--model", "unet3d", "--steps", "2", "--val-every", "2")
    cases = tmp_path / "cases"
    for seed in (5, 6):
        write_case(generate_case(3_000_000 + seed, shape=(64, 64, 48)), cases, f"Test-{seed}")
    checkpoint = f"local-dir:{tmp_path / 'run' / 'checkpoints' / 'last'}"
    command = [sys.executable, "-m", "brainseg.cli", "evaluate-model", "--checkpoint", f"tiny unet3d={checkpoint}"]
    command += ["--data", str(cases), "--out", str(tmp_path / "table.md")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    header, _rule, row = result.stdout.strip().splitlines()
    assert header.startswith("| model | Dice WT | Dice TC | Dice ET | Dice avg | HD95 WT")
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0] == "tiny unet3d" and cells[-1] == "2" and len(cells) == 12
    assert all(0 <= float(c) <= 1 for c in cells[1:5])  # Dice
    saved = json.loads((tmp_path / "table.json").read_text())
    assert saved[0]["cases"] == 2 and set(saved[0]["dice"]) == {"WT", "TC", "ET"}
    # The app's small-component removal only takes predicted voxels away: sensitivity cannot rise.
    command += ["--postprocess"]
    command[command.index("--out") + 1] = str(tmp_path / "cleaned.md")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    cleaned = json.loads((tmp_path / "cleaned.json").read_text())
    assert cleaned[0]["sensitivity"] <= saved[0]["sensitivity"] + 1e-9


def test_real_and_synthetic_cases_train_together_and_a_fold_validates(tmp_path, cache):
    """``--data synth+DIR --fold K --folds N``: the held-back cases validate; every real case is named."""
    from brainseg.synth import generate_case, write_case
    from brainseg.training.folds import split_fold

    names = ["Real-A", "Real-B", "Real-C"]
    for seed, name in enumerate(names):
        write_case(generate_case(5_000_000 + seed, shape=(64, 64, 48)), tmp_path / "real", name)
    options = ["--model", "unet3d", "--steps", "2", "--val-every", "2", "--data", f"synth+{tmp_path / 'real'}"]
    summary = train(
        tmp_path / "run", cache, *options, "--fold", "1", "--folds", "3", "--real-share", "0.8", "--real-augment"
    )
    assert summary["steps"] == 2 and set(summary["val"]) == {"WT", "TC", "ET"}
    record = json.loads((tmp_path / "run" / "cases.json").read_text())
    training, held_out = split_fold(names, 1, 3)
    assert record["real"]["training"] == training and record["real"]["validation"] == held_out
    assert record["real"]["share_of_patches"] == 0.8 and record["synthetic"]["cases"] == 2
    card = (tmp_path / "run" / "checkpoints" / "last" / "README.md").read_text()
    assert all(name in card for name in names) and "--fold 1 --folds 3" in card and "--real-augment" in card
    assert f"1 held-out real cases (fold 1 of 3): {held_out[0]}" in card
    # A fold without the number of folds is refused by flag name.
    command = [sys.executable, "-m", "brainseg.cli", "train", "--out", str(tmp_path / "bad"), *options, "--fold", "1"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "--fold 1 needs --folds" in result.stderr
