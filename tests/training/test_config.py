"""``TrainConfig.validate``: each bad option is refused before any work, naming the field (the CLI, its flag)."""

import pytest

from brainseg.errors import BrainSegError
from brainseg.training.config import ConfigError, TrainConfig


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 0}, "steps must be at least 1, got 0"),
        ({"pretrain_text": -1}, "pretrain_text must be at least 0, got -1"),
        ({"model": "nope"}, "no training recipe for model 'nope'; recipes: "),
        ({"patch_size": 40}, "patch_size must be divisible by 16, got 40"),
        ({"realistic_share": 1.5}, "realistic_share must be in [0, 1], got 1.5"),
        ({"metastasis_share": 0.5, "low_grade_share": 0.75}, "metastasis_share 0.5 and low_grade_share 0.75 add up"),
        ({"hard_negative_share": 0.4}, "tumor_probability 0.7 and hard_negative_share 0.4 add up to more than 1"),
        ({"hard_negative_kinds": ("cerebellum",)}, "hard_negative_kinds: hard-negative kinds must be some of"),
        ({"ema": 1.0}, "ema must be between 0 and 1 (e.g. 0.999), got 1"),
        ({"loss": "no-such-loss"}, "loss no-such-loss: unknown loss 'no-such-loss'"),
        ({"model_overrides": {"no_such_field": 1}}, "model_overrides no_such_field: unet3d has no config field"),
    ],
)
def test_validate_names_the_field(options, message):
    with pytest.raises(ConfigError) as caught:
        TrainConfig(**{"model": "unet3d", **options}).validate()
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, BrainSegError)


def test_a_front_end_renders_the_fields_with_its_own_names():
    error = ConfigError("{tumor_probability} {a:g} and {hard_negative_share} {b:g} add up to more than 1", a=0.7, b=0.4)
    flags = error.render(lambda field: "--" + field.replace("_", "-"))
    assert flags == "--tumor-probability 0.7 and --hard-negative-share 0.4 add up to more than 1"


def test_a_nested_override_must_set_a_leaf_of_the_right_type():
    with pytest.raises(ConfigError, match="model_overrides text: a nested config; set one of its fields: text.kind"):
        TrainConfig("clip-unet3d", model_overrides={"text": 1}).validate()
    with pytest.raises(ConfigError, match="model_overrides text.frozen=1: expected a value of type bool, like false"):
        TrainConfig("clip-unet3d", model_overrides={"text.frozen": 1}).validate()
    TrainConfig("clip-unet3d", model_overrides={"text.frozen": False, "dropout": 0}).validate()  # int for a float


def test_the_defaults_are_valid():
    TrainConfig("unet3d").validate()
