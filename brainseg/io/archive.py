"""Extract an uploaded ``.zip`` safely: no entry may land outside the target folder, size is capped."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from brainseg.errors import ArchiveError

MAX_ARCHIVE_BYTES = 2 * 1024**3
"""Cap on the total uncompressed size of a case archive (four BraTS volumes as float32 are ~0.6 GB)."""
MAX_ARCHIVE_ENTRIES = 256


def _safe_relative_path(info: zipfile.ZipInfo, archive: str) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(f"{archive}: entry {info.filename!r} points outside the archive folder; refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise ArchiveError(f"{archive}: entry {info.filename!r} is a symbolic link; refused")
    return path


def extract_zip(archive: str | Path, target: str | Path, *, max_bytes: int = MAX_ARCHIVE_BYTES) -> list[Path]:
    """Extract ``archive`` into the existing folder ``target`` and return the extracted files.

    The declared sizes are checked before extraction and the real byte count while writing (declared
    sizes can lie). macOS resource forks (``__MACOSX/``) and hidden files are skipped.

    Raises:
        ArchiveError: not a zip, unsafe entry names, too many entries, or too large once decompressed.
    """
    archive = Path(archive)
    target = Path(target).resolve()
    label = archive.name
    if not zipfile.is_zipfile(archive):
        raise ArchiveError(f"{label}: not a readable .zip archive")
    extracted: list[Path] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > MAX_ARCHIVE_ENTRIES:
                raise ArchiveError(f"{label}: {len(infos)} entries; at most {MAX_ARCHIVE_ENTRIES} accepted")
            declared = sum(i.file_size for i in infos)
            if declared > max_bytes:
                raise ArchiveError(f"{label}: unpacks to {declared:,} bytes, over the limit of {max_bytes:,}")
            written = 0
            for info in infos:
                relative = _safe_relative_path(info, label)
                if relative.parts[0] == "__MACOSX" or relative.name.startswith("."):
                    continue
                destination = (target / relative).resolve()
                if not destination.is_relative_to(target):
                    raise ArchiveError(f"{label}: entry {info.filename!r} points outside the archive folder; refused")
                destination.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as source, open(destination, "wb") as sink:
                    while chunk := source.read(1 << 20):
                        written += len(chunk)
                        if written > max_bytes:
                            raise ArchiveError(f"{label}: unpacks to more than the limit of {max_bytes:,} bytes")
                        sink.write(chunk)
                extracted.append(destination)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise ArchiveError(f"{label}: damaged or unsupported .zip ({exc})") from None
    return extracted


def clear_folder(folder: Path) -> None:
    """Remove a temporary extraction folder, ignoring files already gone."""
    shutil.rmtree(folder, ignore_errors=True)
