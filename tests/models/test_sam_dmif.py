"""sam-dmif: shapes, attention ranges, SAM prompts, gradients, config round trip, paper size."""

from __future__ import annotations

import json

import pytest
import torch

from brainseg.models import create, load_config
from brainseg.models.registry import CONFIG_DIR
from brainseg.models.sam_dmif import DynamicModalInteractiveFusion, SamDmif, SamDmifConfig


@pytest.fixture(scope="module")
def model() -> SamDmif:
    torch.manual_seed(0)
    return create("sam-dmif", "demo").eval()


def slices(batch: int = 2, height: int = 64, width: int = 96) -> torch.Tensor:
    return torch.randn(batch, 4, height, width, generator=torch.Generator().manual_seed(1))


def test_demo_config_is_slice_wise_with_the_four_sequences():
    config = load_config("sam-dmif", "demo")
    assert config.data.dims == 2
    assert config.data.sequences == ["T1", "T1ce", "T2", "FLAIR"]
    assert config.data.outputs == ["WT", "TC", "ET"]


@pytest.mark.parametrize(("batch", "height", "width"), [(2, 64, 96), (1, 240, 240)])
def test_forward_gives_region_logits_and_maps_at_input_size(model, batch, height, width):
    with torch.no_grad():
        out = model(slices(batch, height, width))
    assert out.logits.shape == (batch, 3, height, width)
    expected = {"WT", "TC", "ET", "semantic", "modality_T1", "modality_T1ce", "modality_T2", "modality_FLAIR"}
    assert set(out.attention) == expected
    for name, heatmap in out.attention.items():
        assert heatmap.shape == (batch, 1, height, width), name
        assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0, name
    assert out.deep_supervision == []


def test_modality_maps_are_a_softmax_over_the_sequences(model):
    with torch.no_grad():
        out = model(slices())
    total = sum(out.attention[f"modality_{s}"] for s in ("T1", "T1ce", "T2", "FLAIR"))
    torch.testing.assert_close(total, torch.ones_like(total), atol=1e-4, rtol=0)


def test_region_maps_reach_one_at_their_peak_before_resizing(model):
    encoded = model.encode(slices(1, 64, 64))
    image_pe = model.prompt_encoder.pe_layer((4, 4)).unsqueeze(0)
    sparse, dense = model.embed_prompts(encoded, None, None, None)
    _, token_attention = model.decoder(encoded.embedding, image_pe, sparse, dense)  # (1, 3, 4, 4)
    torch.testing.assert_close(token_attention.sum(dim=(2, 3)), torch.ones(1, 3))


def test_cached_embedding_gives_the_same_masks(model):
    images = slices()
    with torch.no_grad():
        direct = model(images).logits
        cached = model.decode(model.encode(images)).logits
    torch.testing.assert_close(direct, cached)


@pytest.mark.parametrize("shape", [(2, 4, 60, 64), (2, 3, 64, 64), (4, 64, 64)])
def test_bad_shape_is_named_in_the_error(model, shape):
    with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        model(torch.zeros(shape))


def test_points_boxes_and_masks_are_accepted_and_change_the_masks(model):
    images = slices()
    points = (torch.tensor([[[40.0, 20.0], [10.0, 50.0]], [[80.0, 30.0], [5.0, 5.0]]]), torch.tensor([[1, 0], [1, -1]]))
    boxes = torch.tensor([[30.0, 10.0, 60.0, 40.0], [50.0, 20.0, 90.0, 60.0]])
    with torch.no_grad():
        encoded = model.encode(images)  # prompting a cached embedding, as an interactive app does
        automatic = model.decode(encoded).logits
        with_points = model(images, points=points).logits
        with_box = model.decode(encoded, boxes=boxes).logits
        with_both = model.decode(encoded, points=points, boxes=boxes).logits
        refined = model.decode(encoded, mask_logits=automatic[:, :1]).logits
        elsewhere = model.decode(encoded, points=(points[0] + torch.tensor([-30.0, 10.0]), points[1])).logits
    for prompted in (with_points, with_box, with_both, refined, elsewhere):
        assert prompted.shape == automatic.shape
        assert not torch.allclose(prompted, automatic, atol=1e-4)
    assert not torch.allclose(with_points, with_box, atol=1e-4)
    assert not torch.allclose(with_points, elsewhere, atol=1e-4)  # where the point is matters


