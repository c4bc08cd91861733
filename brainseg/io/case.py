"""Load a four-sequence case (four files, a folder or a ``.zip``) into the canonical RAS frame.

Steps: find the files and their roles by name (:mod:`brainseg.io.naming`), read each safely
(:mod:`brainseg.io.nifti`), resample any sequence whose grid differs onto the reference grid (T1ce's, else
FLAIR's; reported), reorient everything to RAS (:class:`CanonicalFrame`), and convert the optional truth to
internal labels. A case may lack sequences as long as it has FLAIR or T1ce (:mod:`brainseg.io.availability`);
a missing sequence is an all-zero channel.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from brainseg.errors import CaseFilesError, GridMismatchError
from brainseg.io.archive import extract_zip
from brainseg.io.availability import INFORMATIVE, check_available, describe_subset
from brainseg.io.grid import describe_grid, resample_to_grid, same_grid
from brainseg.io.naming import SEQUENCES, TRUTH, CaseFiles, assign_roles, nifti_stem, recognize
from brainseg.io.nifti import MAX_VOXELS, Volume, read_volume
from brainseg.io.orientation import CanonicalFrame
from brainseg.labels import ConventionGuess, detect_convention, get_convention, to_internal

REFERENCE_ORDER = ("T1ce", "FLAIR", "T2", "T1")
"""Every sequence and the truth are brought onto the grid of the first of these the case has."""


@dataclass(frozen=True)
class SourceInfo:
    """What one input file held, as found on disk (before any resampling or reorientation).

    Attributes:
        file: file name as the user gave it (``archive.zip:folder/name.nii.gz`` for zip entries).
        grid: text description of shape, spacing and orientation.
        dtype: on-disk data type.
        value_range: (min, max) of the stored intensities (labels for the truth).
        resampled: True when the volume was resampled onto the reference (T1ce, else FLAIR) grid.
    """

    file: str
    grid: str
    dtype: str
    value_range: tuple[float, float]
    resampled: bool = False


@dataclass
class Case:
    """A loaded case, ready for models and viewers.

    Attributes:
        name: case identifier (BraTS prefix, else the folder or archive name).
        images: (4, X, Y, Z) float32 in canonical RAS order, channels in :data:`SEQUENCES` order
            (T1, T1ce, T2, FLAIR), intensities as stored (no normalization); a sequence the case lacks is
            all 0.
        truth: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET) in RAS order, or None.
        frame: maps canonical arrays back onto the input (reference sequence's) grid and affine.
        reference_header: header of the reference sequence's file, the template for written results.
        scheme: file naming scheme (``brats2023``, ``brats2021``, ``plain``, ``mixed`` or ``explicit``).
        sources: role (sequence name or ``truth``) -> what the file held.
        truth_convention: label convention of the truth file and why it was chosen.
        warnings: everything that was repaired, resampled or ignored, one line each.
        available: the sequences the case has, in :data:`SEQUENCES` order (all four for a complete case).
        reference_sequence: the sequence whose grid the case is on (T1ce, else FLAIR, T2, T1).
        candidates: every NIfTI file given, by the name the user gave it (what ``load_case(assign=...)`` takes).
    """

    name: str
    images: np.ndarray
    truth: np.ndarray | None
    frame: CanonicalFrame
    reference_header: nib.Nifti1Header
    scheme: str
    sources: dict[str, SourceInfo]
    truth_convention: ConventionGuess | None = None
    warnings: list[str] = field(default_factory=list)
    available: tuple[str, ...] = SEQUENCES
    reference_sequence: str = "T1ce"
    candidates: tuple[str, ...] = ()

    @property
    def missing(self) -> tuple[str, ...]:
        """The sequences the case lacks (their channels are all 0), in :data:`SEQUENCES` order."""
        return tuple(s for s in SEQUENCES if s not in self.available)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(X, Y, Z) of the canonical arrays."""
        x, y, z = (int(n) for n in self.images.shape[1:])
        return x, y, z

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the canonical X, Y, Z axes."""
        return self.frame.spacing

    @property
    def affine(self) -> np.ndarray:
        """(4, 4) voxel -> world (RAS+ mm) for the canonical arrays."""
        return self.frame.canonical_affine

    def image(self, sequence: str) -> np.ndarray:
        """(X, Y, Z) float32 view of one sequence (``T1``, ``T1ce``, ``T2`` or ``FLAIR``)."""
        if sequence not in SEQUENCES:
            raise CaseFilesError(f"unknown sequence {sequence!r}; expected one of {', '.join(SEQUENCES)}")
        image: np.ndarray = self.images[SEQUENCES.index(sequence)]
        return image


def _files_from_source(
    source: str | Path | Sequence[str | Path], workdir: Path
) -> tuple[list[Path], str, dict[Path, str]]:
    """Expand a folder, a zip or a list of files into NIfTI candidates; returns (files, label, display names)."""
    items = [Path(source)] if isinstance(source, str | Path) else [Path(p) for p in source]
    files: list[Path] = []
    display: dict[Path, str] = {}
    labels = []
    for item in items:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file())
            files += found
            display.update({p: str(p.relative_to(item)) for p in found})
            labels.append(item.name)
        elif item.suffix.lower() == ".zip":
            target = workdir / f"zip{len(labels)}"
            target.mkdir()
            extracted = extract_zip(item, target)
            files += extracted
            display.update({p: f"{item.name}:{p.relative_to(target.resolve())}" for p in extracted})
            labels.append(item.name)
        elif item.is_file():
            files.append(item)
            display[item] = item.name
        else:
            raise CaseFilesError(f"{item}: no such file or folder")
    count = len(files)
    label = labels[0] if len(labels) == 1 and len(items) == 1 else f"{count} uploaded file{'s' if count != 1 else ''}"
    return files, label, display


def reference_sequence(available: Sequence[str]) -> str:
    """The sequence whose grid a case with these sequences is put on (the first of :data:`REFERENCE_ORDER`)."""
    return next(s for s in REFERENCE_ORDER if s in available)


def _case_name(files: CaseFiles, label: str) -> str:
    stem = nifti_stem(files.sequences[reference_sequence(tuple(files.sequences))].name) or "case"
    if files.scheme in ("brats2023", "brats2021"):
        return stem.rsplit("-" if files.scheme == "brats2023" else "_", 1)[0]
    if label.lower().endswith(".zip"):
        return label[: -len(".zip")]
    return "case" if "uploaded file" in label else label


def load_case(
    source: str | Path | Sequence[str | Path] | None = None,
    *,
    t1: str | Path | None = None,
    t1ce: str | Path | None = None,
    t2: str | Path | None = None,
    flair: str | Path | None = None,
    truth: str | Path | None = None,
    labels: str = "auto",
    max_voxels: int = MAX_VOXELS,
    read_truth: bool = True,
    assign: dict[str, str] | None = None,
) -> Case:
    """Load a case from a folder, a ``.zip``, a list of files, or explicit per-sequence files.

    Any subset of the four sequences that holds FLAIR or T1ce loads; the missing ones are all-zero channels,
    listed in :attr:`Case.available` and in a warning that says which regions the subset supports.

    Args:
        source: folder, zip, or list of NIfTI files (and/or zips) whose names say their roles.
        t1, t1ce, t2, flair, truth: explicit files; they take their role whatever their names and
            override files of the same role found in ``source``.
        labels: convention of the truth file: ``auto`` (detect; BraTS file naming is used as a hint)
            or a name from :data:`brainseg.labels.CONVENTIONS`.
        max_voxels: voxel budget per volume, checked before decompression.
        read_truth: False ignores any truth file (prediction does not need it, so a truth in an unknown
            convention must not stop it).
        assign: the user's own sequence assignment, replacing the one read from names: sequence -> a file's
            name as :attr:`Case.candidates` lists it, or ``""`` to leave that sequence out. Sequences not
            named keep the file found for them.

    Returns:
        A :class:`Case` in the canonical RAS frame.

    Raises:
        BrainSegError: any problem with the files, with a one-line message naming the file.
    """
    given = {"T1": t1, "T1ce": t1ce, "T2": t2, "FLAIR": flair, TRUTH: truth}
    explicit = {role: Path(p) for role, p in given.items() if p is not None}
    with tempfile.TemporaryDirectory(prefix="brainseg-case-") as tmp:
        if source is not None:
            candidates, label, display = _files_from_source(source, Path(tmp))
        else:
            candidates, label, display = [], "case", {}
            if not any(s in explicit for s in INFORMATIVE) and not assign:
                given_text = ", ".join(s for s in SEQUENCES if s in explicit) or "no sequence"
                raise CaseFilesError(
                    f"missing FLAIR and T1ce (given: {given_text}): give FLAIR or T1ce at least (T1, T1ce, T2 and "
                    "FLAIR are best), or one case folder or .zip"
                )
        given_sequences = [p for role, p in explicit.items() if role != TRUTH]
        listed = candidate_names([*candidates, *given_sequences], display)
        left_out: tuple[str, ...] = ()
        if assign:
            explicit, left_out = _reassigned(explicit, assign, listed, label)
            # The user settled these roles: other files named like them (e.g. a second "t1ce") are not used.
            candidates = [p for p in candidates if p not in explicit.values() and _named_role(p) not in assign]
        found = _assign_with_explicit(candidates, label, explicit, left_out)
        if not read_truth:
            found = CaseFiles(found.sequences, None, found.scheme, found.ignored)
        names = {role: display.get(p, p.name) for role, p in [*found.sequences.items(), (TRUTH, found.truth)] if p}
        case = _read_case(found, label, names, labels, max_voxels)
        case.candidates = tuple(listed)
        return case


def _named_role(path: Path) -> str | None:
    recognized = recognize(path)
    return recognized.role if recognized is not None else None


def candidate_names(paths: Sequence[Path], display: dict[Path, str]) -> dict[str, Path]:
    """Display name (as the user gave it, e.g. ``case.zip:t1.nii.gz``) -> path, for every NIfTI file given."""
    found: dict[str, Path] = {}
    for path in paths:
        if not path.name.startswith(".") and nifti_stem(path.name) is not None:
            found.setdefault(display.get(path, path.name), path)
    return found


def _reassigned(
    explicit: dict[str, Path], assign: dict[str, str], listed: dict[str, Path], label: str
) -> tuple[dict[str, Path], tuple[str, ...]]:
    """The explicit files with the user's assignment applied, and the sequences the user left out."""
    chosen = dict(explicit)
    left_out = []
    for role, name in assign.items():
        if role not in SEQUENCES:
            raise CaseFilesError(f"{label}: cannot assign a file to {role!r}; sequences are {', '.join(SEQUENCES)}")
        if not name:
            chosen.pop(role, None)
            left_out.append(role)
        elif name not in listed:
            raise CaseFilesError(f"{label}: no file named {name} to use as {role}; files: {', '.join(listed)}")
        else:
            chosen[role] = listed[name]
    twice = [name for name in assign.values() if name and list(assign.values()).count(name) > 1]
    if twice:
        roles = [role for role, name in assign.items() if name == twice[0]]
        raise CaseFilesError(f"{label}: {twice[0]} is assigned to both {' and '.join(roles)}; one file per sequence")
    return chosen, tuple(left_out)


def _assign_with_explicit(
    candidates: list[Path], label: str, explicit: dict[str, Path], left_out: tuple[str, ...] = ()
) -> CaseFiles:
    """Roles from names, with explicitly given files filling (or overriding) their roles; ``left_out`` roles
    stay empty whatever the names say."""
    one_of = () if any(s in explicit for s in INFORMATIVE) or left_out else INFORMATIVE
    by_name = assign_roles(candidates, label, required=(), one_of=one_of)
    by_names = {r: p for r, p in by_name.sequences.items() if r not in left_out and p not in explicit.values()}
    sequences = {**by_names, **{r: p for r, p in explicit.items() if r in SEQUENCES}}
    available = check_available(sequences, label)
    named = [s for s in available if s in by_name.sequences and s not in explicit]
    scheme = by_name.scheme if len(named) == len(available) else ("mixed" if named else "explicit")
    return CaseFiles({s: sequences[s] for s in available}, explicit.get(TRUTH, by_name.truth), scheme, by_name.ignored)


def _read_case(found: CaseFiles, label: str, names: dict[str, str], labels: str, max_voxels: int) -> Case:
    warnings = [f"{label}: ignored {p.name} (name matches no sequence)" for p in found.ignored]
    available = tuple(s for s in SEQUENCES if s in found.sequences)
    if len(available) < len(SEQUENCES):
        warnings.append(f"{label}: {describe_subset(available)}")
    volumes: dict[str, Volume] = {
        role: read_volume(found.sequences[role], name=names[role], max_voxels=max_voxels) for role in available
    }
    reference_role = reference_sequence(available)
    reference = volumes[reference_role]
    frame = CanonicalFrame(reference.shape, reference.affine)
    sources: dict[str, SourceInfo] = {}
    images = np.zeros((len(SEQUENCES), *frame.canonical_shape), dtype=np.float32)  # missing sequences stay 0
    for role in available:
        volume = volumes.pop(role)
        warnings += volume.warnings
        data, resampled = _on_reference_grid(volume, reference, order=1)
        if resampled:
            warnings.append(
                f"{volume.name}: {describe_grid(volume.shape, volume.affine)} differs from the {reference_role} grid "
                f"{describe_grid(reference.shape, reference.affine)}; resampled (trilinear) onto the "
                f"{reference_role} grid"
            )
        sources[role] = _source_info(volume, resampled)
        images[SEQUENCES.index(role)] = frame.to_canonical(data)

    truth_internal = None
    guess = None
    if found.truth is not None:
        truth_internal, guess, info, truth_warnings = _read_truth(
            found.truth, names[TRUTH], reference, frame, labels, found.scheme, max_voxels, reference_role
        )
        sources[TRUTH] = info
        warnings += truth_warnings
    return Case(
        name=_case_name(found, label),
        images=images,
        truth=truth_internal,
        frame=frame,
        reference_header=reference.header,
        scheme=found.scheme,
        sources=sources,
        truth_convention=guess,
        warnings=warnings,
        available=available,
        reference_sequence=reference_role,
    )


def _on_reference_grid(volume: Volume, reference: Volume, *, order: int) -> tuple[np.ndarray, bool]:
    if same_grid(volume.shape, volume.affine, reference.shape, reference.affine):
        return volume.data, False
    return resample_to_grid(volume.data, volume.affine, reference.shape, reference.affine, order=order), True


def _source_info(volume: Volume, resampled: bool) -> SourceInfo:
    return SourceInfo(
        file=volume.name,
        grid=describe_grid(volume.shape, volume.affine),
        dtype=volume.dtype,
        value_range=(float(volume.data.min()), float(volume.data.max())),
        resampled=resampled,
    )


def _read_truth(
    path: Path,
    name: str,
    reference: Volume,
    frame: CanonicalFrame,
    labels: str,
    scheme: str,
    max_voxels: int,
    reference_role: str,
) -> tuple[np.ndarray, ConventionGuess, SourceInfo, list[str]]:
    volume = read_volume(path, name=name, max_voxels=max_voxels, allow_all_zero=True)
    if labels == "auto":
        hint = scheme if scheme in ("brats2023", "brats2021") else None
        if hint is None:  # a truth given on its own (an upload slot) still says its scheme by its name
            named = recognize(Path(name))
            hint = named.scheme if named is not None and named.scheme in ("brats2023", "brats2021") else None
        guess = detect_convention(volume.data, name, hint=hint)
    else:
        get_convention(labels)
        guess = ConventionGuess(labels, "named by the user")
    internal = to_internal(volume.data, guess.name, name)
    warnings = list(volume.warnings)
    data, resampled = _on_reference_grid_labels(internal, volume, reference)
    if resampled:
        warnings.append(
            f"{name}: {describe_grid(volume.shape, volume.affine)} differs from the {reference_role} grid; "
            f"resampled (nearest neighbour) onto the {reference_role} grid"
        )
    return frame.to_canonical(data), guess, _source_info(volume, resampled), warnings


def _on_reference_grid_labels(internal: np.ndarray, volume: Volume, reference: Volume) -> tuple[np.ndarray, bool]:
    if same_grid(volume.shape, volume.affine, reference.shape, reference.affine):
        return internal, False
    return resample_to_grid(internal, volume.affine, reference.shape, reference.affine, order=0), True


def require_same_grid(a: Volume, b: Volume) -> None:
    """Raise when two volumes (e.g. a prediction and a truth) are not on one grid; never resample them."""
    if not same_grid(a.shape, a.affine, b.shape, b.affine):
        raise GridMismatchError(
            f"{a.name} ({describe_grid(a.shape, a.affine)}) and {b.name} ({describe_grid(b.shape, b.affine)}) "
            "are on different grids; expected the same shape and affine"
        )
