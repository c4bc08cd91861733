"""The voxels every sequence covers: slab gaps left out, enclosed dark voxels kept, statistics unbiased."""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.io import load_case
from brainseg.io.naming import SEQUENCES
from brainseg.preprocess import keep_covered, normalize, sequence_coverage
from tests.casefiles import real_case_folder

SHAPE = (30, 28, 26)
GAP_SLICES = 8  # T1ce is 0 in the lowest 8 axial slices (axis 2), as a shorter slab leaves it


def ball_case(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(4, X, Y, Z) float32 intensities in 50..150 inside a ball 'brain', 0 outside; and the (X, Y, Z) ball."""
    grid = np.stack(np.meshgrid(*[np.linspace(-1, 1, n) for n in SHAPE], indexing="ij"))
    brain = (grid**2).sum(0) < 0.85
    images = np.random.default_rng(seed).uniform(50, 150, size=(4, *SHAPE)).astype(np.float32)
    images[:, ~brain] = 0
    return images, brain


def test_a_fully_covered_case_is_left_as_it_is():
    images, brain = ball_case()
    coverage = sequence_coverage(images)
    np.testing.assert_array_equal(coverage.covered, brain)
    assert coverage.missing == (0.0, 0.0, 0.0, 0.0) and coverage.uncovered_fraction == 0.0
    assert coverage.warning(SEQUENCES) is None
    assert keep_covered(images, coverage) is images


def test_a_slab_gap_is_left_out_of_every_sequence_and_named():
    images, brain = ball_case()
    images[1, :, :, :GAP_SLICES] = 0
    coverage = sequence_coverage(images)
    gap = brain.copy()
    gap[:, :, GAP_SLICES:] = False
    np.testing.assert_array_equal(coverage.covered, brain & ~gap)
    assert coverage.missing[1] == pytest.approx(gap.sum() / brain.sum())
    assert coverage.missing[0] == coverage.missing[2] == coverage.missing[3] == 0.0
    warning = coverage.warning(SEQUENCES)
    assert warning is not None and "T1ce misses the most" in warning and f"{gap.sum() / brain.sum():.1%}" in warning
    kept = keep_covered(images, coverage)
    assert not kept[:, gap].any(), "the gap is background in all four sequences"
    np.testing.assert_array_equal(kept[:, ~gap], images[:, ~gap])
    assert images[0, gap].all(), "the caller's images are untouched"


def test_the_gap_does_not_bias_the_normalization():
    # z-scored over the brain mask, T1ce's zeros in the gap would pull its mean down and its SD up.
    images, _ = ball_case()
    images[1, :, :, :GAP_SLICES] = 0
    coverage = sequence_coverage(images)
    normalized = normalize(keep_covered(images, coverage), "zscore-brain")
    inside = normalized[1][coverage.covered]
    assert inside.mean() == pytest.approx(0.0, abs=1e-5) and inside.std() == pytest.approx(1.0, abs=1e-4)
    biased = normalize(images, "zscore-brain")[1]
    assert biased[coverage.covered].mean() > 0.2, "without it the covered tissue looks brighter"


def test_zero_voxels_enclosed_by_a_sequence_stay_inside_its_field_of_view():
    # A ventricle stored as exactly 0 in FLAIR (suppressed fluid) is data, not a gap.
    images, brain = ball_case()
    centre = tuple(n // 2 for n in SHAPE)
    images[3, centre[0] - 2 : centre[0] + 2, centre[1] - 2 : centre[1] + 2, centre[2] - 2 : centre[2] + 2] = 0
    coverage = sequence_coverage(images)
    np.testing.assert_array_equal(coverage.covered, brain)
    assert keep_covered(images, coverage) is images


def test_real_cases_coverage():
    # The AURORA example's T1ce slab stops above the lower cerebellum; the BraTS case is fully covered.
    aurora = sequence_coverage(load_case(real_case_folder("AURORA-example"), read_truth=False).images)
    assert max(aurora.missing) == aurora.missing[SEQUENCES.index("T1ce")] > 0.05
    assert "T1ce misses the most" in aurora.warning(SEQUENCES)
    brats = sequence_coverage(load_case(real_case_folder("BraTS-GLI-00001-000"), read_truth=False).images)
    assert brats.uncovered_fraction == 0.0 and brats.warning(SEQUENCES) is None
