"""Augmentations keep labels on their images, respect their probabilities and are seeded; crops stay inside."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from brainseg.errors import BrainSegError
from brainseg.labels import ED, ET, NCR
from brainseg.training.augment import (
    BrainEdgeArtifact,
    Compose,
    RandomBiasField,
    RandomFlip,
    RandomGamma,
    RandomRotation,
    RandomSlabCut,
    RegionContrastStretch,
    choose_centre,
    crop_around,
    crop_patch,
    default_augmentation,
    hard_negative_mask,
    rotate,
)

SHAPE = (14, 16, 18)  # unequal edges, so a transform that mixes up axes fails


def make_sample(shape=SHAPE, seed=0) -> dict[str, np.ndarray]:
    """Normalized-looking images (brain = an inner box, 0 outside) and a nested tumor inside it."""
    rng = np.random.default_rng(seed)
    images = np.zeros((4, *shape), dtype=np.float32)
    images[:, 1:-1, 1:-1, 1:-1] = rng.normal(size=(4, *(n - 2 for n in shape)))
    labels = np.zeros(shape, dtype=np.uint8)
    labels[3:10, 4:12, 5:13] = ED
    labels[4:9, 5:11, 6:12] = NCR
    labels[5:8, 6:9, 7:10] = ET
    # Channel 3 carries the labels themselves, so alignment can be checked after spatial transforms.
    images[3] = labels.astype(np.float32)
    return {"images": images, "labels": labels}


def test_flip_p1_flips_every_axis_and_keeps_alignment():
    sample = make_sample()
    out = RandomFlip(1.0)(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(out["images"], np.flip(sample["images"], axis=(1, 2, 3)))
    np.testing.assert_array_equal(out["labels"], np.flip(sample["labels"], axis=(0, 1, 2)))
    np.testing.assert_array_equal(out["images"][3], out["labels"])
    assert out["images"].flags.c_contiguous and out["labels"].flags.c_contiguous


def test_flip_p0_is_identity_and_input_is_not_modified():
    sample = make_sample()
    before = {k: v.copy() for k, v in sample.items()}
    out = RandomFlip(0.0)(sample, np.random.default_rng(0))
    for key in ("images", "labels"):
        np.testing.assert_array_equal(out[key], before[key])
    RandomFlip(1.0)(sample, np.random.default_rng(0))
    for key in ("images", "labels"):
        np.testing.assert_array_equal(sample[key], before[key])


def test_flip_probability_per_axis():
    sample = {"images": np.arange(8, dtype=np.float32).reshape(1, 2, 2, 2), "labels": np.zeros((2, 2, 2), np.uint8)}
    rng = np.random.default_rng(1)
    flipped = np.zeros(3)
    trials = 600
    for _ in range(trials):
        out = RandomFlip(0.5)(sample, rng)["images"][0]
        # Voxel (0, 0, 0) holds 0; where it went tells which axes were flipped.
        flipped += np.argwhere(out == 0)[0]
    np.testing.assert_allclose(flipped / trials, 0.5, atol=0.08)


@pytest.mark.parametrize("plane", [(0, 1), (0, 2), (1, 2)])
def test_rotation_by_90_matches_rot90_for_images_and_labels(plane):
    sample = make_sample(shape=(16, 16, 16))
    out = rotate(sample["images"], sample["labels"], 90.0, plane)
    np.testing.assert_array_equal(out["labels"], np.rot90(sample["labels"], 1, axes=plane))
    expected = np.rot90(sample["images"], 1, axes=tuple(a + 1 for a in plane))
    np.testing.assert_allclose(out["images"], expected, atol=1e-5)


def test_rotation_by_0_is_identity():
    sample = make_sample()
    out = rotate(sample["images"], sample["labels"], 0.0, (0, 2))
    np.testing.assert_array_equal(out["labels"], sample["labels"])
    np.testing.assert_allclose(out["images"], sample["images"], atol=1e-6)


def test_random_rotation_keeps_shape_dtype_and_label_values():
    sample = make_sample()
    rng = np.random.default_rng(3)
    for _ in range(5):
        out = RandomRotation(15.0, p=1.0)(sample, rng)
        assert out["images"].shape == sample["images"].shape and out["images"].dtype == np.float32
        assert out["labels"].shape == SHAPE and out["labels"].dtype == np.uint8
        assert set(np.unique(out["labels"])) <= {0, 1, 2, 3}
        assert not np.array_equal(out["images"], sample["images"])
        # Labels moved with the image: the label channel (linear) agrees with the labels (nearest) mostly.
        agree = np.round(out["images"][3]) == out["labels"]
        assert agree.mean() > 0.95


def test_random_rotation_probability():
    sample = make_sample(shape=(8, 8, 8))
    rng = np.random.default_rng(4)
    changed = [
        not np.array_equal(RandomRotation(15.0, 0.3)(sample, rng)["images"], sample["images"]) for _ in range(300)
    ]
    assert np.mean(changed) == pytest.approx(0.3, abs=0.08)


def test_gamma_p1_bends_values_inside_the_brain_only():
    sample = make_sample()
    out = RandomGamma((1.2, 1.2), p=1.0)(sample, np.random.default_rng(0))
    brain = np.any(sample["images"] != 0, axis=0)
    np.testing.assert_array_equal(out["labels"], sample["labels"])
    for before, after in zip(sample["images"], out["images"], strict=True):
        assert np.all(after[~brain] == 0)
        inside_before, inside_after = before[brain], after[brain]
        assert inside_after.min() == pytest.approx(inside_before.min(), abs=1e-5)
        assert inside_after.max() == pytest.approx(inside_before.max(), abs=1e-5)
        order = np.argsort(inside_before, kind="stable")
        assert np.all(np.diff(inside_after[order]) >= -1e-5)  # monotonic
    # By hand for channel 0: low + (high - low) * ((x - low) / (high - low)) ** 1.2
    values = sample["images"][0][brain].astype(np.float64)
    low, high = values.min(), values.max()
    expected = low + (high - low) * ((values - low) / (high - low)) ** 1.2
    np.testing.assert_allclose(out["images"][0][brain], expected, atol=1e-5)


def test_gamma_p0_never_and_p1_always():
    sample = make_sample()
    rng = np.random.default_rng(5)
    assert all(np.array_equal(RandomGamma(p=0.0)(sample, rng)["images"], sample["images"]) for _ in range(20))
    assert not any(np.array_equal(RandomGamma(p=1.0)(sample, rng)["images"], sample["images"]) for _ in range(20))


def stretch_sample() -> dict[str, np.ndarray]:
    """T1ce 1.0 in the brain; NCR 2.0 / 2.5 in alternate voxels; ET 3.0 / 4.0 in alternate voxels."""
    sample = make_sample()
    labels = sample["labels"]
    t1ce = np.where(np.any(sample["images"] != 0, axis=0), 1.0, 0.0).astype(np.float32)
    checker = (np.indices(SHAPE).sum(axis=0) % 2).astype(np.float32)
    t1ce[labels == NCR] = (2.0 + 0.5 * checker)[labels == NCR]
    t1ce[labels == ET] = (3.0 + checker)[labels == ET]
    sample["images"][1] = t1ce
    return sample


def test_region_contrast_stretch_scales_et_by_1_25_and_rest_of_tc_by_1_2():
    sample = stretch_sample()
    out = RegionContrastStretch(p=1.0)(sample, np.random.default_rng(0))
    labels = sample["labels"]
    before, after = sample["images"][1], out["images"][1]
    checker = np.indices(SHAPE).sum(axis=0) % 2 == 1
    # Within-region differences grow by the region's factor whatever the local mean is.
    et_high, et_low = np.unique(after[(labels == ET) & checker]), np.unique(after[(labels == ET) & ~checker])
    assert len(et_high) == len(et_low) == 1
    assert et_high[0] - et_low[0] == pytest.approx(1.25 * (4.0 - 3.0), abs=1e-5)
    ncr_high, ncr_low = np.unique(after[(labels == NCR) & checker]), np.unique(after[(labels == NCR) & ~checker])
    assert ncr_high[0] - ncr_low[0] == pytest.approx(1.2 * 0.5, abs=1e-5)
    # ET is brighter than its surroundings, so stretching about the local mean makes it brighter still.
    assert et_low[0] > 3.0
    # Outside the tumor core and in the other channels nothing changes; labels are untouched.
    tc = (labels == NCR) | (labels == ET)
    np.testing.assert_array_equal(after[~tc], before[~tc])
    np.testing.assert_array_equal(np.delete(out["images"], 1, axis=0), np.delete(sample["images"], 1, axis=0))
    np.testing.assert_array_equal(out["labels"], labels)


def test_region_contrast_stretch_p0_and_no_tumor():
    sample = stretch_sample()
    out = RegionContrastStretch(p=0.0)(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(out["images"], sample["images"])
    empty = {"images": sample["images"], "labels": np.zeros(SHAPE, np.uint8)}
    np.testing.assert_array_equal(
        RegionContrastStretch(p=1.0)(empty, np.random.default_rng(0))["images"], empty["images"]
    )


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: RandomFlip(1.5), "probability"),
        (lambda: RandomRotation(200.0), "max_degrees"),
        (lambda: RandomGamma((0.0, 1.2)), "gamma_range"),
        (lambda: RegionContrastStretch({"XX": 1.2}), "unknown region 'XX'"),
        (lambda: RegionContrastStretch(channels=(4,)), "channels"),
        (lambda: BrainEdgeArtifact(max_width=0), "max_width"),
        (lambda: BrainEdgeArtifact(p=-0.1), "probability"),
        (lambda: RandomBiasField(max_strength=1.5), "max_strength"),
        (lambda: RandomBiasField(scale=0.0), "scale"),
        (lambda: RandomBiasField(p=2.0), "probability"),
    ],
)
def test_bad_arguments(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def test_brain_edge_artifact_shifts_a_thin_rim_and_never_tumor_or_background():
    images = np.zeros((4, 20, 20, 20), dtype=np.float32)
    images[:, 3:17, 3:17, :] = 1.0  # a brain box that runs through the patch's top and bottom faces
    labels = np.zeros((20, 20, 20), dtype=np.uint8)
    labels[3:6, 8:12, 8:12] = ED  # tumor touching the edge
    out = BrainEdgeArtifact(max_width=1, offset_range=(2.0, 2.0), p=1.0)(
        {"images": images, "labels": labels}, np.random.default_rng(0)
    )
    changed = np.any(out["images"] != images, axis=0)
    assert np.all(out["images"][:, changed] == 3.0)
    expected = np.zeros((20, 20, 20), dtype=bool)
    expected[3:17, 3:17, :] = True
    expected[4:16, 4:16, :] = False  # one voxel thick on the four brain faces, none on the patch's faces
    expected &= labels == 0
    np.testing.assert_array_equal(changed, expected)
    assert np.array_equal(images[:, 10, 10, 10], [1, 1, 1, 1])  # input untouched
    unchanged = BrainEdgeArtifact(p=0.0)({"images": images, "labels": labels}, np.random.default_rng(0))
    np.testing.assert_array_equal(unchanged["images"], images)


def test_bias_field_shades_each_channel_smoothly_inside_the_brain_only():
    images = np.zeros((4, 32, 32, 32), dtype=np.float32)
    images[:, 4:28, 4:28, 4:28] = np.linspace(-1.0, 2.0, 4)[:, None, None, None]  # one flat level per channel
    images[:, 10, 10, 10] = -2.0  # each channel's brain minimum: the fixed point of the shading
    labels = np.zeros((32, 32, 32), dtype=np.uint8)
    labels[12:16, 12:16, 12:16] = ET
    out = RandomBiasField(max_strength=0.3, scale=10.0, p=1.0)(
        {"images": images, "labels": labels}, np.random.default_rng(3)
    )
    brain = np.zeros((32, 32, 32), dtype=bool)
    brain[4:28, 4:28, 4:28] = True
    assert np.all(out["images"][:, ~brain] == 0.0)
    np.testing.assert_array_equal(out["images"][:, 10, 10, 10], -2.0)
    np.testing.assert_array_equal(out["labels"], labels)
    # The multiplicative field on (value - minimum): positive, smooth (neighbours within a few %), per channel.
    images[:, 10, 10, 10] = out["images"][:, 10, 10, 10] = 0.0  # (no field to read where value = minimum)
    field = ((out["images"] + 2.0) / (images + 2.0))[:, 4:28, 4:28, 4:28]  # (4, 24, 24, 24)
    field[:, 6, 6, 6] = field[:, 6, 6, 7]
    assert np.all(field > 0.2) and np.all(field < 5.0)
    assert np.all(field.std(axis=(1, 2, 3)) > 0.005)
    assert np.abs(np.diff(field, axis=1)).max() < 0.1
    assert not np.allclose(field[0], field[1])  # every sequence its own field
    assert images[0, 20, 20, 20] == -1.0 and out["images"][0, 20, 20, 20] != -1.0  # input untouched


def test_bias_field_p0_is_identity_and_draws_like_p1():
    sample = make_sample()
    rng_off, rng_on = np.random.default_rng(5), np.random.default_rng(5)
    unchanged = RandomBiasField(p=0.0)(sample, rng_off)
    np.testing.assert_array_equal(unchanged["images"], sample["images"])
    RandomBiasField(p=1.0)(sample, rng_on)
    assert rng_off.random() == rng_on.random()  # later transforms see the same stream whatever p is


def test_slab_cut_empties_one_side_of_a_tilted_plane_through_the_brain():
    images = np.zeros((4, 24, 26, 28), dtype=np.float32)
    images[:, 2:22, 2:24, 2:26] = np.arange(1, 5, dtype=np.float32)[:, None, None, None]
    labels = np.zeros((24, 26, 28), dtype=np.uint8)
    labels[6:18, 6:20, 6:22] = ED
    brain = images[0] != 0
    cut_sides = set()
    for seed in range(12):
        out = RandomSlabCut(max_tilt=30.0, p=1.0)({"images": images, "labels": labels}, np.random.default_rng(seed))
        removed = brain & (out["images"][0] == 0)
        kept = brain & ~removed
        assert kept.any()  # the plane passes through a brain voxel, which stays
        assert np.all(out["images"][:, removed] == 0.0) and np.all(out["labels"][removed] == 0)
        np.testing.assert_array_equal(out["images"][:, kept], images[:, kept])  # the rest untouched
        np.testing.assert_array_equal(out["labels"][kept], labels[kept])
        # Along Z every column is cut at one height, from the same end of the patch in every column ...
        columns = np.argwhere(removed.any(axis=2) & kept.any(axis=2))
        heights = np.full(removed.shape[:2], np.nan)
        for x, y in columns:
            removed_z = np.flatnonzero(removed[x, y, 2:26]) + 2
            kept_z = np.flatnonzero(kept[x, y, 2:26]) + 2
            below = removed_z.max() < kept_z.min()
            assert below or removed_z.min() > kept_z.max()  # one contiguous run at one end
            cut_sides.add(below)
            heights[x, y] = removed_z.max() if below else removed_z.min()
        # ... and the cut height moves by at most tan(30 degrees) per voxel in X and Y (plus rounding).
        assert np.nanmax(np.abs(np.diff(heights, axis=0)), initial=0) <= np.tan(np.deg2rad(30)) + 1
        assert np.nanmax(np.abs(np.diff(heights, axis=1)), initial=0) <= np.tan(np.deg2rad(30)) + 1
    assert cut_sides == {True, False}  # cuts from below and from above
    assert images[0, 10, 10, 10] == 1.0 and labels[10, 10, 10] == ED  # input untouched
    axial = RandomSlabCut(max_tilt=0.0, p=1.0)({"images": images, "labels": labels}, np.random.default_rng(4))
    removed = brain & (axial["images"][0] == 0)
    assert removed.any() and np.array_equal(removed, np.broadcast_to(removed.any(axis=(0, 1)), removed.shape) & brain)
    with pytest.raises(ValueError, match="max_tilt must be in"):
        RandomSlabCut(max_tilt=90.0)


def test_slab_cut_p0_is_identity_and_draws_like_p1():
    sample = make_sample()
    rng_off, rng_on = np.random.default_rng(5), np.random.default_rng(5)
    unchanged = RandomSlabCut(p=0.0)(sample, rng_off)
    np.testing.assert_array_equal(unchanged["images"], sample["images"])
    np.testing.assert_array_equal(unchanged["labels"], sample["labels"])
    RandomSlabCut(p=1.0)(sample, rng_on)
    assert rng_off.random() == rng_on.random()


def test_compose_is_deterministic_for_a_seed():
    sample = make_sample()
    augment = default_augmentation()
    first = augment(sample, np.random.default_rng(11))
    again = augment(sample, np.random.default_rng(11))
    for key in ("images", "labels"):
        np.testing.assert_array_equal(first[key], again[key])
    others = [augment(sample, np.random.default_rng(seed))["images"] for seed in range(12, 17)]
    assert any(not np.array_equal(first["images"], other) for other in others)
    assert isinstance(augment, Compose) and len(augment.transforms) == 4
    assert isinstance(default_augmentation(edge_artifacts=True).transforms[-1], BrainEdgeArtifact)
    assert [type(t) for t in default_augmentation(edge_artifacts=True, bias_field=True).transforms[-2:]] == [
        BrainEdgeArtifact,
        RandomBiasField,
    ]
    assert isinstance(default_augmentation(slab_cuts=True).transforms[-1], RandomSlabCut)


def coordinate_volume(shape) -> tuple[np.ndarray, np.ndarray]:
    """Images whose channels 0-2 hold each voxel's (x, y, z) + 1 and channel 3 is 1; labels: a small tumor."""
    images = np.concatenate([np.indices(shape) + 1.0, np.ones((1, *shape))]).astype(np.float32)
    labels = np.zeros(shape, np.uint8)
    labels[2:4, 3:5, 1:3] = ET
    return images, labels


