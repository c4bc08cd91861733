"""Generate one synthetic four-sequence brain-tumor case: :func:`generate_case`.

The pieces, in order: anatomy (:mod:`~brainseg.synth.anatomy`) -> random affine + elastic warp onto the
BraTS grid (:mod:`~brainseg.synth.deform`) -> tumor plan, center and optional mass effect, then tumor
growth (:mod:`~brainseg.synth.tumor`) -> per-sequence contrast (:mod:`~brainseg.synth.contrast`) ->
image formation (:mod:`~brainseg.synth.image_formation`).

Randomness comes from five independent streams spawned from the seed (geometry, tumor, appearance,
noise, lesion kind), so changing how one part draws its numbers does not reshuffle the others. A
metastasis-like case (``lesion="metastasis"``) is its glioma case with the plan and the core's contrast
redrawn from the fifth stream: same head and planned volumes, a different lesion (placed for its own
core size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage as ndi

from brainseg.labels import ED, ET, NCR
from brainseg.synth.anatomy import TISSUES, load_template_anatomy
from brainseg.synth.contrast import SEQUENCES, cystic_core_contrast, randomized_contrast, realistic_contrast
from brainseg.synth.deform import (
    CaseAnatomy,
    MassEffect,
    apply_mass_effect,
    brain_box,
    draw_transform,
    resample_anatomy,
)
from brainseg.synth.fields import smooth_noise
from brainseg.synth.image_formation import BIAS_SCALE_MM, render_sequence, tumor_weights, vessel_map
from brainseg.synth.space import BRATS_SHAPE, brats_affine, check_shape, voxel_spacing
from brainseg.synth.tumor import (
    TumorPlan,
    choose_center,
    draw_plan,
    equivalent_radius_mm,
    grow_tumor,
    growth_allowed,
    low_grade_plan,
    metastasis_plan,
    solid_core_weights,
)

GENERATOR_VERSION = 6
"""Bumped whenever the same seed would give different arrays (v2: metastasis-like cysts widened; glioma
cases are byte-identical to v1's; v3: the bias fields of a case's sequences share a common field; v4: solid
non-enhancing tumor ranges up to the real-measured appearance and fills part of enhancing gliomas' enclosed
core; v5: the dural sinuses (wider superior sagittal, confluence, transverse, straight) with the real cases'
blood look, T1ce-bright and T2/FLAIR-dark, and no vessel drawn over tumor; labels unchanged; v6: metastasis-like
cases larger (20-150 mL) with a larger core (25-65 %), so more large cysts, and cysts brighter on T2 (0.75-1 x CSF);
glioma and low-grade cases are byte-identical to v5's)."""

INT16_MAX = 32767

LESIONS: tuple[str, ...] = ("glioma", "metastasis", "low-grade")
"""Lesion kinds :func:`generate_case` draws: BraTS-GLI-like gliomas (a fifth of them non-enhancing),
metastasis-like cystic lesions, or non-enhancing low-grade-like gliomas."""


@dataclass
class SyntheticCase:
    """A generated case, with its ground truth.

    All arrays share one grid: (X, Y, Z) in LPS voxel order (axis 0 toward patient Left, 1 Posterior,
    2 Superior), 240 x 240 x 155 voxels of 1 mm for the default shape, exactly like BraTS files.

    Attributes:
        images: sequence name ("T1", "T1ce", "T2", "FLAIR") -> (X, Y, Z) float32. Values are whole
            numbers in [0, 32767] (what :func:`~brainseg.synth.write_case` stores as int16), zero outside
            the brain (skull-stripped).
        labels: (X, Y, Z) uint8 internal labels: 0 background, 1 NCR, 2 ED, 3 ET (see
            :mod:`brainseg.labels`); zero outside the brain.
        affine: 4x4 float64 voxel -> world (RAS mm) affine of the grid, the BraTS LPS affine.
        meta: JSON-able facts: seed, mode, tumor volumes (mL) per region, foci, enhancing, mass effect,
            the share of the NCR label drawn as solid non-enhancing tumor (the rest necrosis or cyst),
            contrast parameters per sequence.
        tissue_labels: (X, Y, Z) uint8 dominant healthy tissue of each voxel, before the tumor:
            0 outside the brain, 1 CSF, 2 GM, 3 WM. Truth for checking tissue-class estimators.
    """

    images: dict[str, np.ndarray]
    labels: np.ndarray
    affine: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)
    tissue_labels: np.ndarray | None = None

    @property
    def brain_mask(self) -> np.ndarray:
        """(X, Y, Z) bool: voxels inside the skull strip."""
        return self.tissue_labels > 0 if self.tissue_labels is not None else self.images["T1"] > 0


