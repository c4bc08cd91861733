"""Training and validation data: cached synthetic pools, BraTS folders, and a patch dataset for torch.

A *case source* is anything with ``len(source)``, ``source[i] -> (images, labels)`` and
``source.case_name(i) -> str``, where images are (4, X, Y, Z) float32 raw intensities in canonical RAS
order (channels T1, T1ce, T2, FLAIR) and labels (X, Y, Z) uint8 internal labels (0 bg, 1 NCR, 2 ED, 3 ET),
exactly what :func:`brainseg.io.load_case` gives. Two sources exist:

- :class:`SyntheticPool`: cases from :func:`brainseg.synth.generate_case`, generated once and cached as
  ``.npz`` files (``--data synth``). Training pools use seeds below :data:`VALIDATION_SEED_START`;
  :func:`validation_cases` uses seeds from it on, so no validation case shares a seed (hence anatomy and
  tumor) with any training case.
- :class:`BratsFolderSet`: a folder of BraTS-layout case folders, 2017-2021 or 2023 naming (``--data DIR``).

:class:`PatchDataset` turns a source into normalized, tumor-focused, augmented patches.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from brainseg.errors import BrainSegError, CaseFilesError
from brainseg.io import SEQUENCES, CanonicalFrame, load_case
from brainseg.io.naming import assign_roles
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.preprocess import BRAIN_BOX_MARGIN, brain_box, brain_mask, check_method
from brainseg.preprocess.coverage import normalize_covered
from brainseg.synth import BRATS_SHAPE, GENERATOR_VERSION, LESIONS, generate_case
from brainseg.training.augment import (
    DEFAULT_HARD_NEGATIVE_KINDS,
    Compose,
    check_hard_negative_kinds,
    choose_centre,
    crop_around,
    default_augmentation,
    hard_negative_mask,
)

VALIDATION_SEED_START = 10**6
"""Synthetic seeds from here on are reserved for validation; training pools must stay below."""
CROP_MARGIN = BRAIN_BOX_MARGIN
"""Voxels of background kept around the brain's bounding box in cached synthetic cases (as at inference)."""


