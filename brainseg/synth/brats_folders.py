"""Write synthetic cases as BraTS 2021 folders: ``<case_id>/<case_id>_{t1,t1ce,t2,flair,seg}.nii.gz``.

Files are written like the real BraTS files they imitate: int16 images, LPS affine stored as both qform
and sform (code 1, "scanner"), millimetre units, zero outside the brain. The segmentation uses the
BraTS 2017-2021 label values 0, 1 NCR, 2 ED, 4 ET, stored as uint8.
"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import nibabel as nib
import numpy as np

from brainseg.labels import from_internal
from brainseg.synth.generator import SyntheticCase, generate_case
from brainseg.synth.space import BRATS_SHAPE

FILE_SUFFIXES: dict[str, str] = {"T1": "t1", "T1ce": "t1ce", "T2": "t2", "FLAIR": "flair"}
"""Sequence name -> BraTS 2021 file suffix; the segmentation is ``_seg``."""

_CASE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def case_id_for(index: int) -> str:
    """Case identifier used by :func:`write_cases`: ``BrainSeg-Synth-001`` for index 1."""
    return f"BrainSeg-Synth-{index:03d}"


def _save_nifti(data: np.ndarray, affine: np.ndarray, dtype: type, path: Path) -> None:
    """Write ``data`` as a gzipped NIfTI-1 file with a BraTS-style header.

    Compressed here rather than by nibabel so that the gzip header carries no time stamp (the same case
    gives byte-identical files) and at level 6, ~6 % smaller than nibabel's default level 1.
    """
    image = nib.Nifti1Image(np.asarray(data).astype(dtype), affine)
    image.header.set_data_dtype(dtype)
    image.header.set_xyzt_units("mm")
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    image.header["descrip"] = b"BrainSeg synthetic case"
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=6, mtime=0) as gz:
        gz.write(image.to_bytes())


def write_case(case: SyntheticCase, out_dir: str | Path, case_id: str) -> Path:
    """Write ``case`` to ``out_dir/case_id/`` as five BraTS 2021 files.

    Args:
        case: a generated case (images already whole numbers in the int16 range).
        out_dir: parent folder, created if missing.
        case_id: folder name and file prefix, e.g. ``BrainSeg-Synth-001`` (letters, digits, ``._-``).

    Returns:
        The case folder, holding ``<case_id>_t1.nii.gz``, ``_t1ce``, ``_t2``, ``_flair`` and ``_seg``
        (labels 0/1/2/4).

    Raises:
        ValueError: ``case_id`` is not a plain file name, or the case's arrays do not share one grid.
    """
    if not isinstance(case_id, str) or not _CASE_ID.match(case_id):
        raise ValueError(
            f"case_id must be a plain name of letters, digits, '.', '_' or '-' such as 'BrainSeg-Synth-001', "
            f"got {case_id!r}"
        )
    missing = set(FILE_SUFFIXES) - set(case.images)
    if missing:
        raise ValueError(f"case has no image for {sorted(missing)}; expected {list(FILE_SUFFIXES)}")
    shapes = {name: np.shape(case.images[name]) for name in FILE_SUFFIXES} | {"labels": np.shape(case.labels)}
    if len(set(shapes.values())) != 1:
        raise ValueError(f"case arrays must share one grid, got shapes {shapes}")

    folder = Path(out_dir) / case_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, suffix in FILE_SUFFIXES.items():
        data = np.clip(np.rint(case.images[name]), 0, np.iinfo(np.int16).max)
        _save_nifti(data, case.affine, np.int16, folder / f"{case_id}_{suffix}.nii.gz")
    seg = from_internal(case.labels, "brats2021")
    _save_nifti(seg, case.affine, np.uint8, folder / f"{case_id}_seg.nii.gz")
    return folder


def write_cases(
    out_dir: str | Path,
    n_cases: int,
    seed: int,
    *,
    domain_randomized: bool = False,
    lesion: str = "glioma",
    shape: tuple[int, int, int] = BRATS_SHAPE,
) -> list[Path]:
    """Generate and write ``n_cases`` cases as ``out_dir/BrainSeg-Synth-001/`` ... (1-based).

    Case ``i`` (0-based) is ``generate_case(seed + i, domain_randomized=..., lesion=..., shape=...)``, so
    ``write_cases(d, 3, 10)`` writes the cases of seeds 10, 11 and 12, and any one of them can be
    regenerated alone. A ``synth_cases.json`` manifest
    in ``out_dir`` lists each case's id, seed and metadata (tumor volumes, foci, contrast).

    Returns:
        The case folders, in order.

    Raises:
        ValueError: ``n_cases`` is not a positive integer or ``seed`` not a non-negative integer.
    """
    if isinstance(n_cases, bool) or not isinstance(n_cases, (int, np.integer)) or n_cases < 1:
        raise ValueError(f"n_cases must be a positive integer, got {n_cases!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    out = Path(out_dir)
    folders, manifest = [], []
    for i in range(int(n_cases)):
        case_id = case_id_for(i + 1)
        case = generate_case(int(seed) + i, domain_randomized=domain_randomized, lesion=lesion, shape=shape)
        folders.append(write_case(case, out, case_id))
        manifest.append({"case_id": case_id, **case.meta})
        del case  # one full-size case in memory at a time (~160 MB)
    (out / "synth_cases.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return folders
