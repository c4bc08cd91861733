"""The model card written beside a checkpoint: what it was given, and what was not recorded."""

from brainseg.hub.card import model_card


def test_card_renders_the_config_and_says_what_is_missing():
    config = {
        "variant": "unet3d",
        "size": "demo",
        "data": {"sequences": ["T1", "T1ce", "T2", "FLAIR"], "outputs": ["WT", "TC", "ET"], "spacing_mm": [1, 1, 1]},
        "brainseg": {"metrics": {"val_dice_WT": 0.91}, "notes": ["trained on synthetic cases only"]},
    }
    card = model_card(config)
    assert card.startswith("---\nlicense: apache-2.0\n")
    assert "# BrainSeg `unet3d` (demo size)" in card
    assert "Sequences, in channel order: T1, T1ce, T2, FLAIR" in card
    assert '"val_dice_WT": 0.91' in card
    assert "- trained on synthetic cases only" in card
    assert "Not recorded (untrained weights)." in card  # no training block
    bare = model_card({"variant": "msfen", "size": "paper"})
    assert bare.count("Not recorded") == 3  # training, metrics, limitations
