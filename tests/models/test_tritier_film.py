"""tritier-film: pixel tier physics, case descriptions, student forward, distillation targets, sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from brainseg.labels import ED, ET, NCR
from brainseg.models import create, load_config
from brainseg.models.registry import CONFIG_DIR
from brainseg.models.text_encoders import TextEncoderConfig
from brainseg.models.tritier_film import TEACHERS, TritierFilm, TritierFilmConfig, describe_case
from brainseg.models.tritier_physics import (
    AIR_HU,
    MRI_SIGNATURES,
    simulate_ultrasound,
    synthesize_ct,
    tissue_posteriors,
)

SEQUENCES = ["T1", "T1ce", "T2", "FLAIR"]


@pytest.fixture(scope="module")
def model() -> TritierFilm:
    torch.manual_seed(0)
    return create("tritier-film", "demo").eval()


def volume(batch: int = 1, shape: tuple[int, int, int] = (32, 32, 32)) -> torch.Tensor:
    return torch.randn(batch, 4, *shape, generator=torch.Generator().manual_seed(1))


# ----------------------------------------------------------------------------------------------- pixel tier

WM_BOX = (slice(2, 14), slice(2, 14), slice(2, 14))
CSF_BOX = (slice(4, 8), slice(4, 8), slice(4, 8))
ENHANCING_BOX = (slice(9, 13), slice(9, 13), slice(4, 8))
GM_BOX = (slice(9, 13), slice(4, 8), slice(9, 13))
WM_ONLY = (slice(2, 4), slice(2, 14), slice(9, 13))  # white matter away from the other boxes


@pytest.fixture(scope="module")
def phantom() -> torch.Tensor:
    """(1, 4, 16, 16, 16): white matter holding a CSF, an enhancing-tumor and a grey-matter box; air around."""
    images = torch.zeros(1, 4, 16, 16, 16)
    for box, tissue in ((WM_BOX, "WM"), (CSF_BOX, "CSF"), (ENHANCING_BOX, "enhancing"), (GM_BOX, "GM")):
        for channel, sequence in enumerate(SEQUENCES):
            images[(0, channel, *box)] = MRI_SIGNATURES[tissue][sequence]
    return images


def region_mean(image: torch.Tensor, box: tuple[slice, ...]) -> float:
    return float(image[(0, 0, *box)].mean())


def test_tissue_posteriors_pick_the_tissue_of_each_box(phantom):
    posteriors = tissue_posteriors(phantom, SEQUENCES)  # (1, 6, 16, 16, 16): CSF, GM, WM, edema, ...
    assert posteriors.shape == (1, 6, 16, 16, 16)
    torch.testing.assert_close(posteriors.sum(dim=1), torch.ones(1, 16, 16, 16))
    assert int(posteriors[0, :, 5, 5, 5].argmax()) == 0  # CSF
    assert int(posteriors[0, :, 3, 8, 10].argmax()) == 2  # WM
    assert int(posteriors[0, :, 10, 10, 5].argmax()) == 5  # enhancing


def test_synthetic_ct_orders_tissue_densities(phantom):
    ct = synthesize_ct(phantom, SEQUENCES, torch.Generator().manual_seed(0))
    assert ct.shape == (1, 1, 16, 16, 16)
    csf, wm, gm = region_mean(ct, CSF_BOX), region_mean(ct, WM_ONLY), region_mean(ct, GM_BOX)
    assert -5 < csf < wm < gm < 60  # water-like CSF, white matter below grey matter, all soft tissue
    assert float(ct[0, 0, 0, 0, 0]) == AIR_HU


def test_synthetic_ct_reads_sequences_by_name_not_position(phantom):
    order = [3, 0, 2, 1]
    noiseless = synthesize_ct(phantom, SEQUENCES, noise=False)
    permuted = synthesize_ct(phantom[:, order], [SEQUENCES[i] for i in order], noise=False)
    torch.testing.assert_close(noiseless, permuted)


def test_ultrasound_is_dark_in_csf_bright_in_tumor_and_echoes_at_interfaces(phantom):
    us = simulate_ultrasound(phantom, SEQUENCES, torch.Generator().manual_seed(0))
    assert us.shape == (1, 1, 16, 16, 16)
    assert float(us.min()) >= 0 and float(us.max()) <= 1
    assert region_mean(us, CSF_BOX) < region_mean(us, WM_ONLY) < region_mean(us, ENHANCING_BOX)
    assert float(us[0, 0, 0, 0, 0]) == 0  # nothing outside the brain
    clean = simulate_ultrasound(phantom, SEQUENCES, speckle=False)[0, 0, 5, 5]  # a beam through the CSF box
    # Beam from z = 15 down: white matter (z 13..8), CSF (z 7..4), white matter (z 3..2). The voxel above
    # each impedance step echoes more than the homogeneous tissue on either side.
    assert clean[8] > clean[10] and clean[8] > clean[6]  # WM above CSF
    assert clean[4] > clean[6] and clean[4] > clean[3]  # CSF above WM


def test_pixel_tier_is_deterministic_given_a_generator(phantom, model):
    images = phantom.repeat(1, 1, 2, 2, 2)  # (1, 4, 32, 32, 32)
    first = model.pixel_tier(images, torch.Generator().manual_seed(7))
    again = model.pixel_tier(images, torch.Generator().manual_seed(7))
    other = model.pixel_tier(images, torch.Generator().manual_seed(8))
    default = model.pixel_tier(images)  # seeded from config.seed
    for name in ("US", "CT"):
        assert first[name].shape == (1, 1, 32, 32, 32)
        torch.testing.assert_close(first[name], again[name])
        assert not torch.equal(first[name], other[name])
        torch.testing.assert_close(default[name], model.pixel_tier(images)[name])


# ----------------------------------------------------------------------------------------------- descriptions


def hand_made_labels() -> np.ndarray:
    """(64, 64, 48): edema box 16 x 16 x 12 on the left (low X), anterior, around an enhancing box around necrosis."""
    labels = np.zeros((64, 64, 48), dtype=np.uint8)
    labels[8:24, 40:56, 24:36] = ED
    labels[12:20, 44:52, 26:34] = ET
    labels[14:18, 46:50, 28:32] = NCR
    return labels


def test_description_names_side_lobe_size_volume_and_make_up():
    views = describe_case(hand_made_labels(), spacing_mm=(2.0, 2.0, 2.0))
    assert [v.split(" ")[0] for v in views] == ["Axial", "Coronal", "Sagittal"]
    for text in views:
        assert "in the left frontal region" in text and "in the right" not in text
        assert "whole tumor volume 24.6 cm3" in text  # 16 * 16 * 12 voxels of 8 mm3
    # Axial slice through the centroid: 16 x 16 voxels of 2 mm; enhancing 8*8 - 4*4 = 48, necrosis 16, of 256.
    assert "3.2 x 3.2 cm (left-right x anterior-posterior)" in views[0]
    assert "enhancing tumor 19%, necrotic core 6%, edema 75%" in views[0]
    assert "3.2 x 2.4 cm (anterior-posterior x superior-inferior)" in views[2]


def test_description_follows_the_tumor_across_the_midline():
    mirrored = describe_case(torch.from_numpy(hand_made_labels()[::-1].copy()))
    assert all("in the right frontal region" in text for text in mirrored)
    centred = np.roll(hand_made_labels(), 16, axis=0)  # centroid at x = 31.5, the middle of 64 voxels
    assert all("at the midline" in text for text in describe_case(centred))


def test_description_of_an_empty_map_says_no_tumor():
    assert describe_case(np.zeros((8, 8, 8), dtype=np.uint8))[0] == "Axial MRI slice: no tumor is visible."


# ----------------------------------------------------------------------------------------------- student


@pytest.mark.parametrize("shape", [(32, 32, 32), (48, 32, 16)])
def test_forward_gives_region_logits_and_maps_at_input_size(model, shape):
    with torch.no_grad():
        out = model(volume(2, shape), prompts=["left frontal enhancing tumor", "whole tumor"])
    assert out.logits.shape == (2, 3, *shape)
    assert set(out.attention) == {"semantic", "WT", "TC", "ET"}
    for name, heatmap in out.attention.items():
        assert heatmap.shape == (2, 1, *shape), name
        assert float(heatmap.min()) >= 0 and float(heatmap.max()) <= 1, name
    assert out.deep_supervision == []


def test_text_changes_the_segmentation(model):
    images = volume()
    views = describe_case(hand_made_labels())
    with torch.no_grad():
        default = model(images).logits
        prompted = model(images, prompts=["enhancing tumor in the right occipital lobe"]).logits
        described = model(images, descriptions=[views]).logits
    assert not torch.allclose(default, prompted, atol=1e-5)
    assert not torch.allclose(prompted, described, atol=1e-5)


def test_bad_inputs_are_refused_with_the_shape(model):
    with pytest.raises(ValueError, match=r"divisible by 16, got \(1, 4, 32, 32, 24\)"):
        model(torch.zeros(1, 4, 32, 32, 24))
    with pytest.raises(ValueError, match="2 texts for a batch of 1"):
        model(volume(), prompts=["a", "b"])
    with pytest.raises(ValueError, match="not both"):
        model(volume(), prompts=["a"], descriptions=[["b"]])


def test_inference_runs_the_student_alone(model):
    calls = []
    hooks = [t.register_forward_hook(lambda *_: calls.append(1)) for t in model.teachers.values()]
    try:
        with torch.no_grad():
            model(volume())
            assert calls == []
            model.distillation_targets(volume())
            assert len(calls) == 3
    finally:
        for hook in hooks:
            hook.remove()


def test_distillation_targets_shapes_and_alignment(model):
    targets = model.distillation_targets(volume(2), prompts=["whole tumor", "tumor core"])
    assert targets["student_logits"].shape == (2, 3, 32, 32, 32)
    assert targets["teacher_logits"].shape == (2, len(TEACHERS), 3, 32, 32, 32)
    assert targets["student_features"].shape == targets["teacher_features"].shape == (2, 3, 64, 2, 2, 2)
    assert not targets["teacher_logits"].requires_grad and not targets["teacher_features"].requires_grad
    assert targets["student_logits"].requires_grad and targets["student_features"].requires_grad
    alignment = targets["alignment"]  # (B, T, T) cosine similarities
    torch.testing.assert_close(alignment.diagonal(dim1=1, dim2=2), torch.ones(2, 3))
    torch.testing.assert_close(alignment, alignment.transpose(1, 2))
    torch.testing.assert_close(targets["teacher_weights"].sum(dim=1), torch.ones(2))
    assert targets["attention_semantic"].shape == (2, 1, 32, 32, 32)


def test_gradients_reach_every_trainable_parameter():
    torch.manual_seed(0)
    model = create("tritier-film", "demo").train()
    images = volume()
    targets = model.distillation_targets(images, descriptions=[describe_case(hand_made_labels())])
    student_loss = targets["student_logits"].square().mean() + targets["student_features"].square().mean()
    teacher_loss = sum(logits.square().mean() for logits, _ in model.teacher_outputs(images).values())
    (student_loss + teacher_loss).backward()
    missing = [
        n for n, p in model.named_parameters() if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    assert missing == []


# ----------------------------------------------------------------------------------------------- configs


def test_config_round_trips_through_json():
    for size in ("demo", "paper"):
        config = load_config("tritier-film", size)
        assert isinstance(config.text, TextEncoderConfig)
        again = TritierFilmConfig.from_dict(json.loads(json.dumps(config.to_dict())))
        assert again == config
        assert again.to_dict() == json.loads((CONFIG_DIR / "tritier-film" / f"{size}.json").read_text())


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="teacher_channels"):
        TritierFilmConfig(channels=[8, 16, 32], teacher_channels=[8, 16])


def test_paper_size_builds_with_a_frozen_clip_b32_text_tower():
    with torch.device("meta"):  # shapes only
        model = create("tritier-film", "paper")
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    text = sum(p.numel() for p in model.text_encoder.parameters())
    assert model.config.stride == 16 and model.config.text.width == 512 and model.config.text.layers == 12
    assert total - trainable == text  # only the CLIP text tower is frozen
    assert 63e6 < text < 64e6  # CLIP ViT-B/32's text transformer
    assert len(model.teachers) == 3