def test_crop_stays_inside_and_is_a_contiguous_block():
    images, labels = coordinate_volume((20, 24, 16))
    rng = np.random.default_rng(0)
    for _ in range(30):
        patch, patch_labels = crop_patch(images, labels, 8, rng, tumor_probability=0.5)
        assert patch.shape == (4, 8, 8, 8) and patch_labels.shape == (8, 8, 8)
        start = patch[:3, 0, 0, 0].astype(int) - 1
        for axis, size in enumerate((20, 24, 16)):
            assert 0 <= start[axis] <= size - 8
        expected = np.indices((8, 8, 8)) + start[:, None, None, None] + 1
        np.testing.assert_array_equal(patch[:3], expected)
        box = tuple(slice(s, s + 8) for s in start)
        np.testing.assert_array_equal(patch_labels, labels[box])


def test_tumor_focused_crop_contains_tumor_at_p1():
    images, labels = coordinate_volume((40, 40, 40))
    rng = np.random.default_rng(1)
    assert all(crop_patch(images, labels, 8, rng, tumor_probability=1.0)[1].any() for _ in range(30))
    # At p = 0 the centre is any brain voxel: most 8^3 patches of a 40^3 brain miss a 2x2x2 tumor.
    misses = sum(not crop_patch(images, labels, 8, rng, tumor_probability=0.0)[1].any() for _ in range(30))
    assert misses > 15


