"""Tumor growth on hand-made anatomy: exact volumes, sub-region layout, edema along white matter."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

from brainseg.labels import ED, ET, NCR
from brainseg.synth.deform import CaseAnatomy
from brainseg.synth.tumor import (
    METASTASIS_WHOLE_TUMOR_ML,
    TumorPlan,
    draw_plan,
    grow_tumor,
    metastasis_plan,
    solid_core_weights,
)

SPACING = np.ones(3)


def phantom(shape=(90, 90, 90)) -> CaseAnatomy:
    """A cube of brain: white matter for x < 45, grey matter for x >= 45, no CSF."""
    tissues = np.zeros((3, *shape), dtype=np.float32)
    tissues[2, :45] = 1.0
    tissues[1, 45:] = 1.0
    tissues[:, :2] = tissues[:, -2:] = 0  # brain edge on the x faces
    zeros = np.zeros(shape, dtype=np.float32)
    return CaseAnatomy(np.zeros(3, int), np.array(shape), tissues, zeros, np.zeros(shape, np.uint8))


def grow(plan: TumorPlan, center=(42, 45, 45), seed=0) -> np.ndarray:
    return grow_tumor(np.random.default_rng(seed), phantom(), plan, [np.array(center)], SPACING)


def test_volumes_match_the_plan():
    labels = grow(TumorPlan((40.0,), 0.4, True, 3.0, 0.0))
    whole, core = np.sum(labels > 0) / 1000, np.sum(np.isin(labels, (NCR, ET))) / 1000
    assert whole == pytest.approx(40.0, rel=0.03)
    assert core == pytest.approx(16.0, rel=0.1)  # hole filling and the largest-component rule trim a little


def test_enhancing_rim_surrounds_necrosis():
    labels = grow(TumorPlan((40.0,), 0.5, True, 3.0, 0.0))
    assert {NCR, ED, ET} <= set(np.unique(labels))
    ncr = np.argwhere(labels == NCR).mean(axis=0)
    et = np.argwhere(labels == ET)
    # Necrosis is central: its centroid is within the rim's, and the rim reaches further out.
    assert np.linalg.norm(ncr - et.mean(axis=0)) < 4
    assert np.max(np.linalg.norm(et - ncr, axis=1)) > np.max(np.linalg.norm(np.argwhere(labels == NCR) - ncr, axis=1))


def test_non_enhancing_core_is_all_ncr():
    labels = grow(TumorPlan((30.0,), 0.5, False, 3.0, 0.0))
    assert ET not in np.unique(labels)
    assert np.sum(labels == NCR) > 0 and np.sum(labels == ED) > 0


def test_edema_spreads_along_white_matter():
    # Core centred on the white/grey boundary: edema should fill far more white than grey matter.
    labels = grow(TumorPlan((60.0,), 0.2, True, 3.0, 0.0), center=(45, 45, 45))
    edema = labels == ED
    assert edema[:45].sum() > 3 * edema[45:].sum()


def test_no_tumor_outside_the_brain():
    labels = grow(TumorPlan((80.0,), 0.3, True, 3.0, 0.0), center=(12, 45, 45))
    assert not labels[:2].any()
    assert labels.any()


def test_plan_distribution():
    plans = [draw_plan(np.random.default_rng(seed)) for seed in range(400)]
    totals = np.array([sum(p.whole_ml) for p in plans])
    assert 4.0 <= totals.min() < 6 and 120 < totals.max() <= 150.0
    assert 0.7 < np.mean([p.enhancing for p in plans]) < 0.9
    assert 0.12 < np.mean([p.multifocal for p in plans]) < 0.3
    assert all(p.mass_effect == 0 for p, t in zip(plans, totals, strict=True) if t <= 20)
    assert 0.5 < np.mean([p.mass_effect > 0 for p, t in zip(plans, totals, strict=True) if t > 20]) < 0.85


def test_metastasis_plans_are_larger_rounder_and_keep_the_foci_shares():
    rng = np.random.default_rng(0)
    pairs = [
        (glioma, metastasis_plan(rng, glioma)) for glioma in (draw_plan(np.random.default_rng(s)) for s in range(400))
    ]
    totals = np.array([sum(m.whole_ml) for _, m in pairs])
    low, high = METASTASIS_WHOLE_TUMOR_ML
    assert low <= totals.min() < 1.1 * low and 0.9 * high < totals.max() <= high
    # Log-uniform: the median near the geometric mean, and (at a third of it in the cyst) many large cysts.
    assert np.median(totals) == pytest.approx(np.sqrt(low * high), rel=0.15)
    cores = np.array([m.core_fraction for _, m in pairs])
    assert 0.25 <= cores.min() < 0.27 and 0.63 < cores.max() <= 0.65
    assert np.mean(totals * cores > 30) > 0.3
    for glioma, metastasis in pairs:
        assert metastasis.enhancing and metastasis.cystic_core and metastasis.lobulation < 0.5
        shares = np.array(metastasis.whole_ml) / sum(metastasis.whole_ml)
        assert shares == pytest.approx(np.array(glioma.whole_ml) / sum(glioma.whole_ml))
        assert metastasis.mass_effect == glioma.mass_effect


@pytest.mark.parametrize("share", [0.0, 0.3, 0.8, 1.0])
def test_solid_core_weights_take_the_asked_share_of_the_core(share):
    labels = grow(TumorPlan((40.0,), 0.5, True, 3.0, 0.0))
    core = labels == NCR
    weights, realized = solid_core_weights(np.random.default_rng(1), core, share, SPACING)
    assert weights.shape == core.shape and weights.dtype == np.float32
    assert weights.min() >= 0.0 and weights.max() <= 1.0 + 1e-6
    assert realized == pytest.approx(share, abs=0.01)
    assert weights[core].mean() == pytest.approx(share, abs=0.08)  # softened edges, same amount
    if 0 < share < 1:
        # Blobs, not salt and pepper: most solid voxels have only solid neighbours.
        solid = core & (weights > 0.5)
        assert np.mean(ndi.binary_erosion(solid)[solid]) > 0.5
