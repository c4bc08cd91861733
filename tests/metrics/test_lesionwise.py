"""Lesion-wise rules on hand-built cases; every expected number is worked out in the comments."""

import numpy as np
import pytest
from scipy import ndimage

from brainseg.errors import BrainSegError
from brainseg.metrics.distance import hausdorff_distance
from brainseg.metrics.lesionwise import (
    LESIONWISE_RULES,
    LesionWiseRules,
    get_lesionwise_rules,
    label_truth_lesions,
    lesionwise_scores,
)

SHAPE = (64, 64, 64)


def cube(mask, x, y, z, size=4, depth=None):
    mask[x : x + size, y : y + size, z : z + (depth or size)] = True


def multi_lesion_case():
    """(pred, truth) masks of five truth blobs and four predicted lesions, spacing 1 mm.

    T1     4x4x4 cube (64 vox); predicted by its lower 4x4x2 half: Dice 2*32/96 = 2/3, HD95 2 mm.
    T2+T3  two 4x4x4 cubes 4 voxels apart along X: merged by the 3-fold dilation into one 128-voxel
           lesion; predicted by the first cube only: Dice 2*64/192 = 2/3; the second cube's surface lies
           5, 6, 7, 8 mm from the prediction (16, 12, 12, 16 voxels), 56 more at 0: HD95 8 mm.
    T4     4x4x4 cube, not predicted: false negative, Dice 0, HD95 374.
    T5     3x3x3 cube (27 vox <= 50 mm^3), predicted exactly: ignored, and its hit is no false positive.
    FP     3x3x3 predicted cube far from any truth.
    """
    pred, truth = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    cube(truth, 10, 10, 10)
    cube(pred, 10, 10, 10, depth=2)
    cube(truth, 30, 10, 10)
    cube(truth, 38, 10, 10)
    cube(pred, 30, 10, 10)
    cube(truth, 10, 30, 10)
    cube(truth, 10, 50, 10, size=3)
    cube(pred, 10, 50, 10, size=3)
    cube(pred, 50, 50, 50, size=3)
    return pred, truth


def test_multi_lesion_case_matches_hand_computation():
    pred, truth = multi_lesion_case()
    result = lesionwise_scores(pred, truth, (1.0, 1.0, 1.0), "BraTS-GLI")
    assert result.as_dict() == {
        "dice": pytest.approx((2 / 3 + 2 / 3 + 0) / (3 + 1)),
        "hd95_mm": pytest.approx((2 + 8 + 374 + 374) / (3 + 1)),  # 189.5
        "num_truth_lesions": 3,
        "num_pred_lesions": 4,
        "tp": 2,
        "fp": 1,
        "fn": 1,
        "num_ignored_truth_lesions": 1,
    }
    per_lesion = sorted((lesion.voxels, lesion.counted, lesion.dice, lesion.hd95_mm) for lesion in result.lesions)
    assert per_lesion == [
        (27, False, 1.0, 0.0),
        (64, True, 0.0, 374.0),
        (64, True, pytest.approx(2 / 3), pytest.approx(2.0)),
        (128, True, pytest.approx(2 / 3), pytest.approx(8.0)),
    ]


def test_truth_blobs_merge_when_at_most_twice_the_dilation_apart():
    for gap, iterations, expected in ((6, 3, 1), (7, 3, 2), (2, 1, 1), (3, 1, 2)):
        truth = np.zeros((40, 8, 8), bool)
        cube(truth, 2, 2, 2)
        cube(truth, 6 + gap, 2, 2)
        labels, count = label_truth_lesions(truth, iterations)
        assert count == expected, (gap, iterations)
        assert labels.dtype == np.int32 and set(np.unique(labels[truth])) == set(range(1, expected + 1))
        assert not labels[~truth].any()


def test_no_dilation_still_joins_26_connected_voxels():
    truth = np.zeros((4, 4, 4), bool)
    truth[0, 0, 0] = truth[1, 1, 1] = True
    assert label_truth_lesions(truth, 0)[1] == 1


