"""Healthy anatomy from the MNI152 (ICBM 2009 symmetric) templates that ship inside the nilearn wheel.

Loaded once per process (:func:`load_template_anatomy` is cached) and kept in the template's own grid:
RAS voxel axes, 1 mm isotropic, cropped to the brain. From the three templates we derive

- tissue probabilities CSF, GM, WM: GM and WM are the template maps; CSF is the rest of the template's
  brain mask (T1 > 0), which covers ventricles and the sulcal / subarachnoid CSF a skull strip keeps;
- ``t1_detail``: what the T1 template shows beyond a three-tissue model (deep nuclei, dense tracts,
  vessels), as a fraction of the WM intensity, so each sequence can add its own share of real anatomy;
- a structure map for the parts that enhance on T1ce (choroid plexus, superior sagittal sinus, falx) and the
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
    """Structure codes (uint8) for the lateral ventricles, choroid plexus and superior sagittal sinus."""
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
    # Superior sagittal sinus: midline CSF at the surface of the convexity, kept by BraTS skull strips.
    # Falx: the dura and veins of the interhemispheric fissure, a thin enhancing line on T1ce.
    falx = (np.abs(x) <= 1) & (csf > 0.5) & (z > -10) & brain & (out == NO_STRUCTURE)
    out[falx] = FALX
    sinus = (np.abs(x) <= 2) & (csf > 0.3) & (depth <= 4) & (z > -10) & brain
    out[sinus] = VENOUS_SINUS
    return out


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
