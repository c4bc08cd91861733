"""Lay files out as huggingface_hub's cache does, so tests can load hf-hub sources with HF_HUB_OFFLINE=1."""

from pathlib import Path


def write_hub_cache(cache: Path, repo_id: str, commit: str, files_from: Path) -> None:
    """``cache/models--org--name``: ``refs/main`` -> ``commit``, ``snapshots/<commit>/`` holding the files."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in files_from.iterdir():
        (snapshot / path.name).write_bytes(path.read_bytes())