def test_prediction_within_dilation_reach_is_a_hit_one_voxel_further_is_false_positive():
    pred, truth = np.zeros((30, 16, 16), bool), np.zeros((30, 16, 16), bool)
    cube(truth, 10, 6, 6)  # x = 10..13
    cube(pred, 10, 6, 6)
    pred[16, 7, 7] = True  # 3 voxels past the x = 13 face: reached by 3 dilations
    pred[6, 7, 7] = True  # 4 voxels before the x = 10 face: not reached
    result = lesionwise_scores(pred, truth)
    assert (result.tp, result.fp, result.fn, result.num_pred_lesions) == (1, 1, 0, 3)
    # The lesion's Dice counts its hit voxel: 2*64/(64+65); HD95 0 (56 of 57 distances are 0).
    assert result.dice == pytest.approx((128 / 129) / 2)
    assert result.hd95_mm == pytest.approx((0 + 374) / 2)


@pytest.mark.parametrize(
    ("extra_voxel", "spacing", "counted"),
    [
        (False, (1.0, 1.0, 1.0), False),  # 50 voxels = 50 mm^3: at the threshold, ignored
        (True, (1.0, 1.0, 1.0), True),  # 51 mm^3
        (False, (1.0, 1.0, 1.1), True),  # 50 voxels but 55 mm^3: the threshold is a volume
    ],
)
def test_volume_threshold_is_in_mm3_and_inclusive(extra_voxel, spacing, counted):
    truth = np.zeros((12, 12, 12), bool)
    truth[2:7, 2:7, 2:4] = True
    if extra_voxel:
        truth[2, 2, 4] = True
    result = lesionwise_scores(np.zeros_like(truth), truth, spacing)
    if counted:  # a missed counted lesion
        assert (result.dice, result.hd95_mm, result.fn, result.num_ignored_truth_lesions) == (0.0, 374.0, 1, 0)
    else:  # nothing left to score: 0 / 0, reported as Dice 1, HD95 0
        assert (result.dice, result.hd95_mm, result.fn, result.num_ignored_truth_lesions) == (1.0, 0.0, 0, 1)


def test_empty_cases():
    empty = np.zeros((10, 10, 10), bool)
    both = lesionwise_scores(empty, empty)
    assert (both.dice, both.hd95_mm, both.tp, both.fp, both.fn, both.num_pred_lesions) == (1.0, 0.0, 0, 0, 0, 0)
    pred = empty.copy()
    pred[2:4, 2:4, 2:4] = True
    pred[7, 7, 7] = True
    only_pred = lesionwise_scores(pred, empty)
    assert (only_pred.dice, only_pred.hd95_mm, only_pred.fp, only_pred.num_pred_lesions) == (0.0, 374.0, 2, 2)


def test_other_challenges_change_the_rules():
    pred, truth = multi_lesion_case()
    # BraTS-MET: dilation 1 keeps T2 and T3 apart (4 voxels > 2), threshold 2 mm^3 counts T5.
    met = lesionwise_scores(pred, truth, (1.0, 1.0, 1.0), "BraTS-MET")
    assert (met.num_truth_lesions, met.num_ignored_truth_lesions, met.tp, met.fn, met.fp) == (5, 0, 3, 2, 1)
    # T1 2/3, T2 1 (exact), T3 0, T4 0, T5 1 (exact); over 5 lesions + 1 FP.
    assert met.dice == pytest.approx((2 / 3 + 1 + 0 + 0 + 1) / 6)
    assert met.hd95_mm == pytest.approx((2 + 0 + 374 + 374 + 0 + 374) / 6)
    assert LESIONWISE_RULES["BraTS-MEN"] == LesionWiseRules("BraTS-MEN", 1, 50.0)


def test_unknown_challenge_lists_the_valid_ones():
    with pytest.raises(BrainSegError, match="unknown lesion-wise challenge 'GLI'; expected one of: BraTS-GLI, "):
        get_lesionwise_rules("GLI")
    with pytest.raises(ValueError, match="dilation_iterations must be >= 0"):
        LesionWiseRules("x", -1, 50.0)


