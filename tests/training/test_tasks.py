"""One training step's pieces: sampled prompts, slices through the tumor, region targets, the recipe's loss."""

import numpy as np
import pytest
import torch

from brainseg.losses import create_loss
from brainseg.models import create
from brainseg.models.registry import VariantRecipe
from brainseg.text import interpret_prompt
from brainseg.training.tasks import region_target, sample_prompt, take_slices, training_loss


def test_sampled_prompts_read_back_as_their_region():
    rng = np.random.default_rng(0)
    for region in ("WT", "TC", "ET", "NCR", "ED"):
        for _ in range(5):
            assert interpret_prompt(sample_prompt(region, rng)).regions == (region,)


def test_slices_are_taken_mostly_through_the_tumor():
    labels = torch.zeros(1, 6, 6, 20, dtype=torch.uint8)  # (B, X, Y, Z), as the training data gives them
    labels[..., 7] = 3  # tumor on one slice only
    batch = {"images": torch.randn(1, 4, 6, 6, 20), "target": torch.zeros(1, 3, 6, 6, 20), "labels": labels}
    images, target, sliced = take_slices(batch, 40, np.random.default_rng(0))
    assert images.shape == (40, 4, 6, 6) and target.shape == (40, 3, 6, 6) and sliced.shape == (40, 6, 6)
    through_tumor = int((sliced.flatten(1).amax(1) > 0).sum())
    assert through_tumor > 20  # one slice in 20 by chance; most by design


def test_region_target_is_the_nested_region():
    labels = torch.tensor([[0, 1, 2, 3]])
    assert region_target(labels, "TC").tolist() == [[[0.0, 1.0, 0.0, 1.0]]]
    assert region_target(labels, "WT").tolist() == [[[0.0, 1.0, 1.0, 1.0]]]


@pytest.mark.parametrize("deep_supervision", [False, True])
def test_the_loss_of_a_3d_variant_is_finite_and_named(deep_supervision):
    torch.manual_seed(0)
    model = create("unet3d", "demo")
    labels = torch.zeros(1, 32, 32, 32, dtype=torch.uint8)
    labels[..., 10:20, 10:20, 10:20] = 3
    target = torch.cat([region_target(labels, r) for r in ("WT", "TC", "ET")], dim=1)
    batch = {"images": torch.randn(1, 4, 32, 32, 32), "target": target, "labels": labels}
    recipe = VariantRecipe("dice-bce", deep_supervision=deep_supervision)
    loss, terms = training_loss(model, batch, recipe, create_loss("dice-bce"), np.random.default_rng(0))
    assert torch.isfinite(loss) and loss.requires_grad
    assert set(terms) == {"segmentation"} and terms["segmentation"] == pytest.approx(float(loss))
