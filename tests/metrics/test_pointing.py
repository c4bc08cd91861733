"""Pointing game on hand-made maps; expected numbers are worked out in the comments."""

import math

import numpy as np
import pytest

from brainseg.metrics.pointing import chance_pointing, pointing_game

SHAPE = (20, 20, 25)  # 10 000 voxels: the top 1 % is 100 voxels


def region_cube():
    """A 10 x 10 x 10 cube (1000 voxels, 10 % of the volume)."""
    region = np.zeros(SHAPE, dtype=bool)
    region[:10, :10, :10] = True
    return region


def test_peak_inside_region_scores_one():
    region = region_cube()
    values = np.zeros(SHAPE, dtype=np.float32)
    values[2:7, 2:7, 2:6] = 1.0  # 100 voxels, all in the cube: exactly the top 1 %
    assert pointing_game(values, region) == 1.0


def test_peak_outside_region_scores_zero():
    region = region_cube()
    values = np.full(SHAPE, 0.1, dtype=np.float32)
    values[12:17, 12:17, 15:19] = 0.9  # 100 voxels away from the cube
    assert pointing_game(values, region) == 0.0


def test_uniform_random_map_scores_about_the_region_share():
    region = np.zeros((60, 60, 60), dtype=bool)
    region[:30, :30, :60] = True  # 25 % of 216 000 voxels; top 1 % = 2160 voxels
    values = np.random.default_rng(0).random(region.shape)
    assert chance_pointing(region) == 0.25
    # binomial-ish: SD sqrt(0.25 * 0.75 / 2160) ~ 0.009
    assert pointing_game(values, region) == pytest.approx(0.25, abs=0.04)


def test_partial_overlap_and_top_fraction():
    region = region_cube()
    values = np.zeros(SHAPE)
    values[8:12, 0:5, 0:5] = 1.0  # 100 voxels, x = 8, 9 inside the cube: 50 inside
    assert pointing_game(values, region) == 0.5
    # top 2 % = 200 voxels: the 100 peak voxels (50 inside) + 100 of the 9900 zeros, shared by expectation:
    # 950 of the 9900 zero voxels are in the cube, so (50 + 100 * 950 / 9900) / 200
    assert pointing_game(values, region, top_fraction=0.02) == pytest.approx((50 + 100 * 950 / 9900) / 200)


def test_ties_are_shared_by_expectation_and_do_not_depend_on_order():
    region = region_cube()
    values = np.zeros(SHAPE)
    values[0:10, 0:10, 10:12] = 1.0  # 200 tied top voxels, none in the cube
    values[0:10, 0:10, 9] = 1.0  # 100 more, all in the cube: 300 tied for 100 places, 1/3 inside
    assert pointing_game(values, region) == pytest.approx(1 / 3)
    flipped = pointing_game(values[::-1, ::-1, ::-1].copy(), region[::-1, ::-1, ::-1].copy())
    assert flipped == pytest.approx(1 / 3)


def test_flat_map_scores_chance():
    region = region_cube()
    assert pointing_game(np.zeros(SHAPE), region) == pytest.approx(0.1)
    assert pointing_game(np.full(SHAPE, 0.3, dtype=np.float32), region) == pytest.approx(chance_pointing(region))


def test_brain_restricts_ranking_and_counting():
    region = region_cube()
    brain = np.zeros(SHAPE, dtype=bool)
    brain[:10, :, :] = True  # 5000 voxels; the cube is 1000 of them: chance 0.2; top 1 % = 50 voxels
    values = np.zeros(SHAPE)
    values[15:20, 15:20, 0:10] = 5.0  # the map's maximum, but outside the brain: ignored
    values[0:5, 0:5, 0:2] = 1.0  # 50 voxels inside the cube: the brain's top 1 %
    assert chance_pointing(region, brain) == pytest.approx(0.2)
    assert pointing_game(values, region, brain) == 1.0
    assert pointing_game(values, region) == 0.0  # without the brain the outside peak wins


def test_at_least_one_voxel_counts():
    region = np.zeros((3, 3, 3), dtype=bool)
    region[1, 1, 1] = True
    values = np.zeros((3, 3, 3))
    values[1, 1, 1] = 1.0  # 27 voxels: 1 % is 0.27 voxel, rounded up to 1
    assert pointing_game(values, region) == 1.0


def test_quantized_and_bool_maps():
    region = region_cube()
    levels = np.zeros(SHAPE, dtype=np.uint8)
    levels[:5, :5, :4] = 255
    assert pointing_game(levels, region) == 1.0
    assert pointing_game(levels == 255, region) == 1.0


def test_empty_region_or_brain_is_nan():
    values = np.random.default_rng(1).random(SHAPE)
    assert math.isnan(pointing_game(values, np.zeros(SHAPE, dtype=bool)))
    assert math.isnan(chance_pointing(np.zeros(SHAPE, dtype=bool)))
    region = region_cube()
    outside = np.zeros(SHAPE, dtype=bool)
    outside[15:, 15:, 15:] = True  # a brain that does not contain the region
    assert math.isnan(pointing_game(values, region, outside))
    assert math.isnan(pointing_game(values, region, np.zeros(SHAPE, dtype=bool)))
    assert math.isnan(chance_pointing(region, np.zeros(SHAPE, dtype=bool)))


def test_bad_input_is_refused():
    region = region_cube()
    with pytest.raises(ValueError, match="does not match"):
        pointing_game(np.zeros((20, 20, 24)), region)
    with pytest.raises(ValueError, match="brain shape"):
        pointing_game(np.zeros(SHAPE), region, np.ones((2, 2, 2), dtype=bool))
    with pytest.raises(ValueError, match=r"\(X, Y, Z\)"):
        pointing_game(np.zeros((4, 4)), np.zeros((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="top_fraction"):
        pointing_game(np.zeros(SHAPE), region, top_fraction=0.0)
    values = np.zeros(SHAPE)
    values[3, 3, 3] = np.nan
    with pytest.raises(ValueError, match="finite"):
        pointing_game(values, region)
