"""Checks on what the user uploaded: is it the co-registered, skull-stripped BraTS-like input the models expect?

Each check returns one line for the user (naming the file and what to do) or nothing. None of them changes
the images; they are warnings, since every one has a legitimate exception (a non-enhancing low-grade
glioma has no enhancement either). Thresholds were set on the 20 real cases of ``../shared/data/`` (two
clinical cases and eighteen BraTS 2018 cases, all quiet) and on those cases made to fail each check
(``tests/preprocess/test_input_checks.py``); the values are in each constant's docstring.

- Registration: the shift that best aligns each sequence's edges (smoothed gradient magnitude) with
  FLAIR's, by FFT cross-correlation at half resolution. Real co-registered cases give (0, 0, 0) or one
  half-resolution voxel; a misregistered sequence gives its shift.
- Skull: a bright ring outside the brain. On a skull-stripped case the outer shell of the foreground is
  cortex and CSF, darker than the white matter inside; on a head it is scalp fat, brighter than any brain
  tissue in T1 and FLAIR.
- Swapped sequences: FLAIR's CSF must be dark (a FLAIR with bright CSF is a T2); T1ce must be brighter than
  T1 somewhere (vessels, choroid plexus, enhancing tumor) and not darker than it.

All arrays are (X, Y, Z) in canonical RAS order on the case's grid, intensities as stored.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi

if TYPE_CHECKING:
    from brainseg.io.case import Case

MAX_SHIFT_MM = 4.0
"""A sequence whose edges align best with FLAIR's after a shift of this many mm or more is misregistered.

Real cases: 0 mm, or one half-resolution voxel (2 mm: the AURORA T1 and T1ce); a 6 mm roll gives 6-8 mm."""

SKULL_RING_SHARE = 0.25
"""Share of the foreground's outer 4 mm shell brighter than the inside's 99th percentile that means a head.

Real skull-stripped cases: 0.000-0.038 in T1; a 5 mm scalp ring of fat added to them: 0.60-0.74."""

SKULL_STRIPPED_MAX_FRACTION = 0.6
"""A BraTS brain fills ~13-19 % of its volume; far more nonzero voxels means a noisy, unstripped background."""

FLAIR_CSF_MAX_RANK = 0.3
"""Median percentile of FLAIR at CSF among brain voxels above which FLAIR looks like a T2 (bright CSF).

Real FLAIR: 0.03-0.16; the case's T2 given as FLAIR: 0.35-0.99 on 19 of the 20 (one BraTS 2018 T2 has dark
CSF itself, 0.08)."""

T1CE_MIN_ENHANCEMENT = 2.5
"""99.9th percentile of z(T1ce) - z(T1) in the brain under which T1ce shows no contrast uptake.

Real T1ce: 3.8-10.2 (vessels, choroid plexus, tumor), the reverse difference 1.2-5.2; a T1 given as T1ce
(with its own noise): ~1."""


def half_resolution(image: np.ndarray) -> np.ndarray:
    """(X, Y, Z) -> (X/2, Y/2, Z/2): the mean of each 2x2x2 block (odd edges dropped)."""
    x, y, z = (n // 2 * 2 for n in image.shape)
    cropped = image[:x, :y, :z].astype(np.float32)
    blocks: np.ndarray = cropped.reshape(x // 2, 2, y // 2, 2, z // 2, 2).mean(axis=(1, 3, 5))
    return blocks


def edge_map(image: np.ndarray) -> np.ndarray:
    """Smoothed gradient magnitude scaled to the brain's robust range, zero-mean (for cross-correlation)."""
    inside = image[image > 0]
    scale = float(np.percentile(inside, 99)) if inside.size else 1.0
    edges = ndi.gaussian_gradient_magnitude(image / max(scale, 1e-6), sigma=1.0)
    centred: np.ndarray = edges - edges.mean()
    return centred