def test_crop_pads_a_volume_smaller_than_the_patch():
    images, labels = coordinate_volume((6, 10, 5))
    patch, patch_labels = crop_patch(images, labels, 8, np.random.default_rng(0))
    assert patch.shape == (4, 8, 8, 8)
    assert patch_labels.sum() == labels.sum()  # the whole tumor is inside
    assert patch[3].sum() == 6 * 8 * 5  # every brain voxel of the axes that fit, padding is zeros


def test_crop_is_deterministic_for_a_seed_and_checks_its_inputs():
    images, labels = coordinate_volume((20, 24, 16))
    a = crop_patch(images, labels, 8, np.random.default_rng(7))
    b = crop_patch(images, labels, 8, np.random.default_rng(7))
    np.testing.assert_array_equal(a[0], b[0])
    with pytest.raises(BrainSegError, match="share"):
        crop_patch(images, labels[:-1], 8, np.random.default_rng(0))
    with pytest.raises(BrainSegError, match="patch size"):
        crop_around(images, labels, 0, (0, 0, 0))


def sinus_phantom() -> tuple[np.ndarray, np.ndarray]:
    """Raw (4, 30, 30, 30) intensities: brain tissue, a tumor with an enhancing rim, a blood tube far away.

    The tube is bright on T1ce and dark on T2 and FLAIR (contrast-filled blood); the enhancing tumor rim
    is bright on T1ce too but bright on T2 and FLAIR; one more blood-looking voxel lies next to the tumor.
    """
    rng = np.random.default_rng(0)
    images = np.zeros((4, 30, 30, 30), np.float32)
    images[:, 1:-1, 1:-1, 1:-1] = 100 + rng.normal(0, 5, size=(4, 28, 28, 28))
    images[1, 1:-1, 1:-1, 1:-1] = 100  # flat T1ce tissue: its 99th percentile is 100, only blood is above
    labels = np.zeros((30, 30, 30), np.uint8)
    labels[4:10, 4:10, 4:10] = ET
    images[1][labels > 0] = 400  # T1ce: as bright as blood
    images[2:][:, labels > 0] = 300  # T2, FLAIR: bright, unlike blood
    images[1, 22:26, 20, 10:20] = 400
    images[2:, 22:26, 20, 10:20] = 40
    images[1, 12, 7, 7] = 400  # blood-looking, but within 5 voxels of the tumor
    images[2:, 12, 7, 7] = 40
    return images, labels