def official_transcription(pred, truth, spacing, dilation, threshold):
    """The official get_LesionWiseScores + get_LesionWiseResults steps, line by line, on full arrays.

    Only two substitutions: scipy 26-connected labelling for cc3d, and this package's HD95 for DeepMind's.
    """
    struct = ndimage.generate_binary_structure(3, 2)
    cc26 = np.ones((3, 3, 3))
    gt_cc, _ = ndimage.label(truth, cc26)
    pred_cc, _ = ndimage.label(pred, cc26)
    gt_dilated_cc, n = ndimage.label(ndimage.binary_dilation(truth, struct, iterations=dilation), cc26)
    combined = np.zeros_like(gt_dilated_cc)
    for comp in range(1, n + 1):
        tmp = (gt_dilated_cc == comp) * gt_cc
        combined[tmp > 0] = comp
    tp, gt_tp, fn, pairs = [], [], [], []
    for comp in range(1, int(combined.max()) + 1):
        gt_tmp = combined == comp
        gt_tmp_dilation = ndimage.binary_dilation(gt_tmp, struct, iterations=dilation)
        gt_vol = gt_tmp.sum() * np.prod(spacing)
        intersecting = np.unique(pred_cc * gt_tmp_dilation)
        intersecting = intersecting[intersecting != 0]
        tp.extend(intersecting.tolist())
        pred_tmp = np.isin(pred_cc, intersecting)
        dice = 2.0 * (pred_tmp & gt_tmp).sum() / (pred_tmp.sum() + gt_tmp.sum())
        hd = hausdorff_distance(pred_tmp, gt_tmp, spacing, method="edt")
        pairs.append((len(intersecting), gt_vol, dice, 374.0 if np.isinf(hd) else hd))
        (gt_tp if len(intersecting) else fn).append(comp)
    fp = np.unique(pred_cc[np.isin(pred_cc, [*tp, 0], invert=True)])
    kept = [p for p in pairs if p[1] > threshold]
    denominator = len(kept) + len(fp)
    small = [p for p in pairs if p[1] <= threshold]
    return {
        "dice": sum(p[2] for p in kept) / denominator if denominator else 1.0,
        "hd95_mm": (sum(p[3] for p in kept) + 374 * len(fp)) / denominator if denominator else 0.0,
        "tp": len(gt_tp) - sum(1 for p in small if p[0]),
        "fp": len(fp),
        "fn": len(fn) - sum(1 for p in small if not p[0]),
    }


def random_blobs(rng, shape, count):
    grid = np.ogrid[tuple(slice(0, n) for n in shape)]
    mask = np.zeros(shape, bool)
    for _ in range(count):
        center = [rng.integers(0, n) for n in shape]  # anywhere, the border included
        radius = rng.uniform(1.0, 4.5)
        mask |= sum((g - c) ** 2 for g, c in zip(grid, center, strict=True)) <= radius**2
    return mask


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_a_transcription_of_the_official_code(seed):
    rng = np.random.default_rng(seed)
    shape = (40, 36, 30)
    truth = random_blobs(rng, shape, 8)
    pred = np.roll(truth, rng.integers(-2, 3, 3), axis=(0, 1, 2)) & ~random_blobs(rng, shape, 3)
    pred |= random_blobs(rng, shape, 3)
    spacing = (1.0, 1.0, 1.0) if seed % 2 else (0.9, 1.1, 1.6)
    for challenge in ("BraTS-GLI", "BraTS-MET"):
        rules = LESIONWISE_RULES[challenge]
        ours = lesionwise_scores(pred, truth, spacing, rules)
        expected = official_transcription(pred, truth, spacing, rules.dilation_iterations, rules.min_lesion_volume_mm3)
        got = ours.as_dict()
        assert {key: got[key] for key in expected} == pytest.approx(expected), challenge
