"""Measure tissue contrast on any four-sequence case, real or synthetic, without labels.

Real cases have no tissue or tumor labels, so both are *estimated*, and the same estimator is run on
synthetic cases so that like is compared with like (their true classes also show the estimator's bias):

- brain: voxels non-zero in every sequence, eroded by 3 mm to drop the skull-strip edge;
- lesion: FLAIR-hyperintense outliers, FLAIR > median + 3 x 1.4826 x MAD of the brain, opened once,
  connected components of at least 0.5 mL;
- tissue classes: 3-cluster k-means on standardized (T1, log T2) of the brain minus the lesion dilated
  by 3 mm; clusters named CSF, GM, WM by increasing T1 centroid. T2 is used with T1 because T1 alone
  cannot split CSF-filled partial-volume voxels from GM.

Ratios are per-sequence medians divided by the WM median of the same sequence.
"""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from scipy import ndimage as ndi

from brainseg.synth.contrast import SEQUENCES

CLASS_NAMES: tuple[str, ...] = ("CSF", "GM", "WM", "lesion")

# File-name endings of each sequence, BraTS 2023, BraTS 2021 and plain naming.
_ENDINGS: dict[str, tuple[str, ...]] = {
    "T1": ("-t1n", "_t1", "t1"),
    "T1ce": ("-t1c", "_t1ce", "t1c", "t1ce"),
    "T2": ("-t2w", "_t2", "t2"),
    "FLAIR": ("-t2f", "_flair", "flair"),
}


def to_lps(image: nib.spatialimages.SpatialImage) -> np.ndarray:
    """Voxel array of ``image`` reoriented to LPS axes (axis 0 Left, 1 Posterior, 2 Superior), float32."""
    current = nib.orientations.io_orientation(image.affine)
    change = nib.orientations.ornt_transform(current, nib.orientations.axcodes2ornt("LPS"))
    return np.ascontiguousarray(nib.orientations.apply_orientation(np.asanyarray(image.dataobj), change), np.float32)


def load_real_case(folder: str | Path) -> dict[str, np.ndarray]:
    """Four sequences of a case folder (BraTS 2023, BraTS 2021 or plain t1/t1c/t2/flair names), LPS.

    Raises:
        ValueError: a sequence is missing or matched by more than one file.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.nii*"))
    out = {}
    for seq, endings in _ENDINGS.items():
        hits = [f for f in files if f.name.split(".nii")[0].lower().endswith(endings)]
        if len(hits) != 1:
            raise ValueError(f"{folder}: expected one {seq} file ending in {endings}, found {[h.name for h in hits]}")
        out[seq] = to_lps(nib.load(hits[0]))  # type: ignore[arg-type]  # a NIfTI file: a SpatialImage
    return out


def kmeans(features: np.ndarray, k: int, iterations: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's k-means, initialized at quantiles of the first feature (deterministic).

    Args:
        features: (n, d) float.

    Returns:
        (k, d) centroids and (n,) int labels.
    """
    order = np.argsort(features[:, 0])
    centers = features[order[((np.arange(k) + 0.5) / k * len(order)).astype(int)]].astype(np.float64)
    labels = np.zeros(len(features), dtype=np.int64)
    for _ in range(iterations):
        dist = ((features[:, None, :] - centers[None]) ** 2).sum(axis=2)
        labels = np.argmin(dist, axis=1)
        new = np.array([features[labels == j].mean(axis=0) if np.any(labels == j) else centers[j] for j in range(k)])
        if np.allclose(new, centers):
            break
        centers = new
    return centers, labels