def _individualize(case: CaseAnatomy, spacing: np.ndarray, rng: np.random.Generator) -> None:
    """Turn the population-average tissue maps into one plausible adult brain, in place.

    1. Sulci: the 152-subject average blurs sulcal CSF into grey matter, so cortex next to CSF gives a
       random share (15-45 %, patient age and atrophy) of its grey matter to CSF.
    2. Crisper boundaries: raising the probabilities to a power > 1 and renormalizing keeps the brain
       mask (their sum) and the dominant tissue but narrows the template's wide transition bands.
    """
    csf, gm = case.tissues[0], case.tissues[1]
    near_csf = np.minimum(2 * ndi.gaussian_filter(csf, 1.5 / spacing), 1.0)
    moved = np.float32(rng.uniform(0.15, 0.45)) * gm * near_csf
    csf += moved
    gm -= moved
    power = np.float32(rng.uniform(1.3, 1.9))
    total = case.tissues.sum(axis=0)
    sharp = case.tissues**power
    sharp *= total / np.maximum(sharp.sum(axis=0), np.float32(1e-6))
    case.tissues = sharp


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _tumor_meta(
    labels: np.ndarray, voxel_ml: float, plan: TumorPlan, mass: MassEffect | None, centers: list[Any]
) -> dict[str, Any]:
    """Tumor facts for ``SyntheticCase.meta``: volumes (mL) per region, foci, enhancement, mass effect."""
    counts = np.bincount(labels.ravel(), minlength=4).astype(float) * voxel_ml
    volumes = {"NCR": counts[NCR], "ED": counts[ED], "ET": counts[ET]}
    volumes |= {"TC": counts[NCR] + counts[ET], "WT": counts[NCR] + counts[ED] + counts[ET]}
    return {
        "tumor_volume_ml": {k: round(float(v), 2) for k, v in volumes.items()},
        "planned_whole_tumor_ml": [round(v, 2) for v in plan.whole_ml],
        "n_foci": len(plan.whole_ml),
        "multifocal": plan.multifocal,
        "enhancing": plan.enhancing,
        "mass_effect": mass is not None,
        "mass_effect_max_mm": round(mass.max_displacement_mm, 2) if mass is not None else 0.0,
        "tumor_centers_voxel": [[int(v) for v in c] for c in centers],
    }


