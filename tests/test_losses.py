import math

import pytest
import torch

from brainseg.losses import (
    LOSSES,
    DeepSupervisionLoss,
    LossConfigError,
    create_loss,
    deep_supervision_weights,
    distillation_loss,
    feature_distillation,
    resize_target,
)

# One channel, four voxels: truth [1, 1, 1, 0], prediction p = 0.5 everywhere (logit 0).
TARGET = torch.tensor([1.0, 1.0, 1.0, 0.0]).view(1, 1, 2, 2)
HALF = torch.zeros(1, 1, 2, 2)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # Dice: 1 - 2 * 1.5 / (2 + 3) = 0.4
        ("dice", 0.4),
        # Jaccard: 1 - 1.5 / (2 + 3 - 1.5) = 1 - 3/7
        ("jaccard", 1 - 3 / 7),
        # Tversky: TP 1.5, FP 0.5, FN 1.5 -> 1 - 1.5 / (1.5 + 0.7 * 0.5 + 0.3 * 1.5)
        ("tversky", 1 - 1.5 / 2.3),
        # Dice + BCE: 0.4 + ln 2
        ("dice-bce", 0.4 + math.log(2)),
    ],
)
def test_hand_computed_values(name, expected):
    assert float(create_loss(name)(HALF, TARGET)) == pytest.approx(expected, abs=1e-4)


def test_focal_dice_is_half_focal_plus_dice():
    logits = torch.tensor([2.0, -1.0, 0.5, 1.0]).view(1, 1, 2, 2)
    focal = torch.nn.functional.binary_cross_entropy_with_logits(logits, TARGET, reduction="none")
    p_t = torch.exp(-focal)
    expected_focal = ((1 - p_t) ** 2 * focal).mean()
    dice = float(create_loss("dice")(logits, TARGET))
    assert float(create_loss("focal-dice")(logits, TARGET)) == pytest.approx(dice + 0.5 * float(expected_focal), 1e-4)


def test_every_loss_is_small_for_a_perfect_prediction_and_large_for_the_inverse():
    target = torch.zeros(2, 3, 8, 8, 8)
    target[:, :, 2:6, 2:6, 2:6] = 1
    perfect = (target * 2 - 1) * 20
    for name in LOSSES:
        loss = create_loss(name)
        good, bad = float(loss(perfect, target)), float(loss(-perfect, target))
        assert good < 0.02 and bad > good + 0.5, (name, good, bad)


def test_boundary_loss_grows_with_distance():
    loss = create_loss("boundary")
    target = torch.zeros(1, 1, 16, 16, 16)
    target[..., 4:10, 4:10, 4:10] = 1
    values = [float(loss(torch.roll(target, shift, dims=2) * 40 - 20, target)) for shift in (0, 1, 3)]
    assert values[0] < values[1] < values[2]


def test_unknown_loss_lists_valid_names():
    with pytest.raises(LossConfigError, match="unknown loss 'l2'; valid losses: dice, jaccard"):
        create_loss("l2")


def test_deep_supervision_weights_and_targets():
    assert deep_supervision_weights(3) == pytest.approx([4 / 7, 2 / 7, 1 / 7])
    target = torch.zeros(1, 1, 8, 8, 8)
    target[0, 0, 5, 5, 5] = 1  # a single voxel must survive downsampling
    small = resize_target(target, (2, 2, 2))
    assert small.shape == (1, 1, 2, 2, 2) and float(small.sum()) == 1 and small[0, 0, 1, 1, 1] == 1


def test_deep_supervision_loss_weights_each_head():
    target = torch.zeros(1, 1, 8, 8, 8)
    target[..., :4, :, :] = 1
    main, coarse = torch.zeros(1, 1, 8, 8, 8), torch.zeros(1, 1, 4, 4, 4)
    dice = create_loss("dice")
    expected = 2 / 3 * float(dice(main, target)) + 1 / 3 * float(dice(coarse, resize_target(target, (4, 4, 4))))
    assert float(DeepSupervisionLoss(dice)(main, [coarse], target)) == pytest.approx(expected, 1e-5)


def test_distillation_terms():
    features = torch.randn(2, 8, 4, 4, 4)
    assert float(feature_distillation(features, features)) == pytest.approx(0, abs=1e-6)
    assert float(feature_distillation(features, -features)) == pytest.approx(2, abs=1e-5)
    student = torch.zeros(1, 3, 4, 4, 4, requires_grad=True)
    teacher = torch.full((1, 3, 4, 4, 4), 3.0, requires_grad=True)
    loss = distillation_loss(student, [teacher], [features], [features])
    loss.backward()
    assert student.grad is not None and float(student.grad.sum()) < 0  # pulled towards the confident teacher
    assert teacher.grad is None
    with pytest.raises(LossConfigError, match="equal shapes"):
        feature_distillation(features, features[:, :4])


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky"])
def test_batch_overlap_punishes_false_positives_on_a_slice_without_tumor(name):
    # Slice 0 has tumor, predicted right; slice 1 has none, yet 16 voxels are predicted.
    target = torch.zeros(2, 1, 8, 8)
    target[0, 0, 2:5, 2:5] = 1
    logits = torch.full((2, 1, 8, 8), -3.0)
    logits[0, 0, 2:5, 2:5] = 3
    logits[1, 0, :4, :4] = 3
    gradients = {}
    for batch in (False, True):
        leaf = logits.clone().requires_grad_()
        create_loss(name, batch=batch)(leaf, target).backward()
        gradients[batch] = float(leaf.grad[1].abs().sum())
    # Per slice, the empty slice's overlap term is ~1 whatever is predicted: almost no push back.
    assert gradients[True] > 1000 * gradients[False]
