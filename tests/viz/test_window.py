"""Intensity windows from brain-voxel percentiles, computed once per case."""

import numpy as np
import pytest

from brainseg.viz import CaseRenderer, Window, brain_window


def test_window_uses_percentiles_of_nonzero_voxels_only():
    volume = np.zeros((20, 20, 20), np.float32)  # 8000 voxels, 1000 of them brain
    volume.flat[:1000] = np.arange(1, 1001)
    window = brain_window(volume)
    # 0.5th and 99.5th percentiles of 1..1000 with linear interpolation: 1 + 0.005 * 999, 1 + 0.995 * 999.
    assert window.low == pytest.approx(5.995)
    assert window.high == pytest.approx(995.005)


def test_custom_percentiles_and_bad_ones():
    volume = np.arange(0, 101, dtype=np.float32)  # 0 is background; brain is 1..100
    assert brain_window(volume, (0, 100)) == Window(1.0, 100.0)
    with pytest.raises(ValueError, match="0 <= low < high <= 100"):
        brain_window(volume, (99, 1))


def test_degenerate_volumes_still_get_a_window():
    assert brain_window(np.zeros((4, 4, 4))) == Window(0.0, 1.0)
    constant = np.zeros((4, 4, 4))
    constant[1:3, 1:3, 1:3] = 7.0
    assert brain_window(constant) == Window(6.5, 7.5)
    with_nan = np.array([np.nan, 0.0, 2.0, 4.0])
    assert brain_window(with_nan, (0, 100)) == Window(2.0, 4.0)


def test_apply_maps_low_to_black_high_to_white_and_clips():
    window = Window(100.0, 200.0)
    grey = window.apply(np.array([0.0, 100.0, 150.0, 200.0, 1e6, -5.0]))
    assert grey.dtype == np.uint8
    assert grey.tolist() == [0, 0, 128, 255, 255, 0]


def test_empty_window_is_refused():
    with pytest.raises(ValueError, match="finite low < high"):
        Window(5.0, 5.0)


def test_renderer_windows_each_sequence_once_from_its_own_brain():
    rng = np.random.default_rng(0)
    images = np.zeros((4, 10, 10, 10), np.float32)
    for channel in range(4):
        images[channel, 2:8, 2:8, 2:8] = rng.uniform(100 * (channel + 1), 100 * (channel + 2), (6, 6, 6))
    renderer = CaseRenderer(images, (1.0, 1.0, 1.0))
    for channel, name in enumerate(("T1", "T1ce", "T2", "FLAIR")):
        expected = brain_window(images[channel])
        assert renderer.windows[name] == expected
        np.testing.assert_array_equal(renderer.grey[name], expected.apply(images[channel]))
        assert renderer.grey[name].dtype == np.uint8