def generate_case(
    seed: int, *, domain_randomized: bool = False, lesion: str = "glioma", shape: tuple[int, int, int] = BRATS_SHAPE
) -> SyntheticCase:
    """Generate a four-sequence brain MRI with a glioma- or metastasis-like tumor and its BraTS labels.

    Args:
        seed: non-negative integer; the same seed (and arguments) gives byte-identical arrays.
        domain_randomized: draw random intensities per tissue class, blur, bias, noise and gamma
            (SynthSeg-style) instead of the realistic contrast.
        lesion: "glioma" (lobulated core, 80 % enhancing), "metastasis" (round, thin-rimmed enhancing
            lesion around a fluid-filled cyst; see :func:`~brainseg.synth.tumor.metastasis_plan`) or
            "low-grade" (the glioma with no enhancement; :func:`~brainseg.synth.tumor.low_grade_plan`).
        shape: grid size (X, Y, Z). Smaller grids keep the BraTS 240 x 240 x 155 mm field of view with
            larger voxels (e.g. (96, 96, 62) has 2.5 mm voxels); the affine says so.

    Returns:
        A :class:`SyntheticCase` on an LPS grid of ``shape``. Example: ``generate_case(7).images["FLAIR"]``
        is (240, 240, 155) float32.

    Raises:
        ValueError: ``seed`` is not a non-negative integer, ``lesion`` not in :data:`LESIONS` or ``shape`` is
            not three sizes in [32, 512].
    """
    seed = _check_seed(seed)
    if lesion not in LESIONS:
        raise ValueError(f"lesion must be one of {', '.join(LESIONS)}, got {lesion!r}")
    shape = check_shape(shape)
    spacing = voxel_spacing(shape)
    streams = np.random.SeedSequence(seed).spawn(5)  # the first four are what spawn(4) gave: old seeds unchanged
    geometry, tumor_rng, appearance, noise, lesion_rng = (np.random.default_rng(s) for s in streams)

    anatomy = load_template_anatomy()
    transform = draw_transform(geometry, anatomy, spacing)
    start, stop = brain_box(anatomy, transform, shape, spacing)
    case = resample_anatomy(anatomy, transform, start, stop, spacing)

    plan = draw_plan(tumor_rng)
    if lesion == "metastasis":
        plan = metastasis_plan(lesion_rng, plan)
    elif lesion == "low-grade":
        plan = low_grade_plan(lesion_rng, plan)
    r_core = equivalent_radius_mm(plan.whole_ml[0] * plan.core_fraction)
    centers = [choose_center(tumor_rng, case, growth_allowed(case), spacing, r_core + 4)]
    mass = None
    if plan.mass_effect > 0:
        mass = MassEffect(center=start + centers[0], radius_mm=1.2 * r_core + 4, strength=plan.mass_effect)
        apply_mass_effect(case, anatomy, transform, spacing, mass)
    _individualize(case, spacing, geometry)
    allowed = growth_allowed(case)
    placed = [(centers[0], equivalent_radius_mm(plan.whole_ml[0]))]
    for whole_ml in plan.whole_ml[1:]:
        # Satellites keep clear of the foci placed so far (their whole-tumor radius plus 8 mm).
        r = equivalent_radius_mm(whole_ml)
        centers.append(choose_center(tumor_rng, case, allowed, spacing, r, near=placed))
        placed.append((centers[-1], r))
    labels_box = grow_tumor(tumor_rng, case, plan, centers, spacing)

    # Drawn from the tumor stream, so the healthy brain's contrast stays v3's for the same seed.
    net_solidity = float(tumor_rng.uniform(0.0, 1.0))
    contrast = randomized_contrast(appearance) if domain_randomized else realistic_contrast(appearance, net_solidity)
    if lesion == "metastasis":
        contrast = cystic_core_contrast(lesion_rng, contrast, domain_randomized)
    vessels = vessel_map(appearance, case, spacing)
    healthy_texture = smooth_noise(appearance, case.t1_detail.shape, tuple(2.5 / spacing))
    shared_bias = smooth_noise(appearance, case.t1_detail.shape, tuple(BIAS_SCALE_MM / spacing))
    tumor_box, tumor = tumor_weights(labels_box, spacing)
    if tumor:  # the tumor displaces the vessels it grows over, so its labels keep their look
        vessels[tumor_box] *= 1.0 - np.minimum(sum(tumor.values()), 1.0)
    share = plan.fixed_solid_share
    if share is None:  # an enhancing glioma's core mixes necrosis and solid tumor
        share = float(tumor_rng.uniform(0.0, 1.0))
    solid_core, solid_share = solid_core_weights(tumor_rng, labels_box[tumor_box] == NCR, share, spacing)

    box = tuple(slice(a, b) for a, b in zip(start, stop, strict=True))
    images = {}
    for seq in SEQUENCES:
        full = np.zeros(shape, dtype=np.float32)
        img = render_sequence(
            noise, contrast[seq], case, healthy_texture, tumor_box, tumor, solid_core, vessels, shared_bias, spacing
        )
        full[box] = np.clip(np.rint(img), 0, INT16_MAX)
        images[seq] = full
    labels = np.zeros(shape, dtype=np.uint8)
    labels[box] = labels_box
    tissue_labels = np.zeros(shape, dtype=np.uint8)
    tissue_labels[box] = np.where(case.brain, 1 + np.argmax(case.tissues, axis=0), 0)

    voxel_ml = float(np.prod(spacing)) / 1000.0
    meta = {
        "generator": f"brainseg.synth v{GENERATOR_VERSION}",
        "seed": seed,
        "domain_randomized": bool(domain_randomized),
        "lesion": lesion,
        "shape": list(shape),
        "spacing_mm": [round(float(s), 4) for s in spacing],
        "orientation": "LPS",
        "brain_ml": round(float(case.brain.sum()) * voxel_ml, 1),
        **_tumor_meta(labels_box, voxel_ml, plan, mass, [start + c for c in centers]),
        "core_solid_share": round(solid_share, 3),
        "tissues": list(TISSUES),
        "contrast": {seq: c.as_dict() for seq, c in contrast.items()},
    }
    return SyntheticCase(images, labels, brats_affine(shape), meta, tissue_labels)
