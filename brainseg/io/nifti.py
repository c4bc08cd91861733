"""Read one NIfTI volume safely: validate the header before touching the data.

The header is read first (for ``.nii.gz`` only its first bytes are decompressed), so a tiny file that
declares a huge volume is refused before any large allocation, and nibabel never decompresses more than
the declared size, which makes a gzip bomb harmless.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np

from brainseg.errors import NiftiFileError
from brainseg.io.naming import nifti_stem

MAX_VOXELS = 2**26
"""Largest accepted volume (67 M voxels, e.g. 512 x 512 x 256); BraTS cases have 8.9 M."""


@dataclass
class Volume:
    """One 3D image as stored in its file.

    Attributes:
        data: (X, Y, Z) float32 in the file's own voxel order (not reoriented), intensities as stored
            after the header's scaling.
        affine: (4, 4) float64 voxel index -> world (RAS+, mm).
        header: the file's NIfTI header (used as a template when writing results).
        path: where it came from; ``name`` is what messages show.
        dtype: the on-disk data type, e.g. ``int16``.
        warnings: problems that were repaired (e.g. non-finite voxels replaced).
    """

    data: np.ndarray
    affine: np.ndarray
    header: nib.Nifti1Header
    path: Path
    name: str
    dtype: str
    warnings: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        x, y, z = (int(n) for n in self.data.shape)
        return x, y, z

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the three array axes, from the affine."""
        sx, sy, sz = (float(s) for s in nib.affines.voxel_sizes(self.affine))
        return sx, sy, sz

    @property
    def orientation(self) -> str:
        """Axis codes of the array axes, e.g. ``LPS`` for BraTS files, ``RAS`` for canonical ones."""
        return "".join(nib.aff2axcodes(self.affine))


def _load_header(path: Path, name: str) -> nib.Nifti1Image:
    if nifti_stem(path.name) is None:
        raise NiftiFileError(f"{name}: not a NIfTI file; expected a .nii or .nii.gz file")
    if not path.is_file():
        raise NiftiFileError(f"{name}: file not found")
    try:
        image = nib.load(path)
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile) as exc:
        raise NiftiFileError(f"{name}: not a readable NIfTI file ({_short(exc)})") from None
    if not isinstance(image, nib.Nifti1Image | nib.Nifti2Image):
        raise NiftiFileError(f"{name}: not a NIfTI-1/NIfTI-2 image ({type(image).__name__})")
    return image


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _checked_shape(image: nib.Nifti1Image, name: str, max_voxels: int) -> tuple[int, int, int]:
    shape = tuple(int(n) for n in image.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise NiftiFileError(f"{name}: has shape {tuple(image.shape)}; expected a 3D volume")
    if min(shape) < 1:
        raise NiftiFileError(f"{name}: has an empty dimension, shape {shape}")
    voxels = int(np.prod(shape, dtype=np.int64))
    if voxels > max_voxels:
        raise NiftiFileError(
            f"{name}: declares {shape} = {voxels:,} voxels, over the limit of {max_voxels:,}; refused before reading"
        )
    return shape


def _checked_affine(image: nib.Nifti1Image, name: str) -> np.ndarray:
    affine = np.asarray(image.affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)):
        raise NiftiFileError(f"{name}: affine has non-finite values; expected a finite voxel-to-world matrix")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-6:
        raise NiftiFileError(f"{name}: affine is singular (zero voxel size); expected an invertible matrix")
    return affine


def read_volume(
    path: str | Path, *, name: str | None = None, max_voxels: int = MAX_VOXELS, allow_all_zero: bool = False
) -> Volume:
    """Read and validate one 3D NIfTI volume.

    Args:
        path: ``.nii`` or ``.nii.gz`` file.
        name: how messages refer to the file (default: its file name).
        max_voxels: voxel budget checked against the header before any data is read.
        allow_all_zero: accept an all-zero volume (a label map of a tumor-free case); images never are.

    Returns:
        A :class:`Volume` with (X, Y, Z) float32 data in file order. Isolated NaN/Inf voxels are set
        to 0 and reported in ``warnings``.

    Raises:
        NiftiFileError: unreadable, not 3D, too large, singular affine, truncated, all non-finite or all zero.
    """
    path = Path(path)
    name = name or path.name
    image = _load_header(path, name)
    shape = _checked_shape(image, name, max_voxels)
    affine = _checked_affine(image, name)
    disk_dtype = image.get_data_dtype()
    if disk_dtype.kind not in "biuf":
        raise NiftiFileError(f"{name}: data type {disk_dtype} is not a scalar number type")
    try:
        data = np.asarray(image.dataobj, dtype=np.float32).reshape(shape)
    except (OSError, EOFError, ValueError, zlib.error, gzip.BadGzipFile) as exc:
        raise NiftiFileError(f"{name}: data could not be read ({_short(exc)}); the file may be truncated") from None

    warnings: list[str] = []
    finite = np.isfinite(data)
    if not finite.all():
        bad = int(data.size - np.count_nonzero(finite))
        if bad == data.size:
            raise NiftiFileError(f"{name}: every voxel is NaN or infinite")
        data[~finite] = 0.0
        warnings.append(f"{name}: {bad:,} NaN/Inf voxels replaced with 0")
    if not allow_all_zero and not np.any(data):
        raise NiftiFileError(f"{name}: every voxel is zero; expected an MRI volume")
    header = image.header.copy()
    return Volume(data, affine, header, path, name, str(disk_dtype), warnings)
