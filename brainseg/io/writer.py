"""Write a segmentation back onto the input's own grid and affine."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np

from brainseg.io.orientation import CanonicalFrame
from brainseg.labels import DEFAULT_OUTPUT_CONVENTION, from_internal

FREE_TEXT_FIELDS = ("descrip", "aux_file", "intent_name", "db_name")
"""Header fields that may carry text from the source file (names, dates); cleared on export."""


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
        reference_header: header of the case's T1ce file, kept for its units and codes; free-text
            fields are cleared.
        convention: ``brats2023`` (ET = 3, default) or ``brats2021`` (ET = 4).

    Returns:
        A uint8 ``Nifti1Image`` whose array matches the input's voxel order.
    """
    labels = from_internal(frame.to_input(np.asarray(internal, dtype=np.uint8)), convention)
    header = reference_header.copy() if reference_header is not None else nib.Nifti1Header()
    if not isinstance(header, nib.Nifti1Header):
        header = nib.Nifti1Header.from_header(header)
    for name in FREE_TEXT_FIELDS:
        header[name] = b""
    header["intent_code"] = 0
    header.set_data_dtype(np.uint8)
    header.set_slope_inter(1.0, 0.0)
    image = nib.Nifti1Image(labels, frame.input_affine, header=header)
    qcode = int(header["qform_code"]) or 1
    scode = int(header["sform_code"]) or 1
    image.set_qform(frame.input_affine, code=qcode)
    image.set_sform(frame.input_affine, code=scode)
    return image


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
