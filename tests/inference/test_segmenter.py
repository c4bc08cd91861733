"""The Segmenter lifecycle: checkpoints, shapes, nesting, mapping back, caching, prompts, uncertainty, reports."""

from __future__ import annotations

import dataclasses
import json

import nibabel as nib
import numpy as np
import pytest
import torch

from brainseg.errors import BrainSegError
from brainseg.hub import file_sha256, save_checkpoint
from brainseg.inference import segmenter as segmenter_module
from brainseg.inference.passes import RunConfig, window_count
from brainseg.inference.postprocess import binary_entropy_bits, nest_probabilities
from brainseg.inference.segmenter import Segmenter, clear_segmenters, get_segmenter
from brainseg.io import load_case
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.models import create, list_models
from brainseg.preprocess import normalize
from brainseg.text.prompts import PromptRefused
from tests.inference.helpers import (
    ForwardCounter,
    brain_images,
    pointwise_checkpoint,
    write_brain_case,
)

pytestmark = pytest.mark.usefixtures("torch_one_thread", "pointwise_variant")

SHAPE = (40, 36, 24)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("inference")


@pytest.fixture(scope="module")
def brain_case_folder(workdir):
    return write_brain_case(workdir / "case")


@pytest.fixture
def brain_case(brain_case_folder):
    return load_case(brain_case_folder)


@pytest.fixture(scope="module")
def pointwise_source(workdir, pointwise_variant):
    return f"local-dir:{pointwise_checkpoint(workdir / 'pointwise')}"


@pytest.fixture(scope="module")
def variant_sources(workdir):
    """Every registered variant at demo size with random weights, saved as a local checkpoint."""
    sources = {}
    for name in ["unet3d", "clip-unet3d", "film-unet2d", "sam-dmif", "tritier-film", "msfen"]:
        torch.manual_seed(0)
        sources[name] = f"local-dir:{save_checkpoint(create(name, 'demo'), workdir / name)}"
    return sources


def test_every_registered_variant_is_covered(variant_sources):
    assert sorted(variant_sources) == sorted(n for n in list_models() if not n.startswith("test-"))


@pytest.mark.parametrize("name", ["unet3d", "clip-unet3d", "film-unet2d", "sam-dmif", "tritier-film", "msfen"])
def test_every_variant_segments_a_case(name, variant_sources, brain_case):
    result = Segmenter(variant_sources[name], "cpu").segment(brain_case)
    assert result.labels.shape == SHAPE and result.labels.dtype == np.uint8
    assert set(np.unique(result.labels)) <= {0, 1, 2, 3}
    assert result.probabilities.shape == (3, *SHAPE) and result.probabilities.dtype == np.float32
    p = result.probabilities
    assert p.min() >= 0 and p.max() <= 1
    assert np.all(p[1] <= p[0]) and np.all(p[2] <= p[1]), "probabilities must nest: ET <= TC <= WT"
    for index, region in enumerate(EVALUATION_REGIONS):
        np.testing.assert_array_equal(p[index] > 0.5, region_mask(result.labels, region), err_msg=region)
    assert result.attention, "every variant returns at least one attention map"
    for map_name, attention in result.attention.items():
        assert attention.shape == SHAPE and attention.dtype == np.float32, map_name
        assert attention.min() >= 0 and attention.max() <= 1, map_name
    outside = ~np.any(brain_case.images != 0, axis=0)
    assert not result.labels[outside].any() and not p[:, outside].any(), "nothing outside the brain"
    assert result.target_regions == EVALUATION_REGIONS and result.uncertainty is None


def test_pointwise_values_match_the_network_on_the_normalized_case(pointwise_source, brain_case):
    from brainseg.preprocess.normalize import normalize

    segmenter = Segmenter(pointwise_source, "cpu", min_component_fraction=0.0, min_enhancing_ml=0.0)  # all kept
    result = segmenter.segment(brain_case)
    with torch.no_grad():
        logits = segmenter.model(torch.from_numpy(normalize(brain_case.images, "zscore-brain"))[None]).logits
    expected = nest_probabilities(torch.sigmoid(logits[0]).numpy()) * np.any(brain_case.images != 0, axis=0)
    np.testing.assert_allclose(result.probabilities, expected, atol=1e-6)
    # By default the small components are zeroed and nothing else changes (ET relabelling aside).
    cleaned = Segmenter(pointwise_source, "cpu", min_enhancing_ml=0.0).segment(brain_case).probabilities
    changed = np.any(cleaned != result.probabilities, axis=0)
    assert changed.any() and not cleaned[:, changed].any()
    assert 0 < np.count_nonzero(result.labels == 3) < np.count_nonzero(result.labels), "the test case has a tumor"


