"""Nesting, labels, entropy and the Segmentation helpers on hand-made arrays."""

import numpy as np
import pytest

from brainseg.inference.postprocess import (
    MIN_COMPONENT_FRACTION,
    MIN_ENHANCING_ML,
    binary_entropy_bits,
    clean_tumor,
    drop_small_components,
    labels_from_probabilities,
    nest_probabilities,
    predictive_entropy,
    relabel_small_enhancing,
)
from brainseg.inference.segmenter import Segmentation, no_prompt_interpretation
from brainseg.text.prompts import interpret_prompt


def column(*values):
    """(3, 1, 1, N) WT, TC, ET probabilities from N (wt, tc, et) triples."""
    return np.array(values, dtype=np.float32).T.reshape(3, 1, 1, -1)


def test_nesting_caps_tc_by_wt_and_et_by_the_capped_tc():
    nested = nest_probabilities(column((0.9, 0.7, 0.8), (0.2, 0.6, 0.9), (0.6, 0.4, 0.3)))
    np.testing.assert_allclose(nested.reshape(3, -1).T, [(0.9, 0.7, 0.7), (0.2, 0.2, 0.2), (0.6, 0.4, 0.3)])


def test_labels_from_probabilities():
    probabilities = nest_probabilities(column((0.9, 0.8, 0.7), (0.9, 0.8, 0.1), (0.9, 0.1, 0.9), (0.1, 0.9, 0.9)))
    # ET inside TC inside WT; NCR = TC not ET; ED = WT not TC; an ET vote outside TC is edema; outside WT nothing.
    assert labels_from_probabilities(probabilities).ravel().tolist() == [3, 1, 2, 0]


def test_binary_entropy_values():
    np.testing.assert_allclose(binary_entropy_bits(np.array([0.5, 0.0, 1.0, 0.11])), [1.0, 0.0, 0.0, 0.4999], atol=1e-3)


def test_predictive_entropy_of_disagreeing_confident_passes_is_maximal():
    a = column((0.99, 0.99, 0.01))
    b = column((0.01, 0.99, 0.01))
    u = predictive_entropy([a, b])  # WT passes disagree (mean 0.5: 1 bit), TC and ET agree (0.081 bits each)
    assert u.shape == (1, 1, 1)
    assert u.item() == pytest.approx((1.0 + 2 * 0.0808) / 3, abs=1e-3)


def make_segmentation(labels, prompt=None):
    reading = interpret_prompt(prompt).require() if prompt else no_prompt_interpretation()
    return Segmentation(
        labels=labels,
        probabilities=np.zeros((3, *labels.shape), np.float32),
        attention={"semantic": np.full(labels.shape, 0.25, np.float32), "ET": np.full(labels.shape, 0.75, np.float32)},
        uncertainty=None,
        interpretation=reading,
        target_regions=reading.regions,
        timings={},
    )


LABELS = np.array([0, 1, 1, 2, 2, 2, 3], dtype=np.uint8).reshape(1, 1, 7)


def test_volumes_ml_with_anisotropic_voxels():
    volumes = make_segmentation(LABELS).volumes_ml((2.0, 1.0, 1.5))  # 3 uL per voxel
    assert volumes == pytest.approx({"WT": 0.018, "TC": 0.009, "ET": 0.003, "NCR": 0.006, "ED": 0.009})


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        (None, [0, 1, 1, 2, 2, 2, 3]),
        ("tumor core", [0, 1, 1, 0, 0, 0, 3]),
        ("edema", [0, 0, 0, 2, 2, 2, 0]),
        ("enhancing tumor and necrotic core", [0, 1, 1, 0, 0, 0, 3]),
    ],
)
def test_target_labels_keep_subregion_values(prompt, expected):
    assert make_segmentation(LABELS, prompt).target_labels().ravel().tolist() == expected


def test_prompt_attention_prefers_region_maps():
    assert make_segmentation(LABELS, "enhancing tumor").prompt_attention().max() == 0.75
    assert make_segmentation(LABELS, "edema").prompt_attention().max() == 0.25


