"""Test helpers: tiny real NIfTI cases written to temporary folders, and the real-data location."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"
REAL_CASES = {
    "BraTS-GLI-00001-000": ("LPS", "brats2023"),
    "AURORA-example": ("RAS", "plain"),
}

NAMES = {
    "brats2021": {"T1": "{c}_t1", "T1ce": "{c}_t1ce", "T2": "{c}_t2", "FLAIR": "{c}_flair", "truth": "{c}_seg"},
    "brats2023": {"T1": "{c}-t1n", "T1ce": "{c}-t1c", "T2": "{c}-t2w", "FLAIR": "{c}-t2f", "truth": "{c}-seg"},
    "plain": {"T1": "t1", "T1ce": "t1c", "T2": "t2", "FLAIR": "flair", "truth": "seg"},
}

LPS_AFFINE = np.array([[-1.0, 0, 0, 10], [0, -1.0, 0, 20], [0, 0, 1.0, -5], [0, 0, 0, 1]])


def tiny_images(shape=(12, 14, 10), seed=0) -> dict[str, np.ndarray]:
    """Four distinct int16 volumes (file order) with a nonzero 'brain' and one marker voxel per sequence."""
    rng = np.random.default_rng(seed)
    images = {}
    for index, sequence in enumerate(("T1", "T1ce", "T2", "FLAIR")):
        data = rng.integers(100, 200, size=shape).astype(np.int16) + 100 * index
        images[sequence] = data
    return images


def tiny_truth(shape=(12, 14, 10), convention="brats2021") -> np.ndarray:
    """A nested tumor: ED shell, NCR core, ET voxels, in the given convention's values."""
    labels = np.zeros(shape, np.uint8)
    labels[3:9, 4:10, 2:8] = 2
    labels[4:8, 5:9, 3:7] = 1
    labels[5:7, 6:8, 4:6] = 4 if convention == "brats2021" else 3
    return labels


def write_case(
    folder: Path,
    scheme: str = "brats2021",
    case_id: str = "Case-001",
    affine: np.ndarray = LPS_AFFINE,
    shape=(12, 14, 10),
    truth: bool = True,
    truth_convention: str = "brats2021",
) -> dict[str, Path]:
    """Write a tiny four-sequence case (+ truth) as .nii.gz files; returns role -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    volumes = dict(tiny_images(shape))
    if truth:
        volumes["truth"] = tiny_truth(shape, truth_convention)
    for role, data in volumes.items():
        path = folder / (NAMES[scheme][role].format(c=case_id) + ".nii.gz")
        image = nib.Nifti1Image(data, affine)
        image.header["descrip"] = b"patient name here"
        nib.save(image, path)
        paths[role] = path
    return paths


def real_case_folder(name: str) -> Path:
    folder = REAL_DATA / name
    if not folder.is_dir():
        pytest.skip(f"real data not present at {folder}")
    return folder