def test_written_segmentation_lands_on_the_lps_input_grid(pointwise_source, brain_case, brain_case_folder, tmp_path):
    segmenter = Segmenter(pointwise_source, "cpu")
    result = segmenter.segment(brain_case)
    seg_path, report_path = segmenter.write(brain_case, result, tmp_path / "out", labels="brats2021")
    written = nib.load(seg_path)
    t1ce = nib.load(next(brain_case_folder.glob("*-t1c.nii.gz")))
    assert written.shape == t1ce.shape and written.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(written.affine, t1ce.affine)
    # LPS input: canonical RAS flips the first two axes, so the file must hold them flipped back.
    expected = result.labels[::-1, ::-1, :].copy()
    expected[expected == 3] = 4  # brats2021 writes ET as 4
    np.testing.assert_array_equal(np.asarray(written.dataobj), expected)
    assert written.header["descrip"].tobytes().strip(b"\0") == b""
    assert json.loads(report_path.read_text())["labels"]["convention"] == "brats2021"


def test_real_brats_case_round_trips_onto_its_grid(variant_sources, tmp_path):
    from tests.casefiles import real_case_folder

    folder = real_case_folder("BraTS-GLI-00001-000")
    case = load_case(folder)
    segmenter = Segmenter(variant_sources["unet3d"], "cpu")
    result = segmenter.segment(case)
    assert result.labels.shape == case.shape == (240, 240, 155)
    seg_path, report_path = segmenter.write(case, result, tmp_path)
    written, t1c = nib.load(seg_path), nib.load(next(folder.glob("*-t1c.nii.gz")))
    assert written.shape == t1c.shape == (240, 240, 155)
    np.testing.assert_allclose(written.affine, t1c.affine, atol=1e-6)
    np.testing.assert_array_equal(np.asarray(written.dataobj), case.frame.to_input(result.labels))
    report = json.loads(report_path.read_text())
    assert report["case"]["input_grid"] == {
        "shape": [240, 240, 155],
        "spacing_mm": [1.0, 1.0, 1.0],
        "orientation": "LPS",
    }
    assert report["regions"]["WT"]["voxels"] == np.count_nonzero(np.asarray(written.dataobj))


def test_second_prompt_reuses_everything(pointwise_source, brain_case, brain_case_folder):
    segmenter = Segmenter(pointwise_source, "cpu")
    counter = ForwardCounter(segmenter.model)
    first = segmenter.segment(brain_case, "whole tumor")
    assert counter.calls == 1 and not first.from_cache and first.timings["preprocess"] > 0
    second = segmenter.segment(brain_case, "enhancing tumor")
    assert counter.calls == 1, "a new prompt on the same case must not re-run the network"
    assert second.from_cache and second.timings["preprocess"] == 0 and second.timings["inference"] == 0
    assert second.target_regions == ("ET",) and first.target_regions == ("WT",)
    assert second.labels is first.labels
    # A cached result keeps what computing it took, and its report says it is cached.
    assert second.computed_seconds["inference"] == first.timings["inference"] > 0
    assert second.computed_seconds == first.computed_seconds
    report = segmenter.report(brain_case, second)
    assert report["cached"] is True and report["computed_in_s"]["inference"] > 0
    assert segmenter.report(brain_case, first)["cached"] is False
    from brainseg.text import interpret_prompt

    reading = interpret_prompt("tumor core")  # a reading made by the caller is used as it is
    assert segmenter.segment(brain_case, reading).interpretation is reading
    reloaded = load_case(brain_case_folder)  # another object, same contents: found by hash
    assert reloaded.images is not brain_case.images
    segmenter.segment(reloaded)
    assert counter.calls == 1
    with pytest.raises(ValueError, match="read-only"):
        second.labels[0, 0, 0] = 1


