"""Image formation: from tissue maps, tumor labels and a contrast model to one MR sequence.

Steps, per sequence, on the brain's bounding box of the case grid (LPS voxel axes):

1. mix class means with the tissue probabilities (partial volume comes free with the template maps);
2. smooth multiplicative texture per class and the template's T1 detail (real anatomy the three-tissue
   model misses);
3. tumor sub-regions replace the tissue they occupy, with soft (half-voxel) edges; the core (label NCR) is
   necrosis or solid non-enhancing tumor by the weights of :func:`~brainseg.synth.tumor.solid_core_weights`;
4. vessels, choroid plexus and venous sinus;
5. optional gamma; Gaussian point-spread blur (partial-volume blur of the acquisition);
6. smooth multiplicative bias field (partly the case's shared field); scaling to the int16 ``level``;
7. Rician noise (magnitude of complex Gaussian noise), then zero outside the brain (skull strip).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from brainseg.labels import ED, ET, NCR
from brainseg.synth.anatomy import CHOROID_PLEXUS, FALX, VENOUS_SINUS, VENTRICLE
from brainseg.synth.contrast import SequenceContrast
from brainseg.synth.deform import CaseAnatomy
from brainseg.synth.fields import smooth_noise

BIAS_SCALE_MM = 70.0
"""Smoothing scale of the bias fields: receive-coil shading varies over several centimetres."""


def vessel_map(rng: np.random.Generator, case: CaseAnatomy, spacing: np.ndarray) -> np.ndarray:
    """(*box) float32 in [0, 1]: choroid plexus, venous sinus, falx and a random network of cortical vessels.

    The network is where two smooth random fields are both near zero: the intersection of two random
    surfaces is a set of random curves, i.e. tubes, which are kept in the sulcal and surface CSF.
    """
    shape = case.t1_detail.shape
    width = rng.uniform(0.12, 0.2)
    first = np.abs(smooth_noise(rng, shape, tuple(7.0 / spacing))) < width
    second = np.abs(smooth_noise(rng, shape, tuple(7.0 / spacing))) < width
    outer_csf = (case.tissues[0] > 0.35) & (case.structures != VENTRICLE) & case.brain
    network = first & second & outer_csf
    out = (network | np.isin(case.structures, (CHOROID_PLEXUS, VENOUS_SINUS))).astype(np.float32)
    # The falx is drawn 3 voxels wide in the template; half weight keeps it a thin line after blurring.
    out[case.structures == FALX] = 0.5
    return out


def tumor_weights(labels: np.ndarray, spacing: np.ndarray) -> tuple[tuple[slice, ...], dict[int, np.ndarray]]:
    """Soft (Gaussian, sigma 0.5 mm) weights of each tumor label, on the labels' bounding box + margin.

    Returns:
        The box (slices into ``labels``) and internal label -> (box shape) float32 weights in [0, 1].
    """
    idx = np.argwhere(labels > 0)
    if idx.size == 0:
        return (slice(0, 0),) * 3, {}
    lo = np.maximum(idx.min(axis=0) - 3, 0)
    hi = np.minimum(idx.max(axis=0) + 4, labels.shape)
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    sub = labels[box]
    sigma = 0.5 / spacing
    return box, {k: ndi.gaussian_filter((sub == k).astype(np.float32), sigma) for k in (NCR, ED, ET)}


def render_sequence(
    rng: np.random.Generator,
    contrast: SequenceContrast,
    case: CaseAnatomy,
    healthy_texture: np.ndarray,
    tumor_box: tuple[slice, ...],
    tumor: dict[int, np.ndarray],
    solid_core: np.ndarray,
    vessels: np.ndarray,
    shared_bias: np.ndarray,
    spacing: np.ndarray,
) -> np.ndarray:
    """One sequence on the case box.

    Args:
        contrast: intensity model of the sequence.
        case: resampled anatomy (tissue probabilities CSF, GM, WM first).
        healthy_texture: (*box) float32 unit-variance smooth field shared by all sequences (same anatomy).
        tumor_box, tumor: output of :func:`tumor_weights`.
        solid_core: (tumor box) float32 in [0, 1], from :func:`~brainseg.synth.tumor.solid_core_weights`:
            how much of label NCR looks like solid non-enhancing tumor (class NET); the rest looks like
            necrosis (class NCR).
        vessels: (*box) float32 vessel weights from :func:`vessel_map`.
        shared_bias: (*box) float32 unit-variance smooth field (70 mm) shared by all sequences; the
            sequence's log bias is ``contrast.bias`` times its mix with the sequence's own field.
        spacing: (3,) voxel size in mm.

    Returns:
        (*box) float32 intensities >= 0, zero outside the brain.
    """
    m, tex = contrast.means, contrast.texture
    csf, gm, wm = case.tissues
    img = m["CSF"] * csf * (1 + tex["CSF"] * healthy_texture)
    img += m["GM"] * gm * (1 + tex["GM"] * healthy_texture)
    img += m["WM"] * wm * (1 + tex["WM"] * healthy_texture)
    img += np.float32(contrast.detail) * case.t1_detail

    if tumor:
        region = img[tumor_box]
        total = np.minimum(sum(tumor.values()), 1.0)
        mixed = (1 - total) * region
        looks = {name: np.float32(m[name]) * (1 + tex[name] * smooth_noise(rng, region.shape, tuple(3.0 / spacing)))
                 for name in ("NCR", "ED", "ET", "NET")}  # fmt: skip
        mixed += tumor[NCR] * (solid_core * looks["NET"] + (1 - solid_core) * looks["NCR"])
        mixed += tumor[ED] * looks["ED"] + tumor[ET] * looks["ET"]
        img[tumor_box] = mixed

    img += vessels * (np.float32(m["VESSEL"]) - img)
    np.maximum(img, 0, out=img)
    if contrast.gamma != 1.0:
        img **= np.float32(contrast.gamma)
    img = ndi.gaussian_filter(img, np.asarray(contrast.blur_mm) / spacing)

    own = smooth_noise(rng, img.shape, tuple(BIAS_SCALE_MM / spacing))
    loading = np.float32(contrast.bias_shared)
    bias = loading * shared_bias + np.sqrt(np.float32(1.0) - loading * loading) * own
    img *= np.exp(np.float32(contrast.bias) * bias) * np.float32(contrast.level)

    brain = case.brain
    signal = img[brain]
    sigma = np.float32(contrast.noise * contrast.level)
    real = signal + sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    imag = sigma * rng.standard_normal(signal.shape, dtype=np.float32)
    out = np.zeros_like(img)
    out[brain] = np.sqrt(real * real + imag * imag)
    return out
