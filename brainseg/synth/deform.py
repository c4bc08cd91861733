"""Random spatial transforms from a case's BraTS grid to the template, and resampling of the anatomy.

Every case is built by *pulling*: for each voxel ``p`` of the case grid (LPS voxel axes) we compute the
template voxel ``q`` it shows and interpolate the template there. The chain, from case to template::

    p --mass effect--> p'  (optional; pushes tissue away from a tumor center)
    q = template_center + L (p' - case_center) + elastic(p)

``L`` folds together the voxel size, the LPS -> RAS axis flips and a random affine (rotation, scaling,
shear); ``elastic`` is a smooth random displacement (template mm) at two scales, so each case gets its
own head shape and gyral layout. Pulling never leaves holes, and only the brain's bounding box is
resampled, which keeps a full-size case near one second.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

from brainseg.synth.anatomy import TemplateAnatomy
from brainseg.synth.fields import SmoothField
from brainseg.synth.space import BRAIN_CENTER_MM

# LPS voxel axes -> RAS axes of the template.
_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def _rotation(angles_rad: np.ndarray) -> np.ndarray:
    """3x3 rotation about x, then y, then z."""
    cx, cy, cz = np.cos(angles_rad)
    sx, sy, sz = np.sin(angles_rad)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    rotation: np.ndarray = rz @ ry @ rx
    return rotation


@dataclass(frozen=True)
class MassEffect:
    """Radial push of tissue away from ``center`` (case voxels), strongest near the center.

    A case voxel at distance ``r`` mm from the center shows the tissue that was at
    ``r * (1 - strength * exp(-r**2 / (2 * radius_mm**2)))``; for ``strength < 1`` this map is monotonic
    in ``r`` (no folding), and the largest displacement is ``0.61 * strength * radius_mm`` mm (at ``r = radius_mm``).
    """

    center: np.ndarray
    radius_mm: float
    strength: float

    @property
    def max_displacement_mm(self) -> float:
        r = np.linspace(0, 4 * self.radius_mm, 400)
        return float(np.max(r * self.strength * np.exp(-(r**2) / (2 * self.radius_mm**2))))

    def reach_mm(self) -> float:
        """Distance beyond which the displacement is under ~0.1 mm."""
        return 4.0 * self.radius_mm


@dataclass(frozen=True)
class CaseTransform:
    """Map from case voxels (LPS, ``spacing`` mm) to template voxels (RAS, 1 mm).

    Attributes:
        linear: (3, 3) template voxels per case voxel.
        case_center: (3,) case voxel mapped onto ``template_center``.
        template_center: (3,) template voxel.
        elastic: per template axis, the smooth displacement fields (template mm, over case voxels).
    """

    linear: np.ndarray
    case_center: np.ndarray
    template_center: np.ndarray
    elastic: tuple[tuple[SmoothField, ...], ...] = field(default=())

    def template_coords(
        self, axes: Sequence[np.ndarray], spacing: np.ndarray, mass: MassEffect | None = None
    ) -> np.ndarray:
        """Template voxel positions of the case grid ``axes[0] x axes[1] x axes[2]`` (three arrays, one per axis).

        Returns:
            (3, len(axes[0]), len(axes[1]), len(axes[2])) float32, the ``coordinates`` argument of
            ``scipy.ndimage.map_coordinates`` on the template arrays.
        """
        shape = tuple(len(a) for a in axes)
        # Broadcastable offsets from the case center, one per case axis: (n,1,1), (1,n,1), (1,1,n).
        offsets = [
            (np.asarray(a, dtype=np.float32) - np.float32(self.case_center[d])).reshape(
                [-1 if e == d else 1 for e in range(3)]
            )
            for d, a in enumerate(axes)
        ]
        if mass is not None:
            # Distances in mm; each offset is scaled by the same radial factor (a full-grid array).
            mm = [o - np.float32(mass.center[d] - self.case_center[d]) for d, o in enumerate(offsets)]
            r2 = sum((m * np.float32(spacing[d])) ** 2 for d, m in enumerate(mm))
            shrink = 1.0 - np.float32(mass.strength) * np.exp(-r2 / np.float32(2 * mass.radius_mm**2))
            offsets = [np.float32(mass.center[d] - self.case_center[d]) + m * shrink for d, m in enumerate(mm)]
        coords = np.empty((3, *shape), dtype=np.float32)
        for d in range(3):
            coords[d] = np.float32(self.template_center[d])
            for e in range(3):
                coords[d] += np.float32(self.linear[d, e]) * offsets[e]
            for f in self.elastic[d] if self.elastic else ():
                coords[d] += f.evaluate(axes)
        return coords


def draw_transform(rng: np.random.Generator, anatomy: TemplateAnatomy, spacing: np.ndarray) -> CaseTransform:
    """Draw a random case-to-template transform for a grid of ``spacing`` mm voxels.

    Ranges: rotations +-7 degrees per axis (BraTS cases are registered to an atlas, so large rotations
    would be unrealistic); isotropic scale 0.90-0.98 (the MNI152 brain is larger than a typical SRI24
    brain: 1.88 L of mask against 1.45-1.64 L in the two real cases) with +-4 % per axis; shear +-0.03;
    center +-3 mm (+-1.8 mm in z); elastic displacement std 3 mm over ~40 mm plus 1.2 mm over ~14 mm.
    """
    angles = np.deg2rad(rng.uniform(-7, 7, size=3))
    scale = rng.uniform(0.90, 0.98) * rng.uniform(0.96, 1.04, size=3)
    shear = np.eye(3)
    shear[np.triu_indices(3, 1)] = rng.uniform(-0.03, 0.03, size=3)
    forward = _rotation(angles) @ shear @ np.diag(scale)  # template mm -> case RAS mm
    linear = np.linalg.inv(forward) @ _LPS_TO_RAS @ np.diag(spacing)
    case_center = (np.asarray(BRAIN_CENTER_MM) + rng.uniform(-3, 3, size=3) * [1, 1, 0.6]) / spacing

    extent = np.asarray((240.0, 240.0, 155.0)) / spacing  # grid size in voxels, for the node lattice
    grid = tuple(int(np.ceil(n)) for n in extent)
    elastic = tuple(
        tuple(
            SmoothField(f.coefficients * np.float32(amp), f.node_origin, f.node_spacing)
            for f, amp in (
                (SmoothField.draw(rng, grid, tuple(40.0 / spacing)), 3.0),
                (SmoothField.draw(rng, grid, tuple(14.0 / spacing)), 1.2),
            )
        )
        for _ in range(3)
    )
    return CaseTransform(linear, case_center, np.asarray(anatomy.brain_center, dtype=np.float64), elastic)


@dataclass
class CaseAnatomy:
    """Template anatomy resampled onto the box ``[start, stop)`` of a case grid (LPS voxel axes).

    Attributes:
        start, stop: (3,) int corner voxels of the box in the case grid.
        tissues: (3, *box) float32 probabilities CSF, GM, WM (sum to ~1 inside the brain).
        t1_detail: (*box) float32 template detail as a fraction of WM intensity.
        structures: (*box) uint8 structure codes (see :mod:`brainseg.synth.anatomy`).
    """

    start: np.ndarray
    stop: np.ndarray
    tissues: np.ndarray
    t1_detail: np.ndarray
    structures: np.ndarray

    @property
    def brain(self) -> np.ndarray:
        """(*box) bool brain mask: more than half of the voxel is tissue."""
        brain: np.ndarray = self.tissues.sum(axis=0) > 0.5
        return brain


def _sample(anatomy: TemplateAnatomy, coords: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Interpolate every template channel at ``coords`` (3, ...): tissues, detail, structure codes."""
    kw = {"order": 1, "output": np.float32, "prefilter": False}
    tissues = np.stack([ndi.map_coordinates(t, coords, **kw) for t in anatomy.tissues])
    detail = ndi.map_coordinates(anatomy.t1_detail, coords, **kw)
    structures = ndi.map_coordinates(anatomy.structures, coords, order=0, output=np.uint8, prefilter=False)
    return tissues, detail, structures