def test_the_network_sees_the_brain_box_and_outputs_are_pasted_back(pointwise_source, brain_case):
    segmenter = Segmenter(pointwise_source, "cpu", min_component_fraction=0.0, min_enhancing_ml=0.0)  # exact values
    shapes = []
    handle = segmenter.model.register_forward_hook(lambda module, args, out: shapes.append(tuple(args[0].shape)))
    padded = np.pad(brain_case.images, ((0, 0), (30, 30), (0, 0), (0, 0)))  # 30 empty voxels left and right
    brain_case = dataclasses.replace(brain_case, images=padded)
    result = segmenter.segment(brain_case)
    handle.remove()
    brain = np.any(brain_case.images != 0, axis=0)
    boxes = []
    for axis in range(3):
        present = np.flatnonzero(brain.any(axis=tuple(a for a in range(3) if a != axis)))
        boxes.append(min(present[-1] + 8 + 1, brain.shape[axis]) - max(present[0] - 8, 0))
        assert boxes[-1] <= shapes[0][2 + axis] < boxes[-1] + 16, (axis, boxes, shapes)  # padded to a multiple of 16
    assert len(shapes) == 1 and boxes != list(brain.shape)  # the tiny case has background to crop
    assert result.labels.shape == brain.shape and result.probabilities.shape == (3, *brain.shape)
    assert not result.probabilities[:, ~brain].any()
    assert all(a.shape == brain.shape for a in result.attention.values())
    # The pointwise model's answer does not depend on the crop: inside the brain it is its plain answer.
    normalized = normalize(brain_case.images, segmenter.model.config.data.normalization)
    with torch.no_grad():
        plain = torch.sigmoid(segmenter.model(torch.from_numpy(normalized)[None]).logits)[0].numpy()
    np.testing.assert_allclose(result.probabilities[0][brain], plain[0][brain], atol=1e-5)
    assert any("cropped to the brain's bounding box plus 8 voxels" in step for step in result.preprocessing)


def test_another_case_runs_again_and_the_cache_keeps_one_case(pointwise_source, brain_case, tmp_path):
    segmenter = Segmenter(pointwise_source, "cpu")
    counter = ForwardCounter(segmenter.model)
    segmenter.segment(brain_case)
    other = load_case(write_brain_case(tmp_path / "other", shape=(32, 36, 24)))
    assert segmenter.segment(other).labels.shape == (32, 36, 24)
    assert counter.calls == 2
    segmenter.segment(brain_case)
    assert counter.calls == 3, "cache_cases=1: the first case was dropped"


def test_refused_prompt_raises_before_any_work(pointwise_source, brain_case):
    segmenter = Segmenter(pointwise_source, "cpu")
    counter = ForwardCounter(segmenter.model)
    with pytest.raises(PromptRefused, match="outside what BrainSeg segments"):
        segmenter.segment(brain_case, "segment the liver")
    with pytest.raises(PromptRefused, match="empty"):
        segmenter.segment(brain_case, "  ")
    assert counter.calls == 0
    assert isinstance(PromptRefused("x"), BrainSegError)


def test_prompt_selects_target_regions_and_written_labels(pointwise_source, brain_case, tmp_path):
    segmenter = Segmenter(pointwise_source, "cpu")
    result = segmenter.segment(brain_case, "segment the tumour core")
    assert result.target_regions == ("TC",)
    core = result.target_labels()
    assert set(np.unique(core)) <= {0, 1, 3}
    np.testing.assert_array_equal(core > 0, region_mask(result.labels, "TC"))
    np.testing.assert_array_equal(result.prompt_attention(), result.attention["semantic"])  # no TC map
    assert np.array_equal(segmenter.segment(brain_case, "enhancing tumor").prompt_attention(), result.attention["ET"])
    seg_path, report_path = segmenter.write(brain_case, result, tmp_path)
    report = json.loads(report_path.read_text())
    written = np.asarray(nib.load(seg_path).dataobj)
    assert np.count_nonzero(written) == report["regions"]["TC"]["voxels"] > 0
    assert report["regions"]["TC"]["target"] and not report["regions"]["WT"]["target"]
    assert report["labels"]["written_regions"] == ["TC"]


def test_uncertainty_is_the_entropy_of_the_mirrored_mean(pointwise_source, brain_case):
    segmenter = Segmenter(pointwise_source, "cpu", min_component_fraction=0.0, min_enhancing_ml=0.0)  # exact values
    counter = ForwardCounter(segmenter.model)
    plain = segmenter.segment(brain_case)
    assert plain.uncertainty is None and "uncertainty" not in plain.timings
    result = segmenter.segment(brain_case, uncertainty=True)
    assert counter.calls == 2, "only the mirrored pass is new"
    u = result.uncertainty
    assert u.shape == SHAPE and u.dtype == np.float32 and u.min() >= 0 and u.max() <= 1
    # A pointwise network answers the mirrored input with the mirrored answer: both passes agree, so the
    # map is the mean binary entropy of the probabilities (a wrong un-mirroring would break this).
    brain = np.any(brain_case.images != 0, axis=0)
    np.testing.assert_allclose(u, binary_entropy_bits(result.probabilities).mean(0) * brain, atol=1e-5)
    assert u.max() > 0.5, "uncertain voxels exist at the tumor border"
    segmenter.segment(brain_case, "edema", uncertainty=True)
    assert counter.calls == 2


