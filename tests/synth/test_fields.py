"""Smooth random fields: unit variance, smoothness at the requested scale, consistent sub-boxes."""

from __future__ import annotations

import numpy as np

from brainseg.synth.fields import SmoothField, smooth_noise


def test_unit_variance_everywhere_including_borders():
    rng = np.random.default_rng(0)
    draws = np.stack([smooth_noise(rng, (20, 16, 12), 4.0) for _ in range(400)])
    std = draws.std(axis=0)
    assert 0.97 < std.mean() < 1.03
    for corner in ((0, 0, 0), (19, 15, 11), (0, 15, 0)):  # no fading at the borders
        assert 0.88 < std[corner] < 1.12
    assert abs(draws.mean()) < 0.05


def test_spacing_sets_the_correlation_length():
    rng = np.random.default_rng(1)
    fine = smooth_noise(rng, (64, 64, 64), 2.0)
    coarse = smooth_noise(rng, (64, 64, 64), 8.0)

    def lag_correlation(field, lag):
        return np.corrcoef(field[:-lag].ravel(), field[lag:].ravel())[0, 1]

    # Gaussian bumps of width s on a lattice of step s: correlation ~ exp(-lag**2 / (4 s**2)).
    assert lag_correlation(coarse, 4) > 0.85
    assert lag_correlation(fine, 6) < 0.25
    assert lag_correlation(fine, 1) > 0.8  # still smooth voxel to voxel


def test_sub_box_equals_slice_of_the_full_grid():
    field = SmoothField.draw(np.random.default_rng(2), (30, 20, 10), (5.0, 5.0, 5.0))
    full = field.on_box((0, 0, 0), (30, 20, 10))
    part = field.on_box((7, 3, 2), (19, 15, 9))
    assert full.dtype == np.float32 and full.shape == (30, 20, 10)
    np.testing.assert_allclose(part, full[7:19, 3:15, 2:9], rtol=1e-5, atol=1e-6)
