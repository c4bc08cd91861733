"""The weight moving average: its arithmetic, batch-norm statistics, and constant buffers left alone."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from brainseg.models import create
from brainseg.training.averaging import WeightAverage


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.norm = nn.BatchNorm1d(2)
        # A constant like a causal attention mask: -inf where attention is forbidden, not saved.
        self.register_buffer("mask", torch.tensor([0.0, float("-inf")]), persistent=False)


def set_weights(model: Tiny, value: float) -> None:
    with torch.no_grad():
        model.linear.weight.fill_(value)
        model.norm.running_mean.fill_(value)
        model.norm.num_batches_tracked.fill_(int(value))


def test_average_follows_the_formula_and_keeps_constants():
    model = Tiny()
    average = WeightAverage(model, decay=0.75)
    for value in (4.0, 8.0, 12.0):
        set_weights(model, value)
        average.update(model)
    expected = (4.0 * 0.75 + 8.0 * 0.25) * 0.75 + 12.0 * 0.25  # the first update copies
    assert torch.allclose(average.module.linear.weight, torch.full((2, 3), expected))
    assert torch.allclose(average.module.norm.running_mean, torch.full((2,), expected)), "BN statistics averaged"
    assert int(average.module.norm.num_batches_tracked) == 12, "integer counters copied"
    assert torch.equal(average.module.mask, model.mask), "the -inf constant stays as it is, no NaN"
    assert torch.equal(model.linear.weight, torch.full((2, 3), 12.0)), "the trained model is not touched"


def test_state_round_trips_and_bad_decay_is_refused():
    model = Tiny()
    average = WeightAverage(model, decay=0.5)
    set_weights(model, 2.0)
    average.update(model)
    other = WeightAverage(Tiny(), decay=0.5)
    other.load_state_dict(average.state_dict())
    assert other.updates == 1 and torch.equal(other.module.linear.weight, average.module.linear.weight)
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(model, decay=1.0)


def test_averaged_clip_unet3d_gives_finite_outputs():
    # The text tower's causal mask is such a constant: averaging it made every output NaN.
    torch.manual_seed(0)
    model = create("clip-unet3d", "demo")
    average = WeightAverage(model, decay=0.9)
    average.update(model)
    average.update(model)
    average.module.eval()
    with torch.no_grad():
        logits = average.module(torch.randn(1, 4, 32, 32, 32)).logits
    assert torch.isfinite(logits).all()
