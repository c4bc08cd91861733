"""Load a four-sequence case (four files, a folder or a ``.zip``) into the canonical RAS frame.

Steps: find the files and their roles by name (:mod:`brainseg.io.naming`), read each safely
(:mod:`brainseg.io.nifti`), resample any sequence whose grid differs onto the T1ce grid (reported),
reorient everything to RAS (:class:`CanonicalFrame`), and convert the optional truth to internal labels.
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
from brainseg.io.grid import describe_grid, resample_to_grid, same_grid
from brainseg.io.naming import SEQUENCES, TRUTH, CaseFiles, assign_roles, nifti_stem, recognize
from brainseg.io.nifti import MAX_VOXELS, Volume, read_volume
from brainseg.io.orientation import CanonicalFrame
from brainseg.labels import ConventionGuess, detect_convention, get_convention, to_internal

REFERENCE_SEQUENCE = "T1ce"
"""Every sequence and the truth are brought onto this sequence's grid."""


@dataclass(frozen=True)
class SourceInfo:
    """What one input file held, as found on disk (before any resampling or reorientation).

    Attributes:
        file: file name as the user gave it (``archive.zip:folder/name.nii.gz`` for zip entries).
        grid: text description of shape, spacing and orientation.
        dtype: on-disk data type.
        value_range: (min, max) of the stored intensities (labels for the truth).
        resampled: True when the volume was resampled onto the T1ce grid.
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
            (T1, T1ce, T2, FLAIR), intensities as stored (no normalization).
        truth: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET) in RAS order, or None.
        frame: maps canonical arrays back onto the input (T1ce) grid and affine.
        reference_header: header of the T1ce file, the template for written results.
        scheme: file naming scheme (``brats2023``, ``brats2021``, ``plain``, ``mixed`` or ``explicit``).
        sources: role (sequence name or ``truth``) -> what the file held.
        truth_convention: label convention of the truth file and why it was chosen.
        warnings: everything that was repaired, resampled or ignored, one line each.
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


def _case_name(files: CaseFiles, label: str) -> str:
    stem = nifti_stem(files.sequences[REFERENCE_SEQUENCE].name) or "case"
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
) -> Case:
    """Load a case from a folder, a ``.zip``, a list of files, or explicit per-sequence files.

    Args:
        source: folder, zip, or list of NIfTI files (and/or zips) whose names say their roles.
        t1, t1ce, t2, flair, truth: explicit files; they take their role whatever their names and
            override files of the same role found in ``source``.
        labels: convention of the truth file: ``auto`` (detect; BraTS file naming is used as a hint)
            or a name from :data:`brainseg.labels.CONVENTIONS`.
        max_voxels: voxel budget per volume, checked before decompression.
        read_truth: False ignores any truth file (prediction does not need it, so a truth in an unknown
            convention must not stop it).

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
            missing = [s for s in SEQUENCES if s not in explicit]
            if missing:
                raise CaseFilesError(
                    f"missing {', '.join(missing)}: give T1, T1ce, T2 and FLAIR files, or one case folder or .zip"
                )
        found = _assign_with_explicit(candidates, label, explicit)
        if not read_truth:
            found = CaseFiles(found.sequences, None, found.scheme, found.ignored)
        names = {role: display.get(p, p.name) for role, p in [*found.sequences.items(), (TRUTH, found.truth)] if p}
        return _read_case(found, label, names, labels, max_voxels)


def _assign_with_explicit(candidates: list[Path], label: str, explicit: dict[str, Path]) -> CaseFiles:
    """Roles from names, with explicitly given files filling (or overriding) their roles."""
    required = tuple(s for s in SEQUENCES if s not in explicit)
    by_name = assign_roles(candidates, label, required=required)
    sequences = {**by_name.sequences, **{r: p for r, p in explicit.items() if r in SEQUENCES}}
    named = [s for s in SEQUENCES if s in by_name.sequences and s not in explicit]
    scheme = by_name.scheme if len(named) == len(SEQUENCES) else ("mixed" if named else "explicit")
    return CaseFiles({s: sequences[s] for s in SEQUENCES}, explicit.get(TRUTH, by_name.truth), scheme, by_name.ignored)


def _read_case(found: CaseFiles, label: str, names: dict[str, str], labels: str, max_voxels: int) -> Case:
    warnings = [f"{label}: ignored {p.name} (name matches no sequence)" for p in found.ignored]
    volumes: dict[str, Volume] = {
        role: read_volume(found.sequences[role], name=names[role], max_voxels=max_voxels) for role in SEQUENCES
    }
    reference = volumes[REFERENCE_SEQUENCE]
    frame = CanonicalFrame(reference.shape, reference.affine)
    sources: dict[str, SourceInfo] = {}
    channels = []
    for role in SEQUENCES:
        volume = volumes[role]
        warnings += volume.warnings
        data, resampled = _on_reference_grid(volume, reference, order=1)
        if resampled:
            warnings.append(
                f"{volume.name}: {describe_grid(volume.shape, volume.affine)} differs from the T1ce grid "
                f"{describe_grid(reference.shape, reference.affine)}; resampled (trilinear) onto the T1ce grid"
            )
        sources[role] = _source_info(volume, resampled)
        channels.append(frame.to_canonical(data))
    images = np.stack(channels).astype(np.float32, copy=False)
    del channels, volumes

    truth_internal = None
    guess = None
    if found.truth is not None:
        truth_internal, guess, info, truth_warnings = _read_truth(
            found.truth, names[TRUTH], reference, frame, labels, found.scheme, max_voxels
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
    path: Path, name: str, reference: Volume, frame: CanonicalFrame, labels: str, scheme: str, max_voxels: int
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
            f"{name}: {describe_grid(volume.shape, volume.affine)} differs from the T1ce grid; "
            "resampled (nearest neighbour) onto the T1ce grid"
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