def test_small_tumor_components_are_dropped_relative_to_the_largest():
    probabilities = np.zeros((3, 40, 40, 40), dtype=np.float32)
    probabilities[:, 5:15, 5:15, 5:15] = 0.9  # 1000 voxels, tumor with a core
    probabilities[0, 30:33, 30:33, 30:33] = 0.8  # 27 voxels (2.7 %): a speck
    probabilities[0, 25:30, 5:15, 5:15] = 0.7  # 500 voxels (50 %): a satellite, kept
    probabilities[0, 16, 16, 16] = 0.3  # below threshold: not a component, untouched
    nested = nest_probabilities(probabilities)
    assert drop_small_components(nested.copy(), 0.0) == (0, 0)
    cleaned = nested.copy()
    assert drop_small_components(cleaned, MIN_COMPONENT_FRACTION) == (1, 27)
    assert not cleaned[:, 30:33, 30:33, 30:33].any()
    assert np.array_equal(cleaned[:, :29], nested[:, :29]) and cleaned[0, 16, 16, 16] == pytest.approx(0.3)
    labels = labels_from_probabilities(cleaned)
    assert np.count_nonzero(labels) == 1500 and labels[31, 31, 31] == 0
    # A diagonal neighbour is the same component (26-connectivity): nothing dropped.
    touching = nest_probabilities(probabilities)
    touching[0, 15, 15, 15] = 0.9
    touching[0, 16:19, 16:19, 16:19] = 0.9
    assert drop_small_components(touching)[0] == 1  # only the far speck


def test_a_small_enhancing_tumor_is_relabelled_core_and_a_large_one_kept():
    probabilities = np.zeros((3, 30, 30, 30), dtype=np.float32)
    probabilities[:2, 5:25, 5:25, 5:25] = 0.9  # 8000 voxels of tumor core
    probabilities[2, 10:17, 10:17, 10:17] = 0.8  # 343 voxels of ET: 0.343 mL at 1 mm
    probabilities[2, 20, 20, 20] = 0.4  # under the threshold: not ET, not counted
    assert MIN_ENHANCING_ML == 0.5
    kept = probabilities.copy()
    assert relabel_small_enhancing(kept, 0.0, 0.001) == 0 and np.array_equal(kept, probabilities)
    assert relabel_small_enhancing(kept, 0.3, 0.001) == 0 and np.array_equal(kept, probabilities)  # 0.343 >= 0.3
    relabelled = probabilities.copy()
    assert relabel_small_enhancing(relabelled, MIN_ENHANCING_ML, 0.001) == 343
    assert not relabelled[2].any() and np.array_equal(relabelled[:2], probabilities[:2])
    before, after = labels_from_probabilities(probabilities), labels_from_probabilities(relabelled)
    assert np.count_nonzero(before == 3) == 343 and np.count_nonzero(after == 3) == 0
    assert np.array_equal(after == 1, (before == 1) | (before == 3))  # ET became NCR; the core is unchanged
    # The same voxels at 1.5 mm spacing are 1.16 mL: kept.
    coarse = probabilities.copy()
    assert relabel_small_enhancing(coarse, MIN_ENHANCING_ML, 1.5**3 / 1000) == 0
    empty = np.zeros((3, 4, 4, 4), dtype=np.float32)
    assert relabel_small_enhancing(empty, MIN_ENHANCING_ML, 0.001) == 0


def test_clean_tumor_drops_specks_before_it_weighs_the_enhancing_tumor():
    probabilities = np.zeros((3, 40, 40, 40), dtype=np.float32)
    probabilities[:2, 5:25, 5:25, 5:25] = 0.9  # the tumor: 8000 voxels of core
    probabilities[2, 10:16, 10:16, 10:16] = 0.8  # 216 voxels of ET inside it
    probabilities[:, 33:36, 33:36, 33:36] = 0.9  # a far 27-voxel enhancing speck
    cleaned = probabilities.copy()
    # With the speck the ET would be 243 voxels; 0.24 mL is the threshold between 216 and 243 voxels at 1 mm.
    assert clean_tumor(cleaned, MIN_COMPONENT_FRACTION, 0.24, 0.001) == ((1, 27), 216)
    assert not cleaned[:, 33:36, 33:36, 33:36].any() and not cleaned[2].any()
    assert np.array_equal(cleaned[:2, 5:25, 5:25, 5:25], probabilities[:2, 5:25, 5:25, 5:25])
    untouched = probabilities.copy()
    assert clean_tumor(untouched, 0.0, 0.0, 0.001) == ((0, 0), 0) and np.array_equal(untouched, probabilities)