def estimate_classes(images: dict[str, np.ndarray], voxel_mm: float = 1.0) -> np.ndarray:
    """Estimated class map: 0 unused (outside the eroded brain), 1 CSF, 2 GM, 3 WM, 4 lesion.

    Args:
        images: sequence -> (X, Y, Z) intensities, one grid.
        voxel_mm: isotropic voxel size, for the erosion and the minimum lesion size.

    Returns:
        (X, Y, Z) uint8.
    """
    brain = np.all([images[s] > 0 for s in SEQUENCES], axis=0)
    brain = ndi.binary_erosion(brain, iterations=max(1, round(3 / voxel_mm)))
    flair = images["FLAIR"][brain]
    median = np.median(flair)
    mad = 1.4826 * np.median(np.abs(flair - median))
    lesion = ndi.binary_opening(brain & (images["FLAIR"] > median + 3 * mad))
    pieces, n = ndi.label(lesion)
    if n:
        sizes = ndi.sum(lesion, pieces, range(1, n + 1))
        lesion = np.isin(pieces, 1 + np.flatnonzero(sizes * voxel_mm**3 >= 500))
    healthy = brain & ~ndi.binary_dilation(lesion, iterations=max(1, round(3 / voxel_mm)))
    feats = np.stack([images["T1"][healthy], np.log(np.maximum(images["T2"][healthy], 1))], axis=1)
    feats = (feats - feats.mean(axis=0)) / feats.std(axis=0)
    # Centroids from a fixed subsample (deterministic), then every healthy voxel to its nearest one.
    sample = feats[:: max(1, len(feats) // 200_000)]
    centers, _ = kmeans(sample, 3)
    nearest = np.argmin(((feats[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
    rank = np.argsort(np.argsort(centers[:, 0]))  # cluster -> 0 CSF, 1 GM, 2 WM by T1 centroid
    out = np.zeros(brain.shape, dtype=np.uint8)
    out[healthy] = 1 + rank[nearest]
    out[lesion] = 4
    return out


def _wm_medians(images: dict[str, np.ndarray], classes: np.ndarray) -> dict[str, float]:
    return {s: float(np.median(images[s][classes == 3])) for s in SEQUENCES}


def class_ratios(images: dict[str, np.ndarray], classes: np.ndarray) -> dict[str, dict[str, float]]:
    """Median intensity of each class (1 CSF, 2 GM, 3 WM, 4 lesion) over the WM median, per sequence.

    Returns:
        sequence -> class name -> ratio (NaN for an empty class).
    """
    wm = _wm_medians(images, classes)
    return {
        seq: {
            name: float(np.median(images[seq][classes == code]) / wm[seq]) if np.any(classes == code) else float("nan")
            for code, name in enumerate(CLASS_NAMES, start=1)
        }
        for seq in SEQUENCES
    }


def wm_variation(images: dict[str, np.ndarray], classes: np.ndarray) -> dict[str, float]:
    """Robust coefficient of variation (1.4826 MAD / median) of WM, per sequence: noise plus texture."""
    out = {}
    for seq in SEQUENCES:
        wm = images[seq][classes == 3]
        median = np.median(wm)
        out[seq] = float(1.4826 * np.median(np.abs(wm - median)) / median)
    return out


SHADING_PAIRS: tuple[tuple[str, str], ...] = (("T2", "FLAIR"), ("T1", "FLAIR"), ("T1", "T1ce"), ("T1ce", "FLAIR"))
"""Sequence pairs whose white-matter shading :func:`shading_correlations` compares."""


def shading_correlations(
    images: dict[str, np.ndarray], classes: np.ndarray, sigma_mm: float = 15.0, voxel_mm: float = 1.0
) -> dict[str, float]:
    """Correlation between sequences of the slow shading of white matter (class 3), per pair of SHADING_PAIRS.

    Shading is the WM log intensity smoothed over ``sigma_mm`` (normalized convolution, so other classes
    do not leak in), on WM voxels with enough WM around them. One receive coil shades every sequence of a
    session alike, so real scans correlate strongly; the slow anatomy of WM (tracts) adds to it.

    Returns:
        "A~B" -> Pearson correlation over WM voxels.
    """
    wm = (classes == 3).astype(np.float32)
    sigma = sigma_mm / voxel_mm
    weight = ndi.gaussian_filter(wm, sigma)
    keep = (wm > 0) & (weight > 0.2)
    shading = {}
    for seq in {s for pair in SHADING_PAIRS for s in pair}:
        log = np.log(np.maximum(images[seq], 1.0)) * wm
        shading[seq] = (ndi.gaussian_filter(log, sigma) / np.maximum(weight, 1e-6))[keep]
    return {f"{a}~{b}": float(np.corrcoef(shading[a], shading[b])[0, 1]) for a, b in SHADING_PAIRS}


def blood_like_mask(images: dict[str, np.ndarray], classes: np.ndarray, voxel_mm: float = 1.0) -> np.ndarray:
    """(X, Y, Z) bool: venous blood outside the lesion, bright on T1ce (> 1.6 x WM), dark on T2 and FLAIR (< 1.1 x WM).

    In a BraTS skull strip these are the dural sinuses (superior sagittal, confluence, transverse) and large
    veins, which keep contrast and lose T2 signal; enhancing tumor is T1ce-bright too but T2/FLAIR-bright.
    The whole mask counts (the sinuses lie within 3 mm of its surface, outside the estimator's eroded
    brain); the lesion (class 4 of ``classes``, WM is class 3) and 5 mm around it are left out.
    """
    return _blood_like_mask(images, classes, _wm_medians(images, classes), voxel_mm)


def _blood_like_mask(
    images: dict[str, np.ndarray], classes: np.ndarray, wm: dict[str, float], voxel_mm: float
) -> np.ndarray:
    brain = np.all([images[s] > 0 for s in SEQUENCES], axis=0)
    mask = brain & (images["T1ce"] > 1.6 * wm["T1ce"]) & (images["T2"] < 1.1 * wm["T2"])
    mask &= images["FLAIR"] < 1.1 * wm["FLAIR"]
    return mask & ~ndi.binary_dilation(classes == 4, iterations=round(5 / voxel_mm))


def blood_like(images: dict[str, np.ndarray], classes: np.ndarray, voxel_mm: float = 1.0) -> dict[str, float]:
    """Volume and look of :func:`blood_like_mask`.

    Returns:
        "ml" (volume), "largest_ml" (largest 26-connected component: the sinus system) and, per sequence,
        the median over WM (NaN when there is none).
    """
    wm = _wm_medians(images, classes)
    mask = _blood_like_mask(images, classes, wm, voxel_mm)
    pieces, n = ndi.label(mask, structure=np.ones((3, 3, 3)))
    largest = ndi.sum(mask, pieces, range(1, n + 1)).max() if n else 0.0
    ml = voxel_mm**3 / 1000.0
    out = {"ml": float(mask.sum() * ml), "largest_ml": float(largest * ml)}
    for seq in SEQUENCES:
        out[seq] = float(np.median(images[seq][mask]) / wm[seq]) if mask.any() else float("nan")
    return out


def class_fractions(classes: np.ndarray) -> dict[str, float]:
    """Share of each class among classified voxels."""
    counts = np.bincount(classes.ravel(), minlength=5)[1:].astype(float)
    return {name: float(c / counts.sum()) for name, c in zip(CLASS_NAMES, counts, strict=True)}


def truth_classes(tissue_labels: np.ndarray, labels: np.ndarray, estimated: np.ndarray) -> np.ndarray:
    """Class map of a synthetic case from its truth, on the voxels the estimator classified.

    Tumor (any label) is class 4; healthy voxels take their true dominant tissue (1 CSF, 2 GM, 3 WM).
    """
    out = np.where(estimated > 0, tissue_labels, 0).astype(np.uint8)
    out[(estimated > 0) & (labels > 0)] = 4
    return out