def best_shift(reference: np.ndarray, moving: np.ndarray) -> tuple[int, int, int]:
    """The integer roll (voxels along X, Y, Z) of ``moving`` that best matches ``reference``'s edges.

    Circular FFT cross-correlation of the two edge maps; shifts beyond half the grid wrap to negative.
    """
    product = np.fft.rfftn(edge_map(reference)) * np.conj(np.fft.rfftn(edge_map(moving)))
    correlation = np.fft.irfftn(product, s=reference.shape, axes=(0, 1, 2))
    peak = np.unravel_index(int(np.argmax(correlation)), correlation.shape)
    return tuple(int(p - n if p > n // 2 else p) for p, n in zip(peak, correlation.shape, strict=True))  # type: ignore[return-value]


def registration_warnings(
    images: Mapping[str, np.ndarray], spacing: tuple[float, float, float], files: Mapping[str, str]
) -> list[str]:
    """One line per sequence whose edges are shifted from FLAIR's by :data:`MAX_SHIFT_MM` or more.

    Args:
        images: sequence name -> (X, Y, Z) image, the sequences the case has (FLAIR among them, else no check).
        spacing: voxel size in mm along X, Y, Z.
        files: sequence name -> file name to show.
    """
    if "FLAIR" not in images:
        return []
    reference = half_resolution(images["FLAIR"])
    warnings = []
    for name, image in images.items():
        if name == "FLAIR":
            continue
        shift = np.array(best_shift(reference, half_resolution(image))) * 2 * np.array(spacing)
        distance = float(np.linalg.norm(shift))
        if distance >= MAX_SHIFT_MM:
            moves = ", ".join(f"{axis} {mm:+.0f} mm" for axis, mm in zip("XYZ", shift, strict=True) if mm)
            warnings.append(
                f"{files.get(name, name)} ({name}) looks misregistered to FLAIR: its edges line up with FLAIR's "
                f"once moved {distance:.0f} mm ({moves}); register the sequences (brainseg predict --register, or "
                "'Register to FLAIR' in the app) or check the files belong to one session"
            )
    return warnings


def foreground(image: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: the head or brain, voxels above a tenth of the 99th percentile with each axial slice's
    holes filled (a head's dark skull lies between brain and scalp; slices, unlike the volume, are closed
    rings even where the field of view cuts the neck)."""
    values = image[image > 0]
    if values.size == 0:
        return np.zeros(image.shape, dtype=bool)
    mask = image > 0.1 * float(np.percentile(values, 99))
    filled = np.zeros_like(mask)
    for k in range(mask.shape[2]):
        filled[:, :, k] = ndi.binary_fill_holes(mask[:, :, k])
    return filled


def bright_ring_share(image: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Share of the foreground's outer 4 mm (in-plane) brighter than the 99th percentile of its deep inside.

    Computed at half resolution (the ring is centimetres wide). The deep inside is the foreground eroded by
    20 mm (white matter and deep grey matter, on a head as on a stripped brain).
    """
    image = half_resolution(image)
    step = 2 * min(spacing[0], spacing[1])
    mask = foreground(image)
    in_plane = np.zeros((3, 3, 3), dtype=bool)
    in_plane[:, :, 1] = ndi.generate_binary_structure(2, 1)
    shell = mask & ~ndi.binary_erosion(mask, structure=in_plane, iterations=max(1, round(4.0 / step)))
    deep = ndi.binary_erosion(mask, iterations=max(1, round(20.0 / (2 * min(spacing)))))
    if not shell.any() or not deep.any():
        return 0.0
    bright = float(np.percentile(image[deep], 99))
    return float((image[shell] > bright).mean())


def skull_warnings(
    images: Mapping[str, np.ndarray], spacing: tuple[float, float, float], files: Mapping[str, str]
) -> list[str]:
    """One line when the images look not skull-stripped: noisy background, or a bright ring around the brain.

    The ring is judged on T1 (scalp fat is brightest there), else T1ce, else FLAIR.
    """
    stack = np.stack(list(images.values()))
    fraction = float((stack != 0).any(axis=0).mean())
    consequence = (
        "the models expect skull-stripped input (as BraTS): scalp, skull and eyes will be normalized with the "
        "brain and may be labelled tumor; run a brain extraction (e.g. HD-BET, SynthStrip) first"
    )
    if fraction > SKULL_STRIPPED_MAX_FRACTION:
        return [f"{fraction:.0%} of the volume is nonzero: the images look not skull-stripped; {consequence}"]
    for name in ("T1", "T1ce", "FLAIR"):
        if name in images:
            share = bright_ring_share(images[name], spacing)
            if share > SKULL_RING_SHARE:
                return [
                    f"{files.get(name, name)} ({name}) has a bright ring outside the brain ({share:.0%} of its outer "
                    f"4 mm brighter than the white matter): it looks not skull-stripped; {consequence}"
                ]
            return []
    return []


def brain_zscore(image: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """The image z-scored over ``brain`` voxels (mean 0, standard deviation 1 there)."""
    values = image[brain]
    spread = float(values.std()) or 1.0
    scored: np.ndarray = (image - float(values.mean())) / spread
    return scored


def cerebrospinal_fluid(t1: np.ndarray, brain: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: likely CSF, the darkest 3 % of T1 inside the brain eroded by 6 voxels whose mirror
    image across the left-right axis (X, about the brain's middle) is dark too.

    Erosion drops the dark rim outside the cortex; the mirror drops a necrotic or cystic tumor, as dark in
    T1 as CSF but one-sided (one real BraTS case has more dark tumor than dark ventricle).
    """
    inner = ndi.binary_erosion(brain, iterations=6)
    if inner.sum() < 1000:
        return np.zeros(brain.shape, dtype=bool)
    dark = inner & (t1 <= np.percentile(t1[inner], 3))
    xs = np.nonzero(brain.any(axis=(1, 2)))[0]
    mirrored = np.zeros_like(dark)
    mirrored[xs[0] : xs[-1] + 1] = dark[xs[0] : xs[-1] + 1][::-1]
    csf: np.ndarray = dark & ndi.binary_dilation(mirrored, iterations=2)
    return csf


def flair_csf_rank(flair: np.ndarray, t1: np.ndarray, brain: np.ndarray) -> float:
    """Median percentile (0 .. 1) of FLAIR's brain intensities at CSF (:func:`cerebrospinal_fluid`).

    Low for FLAIR (CSF suppressed), high for a T2 (CSF brightest); 0 when no CSF is found.
    """
    csf = cerebrospinal_fluid(t1, brain)
    if csf.sum() < 100:
        return 0.0
    flair_values = np.sort(flair[brain])
    return float(np.searchsorted(flair_values, float(np.median(flair[csf]))) / flair_values.size)


def enhancement_contrast(t1ce: np.ndarray, t1: np.ndarray, brain: np.ndarray) -> tuple[float, float]:
    """(99.9th percentile of z(T1ce) - z(T1), the same of z(T1) - z(T1ce)) over the brain.

    Contrast uptake makes vessels, choroid plexus and enhancing tumor far brighter in T1ce than in T1, so the
    first is large and the second small; swapped files give the reverse, two copies of T1 give both small.
    """
    difference = brain_zscore(t1ce, brain)[brain] - brain_zscore(t1, brain)[brain]
    return float(np.percentile(difference, 99.9)), float(np.percentile(-difference, 99.9))


def swap_warnings(images: Mapping[str, np.ndarray], files: Mapping[str, str]) -> list[str]:
    """Lines for a FLAIR with bright CSF (a T2?) and for a T1ce without contrast uptake or swapped with T1."""
    warnings = []
    brains = [image > 0 for image in images.values()]
    brain = np.logical_and.reduce(brains)
    if brain.sum() < 1000:
        return []
    t1_like = images.get("T1", images.get("T1ce"))
    if "FLAIR" in images and t1_like is not None:
        rank = flair_csf_rank(images["FLAIR"], t1_like, brain)
        if rank > FLAIR_CSF_MAX_RANK:
            warnings.append(
                f"{files.get('FLAIR', 'FLAIR')} (FLAIR) has bright CSF (median at the {rank:.0%} percentile of the "
                "brain; real FLAIR suppresses CSF): it looks like a T2; check the sequence assignment"
            )
    if "T1" in images and "T1ce" in images:
        uptake, reverse = enhancement_contrast(images["T1ce"], images["T1"], brain)
        if reverse > uptake:
            warnings.append(
                f"{files.get('T1ce', 'T1ce')} (T1ce) is darker than {files.get('T1', 'T1')} (T1) where they differ "
                f"most ({reverse:.1f} vs {uptake:.1f} standard deviations): T1 and T1ce look swapped; check the "
                "sequence assignment"
            )
        elif uptake < T1CE_MIN_ENHANCEMENT:
            warnings.append(
                f"{files.get('T1ce', 'T1ce')} (T1ce) shows no contrast uptake relative to T1 (at most {uptake:.1f} "
                "standard deviations brighter): check that it is the post-contrast T1 (a non-enhancing tumor also "
                "looks like this); TC and ET depend on it"
            )
    return warnings


def input_warnings(
    images: Mapping[str, np.ndarray], spacing: tuple[float, float, float], files: Mapping[str, str]
) -> list[str]:
    """Every check's lines, in the order a user should fix them: skull, registration, swapped sequences.

    Args:
        images: sequence name -> (X, Y, Z) image as stored (RAS), only the sequences the case has.
        spacing: voxel size in mm along X, Y, Z.
        files: sequence name -> the file name the user gave, for the messages.
    """
    skull = skull_warnings(images, spacing, files)
    if skull:  # an unstripped head defeats the other checks' brain masks
        return skull
    return registration_warnings(images, spacing, files) + swap_warnings(images, files)


_CHECKED: dict[int, tuple[weakref.ref[np.ndarray], list[str]]] = {}
"""Lines already found, by the case's images array (id, and a weak reference that proves it is the same
array): the upload, each variant's Segmenter and Compare all ask about one case."""


def case_input_warnings(case: Case) -> list[str]:
    """:func:`input_warnings` on the sequences a loaded case has, each named by the file it came from
    (computed once per images array, ~2 s on a BraTS grid)."""
    key = id(case.images)
    cached = _CHECKED.get(key)
    if cached is not None and cached[0]() is case.images:
        return list(cached[1])
    images = {name: case.image(name) for name in case.available}
    files = {name: case.sources[name].file for name in case.available if name in case.sources}
    found = input_warnings(images, case.spacing, files)

    def forget(_: weakref.ref[np.ndarray]) -> None:
        _CHECKED.pop(key, None)

    _CHECKED[key] = (weakref.ref(case.images, forget), found)
    return list(found)
