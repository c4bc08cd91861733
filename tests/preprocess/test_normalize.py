"""Normalization values on hand-made volumes, and the pad/unpad round trip."""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.preprocess import NORMALIZATIONS, brain_mask, normalize, pad_to_multiple, unpad

SHAPE = (4, 4, 4)  # 64 voxels; the "brain" is the first two X slices (32 voxels)


def brain_case(t1: np.ndarray, t1ce: np.ndarray, t2: np.ndarray, flair: np.ndarray) -> np.ndarray:
    """(4, 4, 4, 4) float32 with the given 32 brain values per sequence and zeros outside the brain."""
    images = np.zeros((4, *SHAPE), dtype=np.float32)
    for channel, values in zip(images, (t1, t1ce, t2, flair), strict=True):
        channel[:2] = np.asarray(values, dtype=np.float32).reshape(2, 4, 4)
    return images


BRAIN = np.zeros(SHAPE, dtype=bool)
BRAIN[:2] = True
RAMP = np.arange(1, 33, dtype=np.float64)  # 1..32: no value is 5 SD from the mean, so nothing is clipped
# 30 zeros, one 4 and one 92: mean 3, SD 16, so the clip bound mean + 5 SD is 83 and only the 92 is clipped.
OUTLIER = np.array([0.0] * 30 + [4.0, 92.0])


def test_brain_mask_is_any_nonzero_sequence():
    images = np.zeros((4, *SHAPE), dtype=np.float32)
    images[2, 1, 2, 3] = 5.0
    images[0, 0, 0, 0] = -1.0
    expected = np.zeros(SHAPE, dtype=bool)
    expected[1, 2, 3] = expected[0, 0, 0] = True
    np.testing.assert_array_equal(brain_mask(images), expected)


def test_zscore_brain_mean_zero_sd_one_inside_zero_outside():
    images = brain_case(RAMP, 2 * RAMP + 7, RAMP**2, 100 - RAMP)
    out = normalize(images, "zscore-brain")
    assert out.shape == images.shape and out.dtype == np.float32
    for channel in out:
        assert channel[BRAIN].mean() == pytest.approx(0.0, abs=1e-6)
        assert channel[BRAIN].std() == pytest.approx(1.0, abs=1e-6)
        assert np.all(channel[~BRAIN] == 0)
    # Affine changes of a sequence's intensities do not change its z-scores.
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)


def test_zscore_brain_constant_sequence_gives_zeros_not_nan():
    images = brain_case(np.full(32, 7.0), RAMP, RAMP, RAMP)
    out = normalize(images, "zscore-brain")
    assert np.all(np.isfinite(out))
    assert np.all(out[0] == 0)


def test_empty_brain_gives_zeros():
    out = normalize(np.zeros((4, *SHAPE), dtype=np.float32), "paper-a3")
    assert np.all(out == 0)


def test_paper_a3_t1_zscore_and_t2_flair_min_max_after_clipping():
    images = brain_case(RAMP, RAMP, OUTLIER, RAMP)
    out = normalize(images, "paper-a3")
    t1, t2, flair = out[0][BRAIN], out[2][BRAIN], out[3][BRAIN]
    assert t1.mean() == pytest.approx(0.0, abs=1e-6)
    assert t1.std() == pytest.approx(1.0, abs=1e-6)
    # T2: the 92 is clipped to 83 = mean + 5 SD, then min-max over the brain: 0 -> 0, 4 -> 4/83, 92 -> 1.
    np.testing.assert_allclose(t2, np.r_[np.zeros(30), 4 / 83, 1.0], atol=1e-7)
    # FLAIR 1..32 (nothing clipped): (v - 1) / 31.
    np.testing.assert_allclose(flair, (RAMP - 1) / 31, atol=1e-7)
    assert t2.min() == 0 and t2.max() == 1
    for channel in out:
        assert np.all(channel[~BRAIN] == 0)


def test_paper_a3_t1ce_is_zscore_of_the_power_0_9():
    images = brain_case(RAMP, RAMP, RAMP, RAMP)
    t1ce = normalize(images, "paper-a3")[1][BRAIN]
    powered = RAMP**0.9
    np.testing.assert_allclose(t1ce, (powered - powered.mean()) / powered.std(), atol=1e-6)
    assert t1ce.mean() == pytest.approx(0.0, abs=1e-6)
    assert t1ce.std() == pytest.approx(1.0, abs=1e-6)
    # The power makes a visible difference against the plain z-score of the same values.
    plain = (RAMP - RAMP.mean()) / RAMP.std()
    assert np.abs(t1ce - plain).max() > 1e-2


def test_unknown_method_lists_valid_ones():
    images = brain_case(RAMP, RAMP, RAMP, RAMP)
    with pytest.raises(BrainSegError, match="'minmax'.*zscore-brain, paper-a3"):
        normalize(images, "minmax")
    assert set(NORMALIZATIONS) == {"zscore-brain", "paper-a3"}


def test_wrong_shape_is_refused():
    with pytest.raises(BrainSegError, match=r"\(4, X, Y, Z\).*\(3, 4, 4, 4\)"):
        normalize(np.zeros((3, *SHAPE), dtype=np.float32), "zscore-brain")


@pytest.mark.parametrize("multiple", [1, 8, 16])
@pytest.mark.parametrize("shape", [(4, 17, 32, 9), (4, 16, 16, 16), (5, 3, 1)])
def test_pad_unpad_round_trip(shape, multiple):
    array = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    padded, pads = pad_to_multiple(array, multiple)
    assert padded.dtype == array.dtype
    assert padded.shape[:-3] == array.shape[:-3]
    for size, padded_size, (before, after) in zip(array.shape[-3:], padded.shape[-3:], pads, strict=True):
        assert padded_size % multiple == 0 and size <= padded_size < size + multiple
        assert before + size + after == padded_size and before <= after <= before + 1
    np.testing.assert_array_equal(unpad(padded, pads), array)
    assert padded.sum() == pytest.approx(array.sum(), rel=1e-5)  # the padding is zeros


def test_pad_brats_grid_to_16():
    padded, pads = pad_to_multiple(np.zeros((4, 240, 240, 155), dtype=np.float32), 16)
    assert padded.shape == (4, 240, 240, 160)
    assert pads == ((0, 0), (0, 0), (2, 3))


def test_pad_refuses_bad_multiple():
    with pytest.raises(BrainSegError, match="multiple must be a positive integer"):
        pad_to_multiple(np.zeros((2, 2, 2)), 0)
