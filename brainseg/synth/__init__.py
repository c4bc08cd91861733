"""Realistic synthetic four-sequence brain-tumor MRI with ground truth, written like BraTS 2021 files.

Healthy anatomy comes from the MNI152 T1, GM and WM templates shipped with nilearn, warped by a random
affine and elastic deformation; tumors have BraTS sub-regions (NCR, ED, ET); images get per-sequence
tissue contrast (or SynthSeg-style random contrast), partial-volume blur, bias field and Rician noise.

Arrays are (X, Y, Z) in LPS voxel order on the BraTS grid (240 x 240 x 155, 1 mm); labels are internal
(0 bg, 1 NCR, 2 ED, 3 ET) in memory and BraTS 2021 (0, 1, 2, 4) on disk.

Example::

    from brainseg.synth import generate_case, write_case
    case = generate_case(7)                      # case.images["T1ce"]: (240, 240, 155) float32
    folder = write_case(case, "out", "BrainSeg-Synth-007")

See ``docs/synthetic-vs-real.md`` for how the cases compare with real BraTS and AURORA images.
"""

from brainseg.synth.brats_folders import FILE_SUFFIXES, case_id_for, write_case, write_cases
from brainseg.synth.contrast import SEQUENCES
from brainseg.synth.generator import GENERATOR_VERSION, LESIONS, SyntheticCase, generate_case
from brainseg.synth.space import BRATS_SHAPE, brats_affine

__all__ = [
    "BRATS_SHAPE",
    "FILE_SUFFIXES",
    "GENERATOR_VERSION",
    "LESIONS",
    "SEQUENCES",
    "SyntheticCase",
    "brats_affine",
    "case_id_for",
    "generate_case",
    "write_case",
    "write_cases",
]