def test_malformed_prompts_are_refused(model):
    images = slices()
    with pytest.raises(ValueError, match="points must be"):
        model(images, points=(torch.zeros(2, 3), torch.ones(2, 3)))
    with pytest.raises(ValueError, match="boxes must be"):
        model(images, boxes=torch.zeros(2, 2))
    with pytest.raises(ValueError, match="mask_logits must be"):
        model(images, mask_logits=torch.zeros(2, 1, 32, 32))
    with pytest.raises(ValueError, match="3 prompts for a batch of 2"):
        model(images, prompts=["whole tumor"] * 3)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = create("sam-dmif", "demo").train()
    images = slices(2, 32, 48)
    automatic = model(images)
    # Points with a padding label, a box and a mask prompt exercise every part of SAM's prompt encoder.
    points = (torch.tensor([[[10.0, 5.0], [0.0, 0.0]], [[30.0, 20.0], [0.0, 0.0]]]), torch.tensor([[1, -1], [0, -1]]))
    prompted = model(images, points=points, boxes=torch.tensor([[2.0, 2.0, 20.0, 20.0]] * 2), mask_logits=images[:, :1])
    loss = automatic.logits.square().mean() + prompted.logits.square().mean()
    loss.backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    # The automatic pass uses no point embeddings; the prompted one no "no mask" embedding; together all.
    assert missing == []


def test_dmif_weights_sum_to_one_and_fused_tokens_keep_the_mean_residual():
    torch.manual_seed(0)
    fusion = DynamicModalInteractiveFusion(dim=8, num_modalities=4, weight_hidden=4)
    streams = torch.randn(2, 4, 3, 5, 8)  # (B, M, h, w, D)
    fused, weights = fusion(streams)
    assert fused.shape == (2, 3, 5, 8) and weights.shape == (2, 4, 3, 5)
    torch.testing.assert_close(weights.sum(dim=1), torch.ones(2, 3, 5))
    # With the interaction output and the enhancement branch zeroed, Eq. 7 leaves the mean over modalities.
    for layer in (fusion.interact_out, fusion.enhance[0]):
        torch.nn.init.zeros_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
    fused, _ = fusion(streams)
    torch.testing.assert_close(fused, streams.mean(dim=1))


def test_config_round_trips_through_json():
    for size in ("demo", "paper"):
        config = load_config("sam-dmif", size)
        again = SamDmifConfig.from_dict(json.loads(json.dumps(config.to_dict())))
        assert again == config
        assert again.to_dict() == json.loads((CONFIG_DIR / "sam-dmif" / f"{size}.json").read_text())


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="not divisible by patch"):
        SamDmifConfig(image_size=250, patch_size=16)


def test_paper_size_is_sam_b_with_dmif_after_every_block():
    with torch.device("meta"):  # shapes only: 354M parameters need not be allocated to be counted
        model = create("sam-dmif", "paper")
    encoder = model.image_encoder
    assert encoder.patch_embed.proj.out_channels == 768 and len(encoder.blocks) == 12
    assert encoder.pos_embed.shape == (1, 64, 64, 768)  # SAM-B's 1024 / 16 table
    assert len(model.dmif) == 12
    sam_b_encoder = 89_670_912  # segment-anything's ViT-B image encoder
    assert sum(p.numel() for p in encoder.parameters()) == sam_b_encoder
    total = sum(p.numel() for p in model.parameters())
    assert abs(total - 354e6) / 354e6 < 0.01  # the paper's Table 1: 354M
