"""Healthy anatomy from the MNI152 (ICBM 2009 symmetric) templates that ship inside the nilearn wheel.

Loaded once per process (:func:`load_template_anatomy` is cached) and kept in the template's own grid:
RAS voxel axes, 1 mm isotropic, cropped to the brain. From the three templates we derive

- tissue probabilities CSF, GM, WM: GM and WM are the template maps; CSF is the rest of the template's
  brain mask (T1 > 0), which covers ventricles and the sulcal / subarachnoid CSF a skull strip keeps;
- ``t1_detail``: what the T1 template shows beyond a three-tissue model (deep nuclei, dense tracts,
  vessels), as a fraction of the WM intensity, so each sequence can add its own share of real anatomy;
- a structure map for the parts that enhance on T1ce (choroid plexus, dural venous sinuses, falx) and the
  lateral ventricles, which tumors do not grow into and where the choroid plexus lives.

The structure positions are in MNI millimetres and were checked by eye on the template slices.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

TISSUES: tuple[str, ...] = ("CSF", "GM", "WM")
"""Order of the tissue axis of :attr:`TemplateAnatomy.tissues`."""

# Codes of TemplateAnatomy.structures.
NO_STRUCTURE, VENTRICLE, CHOROID_PLEXUS, VENOUS_SINUS, FALX = 0, 1, 2, 3, 4


@dataclass(frozen=True)
class TemplateAnatomy:
    """Template-space anatomy, RAS voxel axes, 1 mm isotropic, cropped to the brain.

    Attributes:
        tissues: (3, X, Y, Z) float32 probabilities in [0, 1] ordered as :data:`TISSUES`; they sum to 1
            inside the brain and to 0 outside.
        t1_detail: (X, Y, Z) float32, T1 template minus its three-tissue fit, divided by the WM level
            (std ~0.03 inside the brain, 0 outside).
        structures: (X, Y, Z) uint8 codes NO_STRUCTURE, VENTRICLE, CHOROID_PLEXUS, VENOUS_SINUS, FALX.
        mni_origin: voxel index (in this cropped grid) of MNI (0, 0, 0) mm.
        brain_center: (3,) float voxel position of the brain-mask centroid.
    """

    tissues: np.ndarray
    t1_detail: np.ndarray
    structures: np.ndarray
    mni_origin: np.ndarray
    brain_center: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.t1_detail.shape


def _load_templates() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """T1, GM, WM templates at 1 mm (float32, values in [0, 1]) and their RAS affine."""
    # Imported here: nilearn is slow to import and only this function needs it.
    from nilearn import datasets

    t1 = datasets.load_mni152_template(resolution=1)
    gm = datasets.load_mni152_gm_template(resolution=1)
    wm = datasets.load_mni152_wm_template(resolution=1)
    return (
        t1.get_fdata(dtype=np.float32),
        gm.get_fdata(dtype=np.float32),
        wm.get_fdata(dtype=np.float32),
        np.asarray(t1.affine, dtype=np.float64),
    )


def _mni_grid(shape: tuple[int, int, int], origin: np.ndarray) -> list[np.ndarray]:
    """Broadcastable MNI coordinates (mm) of each voxel, one array per axis."""
    return [
        (np.arange(n, dtype=np.float32) - origin[d]).reshape([-1 if e == d else 1 for e in range(3)])
        for d, n in enumerate(shape)
    ]


def _structures(csf: np.ndarray, brain: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Structure codes (uint8) for the lateral ventricles, choroid plexus, falx and dural venous sinuses."""
    # Distance to the brain-mask surface, on a 2 mm grid: 1 mm precision is not needed and a full
    # resolution distance transform would cost seconds.
    depth = ndi.distance_transform_edt(brain[::2, ::2, ::2]) * 2.0
    depth = np.repeat(np.repeat(np.repeat(depth, 2, 0), 2, 1), 2, 2)[tuple(slice(0, n) for n in brain.shape)]
    x, y, z = _mni_grid(brain.shape, origin)
    # Lateral ventricles: deep CSF inside the box that holds them; the midline slab is left out because
    # the interhemispheric fissure is also deep CSF in a skull-stripped template.
    box = (np.abs(x) > 3) & (np.abs(x) < 36) & (y > -60) & (y < 32) & (z > -6) & (z < 30)
    ventricle = (csf > 0.5) & (depth > 12) & box
    labels, n = ndi.label(ventricle)
    if n > 2:
        sizes = ndi.sum(ventricle, labels, range(1, n + 1))
        ventricle = np.isin(labels, 1 + np.argsort(sizes)[-2:])
    out = np.zeros(brain.shape, dtype=np.uint8)
    out[ventricle] = VENTRICLE
    # Choroid plexus: the glomus, a tuft in each atrium (trigone) of the lateral ventricles that fills
    # part of it, not all of it: the atrium's ventricle voxels eroded by 2 mm.
    atrium = (y > -44) & (y < -30) & (z < 20)
    out[ndi.binary_erosion(ventricle, iterations=2) & atrium] = CHOROID_PLEXUS
    # Falx: the dura and veins of the interhemispheric fissure, a thin enhancing line on T1ce.
    falx = (np.abs(x) <= 1) & (csf > 0.5) & (z > -10) & brain & (out == NO_STRUCTURE)
    out[falx] = FALX
    out[_dural_sinuses(depth, x, y, z) & brain] = VENOUS_SINUS
    return out


