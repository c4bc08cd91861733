"""Recognize which MRI sequence (or the truth segmentation) a file holds from its name.

Three naming schemes are recognized, case-insensitively:

=========  =====================================================  =====================
scheme     sequence suffixes (T1, T1ce, T2, FLAIR)                truth
=========  =====================================================  =====================
brats2023  ``-t1n``, ``-t1c``, ``-t2w``, ``-t2f``                  ``-seg``
brats2021  ``_t1``, ``_t1ce``, ``_t2``, ``_flair``                 ``_seg``
plain      ``t1``, ``t1c``/``t1ce``/``t1gd``, ``t2``, ``flair``   ``seg``, ``label``, ``truth``, ``gt``
=========  =====================================================  =====================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from brainseg.errors import CaseFilesError

SEQUENCES: tuple[str, ...] = ("T1", "T1ce", "T2", "FLAIR")
"""Canonical sequence order used for every 4-channel array in BrainSeg."""

TRUTH = "truth"
NIFTI_SUFFIXES = (".nii.gz", ".nii")

_BRATS2023 = {"t1n": "T1", "t1c": "T1ce", "t2w": "T2", "t2f": "FLAIR", "seg": TRUTH}
_BRATS2021 = {"t1": "T1", "t1ce": "T1ce", "t2": "T2", "flair": "FLAIR", "seg": TRUTH}
_PLAIN = {
    "t1": "T1",
    "t1n": "T1",
    "t1c": "T1ce",
    "t1ce": "T1ce",
    "t1gd": "T1ce",
    "t2": "T2",
    "t2w": "T2",
    "flair": "FLAIR",
    "t2f": "FLAIR",
    "seg": TRUTH,
    "label": TRUTH,
    "labels": TRUTH,
    "truth": TRUTH,
    "gt": TRUTH,
}

NAMING_HELP = (
    "name files like CASE-t1n/-t1c/-t2w/-t2f (BraTS 2023), CASE_t1/_t1ce/_t2/_flair (BraTS 2021) or t1, t1c, t2, flair"
)


@dataclass(frozen=True)
class RecognizedFile:
    """A file whose role was recognized from its name.

    Attributes:
        path: the file.
        role: one of :data:`SEQUENCES` or ``"truth"``.
        scheme: ``brats2023``, ``brats2021`` or ``plain``.
    """

    path: Path
    role: str
    scheme: str


def nifti_stem(name: str) -> str | None:
    """File name without its NIfTI extension, or ``None`` when the name is not ``.nii``/``.nii.gz``."""
    lower = name.lower()
    for suffix in NIFTI_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return None


def recognize(path: Path) -> RecognizedFile | None:
    """Role and scheme of one file from its name, or ``None`` if the name matches no scheme."""
    stem = nifti_stem(path.name)
    if stem is None:
        return None
    stem = stem.lower()
    match = re.search(r"(?:^|([-_. ]))([a-z0-9]+)$", stem)
    if match is None:
        return None
    separator, token = match.group(1), match.group(2)
    has_prefix = separator is not None
    if has_prefix and separator == "-" and token in _BRATS2023:
        return RecognizedFile(path, _BRATS2023[token], "brats2023")
    if has_prefix and separator == "_" and token in _BRATS2021:
        return RecognizedFile(path, _BRATS2021[token], "brats2021")
    if token in _PLAIN:
        return RecognizedFile(path, _PLAIN[token], "plain")
    return None


@dataclass(frozen=True)
class CaseFiles:
    """The files of one case, by role.

    Attributes:
        sequences: sequence name (``T1``, ``T1ce``, ``T2``, ``FLAIR``) -> file, for the sequences the case has
            (all four for a complete case).
        truth: the truth segmentation, if one was found.
        scheme: the naming scheme shared by all files, or ``mixed``.
        ignored: NIfTI files whose names matched no scheme.
    """

    sequences: dict[str, Path]
    truth: Path | None
    scheme: str
    ignored: tuple[Path, ...] = ()


def assign_roles(
    paths: list[Path], source: str, required: tuple[str, ...] = SEQUENCES, one_of: tuple[str, ...] = ()
) -> CaseFiles:
    """Sort a list of files into the sequences and an optional truth by their names.

    Args:
        paths: candidate files (non-NIfTI files are skipped silently; hidden files too).
        source: how the files were given (folder or zip name), for messages.
        required: sequences that must be found (those not given explicitly some other way).
        one_of: sequences at least one of which must be found, e.g. ``("FLAIR", "T1ce")`` for a case that may
            lack sequences (:mod:`brainseg.io.availability`); () requires none beyond ``required``.

    Raises:
        CaseFilesError: a required sequence is missing or two files claim the same role; the message lists
            what was found and what is needed.
    """
    by_role: dict[str, list[RecognizedFile]] = {}
    ignored: list[Path] = []
    for path in sorted(paths):
        if path.name.startswith(".") or nifti_stem(path.name) is None:
            continue
        found = recognize(path)
        if found is None:
            ignored.append(path)
        else:
            by_role.setdefault(found.role, []).append(found)

    duplicates = {role: files for role, files in by_role.items() if len(files) > 1}
    if duplicates:
        role, files = next(iter(duplicates.items()))
        names = ", ".join(f.path.name for f in files)
        raise CaseFilesError(f"{source}: {len(files)} files look like {role} ({names}); give exactly one per sequence")
    found_text = ", ".join(f"{role}={files[0].path.name}" for role, files in by_role.items()) or "none"
    if ignored:
        found_text += "; unrecognized: " + ", ".join(p.name for p in ignored)
    missing = [s for s in required if s not in by_role]
    if missing:
        raise CaseFilesError(
            f"{source}: missing {', '.join(missing)} (found: {found_text}); need T1, T1ce, T2 and FLAIR: {NAMING_HELP}"
        )
    if one_of and not any(s in by_role for s in one_of):
        raise CaseFilesError(
            f"{source}: missing {' and '.join(one_of)} (found: {found_text}); need {' or '.join(one_of)} at least "
            f"(FLAIR alone gives the whole tumor, T1ce the core and enhancing tumor; all four are best): {NAMING_HELP}"
        )
    schemes = {files[0].scheme for files in by_role.values()}
    truth = by_role.get(TRUTH)
    return CaseFiles(
        sequences={s: by_role[s][0].path for s in SEQUENCES if s in by_role},
        truth=truth[0].path if truth else None,
        scheme=schemes.pop() if len(schemes) == 1 else ("mixed" if schemes else "explicit"),
        ignored=tuple(ignored),
    )
