"""The shared schedule (paper 000, appendix A.1) and each variant's recipe, declared by the variant."""

import pytest
import torch

from brainseg.models import create, get_variant, list_models
from brainseg.training.recipe import DIV_FACTOR, INITIAL_LR, RECIPES, build_optimizer, parameter_groups


def test_every_variant_declares_its_recipe():
    assert set(RECIPES) == set(list_models())
    assert RECIPES["film-unet2d"].loss == "dice" and RECIPES["film-unet2d"].prompted  # paper 002, Table 3
    assert RECIPES["msfen"].loss == "ce-dice"
    assert RECIPES["clip-unet3d"] is get_variant("clip-unet3d").recipe


def test_clip_unet3d_groups_get_the_paper_multipliers():
    model = create("clip-unet3d", "demo")
    groups = {g["name"]: g for g in parameter_groups(model, 1e-3)}
    assert {name: g["lr"] for name, g in groups.items()} == pytest.approx(
        {"backbone": 2e-3, "clip_adapter": 1e-4, "attention": 3e-3}
    )
    grouped = sum(p.numel() for g in groups.values() for p in g["params"])
    assert grouped == sum(p.numel() for p in model.parameters() if p.requires_grad)  # nothing left out


def test_one_group_without_multipliers_and_the_one_cycle_schedule():
    model = create("unet3d", "demo")
    assert [g["name"] for g in parameter_groups(model, 1e-3)] == ["all"]
    optimizer, scheduler = build_optimizer(model, total_steps=100)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(INITIAL_LR)  # peak / div_factor at the start
    for _ in range(20):  # pct_start 0.2: the peak after 20 % of the steps
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(INITIAL_LR * DIV_FACTOR, rel=1e-3)
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["weight_decay"] == 1e-4