def test_hard_negatives_are_the_blood_far_from_tumor():
    images, labels = sinus_phantom()
    mask = hard_negative_mask(images, labels)
    expected = np.zeros_like(mask)
    expected[22:26, 20, 10:20] = True
    np.testing.assert_array_equal(mask, expected)
    # A brain that is all tumor (or all within 5 voxels of it) has none.
    assert not hard_negative_mask(images, np.ones_like(labels)).any()


def test_bright_flair_hard_negatives_are_the_flair_brightest_tissue_far_from_tumor():
    images, labels = sinus_phantom()
    images[3, 20:24, 4:8, 20:24] = 250  # 64 FLAIR-bright voxels far from tumor: more than 2 % of the far brain
    images[3, 11, 7, 7] = 250  # FLAIR-bright, but within 5 voxels of the tumor
    flair = hard_negative_mask(images, labels, kinds=["bright-flair"])
    far = np.all(images > 0, axis=0) & ~ndimage.binary_dilation(labels > 0, iterations=5)
    assert flair[20:24, 4:8, 20:24].all() and not flair[11, 7, 7] and not flair[~far].any()
    # The 98th percentile of the far brain: its FLAIR-brightest 2 %, the bright block first.
    assert abs(flair.sum() - 0.02 * far.sum()) <= 2
    assert not flair[22:26, 20, 10:20].any()  # blood is FLAIR-dark
    both = hard_negative_mask(images, labels, kinds=("sinus", "bright-flair"))
    np.testing.assert_array_equal(both, flair | hard_negative_mask(images, labels))
    for bad in ([], ["sinus", "cerebellum"]):
        with pytest.raises(BrainSegError, match="hard-negative kinds must be some of sinus, bright-flair, got"):
            hard_negative_mask(images, labels, kinds=bad)