def _dural_sinuses(depth: np.ndarray, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """(X, Y, Z) bool: the dural venous sinuses that BraTS skull strips keep, in MNI mm.

    Placed from the blood-like voxels (:func:`~brainseg.synth.measure.blood_like`) of the two real cases in
    ``../shared/data/real`` (12-18 mL each, largest component 9-14 mL): a superior sagittal sinus that is
    triangular in section and widens backwards (6 mm wide and 5 mm deep frontally, 12 and 7 mm at the
    occiput), its confluence at the occipital pole, transverse sinuses along the posterior surface in the
    notch between occipital lobe and cerebellum (MNI z ~ -24 in the template; -25 to -34 in the real cases,
    aligned by brain centroid and volume) out to |x| ~ 55 mm, and the straight sinus from the vein of Galen
    to the confluence along the tentorium. Generators up to v4 drew only a 5 mm strip of the superior
    sagittal sinus (3-5 mL of blood-like voxels), and every bundled checkpoint marked the real sinuses.

    Args:
        depth: (X, Y, Z) distance (mm) to the brain-mask surface.
        x, y, z: broadcastable MNI coordinates (mm) of each voxel.
    """
    back = np.clip(-y / 90.0, 0.0, 1.0)  # 0 frontal to 1 at the occiput
    half_width = 3.0 + 3.0 * back
    max_depth = 5.0 + 2.0 * back
    # Triangular section: widest at the surface, a 1 mm line at its deepest point (in the fissure).
    # It runs over the convexity (z > -10) and down the occiput to the confluence (z > -28 behind y = -60).
    section = np.abs(x) <= 1.0 + (half_width - 1.0) * np.clip(1.0 - depth / max_depth, 0.0, 1.0)
    sagittal = section & (depth <= max_depth) & (z > np.where(y < -60.0, -28.0, -10.0))
    transverse = (depth <= 5.0) & (np.abs(z + 25.0) <= 4.0) & (y < -40.0) & (np.abs(x) <= 58.0)
    confluence = (depth <= 8.0) & (np.abs(x) <= 9.0) & (y < -80.0) & (z > -32.0) & (z < -5.0)
    # Straight sinus: a 2.5 mm radius tube from (0, -48, 2) to (0, -88, -22).
    along = np.clip(((y + 48.0) * -40.0 + (z - 2.0) * -24.0) / (40.0**2 + 24.0**2), 0.0, 1.0)
    straight = x**2 + (y + 48.0 + 40.0 * along) ** 2 + (z - 2.0 + 24.0 * along) ** 2 <= 2.5**2
    return sagittal | transverse | confluence | straight


@functools.lru_cache(maxsize=1)
def load_template_anatomy() -> TemplateAnatomy:
    """Load and derive the template anatomy once per process (~1 s, ~100 MB)."""
    t1, gm, wm, affine = _load_templates()
    brain = t1 > 0
    gm = np.where(brain, gm, 0.0)
    wm = np.where(brain, np.minimum(wm, 1.0 - gm), 0.0)
    csf = np.where(brain, 1.0 - gm - wm, 0.0)

    # Three-tissue least-squares fit of the T1 template; what is left is anatomy the tissue model misses.
    design = np.stack([csf[brain], gm[brain], wm[brain]], axis=1)
    coef, *_ = np.linalg.lstsq(design, t1[brain], rcond=None)
    detail = np.zeros_like(t1)
    detail[brain] = (t1[brain] - design @ coef) / coef[2]

    idx = np.argwhere(brain)
    start = np.maximum(idx.min(axis=0) - 3, 0)
    stop = np.minimum(idx.max(axis=0) + 4, brain.shape)
    crop = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    # Voxel of MNI (0, 0, 0): the template affine is a pure 1 mm RAS translation.
    mni_origin = np.linalg.solve(affine[:3, :3], -affine[:3, 3]) - start
    tissues = np.stack([csf[crop], gm[crop], wm[crop]]).astype(np.float32)
    return TemplateAnatomy(
        tissues=np.ascontiguousarray(tissues),
        t1_detail=np.ascontiguousarray(detail[crop], dtype=np.float32),
        structures=_structures(csf[crop], brain[crop], mni_origin),
        mni_origin=mni_origin,
        brain_center=idx.mean(axis=0) - start,
    )
