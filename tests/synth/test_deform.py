"""Case-to-template transform: orientation flips, box, mass effect."""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.synth.anatomy import load_template_anatomy
from brainseg.synth.deform import CaseTransform, MassEffect, brain_box, draw_transform
from brainseg.synth.space import BRATS_SHAPE, voxel_spacing

SPACING = np.ones(3)


def plain_transform():
    """No rotation, scaling or elastic part: LPS case voxels -> RAS template voxels by flips only."""
    return CaseTransform(np.diag([-1.0, -1.0, 1.0]), np.array([120.0, 130.0, 79.0]), np.array([75.0, 88.0, 81.0]))


def test_lps_case_axes_map_to_ras_template_axes():
    t = plain_transform()
    coords = t.template_coords(tuple(np.array([c, c + 10.0]) for c in (120.0, 130.0, 79.0)), SPACING)
    # 10 voxels toward Left / Posterior / Superior in the case = 10 mm toward -R / -A / +S in the template.
    assert coords[0, 1, 0, 0] - coords[0, 0, 0, 0] == pytest.approx(-10)
    assert coords[1, 0, 1, 0] - coords[1, 0, 0, 0] == pytest.approx(-10)
    assert coords[2, 0, 0, 1] - coords[2, 0, 0, 0] == pytest.approx(10)


def test_mass_effect_pushes_tissue_outward_without_folding():
    t = plain_transform()
    mass = MassEffect(center=np.array([120.0, 130.0, 79.0]), radius_mm=15.0, strength=0.5)
    x = np.arange(120.0, 200.0)  # a ray from the tumor center toward patient Left
    axes = (x, np.array([130.0]), np.array([79.0]))
    pushed = t.template_coords(axes, SPACING, mass)[0, :, 0, 0]
    plain = t.template_coords(axes, SPACING)[0, :, 0, 0]
    source = np.abs(pushed - 75.0)  # distance from the center in the template
    assert source[0] == pytest.approx(0)  # the center stays put
    assert np.all(np.diff(source) > 0)  # monotonic: no folding
    shift = np.abs(plain - 75.0) - source  # how far tissue moved outward, mm
    assert shift.max() == pytest.approx(mass.max_displacement_mm, rel=0.02)
    assert shift[15] == pytest.approx(shift.max(), rel=0.02)  # largest at r = radius_mm
    assert shift[-1] < 0.1  # negligible beyond reach


def test_random_transform_keeps_the_brain_inside_the_grid():
    anatomy = load_template_anatomy()
    spacing = voxel_spacing(BRATS_SHAPE)
    for seed in range(5):
        transform = draw_transform(np.random.default_rng(seed), anatomy, spacing)
        start, stop = brain_box(anatomy, transform, BRATS_SHAPE, spacing)
        assert np.all(start[:2] > 0) and np.all(stop[:2] < 240)  # the brainstem may leave through z = 0
        size = stop - start
        assert np.all(size > [120, 150, 110]) and np.all(size < [185, 215, 160])
