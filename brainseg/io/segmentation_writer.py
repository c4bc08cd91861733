"""Write a segmentation back onto the input's own grid and affine."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from brainseg.io.orientation import CanonicalFrame
from brainseg.labels import DEFAULT_OUTPUT_CONVENTION, from_internal

FREE_TEXT_FIELDS = ("descrip", "aux_file", "intent_name", "db_name")
"""Header fields that may carry text from the source file (names, dates); cleared on export."""


def input_grid_image(
    data: np.ndarray, frame: CanonicalFrame, reference_header: nib.Nifti1Header | None, dtype: type
) -> nib.Nifti1Image:
    """A NIfTI image of an array already in the input's voxel order, on the input affine.

    Args:
        data: (X, Y, Z) array in input voxel order (``frame.to_input`` of a canonical array).
        frame: the case's frame; its input affine becomes the qform and sform.
        reference_header: the T1ce file's header, kept for its units and codes; free-text fields
            (:data:`FREE_TEXT_FIELDS`), intent and scaling are cleared.
        dtype: the stored data type (uint8 for labels, float32 for maps).
    """
    header = reference_header.copy() if reference_header is not None else nib.Nifti1Header()
    if not isinstance(header, nib.Nifti1Header):
        header = nib.Nifti1Header.from_header(header)
    for name in FREE_TEXT_FIELDS:
        header[name] = b""
    header["intent_code"] = 0
    header.set_data_dtype(dtype)
    header.set_slope_inter(1.0, 0.0)
    image = nib.Nifti1Image(np.asarray(data, dtype=dtype), frame.input_affine, header=header)
    image.set_qform(frame.input_affine, code=int(header["qform_code"]) or 1)
    image.set_sform(frame.input_affine, code=int(header["sform_code"]) or 1)
    return image


def segmentation_image(
    internal: np.ndarray,
    frame: CanonicalFrame,
    reference_header: nib.Nifti1Header | None = None,
    convention: str = DEFAULT_OUTPUT_CONVENTION,
) -> nib.Nifti1Image:
    """Build the NIfTI image of a segmentation on the input grid.

    Args:
        internal: (X, Y, Z) uint8 internal labels (0, 1 NCR, 2 ED, 3 ET) in the canonical RAS frame.
        frame: the case's frame; the result gets its input shape and affine (qform and sform).
        reference_header: header of the case's T1ce file (see :func:`input_grid_image`).
        convention: ``brats2023`` (ET = 3, default) or ``brats2021`` (ET = 4).

    Returns:
        A uint8 ``Nifti1Image`` whose array matches the input's voxel order.
    """
    labels = from_internal(frame.to_input(np.asarray(internal, dtype=np.uint8)), convention)
    return input_grid_image(labels, frame, reference_header, np.uint8)


def write_segmentation(
    internal: np.ndarray,
    frame: CanonicalFrame,
    path: str | Path,
    reference_header: nib.Nifti1Header | None = None,
    convention: str = DEFAULT_OUTPUT_CONVENTION,
) -> Path:
    """Write a segmentation NIfTI (see :func:`segmentation_image`) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(segmentation_image(internal, frame, reference_header, convention), path)
    return path
