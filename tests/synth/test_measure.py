"""Label-free measurement used by the synthetic-vs-real comparison."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest

from brainseg.synth.measure import blood_like, class_ratios, estimate_classes, kmeans, load_real_case, to_lps
from tests.casefiles import real_case_folder


def test_kmeans_finds_three_separated_clusters():
    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(c, 0.1, size=(300, 2)) for c in ((0, 0), (3, 1), (6, -1))])
    centers, labels = kmeans(points, 3)
    np.testing.assert_allclose(centers[np.argsort(centers[:, 0])], [[0, 0], [3, 1], [6, -1]], atol=0.05)
    assert len(set(labels[:300])) == 1 and len(set(labels)) == 3


def test_to_lps_flips_a_ras_array():
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)
    out = to_lps(nib.Nifti1Image(data, np.eye(4)))
    np.testing.assert_array_equal(out, data[::-1, ::-1, :])


def test_estimator_recovers_tissues_of_a_synthetic_case(small_cases):
    case = small_cases[2]
    classes = estimate_classes(case.images, voxel_mm=2.5)
    healthy = (classes > 0) & (classes < 4) & (case.labels == 0)
    agreement = np.mean(classes[healthy] == case.tissue_labels[healthy])
    assert agreement > 0.6  # k-means on two sequences with partial volume: far from perfect
    lesion = classes == 4
    assert np.mean(case.labels[lesion] > 0) > 0.9  # what it calls lesion is tumor
    ratios = class_ratios(case.images, classes)
    assert ratios["T1"]["WM"] == 1.0 and ratios["T2"]["CSF"] > 2 and ratios["FLAIR"]["lesion"] > 1.4


@pytest.mark.parametrize("names", [("x-t1n", "x-t1c", "x-t2w", "x-t2f"), ("t1", "t1c", "t2", "flair")])
def test_real_case_naming(tmp_path, names):
    for i, name in enumerate(names):
        nib.save(nib.Nifti1Image(np.full((2, 2, 2), i, np.int16), np.eye(4)), tmp_path / f"{name}.nii.gz")
    images = load_real_case(tmp_path)
    assert [int(images[s][0, 0, 0]) for s in ("T1", "T1ce", "T2", "FLAIR")] == [0, 1, 2, 3]


def test_real_case_missing_sequence(tmp_path):
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)), tmp_path / "t1.nii.gz")
    with pytest.raises(ValueError, match="expected one T1ce file"):
        load_real_case(tmp_path)


def test_blood_like_finds_a_bright_vessel_and_ignores_an_enhancing_lesion():
    # A 20 x 20 x 20 mm WM cube with a T1ce-bright, T2/FLAIR-dark tube (blood) and a T1ce-bright,
    # T2/FLAIR-bright blob (enhancing tumor, also class 4 in the middle): only the tube counts.
    shape = (40, 40, 40)
    images = {s: np.full(shape, 100.0, np.float32) for s in ("T1", "T1ce", "T2", "FLAIR")}
    tube = np.zeros(shape, bool)
    tube[5:35, 5:7, 5:7] = True
    blob = np.zeros(shape, bool)
    blob[25:32, 25:32, 25:32] = True
    images["T1ce"][tube | blob] = 240
    images["T2"][tube], images["FLAIR"][tube] = 50, 40
    images["T2"][blob], images["FLAIR"][blob] = 180, 170
    classes = np.full(shape, 3, np.uint8)
    classes[26:31, 26:31, 26:31] = 4
    out = blood_like(images, classes)
    assert out["ml"] == pytest.approx(tube.sum() / 1000) and out["largest_ml"] == out["ml"]
    assert out["T1ce"] == pytest.approx(2.4) and out["T2"] == pytest.approx(0.5) and out["FLAIR"] == pytest.approx(0.4)
    images["T2"][tube] = 180  # T2-bright: not blood
    assert blood_like(images, classes)["ml"] == 0.0


@pytest.mark.parametrize("name", ["AURORA-example", "BraTS-GLI-00001-000"])
def test_real_cases_keep_their_dural_sinuses(name):
    """What generator v5's sinuses were fitted to: 12-18 mL of blood, most of it one connected system."""
    images = load_real_case(real_case_folder(name))
    out = blood_like(images, estimate_classes(images))
    assert 8 < out["ml"] < 30 and out["largest_ml"] > 0.6 * out["ml"]
    assert out["T1ce"] > 2.0 and out["T2"] < 0.8 and out["FLAIR"] < 0.8
