"""The real-domain augmentation: thick slices, contrast, noise (and their place in the default pipeline)."""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.training.augment import (
    RandomBiasField,
    RandomContrast,
    RandomLowResolution,
    RandomNoise,
    default_augmentation,
    thick_slices,
)
from tests.training.test_augment import make_sample


def test_thick_slices_keep_a_constant_and_a_linear_ramp_and_blur_a_thin_line():
    constant = np.full((6, 7, 40), 2.5, dtype=np.float32)
    np.testing.assert_allclose(thick_slices(constant, 2, 5.0, 1.3), 2.5, rtol=1e-6)
    ramp = np.broadcast_to(np.arange(40, dtype=np.float32), (6, 7, 40)).copy()
    inner = thick_slices(ramp, 2, 4.0, 0.5)[:, :, 8:32]  # a straight line survives blur and linear sampling
    np.testing.assert_allclose(inner, ramp[:, :, 8:32], atol=0.05)
    line = np.zeros((6, 7, 40), dtype=np.float32)
    line[:, :, 20] = 1.0  # a 1 mm structure, such as a thin enhancing rim, seen through 5 mm slices
    thick = thick_slices(line, 2, 5.0, 0.0)
    assert thick.max() < 0.4 and (thick[0, 0] > 0.05).sum() >= 4  # smeared over about one slice
    # Along another axis nothing changes for a profile that is constant along it.
    np.testing.assert_allclose(thick_slices(line, 0, 5.0, 0.0), line, atol=1e-6)


def test_low_resolution_blurs_only_picked_channels_along_one_axis_inside_the_brain():
    sample = make_sample()
    out = RandomLowResolution(thickness_range=(4.0, 4.0), axis=2, channel_p=1.0, p=1.0)(
        sample, np.random.default_rng(0)
    )
    brain = np.any(sample["images"] != 0, axis=0)
    assert np.all(out["images"][:, ~brain] == 0)
    np.testing.assert_array_equal(out["labels"], sample["labels"])
    # Slice-to-slice differences along Z shrink (blur) while those along X stay of the same order.
    along_z = np.abs(np.diff(out["images"][0][1:-1, 1:-1, 1:-1], axis=2)).mean()
    before_z = np.abs(np.diff(sample["images"][0][1:-1, 1:-1, 1:-1], axis=2)).mean()
    assert along_z < 0.5 * before_z
    none_picked = RandomLowResolution(channel_p=0.0, p=1.0)(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(none_picked["images"], sample["images"])


def test_contrast_scales_each_channel_about_its_brain_mean():
    sample = make_sample()
    out = RandomContrast(factor_range=(1.5, 1.5), max_shift=0.0, p=1.0)(sample, np.random.default_rng(1))
    brain = np.any(sample["images"] != 0, axis=0)
    for before, after in zip(sample["images"], out["images"], strict=True):
        mean = before[brain].mean()
        np.testing.assert_allclose(after[brain], mean + 1.5 * (before[brain] - mean), rtol=1e-5, atol=1e-5)
    assert np.all(out["images"][:, ~brain] == 0)


def test_noise_adds_brain_noise_of_the_drawn_size():
    sample = make_sample(shape=(30, 30, 30))
    out = RandomNoise(max_sigma=0.2, p=1.0)(sample, np.random.default_rng(2))
    brain = np.any(sample["images"] != 0, axis=0)
    added = (out["images"] - sample["images"])[:, brain]
    assert np.all(out["images"][:, ~brain] == 0)
    assert 0 < added.std(axis=1).max() <= 0.21 and np.abs(added.mean(axis=1)).max() < 0.02


@pytest.mark.parametrize("transform", [RandomContrast, RandomNoise, RandomLowResolution])
def test_real_domain_transforms_draw_alike_whether_or_not_they_apply(transform):
    sample = make_sample()
    rng_off, rng_on = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(transform(p=0.0)(sample, rng_off)["images"], sample["images"])
    transform(p=1.0)(sample, rng_on)
    assert rng_off.random() == rng_on.random()


def test_real_augment_adds_the_real_domain_transforms_once():
    names = [type(t).__name__ for t in default_augmentation(bias_field=True, real_domain=True).transforms]
    assert names.count("RandomBiasField") == 1
    assert {"RandomLowResolution", "RandomContrast", "RandomNoise"} <= set(names)
    assert not any(isinstance(t, RandomNoise) for t in default_augmentation().transforms)
    assert any(isinstance(t, RandomBiasField) for t in default_augmentation(bias_field=True).transforms)