def test_uncertainty_is_computed_with_the_first_pass_when_asked_first(variant_sources, brain_case):
    segmenter = Segmenter(variant_sources["clip-unet3d"], "cpu")
    counter = ForwardCounter(segmenter.model)
    result = segmenter.segment(brain_case, uncertainty=True)
    assert counter.calls == 2 and result.timings["uncertainty"] > 0
    outside = ~np.any(brain_case.images != 0, axis=0)
    assert result.uncertainty.shape == SHAPE and result.uncertainty.min() >= 0
    assert not result.uncertainty[outside].any()


def test_sliding_window_matches_the_whole_volume(pointwise_source, brain_case):
    whole = Segmenter(pointwise_source, "cpu").segment(brain_case)
    config = RunConfig(max_voxels=1000, roi_size=(32, 32, 32), overlap=0.5)
    windowed = Segmenter(pointwise_source, "cpu", run=config)
    counter = ForwardCounter(windowed.model)
    result = windowed.segment(brain_case)
    assert counter.calls == window_count((48, 48, 32), config) == 4  # padded 40x36x24 -> 48x48x32
    np.testing.assert_allclose(result.probabilities, whole.probabilities, atol=1e-5)
    for name in whole.attention:
        np.testing.assert_allclose(result.attention[name], whole.attention[name], atol=1e-5)
    assert any("sliding window: 4 windows of 32x32x32" in step for step in result.preprocessing)


def test_sliding_window_with_a_real_3d_variant(variant_sources, brain_case):
    segmenter = Segmenter(variant_sources["clip-unet3d"], "cpu", run=RunConfig(max_voxels=1000, roi_size=(32, 32, 32)))
    result = segmenter.segment(brain_case)
    assert result.labels.shape == SHAPE and sorted(result.attention) == ["ET", "TC", "semantic"]
    assert all(m.min() >= 0 and m.max() <= 1 for m in result.attention.values())


def test_report_fields(pointwise_source, brain_case, workdir):
    segmenter = Segmenter(pointwise_source, "cpu")
    result = segmenter.segment(brain_case, "peritumoral oedema", uncertainty=True)
    report = segmenter.report(brain_case, result)
    json.dumps(report)  # JSON-able
    volumes = {r: report["regions"][r]["volume_ml"] for r in ("WT", "TC", "ET", "NCR", "ED")}
    assert volumes["WT"] == pytest.approx(volumes["NCR"] + volumes["ED"] + volumes["ET"], abs=2e-3)
    assert volumes["TC"] == pytest.approx(volumes["NCR"] + volumes["ET"], abs=2e-3)
    assert report["regions"]["WT"]["voxels"] == np.count_nonzero(result.labels)  # 1 mm voxels: 1 uL each
    assert report["model"]["model"] == "test-pointwise" and report["model"]["source"] == pointwise_source
    assert report["model"]["sha256"] == file_sha256(workdir / "pointwise" / "model.safetensors")
    assert report["prompt"] == "peritumoral oedema" and report["interpretation"]["regions"] == ["ED"]
    assert report["target_regions"] == ["ED"]
    assert any("zscore-brain" in step for step in report["preprocessing"])
    assert any("LPS" in step for step in report["preprocessing"])
    assert any("nested" in step for step in report["postprocessing"])
    assert report["uncertainty"]["method"].startswith("predictive entropy")
    assert {"preprocess", "inference", "uncertainty", "postprocess", "total"} <= set(report["timings_s"])
    assert report["warnings"] == []  # skull-stripped, 1 mm, tumor found
    no_prompt = segmenter.report(brain_case, segmenter.segment(brain_case))
    assert no_prompt["prompt"] is None and no_prompt["target_regions"] == ["WT", "TC", "ET"]
    with pytest.raises(BrainSegError, match="brats2023 or brats2021"):
        segmenter.report(brain_case, result, labels="brats2015")


def test_not_skull_stripped_input_is_warned(pointwise_source, tiny_case):
    result = Segmenter(pointwise_source, "cpu").segment(load_case(tiny_case["T1"].parent))
    assert any("not skull-stripped" in w for w in result.warnings)


