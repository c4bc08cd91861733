"""Assemble the Hugging Face Space of BrainSeg into a folder and, given a token and a repo id, upload it.

The Space is: ``app.py``, the ``brainseg/`` package, ``assets/`` (examples, bundled checkpoints),
``requirements.txt`` (``spaces/requirements.txt``) and ``README.md`` (``spaces/README.md``, the card whose
front matter says ``sdk: gradio`` and ``app_file: app.py``). Nothing else: no tests, no virtual
environment, no caches.

    python spaces/deploy.py --out build/space                                  # assemble only (offline)
    python spaces/deploy.py --out build/space --repo-id org/brainseg --token hf_...  # and upload

The token may also come from ``HF_TOKEN``. Uploading uses ``huggingface_hub.HfApi().upload_folder``; the
Space is created first if it does not exist.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SPACE_DIR = Path(__file__).resolve().parent
COPIED = ("app.py", "brainseg", "assets")
"""Repository paths copied as they are."""
SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".DS_Store", ".ipynb_checkpoints")
REQUIRED_CARD_KEYS = {"sdk": "gradio", "app_file": "app.py"}


class DeployError(Exception):
    """The Space cannot be assembled or uploaded as asked."""


def card_front_matter(card: str) -> dict[str, str]:
    """The ``key: value`` lines between the leading ``---`` lines of a Space card."""
    lines = card.splitlines()
    if not lines or lines[0].strip() != "---" or "---" not in (line.strip() for line in lines[1:]):
        raise DeployError("the Space card must start with YAML front matter between '---' lines")
    end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() == "---")
    values = {}
    for line in lines[1:end]:
        key, sep, value = line.partition(":")
        if sep:
            values[key.strip()] = value.strip().strip('"')
    return values


def assemble(out: Path, repo: Path = REPO, space_dir: Path = SPACE_DIR) -> list[Path]:
    """Write the Space into ``out`` (replaced if it holds an earlier assembly); returns its top-level entries.

    Raises:
        DeployError: a required file is missing, the card lacks ``sdk: gradio`` / ``app_file: app.py``, or
            ``out`` is a non-empty folder that is not an earlier assembly.
    """
    out = Path(out).resolve()
    if out == repo.resolve() or repo.resolve().is_relative_to(out):
        raise DeployError(f"--out {out} would overwrite the repository; pick a separate folder")
    card = (space_dir / "README.md").read_text()
    front = card_front_matter(card)
    for key, value in REQUIRED_CARD_KEYS.items():
        if front.get(key) != value:
            raise DeployError(f"spaces/README.md: front matter needs '{key}: {value}', found {front.get(key)!r}")
    for name in (*COPIED, "spaces/requirements.txt"):
        if not (repo / name).exists():
            raise DeployError(f"{repo / name} is missing")
    if out.exists():
        if any(out.iterdir()) and not (out / ".brainseg-space").exists():
            raise DeployError(f"--out {out} is a non-empty folder that deploy.py did not write; pick another")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    (out / ".brainseg-space").write_text("assembled by spaces/deploy.py; replaced on the next run\n")
    for name in COPIED:
        source = repo / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=SKIPPED)
        else:
            shutil.copy2(source, out / name)
    shutil.copy2(space_dir / "requirements.txt", out / "requirements.txt")
    (out / "README.md").write_text(card)
    return sorted(out.iterdir())


def upload(folder: Path, repo_id: str, token: str, private: bool = False) -> str:
    """Create the Space ``repo_id`` if needed and upload ``folder`` to it; returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type="space",
        commit_message="Deploy BrainSeg",
        ignore_patterns=[".brainseg-space"],
    )
    return str(getattr(commit, "commit_url", commit))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Assemble (and upload) the BrainSeg Hugging Face Space.")
    parser.add_argument("--out", required=True, help="folder to assemble the Space in (replaced)")
    parser.add_argument("--repo-id", help="Space to upload to, e.g. org/brainseg (with a token)")
    parser.add_argument("--token", default=os.environ.get("HF_TOKEN"), help="Hub token (default: $HF_TOKEN)")
    parser.add_argument("--private", action="store_true", help="create the Space private")
    args = parser.parse_args(argv)
    try:
        entries = assemble(Path(args.out))
        print(f"assembled the Space in {Path(args.out).resolve()}: {', '.join(p.name for p in entries)}")
        if not (args.repo_id and args.token):
            print("not uploaded: give --repo-id and --token (or HF_TOKEN) to upload")
            return 0
        print(f"uploaded: {upload(Path(args.out), args.repo_id, args.token, args.private)}")
    except (DeployError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
