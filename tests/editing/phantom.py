"""A small four-sequence phantom with a known tumor, for the editing tests (canonical arrays, 1 mm voxels)."""

import numpy as np

SHAPE = (48, 48, 40)
SPACING = (1.0, 1.0, 1.0)
CENTRE = (24, 24, 20)


def _sphere(radius: float, centre=CENTRE) -> np.ndarray:
    grid = np.indices(SHAPE).astype(float)
    return sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) <= radius**2


def phantom(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """((4, X, Y, Z) float32 T1, T1ce, T2, FLAIR; (X, Y, Z) uint8 truth): a brain ellipsoid of healthy tissue
    (with noise), edema (bright T2 and FLAIR) 12 mm around an enhancing rim (bright T1ce) 7 mm around a
    necrotic centre 4 mm (dark T1ce and FLAIR, bright T2)."""
    rng = np.random.default_rng(seed)
    grid = np.indices(SHAPE).astype(float)
    brain = ((grid[0] - 24) / 22) ** 2 + ((grid[1] - 24) / 22) ** 2 + ((grid[2] - 20) / 18) ** 2 <= 1
    truth = np.zeros(SHAPE, np.uint8)
    truth[_sphere(12)] = 2
    truth[_sphere(7)] = 3
    truth[_sphere(4)] = 1
    truth[~brain] = 0
    looks = {0: (100, 100, 100, 100), 1: (70, 60, 220, 90), 2: (85, 100, 180, 190), 3: (90, 240, 150, 160)}
    images = np.zeros((4, *SHAPE), np.float32)
    for label, values in looks.items():
        for channel, value in enumerate(values):
            images[channel][truth == label] = value
    images += rng.normal(0, 6, images.shape).astype(np.float32)
    images[:, ~brain] = 0
    return images, truth


LPS = np.diag([-1.0, -1.0, 1.0, 1.0])
"""The files' affine: voxel axes toward Left, Posterior, Superior (BraTS-like); canonical x = X - 1 - i."""
FILE_NAMES = {"T1": "ph_t1", "T1ce": "ph_t1ce", "T2": "ph_t2", "FLAIR": "ph_flair"}


def write_phantom(folder, start: np.ndarray | None = None) -> dict:
    """Write the phantom as NIfTI files on an LPS grid: role -> path for T1, T1ce, T2, FLAIR, ``truth``
    (BraTS 2023 labels) and ``start`` (``start`` labels, default the truth without its edema)."""
    import nibabel as nib

    folder.mkdir(parents=True, exist_ok=True)
    images, truth = phantom()
    start = np.where(truth == 2, 0, truth).astype(np.uint8) if start is None else start
    to_file = lambda array: np.ascontiguousarray(array[::-1, ::-1, :])  # noqa: E731 - canonical RAS -> LPS
    paths = {}
    volumes = {**{role: images[i] for i, role in enumerate(FILE_NAMES)}, "truth": truth, "start": start}
    names = {**FILE_NAMES, "truth": "ph_truth", "start": "start"}
    for role, data in volumes.items():
        path = folder / f"{names[role]}.nii.gz"
        nib.save(nib.Nifti1Image(to_file(data), LPS), path)
        paths[role] = path
    return paths


def input_voxel(canonical: tuple[int, int, int]) -> tuple[int, int, int]:
    """The file's (i, j, k) of a canonical voxel of the phantom."""
    return SHAPE[0] - 1 - canonical[0], SHAPE[1] - 1 - canonical[1], canonical[2]


def write_phantom_folder(folder) -> dict:
    """The phantom as a BraTS 2023 case folder (``PH-t1n.nii.gz`` ... ``PH-seg.nii.gz``, truth 0-3); role -> path."""
    import nibabel as nib

    folder.mkdir(parents=True, exist_ok=True)
    images, truth = phantom()
    suffixes = {"T1": "t1n", "T1ce": "t1c", "T2": "t2w", "FLAIR": "t2f", "truth": "seg"}
    volumes = {**{role: images[i] for i, role in enumerate(FILE_NAMES)}, "truth": truth}
    paths = {}
    for role, data in volumes.items():
        path = folder / f"BraTS-PH-00000-000-{suffixes[role]}.nii.gz"
        nib.save(nib.Nifti1Image(np.ascontiguousarray(data[::-1, ::-1, :]), LPS), path)
        paths[role] = path
    return paths