def _near_brain(
    anatomy: TemplateAnatomy, transform: CaseTransform, axes: tuple[np.ndarray, ...], spacing: np.ndarray
) -> np.ndarray:
    """(*box) bool: voxels within ~6 mm of the brain, found on a ~3 mm sampling of the box.

    Interpolation is the bulk of a case's cost and only ~40 % of the bounding box is brain, so the
    fine sampling is restricted to these voxels.
    """
    step = np.maximum(1, np.round(3.0 / spacing)).astype(int)
    coarse_axes = tuple(a[::s] for a, s in zip(axes, step, strict=True))
    coords = transform.template_coords(coarse_axes, spacing)
    mask = sum(ndi.map_coordinates(t, coords, order=1, output=np.float32, prefilter=False) for t in anatomy.tissues)
    near: np.ndarray = ndi.binary_dilation(mask > 0.02, iterations=2)
    for d, s in enumerate(step):
        near = np.repeat(near, s, axis=d)
    return near[tuple(slice(0, len(a)) for a in axes)]


def brain_box(
    anatomy: TemplateAnatomy, transform: CaseTransform, shape: tuple[int, int, int], spacing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Box ``[start, stop)`` of the case grid that holds the whole brain, found on a 4 mm sampling."""
    step = np.maximum(1, np.round(4.0 / spacing)).astype(int)
    axes = tuple(np.arange(0, n, s, dtype=np.float64) for n, s in zip(shape, step, strict=True))
    coords = transform.template_coords(axes, spacing)
    mask = sum(ndi.map_coordinates(t, coords, order=1, output=np.float32, prefilter=False) for t in anatomy.tissues)
    idx = np.argwhere(mask > 0.05)
    if idx.size == 0:
        raise RuntimeError("the random transform moved the brain out of the grid")
    start = np.maximum(idx.min(axis=0) * step - 2 * step, 0)
    stop = np.minimum(idx.max(axis=0) * step + 2 * step + 1, shape)
    return start.astype(int), stop.astype(int)


def resample_anatomy(
    anatomy: TemplateAnatomy,
    transform: CaseTransform,
    start: np.ndarray,
    stop: np.ndarray,
    spacing: np.ndarray,
    mass: MassEffect | None = None,
) -> CaseAnatomy:
    """Resample the template anatomy onto the case box ``[start, stop)`` (trilinear; nearest for codes)."""
    axes = tuple(np.arange(a, b, dtype=np.float64) for a, b in zip(start, stop, strict=True))
    shape = tuple(len(a) for a in axes)
    near = _near_brain(anatomy, transform, axes, spacing)
    coords = transform.template_coords(axes, spacing, mass)[:, near]  # (3, n) voxels near the brain
    values = _sample(anatomy, coords)
    tissues = np.zeros((3, *shape), dtype=np.float32)
    detail = np.zeros(shape, dtype=np.float32)
    structures = np.zeros(shape, dtype=np.uint8)
    tissues[:, near], detail[near], structures[near] = values
    return CaseAnatomy(np.asarray(start), np.asarray(stop), tissues, detail, structures)


def apply_mass_effect(
    case: CaseAnatomy, anatomy: TemplateAnatomy, transform: CaseTransform, spacing: np.ndarray, mass: MassEffect
) -> None:
    """Resample, in place, the part of ``case`` that ``mass`` moves by more than ~0.1 mm."""
    reach = np.ceil(mass.reach_mm() / spacing).astype(int)
    center = np.round(mass.center).astype(int)
    lo = np.maximum(center - reach, case.start)
    hi = np.minimum(center + reach + 1, case.stop)
    if np.any(hi <= lo):
        return
    part = resample_anatomy(anatomy, transform, lo, hi, spacing, mass)
    box = tuple(slice(a, b) for a, b in zip(lo - case.start, hi - case.start, strict=True))
    case.tissues[(slice(None), *box)] = part.tissues
    case.t1_detail[box] = part.t1_detail
    case.structures[box] = part.structures
