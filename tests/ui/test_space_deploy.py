"""spaces/deploy.py assembles the Hugging Face Space offline: the app, the package, assets, pins and card."""

import os
import subprocess
import sys

from tests.casefiles import REPO

SCRIPT = REPO / "spaces" / "deploy.py"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True)


def test_without_a_token_the_space_is_assembled_and_not_uploaded(tmp_path):
    out = tmp_path / "space"
    done = _run("--out", str(out), "--repo-id", "org/brainseg")
    assert done.returncode == 0, done.stderr
    assert "not uploaded: give --repo-id and --token" in done.stdout
    assert (out / "app.py").read_text() == (REPO / "app.py").read_text()
    assert (out / "brainseg" / "__init__.py").is_file()
    assert (out / "brainseg" / "ui" / "app.py").is_file()
    assert (out / "assets" / "examples").is_dir()
    card = (out / "README.md").read_text()
    assert card.startswith("---\n") and "\nsdk: gradio\n" in card and "\napp_file: app.py\n" in card
    pins = (out / "requirements.txt").read_text().splitlines()
    assert "torch==2.15.0" in pins and "plotly==7.1.0" in pins
    assert not any(line.startswith(("pytest", "ruff", "playwright")) for line in pins)
    for absent in ("tests", ".venv", "spaces", "runs", "docs"):
        assert not (out / absent).exists(), absent
    assert not list(out.rglob("__pycache__"))


def test_the_runtime_pins_are_those_of_the_repository():
    repo_pins = {line for line in (REPO / "requirements.txt").read_text().splitlines() if "==" in line}
    space_pins = {line for line in (REPO / "spaces" / "requirements.txt").read_text().splitlines() if "==" in line}
    assert space_pins <= repo_pins


def test_assembling_again_replaces_the_folder_but_never_a_foreign_one(tmp_path):
    out = tmp_path / "space"
    assert _run("--out", str(out)).returncode == 0
    (out / "stale.txt").write_text("old")
    assert _run("--out", str(out)).returncode == 0
    assert not (out / "stale.txt").exists()
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    done = _run("--out", str(foreign))
    assert done.returncode == 2 and "non-empty folder that deploy.py did not write" in done.stderr
    assert (foreign / "notes.txt").read_text() == "keep"
    done = _run("--out", str(REPO))
    assert done.returncode == 2 and "would overwrite the repository" in done.stderr