def test_choose_centre_splits_tumor_hard_negatives_and_brain_by_their_shares():
    images, labels = sinus_phantom()
    hard = hard_negative_mask(images, labels)
    brain = np.any(images != 0, axis=0)
    rng = np.random.default_rng(3)
    kinds = {"tumor": 0, "hard": 0, "other": 0}
    for _ in range(2000):
        centre = choose_centre(labels, brain, rng, 0.5, hard, 0.3)
        kind = "tumor" if labels[centre] else "hard" if hard[centre] else "other"
        kinds[kind] += 1
    # 0.5 / 0.3 / 0.2, where a random brain voxel is almost never tumor (216 of 21952) or blood (40).
    assert 900 < kinds["tumor"] < 1100 and 520 < kinds["hard"] < 680 and 320 < kinds["other"] < 480
    # Share 0 draws exactly the centres the sampler drew before hard negatives existed.
    for seed in range(20):
        old = choose_centre(labels, brain, np.random.default_rng(seed), 0.6)
        assert choose_centre(labels, brain, np.random.default_rng(seed), 0.6, hard, 0.0) == old
    # No hard negative in the case: a brain voxel instead.
    centre = choose_centre(labels, brain, np.random.default_rng(0), 0.0, np.zeros_like(hard), 1.0)
    assert brain[centre] and not labels[centre]