def test_anisotropic_voxels_and_an_empty_result_are_warned(pointwise_variant, tmp_path):
    source = f"local-dir:{pointwise_checkpoint(tmp_path / 'silent', bias_shift=-50.0)}"
    case = load_case(write_brain_case(tmp_path / "case", affine=np.diag([2.0, 1.0, 1.0, 1.0])))
    result = Segmenter(source, "cpu").segment(case)
    assert not result.labels.any()
    assert result.warnings == [
        "voxel size 2 x 1 x 1 mm differs from the model's 1 x 1 x 1 mm; segmented at the case's own spacing, "
        "not resampled",
        "no tumor found: no voxel has a whole-tumor probability above 0.5",
    ]
    assert result.volumes_ml(case.spacing) == {"WT": 0.0, "TC": 0.0, "ET": 0.0, "NCR": 0.0, "ED": 0.0}


def test_progress_is_reported(pointwise_source, brain_case):
    seen = []
    Segmenter(pointwise_source, "cpu").segment(brain_case, progress=lambda f, m: seen.append((f, m)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert all(isinstance(m, str) and m for _, m in seen)


def test_get_segmenter_keeps_the_three_most_recent(pointwise_variant, workdir):
    clear_segmenters()
    sources = [f"local-dir:{pointwise_checkpoint(workdir / f'lru{i}')}" for i in range(4)]
    first = get_segmenter(sources[0], "cpu")
    assert get_segmenter(sources[0], "cpu") is first
    for source in sources[1:]:
        get_segmenter(source, "cpu")
    assert get_segmenter(sources[3], "cpu") is get_segmenter(sources[3], "cpu")
    assert get_segmenter(sources[0], "cpu") is not first, "the least recently used one was dropped"
    clear_segmenters()


def test_missing_bundled_default_is_a_one_line_error(monkeypatch, tmp_path):
    import brainseg.hub.checkpoint as checkpoint

    monkeypatch.setattr(checkpoint, "BUNDLED_DIR", tmp_path)
    clear_segmenters()
    with pytest.raises(BrainSegError, match=r"^no bundled checkpoint 'clip-unet3d'; bundled: none$"):
        get_segmenter(None, "cpu")
    assert segmenter_module.DEFAULT_MODEL == "clip-unet3d"


@pytest.mark.parametrize(
    ("source", "device", "message"),
    [
        ("hf-hub:org/repo", "cpu", "has no revision"),
        ("local-dir:/no/such/folder", "cpu", "does not exist"),
        ("Not A Name!", "cpu", "is not a bundled name"),
        ("unet3d", "tpu", "unknown device 'tpu'; expected one of: auto, cpu, cuda"),
    ],
)
def test_bad_sources_and_devices_are_clear_errors(source, device, message):
    with pytest.raises(BrainSegError, match=message):
        Segmenter(source, device)


def test_info_describes_the_checkpoint(variant_sources, workdir):
    segmenter = Segmenter(variant_sources["clip-unet3d"], "cpu")
    assert segmenter.info == {
        "model": "clip-unet3d",
        "size": "demo",
        "source": variant_sources["clip-unet3d"],
        "sha256": file_sha256(workdir / "clip-unet3d" / "model.safetensors"),
        "description": segmenter.info["description"],
        "paper": "000_83ebb05126561239.txt",
        "device": "cpu",
        "precision": "float32",
    }
    assert segmenter.info["description"]


def test_a_sequence_coverage_gap_is_segmented_as_if_cut_from_every_sequence(pointwise_source, tmp_path):
    # T1ce stops 6 slices above the brain's lower end (a shorter slab): those voxels get no label, the
    # user is told, and the rest is segmented exactly as if the slab were missing from all four sequences
    # (so the gap's zeros do not bias T1ce's normalization).
    images = brain_images(SHAPE)
    images["T1ce"][:, :, :6] = 0
    cut = {sequence: data.copy() for sequence, data in images.items()}
    for data in cut.values():
        data[:, :, :6] = 0
    cases = {"gap": images, "cut": cut}
    cases = {name: load_case(write_brain_case(tmp_path / name, images=data)) for name, data in cases.items()}
    segmenter = Segmenter(pointwise_source, "cpu", min_component_fraction=0.0)
    gap, cut_result = segmenter.segment(cases["gap"]), segmenter.segment(cases["cut"])
    np.testing.assert_allclose(gap.probabilities, cut_result.probabilities, atol=1e-6)
    assert not gap.labels[:, :, :6].any() and gap.labels.any()
    assert any("T1ce misses the most" in w for w in gap.warnings)
    assert not any("field of view" in w for w in cut_result.warnings)
