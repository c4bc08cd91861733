"""Random glioma-like tumors with BraTS sub-regions, grown inside a resampled case anatomy.

Each focus is built in three steps, all in a patch around its center (case voxels, LPS, ``spacing`` mm):

1. tumor core (TC): an irregular blob, the ``n`` voxels with the lowest value of
   ``ellipsoid distance + smooth noise``, so its volume is exact and its outline lobulated;
2. enhancing rim: core voxels within a noisy ``rim_mm`` of the core surface are ET (label 3), the rest
   NCR (label 1); in a non-enhancing tumor (low-grade-glioma-like) the whole core is NCR/NET;
3. edema (ED, label 2): a "concentration" released by the core diffuses a few steps, being multiplied at
   each step by a permeability that is high in white matter and low in grey matter and CSF, then the
   ``n`` most concentrated voxels form the whole tumor (WT). Edema therefore runs along white-matter
   tracts and spares the cortex, as vasogenic edema does.

Tumors never grow into the ventricles or CSF, and every core is wrapped in at least one voxel of edema
where there is brain around it.

What the core looks like is drawn separately (:func:`solid_core_weights`): label NCR covers both necrosis
and solid non-enhancing tumor, which look different on every sequence.

:func:`metastasis_plan` turns a glioma plan into a metastasis-like one: larger, rounder foci with a thin,
always-enhancing rim around a cystic or necrotic centre (like the AURORA case);
:func:`low_grade_plan` into a non-enhancing (low-grade-like) one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage as ndi

from brainseg.labels import ED, ET, NCR
from brainseg.synth.anatomy import VENTRICLE
from brainseg.synth.deform import CaseAnatomy
from brainseg.synth.fields import smooth_noise

WHOLE_TUMOR_ML = (4.0, 150.0)
"""Range of the whole-tumor volume drawn for a case (log-uniform), all foci together."""

METASTASIS_WHOLE_TUMOR_ML = (20.0, 150.0)
"""The same for a metastasis-like case, whose cyst is only part of a core of 25-65 % of the whole tumor."""

# Where a label is already set, a later focus may only overwrite it with a higher-ranked one.
_RANK = np.array([0, 2, 1, 3], dtype=np.uint8)  # rank of internal label 0 bg, 1 NCR, 2 ED, 3 ET


@dataclass(frozen=True)
class TumorPlan:
    """What to grow; drawn by :func:`draw_plan`.

    Attributes:
        whole_ml: target whole-tumor volume (mL) of each focus, main focus first.
        core_fraction: tumor core volume / whole tumor volume.
        enhancing: whether the core has an enhancing rim (else it is all NCR/NET, LGG-like).
        rim_mm: mean thickness of the enhancing rim.
        mass_effect: strength in [0, 0.6) of the push on surrounding tissue (0 = none).
        lobulation: scale of the core's lobulating noise (1 = glioma-like, lower = rounder).
        cystic_core: the enclosed core is all cyst or necrosis, never solid tumor (metastasis-like).
    """

    whole_ml: tuple[float, ...]
    core_fraction: float
    enhancing: bool
    rim_mm: float
    mass_effect: float
    lobulation: float = 1.0
    cystic_core: bool = False

    @property
    def multifocal(self) -> bool:
        return len(self.whole_ml) > 1

    @property
    def fixed_solid_share(self) -> float | None:
        """Share of the core that is solid non-enhancing tumor where the lesion kind fixes it (all of a
        non-enhancing core, none of a cystic one), else None: drawn per case (:func:`solid_core_weights`)."""
        if not self.enhancing:
            return 1.0
        return 0.0 if self.cystic_core else None


def log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """A value drawn log-uniform between ``bounds`` (one ``rng.uniform`` draw)."""
    return float(np.exp(rng.uniform(*np.log(bounds))))


def draw_plan(rng: np.random.Generator) -> TumorPlan:
    """Draw tumor parameters: 80 % enhancing, 20 % multifocal, mass effect in 70 % of tumors over 20 mL."""
    total = log_uniform(rng, WHOLE_TUMOR_ML)
    enhancing = bool(rng.random() < 0.8)
    n_foci = int(rng.choice([1, 2, 3], p=[0.8, 0.14, 0.06]))
    if n_foci == 1:
        parts = [total]
    else:
        weights = np.sort(rng.dirichlet(np.full(n_foci, 1.5)))[::-1]
        weights[0] += 0.3  # the main focus dominates
        parts = list(total * weights / weights.sum())
    core_fraction = rng.uniform(0.2, 0.6) if enhancing else rng.uniform(0.3, 0.8)
    mass = rng.uniform(0.25, 0.6) if (total > 20 and rng.random() < 0.7) else 0.0
    return TumorPlan(tuple(float(p) for p in parts), float(core_fraction), enhancing, float(rng.uniform(1.5, 5)), mass)


def metastasis_plan(rng: np.random.Generator, plan: TumorPlan) -> TumorPlan:
    """``plan`` made metastasis-like: a round core (lobulation 0.15-0.5) of 25-65 % of the whole tumor,
    always enhancing, with a thin rim (1-3 mm) around the necrotic or cystic centre.

    The whole tumor, all foci together, is redrawn log-uniform in :data:`METASTASIS_WHOLE_TUMOR_ML` (the foci
    keep their shares, mass effect stays the glioma plan's): with the glioma range and a core of 10-50 %,
    only about one case in eight had a cyst over 20 mL (the real AURORA cyst is about 37 mL).
    """
    total = log_uniform(rng, METASTASIS_WHOLE_TUMOR_ML)
    scale = total / sum(plan.whole_ml)
    return replace(
        plan,
        whole_ml=tuple(ml * scale for ml in plan.whole_ml),
        core_fraction=float(rng.uniform(0.25, 0.65)),
        enhancing=True,
        rim_mm=float(rng.uniform(1.0, 3.0)),
        lobulation=float(rng.uniform(0.15, 0.5)),
        cystic_core=True,
    )


def low_grade_plan(rng: np.random.Generator, plan: TumorPlan) -> TumorPlan:
    """``plan`` made low-grade-glioma-like: no enhancement, the whole core (30-80 % of the whole tumor)
    non-enhancing tumor, which BraTS labels NCR (TC without ET).

    The glioma draw makes a fifth of tumors non-enhancing already; this kind gives training runs more of them
    (the first demo checkpoints marked enhancing voxels in most held-out non-enhancing cases). Volumes, foci,
    lobulation and mass effect stay the glioma plan's.
    """
    return replace(plan, core_fraction=float(rng.uniform(0.3, 0.8)), enhancing=False)


def equivalent_radius_mm(volume_ml: float) -> float:
    """Radius (mm) of the sphere of ``volume_ml`` mL."""
    return float((3 * volume_ml * 1000 / (4 * np.pi)) ** (1 / 3))


def growth_allowed(case: CaseAnatomy) -> np.ndarray:
    """(*box) bool: brain voxels that are mostly tissue (not CSF) and not in a ventricle."""
    return case.brain & (case.tissues[0] < 0.5) & (case.structures != VENTRICLE)


def choose_center(
    rng: np.random.Generator,
    case: CaseAnatomy,
    allowed: np.ndarray,
    spacing: np.ndarray,
    radius_mm: float,
    near: list[tuple[np.ndarray, float]] | None = None,
) -> np.ndarray:
    """A box voxel in white matter with room for a ball of ``radius_mm`` mostly inside ``allowed``.

    With ``near`` (a list of box voxels and their whole-tumor radii in mm), the center is drawn so that
    a focus of ``radius_mm`` stays 8-40 mm clear of each of them: a separate (satellite) focus.
    Tries random white-matter voxels and keeps the first that fits, else the best one tried.
    """
    candidates = np.argwhere(allowed & (case.tissues[2] > 0.6))
    if near:
        gaps = [np.sqrt((((candidates - c) * spacing) ** 2).sum(axis=1)) - r - radius_mm for c, r in near]
        clear = np.all([g > 8 for g in gaps], axis=0) & np.any([g < 40 for g in gaps], axis=0)
        candidates = candidates[clear]
    if len(candidates) == 0:
        candidates = np.argwhere(allowed)
    reach = np.ceil(radius_mm / spacing).astype(int)
    best, best_fit = candidates[0], -1.0
    for c in candidates[rng.integers(0, len(candidates), size=200)]:
        lo, hi = np.maximum(c - reach, 0), np.minimum(c + reach + 1, allowed.shape)
        fit = (
            allowed[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))].mean()
            * np.prod(hi - lo)
            / np.prod(2 * reach + 1)
        )
        if fit > 0.85:
            return c
        if fit > best_fit:
            best, best_fit = c, fit
    return best


def _largest_component(mask: np.ndarray) -> np.ndarray:
    labels, n = ndi.label(mask)
    if n <= 1:
        return mask
    return labels == 1 + np.argmax(ndi.sum(mask, labels, range(1, n + 1)))


def _smallest(values: np.ndarray, where: np.ndarray, count: int) -> np.ndarray:
    """Bool mask of the ``count`` voxels of ``where`` with the smallest ``values``."""
    flat = np.flatnonzero(where)
    count = min(count, flat.size)
    out = np.zeros(values.shape, dtype=bool)
    if count > 0:
        out.flat[flat[np.argpartition(values.flat[flat], count - 1)[:count]]] = True
    return out


def grow_focus(
    rng: np.random.Generator,
    case: CaseAnatomy,
    allowed: np.ndarray,
    center: np.ndarray,
    whole_ml: float,
    plan: TumorPlan,
    spacing: np.ndarray,
) -> tuple[tuple[slice, ...], np.ndarray]:
    """Grow one focus around box voxel ``center``.

    Returns:
        The patch (slices into the box) and its (patch shape) uint8 internal labels 0/1/2/3.
    """
    voxel_ml = float(np.prod(spacing)) / 1000.0
    r_whole = equivalent_radius_mm(whole_ml)
    r_core = equivalent_radius_mm(whole_ml * plan.core_fraction)
    half = np.ceil((1.9 * r_whole + 12) / spacing).astype(int)
    lo, hi = np.maximum(center - half, 0), np.minimum(center + half + 1, allowed.shape)
    patch = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    room = allowed[patch]
    shape = room.shape
    mm = [((np.arange(a, b) - c) * s).reshape([-1 if e == d else 1 for e in range(3)])
          for d, (a, b, c, s) in enumerate(zip(lo, hi, center, spacing, strict=True))]  # fmt: skip

    # 1. Core: ellipsoid distance (random axes and orientation) plus lobulating noise.
    axes_mm = r_core * rng.uniform(0.75, 1.3, size=3)
    rot, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    dist2 = sum((sum(rot[e, d] * mm[d] for d in range(3)) / axes_mm[e]) ** 2 for e in range(3))
    lobes = smooth_noise(rng, shape, tuple(np.clip(r_core / 2.5, 2.5, 8) / spacing))
    rough = smooth_noise(rng, shape, tuple(np.full(3, 2.5) / spacing))
    score = np.sqrt(dist2) + plan.lobulation * rng.uniform(0.2, 0.5) * lobes + rng.uniform(0.05, 0.15) * rough
    core = _smallest(score, room, max(1, round(whole_ml * plan.core_fraction / voxel_ml)))
    core = ndi.binary_fill_holes(_largest_component(core)) & room

    # 2. Enhancing rim and necrosis.
    labels = np.zeros(shape, dtype=np.uint8)
    if plan.enhancing:
        depth = ndi.distance_transform_edt(np.pad(core, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]
        # Irregular thickness, thin in places and nodular in others, like a garland-shaped rim.
        rim = plan.rim_mm * np.exp(0.45 * smooth_noise(rng, shape, tuple(5.0 / spacing)))
        labels[core & (depth > rim)] = NCR
        labels[core & (depth <= rim)] = ET
    else:
        labels[core] = NCR

    # 3. Edema: diffusion with white-matter permeability, computed on a grid coarsened to ~2 mm.
    step = np.maximum(1, np.round(2.0 / spacing)).astype(int)
    coarse = tuple(slice(None, None, s) for s in step)
    wm = case.tissues[2][patch]
    tract_noise = smooth_noise(rng, shape, tuple(8.0 / spacing))
    permeability = (room * (0.03 + wm**2) * np.exp(0.5 * tract_noise))[coarse]
    source = core[coarse].astype(np.float32)
    conc = source.copy()
    sigma = max(1.0, r_whole / 8) / (spacing * step)
    for _ in range(8):
        conc = np.maximum(ndi.gaussian_filter(conc, sigma) * permeability, source)
    conc = ndi.zoom(conc, np.asarray(shape) / np.asarray(conc.shape), order=1, grid_mode=True, mode="nearest")
    # Every core voxel borders edema, not healthy tissue, wherever there is room for it: the core and
    # a one-voxel shell come first, the most concentrated voxels fill up the rest of the volume.
    first = core | (ndi.binary_dilation(core) & room)
    conc[first] = np.inf
    whole = _smallest(-conc, room | first, max(int(first.sum()), round(whole_ml / voxel_ml)))
    # Keep only edema connected to this core: thresholding can leave distant islands.
    pieces, n = ndi.label(whole)
    if n > 1:
        whole = np.isin(pieces, np.unique(pieces[core]))
    labels[whole & ~core] = ED
    return patch, labels


def grow_tumor(
    rng: np.random.Generator,
    case: CaseAnatomy,
    plan: TumorPlan,
    centers: list[np.ndarray],
    spacing: np.ndarray,
) -> np.ndarray:
    """All foci of ``plan`` at ``centers`` (box voxels, main focus first).

    Returns:
        (*box) uint8 internal labels 0 bg, 1 NCR, 2 ED, 3 ET; zero outside the brain.
    """
    allowed = growth_allowed(case)
    labels = np.zeros(allowed.shape, dtype=np.uint8)
    for center, whole_ml in zip(centers, plan.whole_ml, strict=True):
        patch, focus = grow_focus(rng, case, allowed, center, whole_ml, plan, spacing)
        current = labels[patch]
        labels[patch] = np.where(_RANK[focus] > _RANK[current], focus, current)
    return labels


def solid_core_weights(
    rng: np.random.Generator, core: np.ndarray, share: float, spacing: np.ndarray
) -> tuple[np.ndarray, float]:
    """Which part of the NCR-labelled core is solid non-enhancing tumor rather than necrosis.

    BraTS labels both NCR. A glioblastoma's enclosed core mixes them (the real BraTS case's is mostly solid
    tumor); a low-grade glioma's core is all solid, a metastasis's all cyst or necrosis. The solid part is
    the ``share`` of ``core`` voxels with the lowest value of a smooth random field (5 mm blobs), its edge
    softened by a 1 mm Gaussian.

    Args:
        core: (X, Y, Z) bool, the voxels labelled NCR.
        share: fraction in [0, 1] of ``core`` to make solid.
        spacing: (3,) voxel size in mm.

    Returns:
        (X, Y, Z) float32 weights in [0, 1] (1 = solid tumor, 0 = necrosis; meaningful on ``core``) and the
        solid share of ``core`` before the softening.
    """
    if share >= 1.0 or not core.any():
        return np.ones(core.shape, dtype=np.float32), 1.0 if core.any() else 0.0
    if share <= 0.0:
        return np.zeros(core.shape, dtype=np.float32), 0.0
    field = smooth_noise(rng, core.shape, tuple(5.0 / spacing))
    solid = core & (field <= np.quantile(field[core], share))
    weights = ndi.gaussian_filter(solid.astype(np.float32), 1.0 / spacing)
    return weights, float(solid.sum() / core.sum())