class CaseSource(Protocol):
    """What :class:`PatchDataset` reads cases from."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]: ...

    def case_name(self, index: int) -> str: ...


def _check_index(index: int, length: int, what: str) -> int:
    if not -length <= index < length:
        raise IndexError(f"{what}: case index {index} out of range for {length} cases")
    return index % length


# --------------------------------------------------------------------------------------------------
# Synthetic cases, cached


def synthetic_case_arrays(
    seed: int,
    domain_randomized: bool,
    shape: tuple[int, int, int] = BRATS_SHAPE,
    margin: int = CROP_MARGIN,
    lesion: str = "glioma",
) -> dict[str, np.ndarray]:
    """Generate one synthetic case and bring it into the canonical frame, cropped to the brain.

    The LPS arrays of :func:`~brainseg.synth.generate_case` are reoriented with
    :class:`~brainseg.io.CanonicalFrame`, as :func:`~brainseg.io.load_case` reorients the written files,
    then cut to the brain's bounding box plus ``margin`` voxels.

    Returns:
        ``images`` (4, X, Y, Z) int16 (the generator's intensities are whole numbers in [0, 32767], so
        int16 is exact and as small as float16), ``labels`` (X, Y, Z) uint8 internal, ``box`` (3, 2) int64
        start/stop of the crop in the full canonical grid, ``affine`` (4, 4) voxel -> world of the crop.
    """
    case = generate_case(seed, domain_randomized=domain_randomized, lesion=lesion, shape=shape)
    frame = CanonicalFrame(tuple(case.labels.shape), case.affine)
    images = np.stack([frame.to_canonical(case.images[sequence]) for sequence in SEQUENCES])
    labels = frame.to_canonical(case.labels)
    del case
    if not np.array_equal(images, np.clip(np.rint(images), 0, np.iinfo(np.int16).max)):
        raise BrainSegError(f"synthetic case {seed}: intensities are not whole numbers in the int16 range")
    crop = brain_box(brain_mask(images) | (labels > 0), margin)
    box = np.array([(c.start, c.stop) for c in crop], dtype=np.int64)
    affine = frame.canonical_affine.copy()
    affine[:3, 3] += affine[:3, :3] @ box[:, 0]
    return {
        "images": np.ascontiguousarray(images[(slice(None), *crop)]).astype(np.int16),
        "labels": np.ascontiguousarray(labels[crop]).astype(np.uint8),
        "box": box,
        "affine": affine,
    }


def _write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see a partial file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        os.chmod(temporary, 0o644)  # mkstemp makes files private; a cache is shared like any output
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _generate_into(
    path: str, seed: int, domain_randomized: bool, shape: tuple[int, int, int], lesion: str = "glioma"
) -> str:
    """Worker for :meth:`SyntheticPool.prepare` (module level so that spawned processes can import it)."""
    target = Path(path)
    if not target.exists():  # another process may have finished it meanwhile
        _write_npz_atomically(target, synthetic_case_arrays(seed, domain_randomized, shape, lesion=lesion))
    return path


_LESION_TAGS = {"glioma": "", "metastasis": "met-", "low-grade": "lgg-"}
"""Case-name and cache-file tag of each lesion kind (gliomas keep the names they had before the others)."""


class SyntheticPool:
    """A fixed set of synthetic cases, generated on first use and cached as compressed ``.npz`` files.

    Case ``i`` is ``generate_case(seed + i, domain_randomized=..., lesion=..., shape=...)`` in canonical RAS order,
    cropped to the brain's bounding box plus :data:`CROP_MARGIN` voxels (7-9 MB a full-size case on disk).
    Files are named by generator version, contrast mode, lesion kind, seed and grid, so pools with different settings
    share one cache folder safely, and two processes generating the same case at once both succeed.

    Args:
        cache_dir: folder for the ``.npz`` files (created if missing).
        num_cases: number of cases.
        seed: seed of case 0; a training pool needs ``seed + num_cases <= VALIDATION_SEED_START``.
        domain_randomized: random tissue contrast (training) or realistic contrast (validation).
        shape: generator grid, (240, 240, 155) for the BraTS grid; smaller ones are for tests.
        validation: reserved for :func:`validation_cases`: seeds must then be >= VALIDATION_SEED_START.
        lesion: "glioma", "metastasis" or "low-grade" (see :data:`brainseg.synth.LESIONS`).

    Example::

        pool = SyntheticPool(Path("cache/synth"), num_cases=200, seed=0)
        pool.prepare(workers=2)
        images, labels = pool[0]  # (4, X, Y, Z) float32 raw, (X, Y, Z) uint8; X, Y, Z ~ 150 x 180 x 150
    """

    def __init__(
        self,
        cache_dir: Path,
        num_cases: int,
        seed: int,
        domain_randomized: bool = True,
        *,
        shape: tuple[int, int, int] = BRATS_SHAPE,
        validation: bool = False,
        lesion: str = "glioma",
    ) -> None:
        if lesion not in LESIONS:
            raise BrainSegError(f"lesion must be one of {', '.join(LESIONS)}, got {lesion!r}")
        if isinstance(num_cases, bool) or not isinstance(num_cases, (int, np.integer)) or num_cases < 1:
            raise BrainSegError(f"num_cases must be a positive integer, got {num_cases!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise BrainSegError(f"seed must be a non-negative integer, got {seed!r}")
        last = int(seed) + int(num_cases) - 1
        if validation and seed < VALIDATION_SEED_START:
            raise BrainSegError(
                f"validation seeds must be >= {VALIDATION_SEED_START} so that no training pool can use them, "
                f"got seed {seed}"
            )
        if not validation and last >= VALIDATION_SEED_START:
            raise BrainSegError(
                f"training seeds {seed}..{last} reach the validation range (>= {VALIDATION_SEED_START}); "
                f"use seed + num_cases <= {VALIDATION_SEED_START}"
            )
        self.cache_dir = Path(cache_dir)
        self.num_cases = int(num_cases)
        self.seed = int(seed)
        self.domain_randomized = bool(domain_randomized)
        self.shape = tuple(int(n) for n in shape)
        self.validation = validation
        self.lesion = lesion

    @property
    def seeds(self) -> range:
        """Generator seeds of the cases, in order."""
        return range(self.seed, self.seed + self.num_cases)

    def __len__(self) -> int:
        return self.num_cases

    def case_name(self, index: int) -> str:
        """``synth-0000042`` for the glioma case of seed 42, ``synth-met-0000042`` for its metastasis case,
        ``synth-lgg-0000042`` for its low-grade case."""
        return f"synth-{self._tag}{self.seed + _check_index(index, self.num_cases, 'SyntheticPool'):07d}"

    @property
    def _tag(self) -> str:
        return _LESION_TAGS[self.lesion]

    def path(self, index: int) -> Path:
        """Cache file of case ``index`` (it may not exist yet)."""
        seed = self.seed + _check_index(index, self.num_cases, "SyntheticPool")
        mode = "dr" if self.domain_randomized else "rc"
        grid = "x".join(str(n) for n in self.shape)
        return self.cache_dir / f"synth-v{GENERATOR_VERSION}-{mode}-{self._tag}{grid}-{seed:07d}.npz"

    def prepare(self, workers: int = 2) -> list[int]:
        """Generate every missing case (``workers`` processes, ~3 s and ~0.7 GB each per full-size case).

        Returns:
            Indices of the cases generated by this call.
        """
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        missing = [i for i in range(self.num_cases) if not self.path(i).exists()]
        jobs = [(str(self.path(i)), self.seed + i, self.domain_randomized, self.shape, self.lesion) for i in missing]
        if workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                _generate_into(*job)
        else:
            # spawn, not fork: the parent may hold torch/OpenMP threads, which fork can deadlock.
            with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
                list(pool.map(_generate_into, *zip(*jobs, strict=True)))
        return missing

    def load(self, index: int) -> dict[str, np.ndarray]:
        """Stored arrays of case ``index`` (``images`` int16, ``labels``, ``box``, ``affine``); generated if missing."""
        path = self.path(index)
        if not path.exists():
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            _generate_into(
                str(path), self.seed + index % self.num_cases, self.domain_randomized, self.shape, self.lesion
            )
        try:
            with np.load(path) as stored:
                return {key: stored[key] for key in stored.files}
        except (OSError, ValueError, KeyError) as exc:
            raise BrainSegError(f"{path}: unreadable cached synthetic case ({exc}); delete it to regenerate") from None

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(images (4, X, Y, Z) float32 raw intensities, labels (X, Y, Z) uint8)``, canonical RAS, cropped."""
        stored = self.load(index)
        return stored["images"].astype(np.float32), stored["labels"]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every case in order, as ``pool[i]`` gives it."""
        return (self[i] for i in range(self.num_cases))


class ConcatSource:
    """Several case sources read as one: case ``i`` of the first, then of the second, and so on."""

    def __init__(self, sources: list[CaseSource]) -> None:
        self.sources = [source for source in sources if len(source)]
        if not self.sources:
            raise BrainSegError("ConcatSource: every source is empty")

    def __len__(self) -> int:
        return sum(len(source) for source in self.sources)

    def _locate(self, index: int) -> tuple[CaseSource, int]:
        index = _check_index(index, len(self), "ConcatSource")
        for source in self.sources:
            if index < len(source):
                return source, index
            index -= len(source)
        raise AssertionError("unreachable")  # _check_index bounds the index

    def case_name(self, index: int) -> str:
        source, local = self._locate(index)
        return source.case_name(local)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        source, local = self._locate(index)
        return source[local]


def training_pool(
    cache_dir: Path,
    num_cases: int,
    seed: int,
    realistic_share: float,
    *,
    metastasis_share: float = 0.0,
    low_grade_share: float = 0.0,
    shape: tuple[int, int, int] = BRATS_SHAPE,
) -> ConcatSource:
    """The synthetic training cases: domain-randomized ones, then a ``realistic_share`` with textbook contrast.

    Seeds ``seed .. seed + num_cases - 1``, each used once (so the two parts differ in anatomy and tumor
    as well as contrast). Domain randomization teaches robustness to scanners and protocols; the realistic
    part keeps the contrasts real scans have in front of the network from the first steps. In each part,
    the last ``metastasis_share`` of the cases are metastasis-like (cystic, thin-rimmed) and the
    ``low_grade_share`` before them non-enhancing low-grade-like instead of glioma-like, so the glioma cases
    keep the seeds they have without the other kinds.
    """
    for name, share in (
        ("realistic_share", realistic_share),
        ("metastasis_share", metastasis_share),
        ("low_grade_share", low_grade_share),
    ):
        if not 0.0 <= share <= 1.0:
            raise BrainSegError(f"{name} must be in [0, 1], got {share!r}")
    if metastasis_share + low_grade_share > 1.0:
        raise BrainSegError(
            f"metastasis_share + low_grade_share must be at most 1, got {metastasis_share:g} + {low_grade_share:g}"
        )
    realistic = round(num_cases * realistic_share)
    randomized = num_cases - realistic
    pools = []
    for start, count, domain_randomized in ((seed, randomized, True), (seed + randomized, realistic, False)):
        metastases = round(count * metastasis_share)
        low_grade = min(round(count * low_grade_share), count - metastases)
        gliomas = count - metastases - low_grade
        for first, size, lesion in (
            (start, gliomas, "glioma"),
            (start + gliomas, low_grade, "low-grade"),
            (start + count - metastases, metastases, "metastasis"),
        ):
            if size:
                pools.append(SyntheticPool(cache_dir, size, first, domain_randomized, shape=shape, lesion=lesion))
    return ConcatSource(pools)


def validation_cases(
    cache_dir: Path,
    num_cases: int,
    seed: int = VALIDATION_SEED_START,
    *,
    shape: tuple[int, int, int] = BRATS_SHAPE,
    lesion: str = "glioma",
) -> SyntheticPool:
    """The fixed synthetic validation set: realistic contrast, seeds from ``seed`` (>= 10**6) on, ``lesion`` kind.

    Whole cases (cropped to the brain plus a margin), for full-volume validation; call ``.prepare()`` to
    generate them up front. Training pools cannot reach these seeds (:class:`SyntheticPool` refuses).
    """
    return SyntheticPool(
        cache_dir, num_cases, seed, domain_randomized=False, shape=shape, validation=True, lesion=lesion
    )


# --------------------------------------------------------------------------------------------------
# BraTS folders


class BratsFolderSet:
    """Every case folder under ``root`` with four sequences and a truth, BraTS 2017-2021 or 2023 naming.

    Folders are recognized by file names (cheap); a case is read with :func:`~brainseg.io.load_case`
    only when indexed. Folders without a truth, or whose files do not make a case, are skipped and
    listed in :attr:`skipped` (one line each, also given as one warning).

    Args:
        root: folder holding one sub-folder per case.
        labels: truth label convention, ``auto`` or a name from :data:`brainseg.labels.CONVENTIONS`.
        cases: only these case folders (by name), e.g. one cross-validation fold's; None: every case.
        crop: cut each case to its brain's bounding box plus :data:`CROP_MARGIN` voxels, as the cached
            synthetic cases are and as the Segmenter runs the networks (a BraTS case shrinks ~2.5x).

    Raises:
        BrainSegError: ``root`` is not a folder, holds no usable case, or lacks one of ``cases``.
    """

    def __init__(
        self, root: Path, labels: str = "auto", *, cases: Sequence[str] | None = None, crop: bool = False
    ) -> None:
        self.root = Path(root)
        self.labels = labels
        self.crop = crop
        if not self.root.is_dir():
            raise CaseFilesError(f"{self.root}: no such folder; expected a folder of BraTS case folders")
        self.folders: list[Path] = []
        self.skipped: list[str] = []
        for folder in sorted(p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = [p for p in folder.rglob("*") if p.is_file()]
            try:
                found = assign_roles(files, folder.name)
            except CaseFilesError as exc:
                self.skipped.append(f"{folder.name}: not a case ({exc})")
                continue
            if found.truth is None:
                self.skipped.append(f"{folder.name}: no truth segmentation (e.g. {folder.name}_seg.nii.gz); skipped")
                continue
            self.folders.append(folder)
        if cases is not None:
            found_names = {folder.name for folder in self.folders}
            missing = sorted(set(cases) - found_names)
            if missing:
                raise CaseFilesError(f"{self.root}: no usable case folder {', '.join(missing[:3])}")
            self.folders = [folder for folder in self.folders if folder.name in set(cases)]
        if not self.folders:
            detail = f"; skipped: {'; '.join(self.skipped[:3])}" if self.skipped else ""
            raise CaseFilesError(
                f"{self.root}: no case folder with T1, T1ce, T2, FLAIR and a truth segmentation{detail}"
            )
        if self.skipped:
            warnings.warn(
                f"{self.root}: skipped {len(self.skipped)} folder(s): {'; '.join(self.skipped[:3])}",
                stacklevel=2,
            )

    def __len__(self) -> int:
        return len(self.folders)

    def case_name(self, index: int) -> str:
        """The case folder's name."""
        return self.folders[_check_index(index, len(self.folders), "BratsFolderSet")].name

    @property
    def names(self) -> list[str]:
        """Every case's name, in index order (sorted)."""
        return [folder.name for folder in self.folders]

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """``(images (4, X, Y, Z) float32 raw intensities, truth (X, Y, Z) uint8 internal)``, canonical RAS
        (cut to the brain plus a margin when ``crop``)."""
        folder = self.folders[_check_index(index, len(self.folders), "BratsFolderSet")]
        case = load_case(folder, labels=self.labels)
        if case.truth is None:  # the names matched a truth at construction; the file may have gone since
            raise CaseFilesError(f"{folder}: truth segmentation not found")
        if not self.crop:
            return case.images, case.truth
        box = brain_box(brain_mask(case.images) | (case.truth > 0), CROP_MARGIN)
        return np.ascontiguousarray(case.images[(slice(None), *box)]), np.ascontiguousarray(case.truth[box])

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Every case in order, as ``folder_set[i]`` gives it."""
        return (self[i] for i in range(len(self.folders)))


# --------------------------------------------------------------------------------------------------
# Patches


class _PreparedCase:
    """A normalized case and where its patches may be centred (kept in :class:`PatchDataset`'s cache)."""

    def __init__(
        self, images: np.ndarray, labels: np.ndarray, normalization: str, hard_negative_kinds: Sequence[str]
    ) -> None:
        self.labels = np.asarray(labels, dtype=np.uint8)
        # From the raw intensities: the blood look is a ratio to the case's own medians.
        self.hard_negatives = (
            hard_negative_mask(images, self.labels, kinds=hard_negative_kinds) if hard_negative_kinds else None
        )
        # The brain from the raw intensities (a normalized voxel may be exactly 0), as the Segmenter has it.
        self.images, coverage = normalize_covered(images, normalization)
        self.brain = coverage.covered


def _case_odds(weights: Sequence[float], count: int) -> np.ndarray:
    """``weights`` (one per case, non-negative, not all 0) as probabilities summing to 1."""
    odds = np.asarray(weights, dtype=np.float64)
    if odds.shape != (count,) or not np.all(np.isfinite(odds)) or np.any(odds < 0) or odds.sum() <= 0:
        raise BrainSegError(f"case_weights must be {count} non-negative numbers, not all 0, got {list(weights)!r}")
    return odds / odds.sum()


class PatchDataset(Dataset):
    """Normalized, tumor-focused, optionally augmented patches drawn from a case source.

    Item ``i`` of epoch ``e`` depends only on (``seed``, ``e``, ``i``): the case is the ``i``-th of a
    seeded per-epoch permutation of the cases (so every case is used equally often), the crop and the
    augmentation draw from ``numpy.random.default_rng([seed, e, i])``. That holds in any worker process,
    with any sampler (e.g. ``DistributedSampler``). Call :meth:`set_epoch` before iterating the
    ``DataLoader`` for each epoch; the epoch lives in shared memory, so persistent workers see it too.

    Normalized cases are kept in a small per-process LRU cache, so a ``DataLoader`` whose sampler visits
    a case several times in a row normalizes it once.

    Args:
        source: a case source (:class:`SyntheticPool`, :class:`BratsFolderSet`, ...).
        patch_size: patch edge P in voxels, e.g. 128.
        normalization: ``zscore-brain`` or ``paper-a3`` (see :mod:`brainseg.preprocess`).
        augment: apply :func:`~brainseg.training.augment.default_augmentation` (or ``transforms``).
        seed: base seed.
        samples_per_epoch: ``len(dataset)``.
        tumor_probability: share of patches centred on a tumor voxel.
        hard_negative_probability: share centred on normal tissue that looks like tumor
            (:func:`~brainseg.training.augment.hard_negative_mask`); the rest of the patches are centred on
            any brain voxel.
        hard_negative_kinds: which such tissue: some of
            :data:`~brainseg.training.augment.HARD_NEGATIVE_KINDS` (``sinus``: contrast-filled venous
            sinuses; ``bright-flair``: FLAIR-bright normal tissue).
        cache_cases: normalized cases kept in memory per process (~60 MB each at full size).
        transforms: augmentation used instead of the default when ``augment`` is true.
        edge_artifacts: add :class:`~brainseg.training.augment.BrainEdgeArtifact` to the default augmentation.
        bias_field: add :class:`~brainseg.training.augment.RandomBiasField` to the default augmentation.
        slab_cuts: add :class:`~brainseg.training.augment.RandomSlabCut` to the default augmentation.
        real_domain: add the real-domain transforms (:func:`~brainseg.training.augment.real_domain_augmentation`).
        sequence_dropout: probability of keeping only a random usable subset of the sequences
            (:class:`~brainseg.training.augment.RandomSequenceDropout`); 0 never drops one.
        case_weights: one non-negative weight per source case; item ``i``'s case is then drawn with these
            odds (seeded by epoch and ``i``) instead of from the per-epoch permutation, e.g. to give real
            cases half the patches of a mixed source. None: every case equally often.

    Items are dicts: ``images`` (4, P, P, P) float32 tensor, ``target`` (3, P, P, P) float32 region masks
    (WT, TC, ET), ``labels`` (P, P, P) int64 internal labels, ``case`` the case name.
    """

    def __init__(
        self,
        source: CaseSource,
        patch_size: int,
        normalization: str,
        augment: bool,
        seed: int,
        samples_per_epoch: int,
        *,
        tumor_probability: float = 0.7,
        hard_negative_probability: float = 0.0,
        hard_negative_kinds: Sequence[str] = DEFAULT_HARD_NEGATIVE_KINDS,
        cache_cases: int = 4,
        transforms: Compose | None = None,
        edge_artifacts: bool = False,
        bias_field: bool = False,
        slab_cuts: bool = False,
        real_domain: bool = False,
        sequence_dropout: float = 0.0,
        case_weights: Sequence[float] | None = None,
    ) -> None:
        if len(source) == 0:
            raise BrainSegError("PatchDataset: the case source is empty")
        if isinstance(patch_size, bool) or not isinstance(patch_size, (int, np.integer)) or patch_size < 1:
            raise BrainSegError(f"patch_size must be a positive integer such as 128, got {patch_size!r}")
        if isinstance(samples_per_epoch, bool) or not isinstance(samples_per_epoch, (int, np.integer)):
            raise BrainSegError(f"samples_per_epoch must be a positive integer, got {samples_per_epoch!r}")
        if samples_per_epoch < 1:
            raise BrainSegError(f"samples_per_epoch must be a positive integer, got {samples_per_epoch!r}")
        if not 0.0 <= tumor_probability <= 1.0:
            raise BrainSegError(f"tumor_probability must be in [0, 1], got {tumor_probability!r}")
        # A sum, not 1 - tumor_probability: 1 - 0.8 is 0.19999999999999996 in floating point, below 0.2.
        if hard_negative_probability < 0.0 or tumor_probability + hard_negative_probability > 1.0:
            raise BrainSegError(
                f"hard_negative_probability must be in [0, 1 - tumor_probability = {1 - tumor_probability:g}], "
                f"got {hard_negative_probability!r}"
            )
        self.source = source
        self.patch_size = int(patch_size)
        self.normalization = check_method(normalization)
        self.augment = bool(augment)
        if augment:
            self.transforms = transforms or default_augmentation(
                edge_artifacts, bias_field, slab_cuts, real_domain, sequence_dropout
            )
        else:
            self.transforms = None
        self.seed = int(seed)
        self.samples_per_epoch = int(samples_per_epoch)
        self.tumor_probability = float(tumor_probability)
        self.hard_negative_probability = float(hard_negative_probability)
        self.hard_negative_kinds = check_hard_negative_kinds(hard_negative_kinds)
        self.cache_cases = max(int(cache_cases), 1)
        self.case_odds = None if case_weights is None else _case_odds(case_weights, len(source))
        # A shared-memory scalar: DataLoader workers (forked, spawned, persistent) read the epoch set here.
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._cache: OrderedDict[int, _PreparedCase] = OrderedDict()

    def __len__(self) -> int:
        return self.samples_per_epoch

    @property
    def epoch(self) -> int:
        """The epoch set by :meth:`set_epoch` (0 at first)."""
        return int(self._epoch)

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch whose items ``__getitem__`` returns (in this process and its loader workers)."""
        self._epoch.fill_(int(epoch))

    def case_index(self, index: int, epoch: int | None = None) -> int:
        """Which source case item ``index`` of ``epoch`` (default: the current one) is cut from."""
        count = len(self.source)
        epoch = self.epoch if epoch is None else int(epoch)
        if self.case_odds is not None:
            return int(np.random.default_rng([self.seed, epoch, int(index), 2]).choice(count, p=self.case_odds))
        block, offset = divmod(int(index), count)
        order = np.random.default_rng([self.seed, epoch, block, 1]).permutation(count)
        return int(order[offset])

    def _prepared(self, case: int) -> _PreparedCase:
        if case in self._cache:
            self._cache.move_to_end(case)
            return self._cache[case]
        images, labels = self.source[case]
        kinds = self.hard_negative_kinds if self.hard_negative_probability > 0 else ()
        prepared = _PreparedCase(images, labels, self.normalization, kinds)
        self._cache[case] = prepared
        while len(self._cache) > self.cache_cases:
            self._cache.popitem(last=False)
        return prepared

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        if not 0 <= index < self.samples_per_epoch:
            raise IndexError(f"PatchDataset: index {index} out of range for {self.samples_per_epoch} samples")
        epoch = self.epoch
        case = self.case_index(index, epoch)
        prepared = self._prepared(case)
        rng = np.random.default_rng([self.seed, epoch, int(index), 0])
        centre = choose_centre(
            prepared.labels,
            prepared.brain,
            rng,
            self.tumor_probability,
            prepared.hard_negatives,
            self.hard_negative_probability,
        )
        images, labels = crop_around(prepared.images, prepared.labels, self.patch_size, centre)
        sample = {"images": images, "labels": labels}
        if self.transforms is not None:
            sample = self.transforms(sample, rng)
        labels = sample["labels"]
        target = np.stack([region_mask(labels, region) for region in EVALUATION_REGIONS])  # (3, P, P, P)
        return {
            "images": torch.from_numpy(np.ascontiguousarray(sample["images"], dtype=np.float32)),
            "target": torch.from_numpy(target.astype(np.float32)),
            "labels": torch.from_numpy(labels.astype(np.int64)),
            "case": self.source.case_name(case),
        }

    def __getstate__(self) -> dict:
        # Worker processes start with an empty cache rather than a pickled copy of the parent's.
        return {**self.__dict__, "_cache": OrderedDict()}
