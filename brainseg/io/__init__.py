"""Case I/O: find, validate and read the four sequences, reorient to RAS, write results back."""

from brainseg.io.case import Case, SourceInfo, load_case, require_same_grid
from brainseg.io.naming import SEQUENCES
from brainseg.io.nifti import MAX_VOXELS, Volume, read_volume
from brainseg.io.orientation import CanonicalFrame
from brainseg.io.segmentation_writer import segmentation_image, write_segmentation
from brainseg.io.summary import case_summary, format_summary, region_volumes_ml

__all__ = [
    "MAX_VOXELS",
    "SEQUENCES",
    "CanonicalFrame",
    "Case",
    "SourceInfo",
    "Volume",
    "case_summary",
    "format_summary",
    "load_case",
    "read_volume",
    "region_volumes_ml",
    "require_same_grid",
    "segmentation_image",
    "write_segmentation",
]
