"""RANO measurement against an independent computation on shapes with known diameters."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from brainseg.labels import ED, ET, NCR
from brainseg.metrics.rano import MEASURABLE_MM, measure, response


def ellipse(shape, spacing, centre_mm, semi_axes_mm, degrees=0.0, z_range=(10, 14)) -> np.ndarray:
    """(X, Y, Z) bool: an elliptic cylinder over ``z_range`` slices, axes in mm, turned ``degrees`` in-plane."""
    x, y = np.meshgrid(np.arange(shape[0]) * spacing[0], np.arange(shape[1]) * spacing[1], indexing="ij")
    angle = np.deg2rad(degrees)
    u = (x - centre_mm[0]) * np.cos(angle) + (y - centre_mm[1]) * np.sin(angle)
    v = -(x - centre_mm[0]) * np.sin(angle) + (y - centre_mm[1]) * np.cos(angle)
    inside = (u / semi_axes_mm[0]) ** 2 + (v / semi_axes_mm[1]) ** 2 <= 1.0
    mask = np.zeros(shape, dtype=bool)
    mask[:, :, z_range[0] : z_range[1]] = inside[:, :, None]
    return mask


def brute_force(mask_2d: np.ndarray, spacing) -> tuple[float, float]:
    """Longest distance over every pair of voxel centres and the width at right angles to that pair."""
    points = np.argwhere(mask_2d) * np.asarray(spacing[:2])
    best, pair = -1.0, None
    for i, j in itertools.combinations(range(len(points)), 2):
        d = float(np.hypot(*(points[i] - points[j])))
        if d > best:
            best, pair = d, (i, j)
    direction = (points[pair[1]] - points[pair[0]]) / best
    normal = np.array([-direction[1], direction[0]])
    projected = points @ normal
    return best, float(projected.max() - projected.min())


@pytest.mark.parametrize(
    ("spacing", "semi_axes", "degrees"),
    [((1.0, 1.0, 1.0), (20.0, 12.0), 0.0), ((1.0, 1.0, 1.0), (18.0, 9.0), 30.0), ((0.5, 1.0, 3.0), (15.0, 8.0), 60.0)],
)
def test_an_ellipse_has_its_axes_as_diameters(spacing, semi_axes, degrees):
    shape = (int(60 / spacing[0]), int(60 / spacing[1]), 20)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[ellipse(shape, spacing, (30, 30), semi_axes, degrees)] = ET
    measurement = measure(labels, spacing)
    (lesion,) = measurement.lesions
    longest, width = brute_force(labels[:, :, lesion.slice] > 0, spacing)
    assert lesion.longest_mm == pytest.approx(longest, abs=1e-9)
    assert lesion.perpendicular_mm == pytest.approx(width, abs=1e-9)
    # Between voxel centres the diameters fall short of the axes by at most a voxel's diagonal.
    step = float(np.hypot(*spacing[:2]))
    assert 2 * semi_axes[0] - step <= lesion.longest_mm <= 2 * semi_axes[0]
    assert 2 * semi_axes[1] - step <= lesion.perpendicular_mm <= 2 * semi_axes[1] + step
    assert lesion.product_mm2 == pytest.approx(lesion.longest_mm * lesion.perpendicular_mm)
    assert lesion.measurable and lesion.target and measurement.sum_of_products_mm2 == lesion.product_mm2
    # The drawn ends are voxel coordinates on the measured slice, as long as the diameter.
    (x0, y0), (x1, y1) = lesion.longest_ends
    assert np.hypot((x1 - x0) * spacing[0], (y1 - y0) * spacing[1]) == pytest.approx(lesion.longest_mm)
    (x0, y0), (x1, y1) = lesion.perpendicular_ends
    assert np.hypot((x1 - x0) * spacing[0], (y1 - y0) * spacing[1]) == pytest.approx(lesion.perpendicular_mm)


def test_a_ring_with_necrosis_is_one_lesion_measured_across_its_core_and_edema_is_not_counted():
    shape = (70, 70, 20)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[ellipse(shape, (1, 1, 1), (35, 35), (30, 30))] = ED  # edema: never part of the lesion
    labels[ellipse(shape, (1, 1, 1), (35, 35), (16, 16))] = ET
    labels[ellipse(shape, (1, 1, 1), (35, 35), (12, 12))] = NCR
    (lesion,) = measure(labels, (1.0, 1.0, 1.0)).lesions
    assert 30.0 <= lesion.longest_mm <= 32.0 and 30.0 <= lesion.perpendicular_mm <= 32.5


def test_lesions_are_sorted_by_product_and_only_measurable_ones_are_targets():
    shape = (120, 120, 30)
    labels = np.zeros(shape, dtype=np.uint8)
    sizes = [(8.0, 6.0), (20.0, 15.0), (12.0, 10.0), (15.0, 8.0), (4.0, 3.0)]  # the last: 8 x 6 mm
    centres = [(20, 20), (60, 30), (95, 25), (30, 90), (90, 95)]
    for centre, axes in zip(centres, sizes, strict=True):
        labels[ellipse(shape, (1, 1, 1), centre, axes)] = ET
    measurement = measure(labels, (1.0, 1.0, 1.0))  # RANO 2.0: at most 3 targets
    products = [lesion.product_mm2 for lesion in measurement.lesions]
    assert products == sorted(products, reverse=True) and len(products) == 5
    small = measurement.lesions[-1]
    assert small.perpendicular_mm < MEASURABLE_MM and not small.measurable and not small.target
    assert sum(lesion.measurable for lesion in measurement.lesions) == 4
    assert [lesion.target for lesion in measurement.lesions] == [True, True, True, False, False]
    assert measurement.sum_of_products_mm2 == pytest.approx(sum(products[:3]))
    assert measure(labels, (1.0, 1.0, 1.0), rule="rano").sum_of_products_mm2 == pytest.approx(sum(products[:4]))
    record = measurement.as_dict()
    assert set(record["lesions"][0]) >= {"longest_mm", "perpendicular_mm", "product_mm2", "slice", "measurable"}
    assert record["targets"] == 3 and record["rule"]["name"] == "RANO 2.0"


def _lesion(radius_mm: float, et: bool = True) -> np.ndarray:
    labels = np.zeros((80, 80, 20), dtype=np.uint8)
    labels[ellipse(labels.shape, (1, 1, 1), (40, 40), (radius_mm, radius_mm))] = ET if et else NCR
    return labels


@pytest.mark.parametrize(
    ("follow_radius", "et", "bidimensional", "volumetric"),
    [
        (20.0, True, "stable disease", "stable disease"),
        (13.0, True, "partial response", "stable disease"),  # SPD -58 %, volume -58 %
        (11.0, True, "partial response", "partial response"),  # SPD -70 %, volume -70 %
        (23.0, True, "progression", "stable disease"),  # SPD +32 %, volume +32 %
        (25.0, True, "progression", "progression"),  # +56 %
        (20.0, False, "complete response", "complete response"),  # no enhancing tumor left
    ],
)
def test_response_categories_follow_the_stated_thresholds(follow_radius, et, bidimensional, volumetric):
    result = response(measure(_lesion(20.0), (1, 1, 1)), measure(_lesion(follow_radius, et), (1, 1, 1)))
    assert result["bidimensional"]["category"] == bidimensional
    assert result["volumetric"]["category"] == volumetric
    spd = result["sum_of_products_mm2"]
    assert spd["change_percent"] == pytest.approx(100 * (spd["follow_up"] - spd["baseline"]) / spd["baseline"])
    assert "RANO 2.0" in result["rule"] and "50%" in result["bidimensional"]["thresholds"]


def test_no_tumor_measures_nothing():
    empty = measure(np.zeros((10, 10, 10), dtype=np.uint8), (1, 1, 1))
    assert empty.lesions == () and empty.sum_of_products_mm2 == 0
    assert response(empty, empty)["bidimensional"]["category"] == "no measurable disease"
    assert response(empty, measure(_lesion(15.0), (1, 1, 1)))["bidimensional"]["category"] == "progression"


def test_a_voxel_joined_to_the_lesion_only_through_another_slice_does_not_stretch_its_diameter():
    shape = (80, 80, 20)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[ellipse(shape, (1, 1, 1), (30, 40), (12, 12))] = ET  # slices 10-13, 23 mm across
    labels[42:60, 40, 14] = ET  # a thin tail leaving the lesion's top slice (13) upwards ...
    labels[60, 40, 13] = ET  # ... that comes back down as a lone voxel on slice 13, 18 mm beyond the edge
    (lesion,) = measure(labels, (1.0, 1.0, 1.0)).lesions
    assert lesion.longest_mm < 25.0


def test_cli_measures_on_the_true_axial_plane_whatever_the_file_axis_order(tmp_path):
    import json
    import subprocess
    import sys

    import nibabel as nib

    canonical = np.zeros((60, 70, 30), dtype=np.uint8)  # RAS: X right, Y anterior, Z superior; 1 x 1 x 2 mm
    canonical[ellipse(canonical.shape, (1, 1, 2), (30, 35), (20, 11), degrees=20, z_range=(12, 16))] = 4  # ET
    # Stored as a sagittal acquisition: file axes (Z, Y, X) -> (superior, posterior, left).
    stored = np.ascontiguousarray(canonical.transpose(2, 1, 0)[:, ::-1, ::-1])
    affine = np.array([[0, 0, -1.0, 59], [0, -1.0, 0, 69], [2.0, 0, 0, 0], [0, 0, 0, 1]])
    nib.save(nib.Nifti1Image(stored, affine), tmp_path / "seg.nii.gz")
    command = [sys.executable, "-m", "brainseg.cli", "rano", "--seg", str(tmp_path / "seg.nii.gz")]
    result = subprocess.run([*command, "--json", str(tmp_path / "r.json")], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "r.json").read_text())
    expected = measure(np.where(canonical == 4, ET, 0).astype(np.uint8), (1.0, 1.0, 2.0)).lesions[0]
    (lesion,) = record["lesions"]
    assert lesion["longest_mm"] == pytest.approx(expected.longest_mm) and 38 <= lesion["longest_mm"] <= 40
    assert lesion["slice"] == expected.slice and record["sum_of_products_mm2"] == pytest.approx(expected.product_mm2)
    assert "| 1 | " in result.stdout and "sum of products of 1 target lesion(s)" in result.stdout
    # Two time points; a missing file is one clear line.
    follow = subprocess.run([*command, "--baseline", str(tmp_path / "seg.nii.gz")], capture_output=True, text=True)
    assert "bidimensional: stable disease" in follow.stdout and "+0.0%" in follow.stdout
    missing = subprocess.run([*command[:-1], str(tmp_path / "nope.nii.gz")], capture_output=True, text=True)
    assert missing.returncode == 2 and missing.stderr.startswith("error:") and "nope.nii.gz" in missing.stderr


def test_the_table_lists_the_largest_lesions_and_counts_the_rest():
    labels = np.zeros((100, 100, 12), dtype=np.uint8)
    labels[ellipse(labels.shape, (1, 1, 1), (50, 50), (20, 15), z_range=(4, 8))] = ET
    for i in range(10):  # ten one-voxel specks far from it and from each other
        labels[5 + 9 * i, 5, 2] = ET
    measurement = measure(labels, (1.0, 1.0, 1.0))
    from brainseg.metrics.rano import format_measurement

    text = format_measurement(measurement, rows=3)
    assert text.count("\n| ") == 3 and "8 more lesion(s), 0 of them measurable, 0.01 mL in all" in text
    assert len(measurement.as_dict()["lesions"]) == 11


REAL_TRAIN = __import__("pathlib").Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real-train"


@pytest.mark.skipif(not REAL_TRAIN.is_dir(), reason=f"{REAL_TRAIN} is absent")
@pytest.mark.parametrize("name", ["Brats18_CBICA_ABM_1", "Brats18_TCIA02_135_1"])
def test_real_truths_measure_as_the_brute_force_does_on_the_measured_slice(name):
    from scipy import ndimage

    from brainseg.io import load_case

    case = load_case(REAL_TRAIN / name)
    (lesion, *_rest) = measure(case.truth, case.spacing).lesions
    core = np.isin(case.truth, (NCR, ET))
    components, _ = ndimage.label(core, structure=np.ones((3, 3, 3), bool))
    x, y = (round(v) for v in lesion.longest_ends[0])
    section = components[:, :, lesion.slice] == components[x, y, lesion.slice]
    pieces, _ = ndimage.label(section, structure=np.ones((3, 3), bool))
    largest = pieces == np.argmax(np.bincount(pieces.ravel())[1:]) + 1
    longest, width = brute_force(largest, case.spacing)
    assert lesion.longest_mm == pytest.approx(longest) and lesion.perpendicular_mm == pytest.approx(width)
    # No other axial slice of the lesion has a longer diameter (brute force on each slice's largest piece).
    mask = components == components[x, y, lesion.slice]
    for z in np.flatnonzero(mask.any(axis=(0, 1)))[::4]:
        pieces, count = ndimage.label(mask[:, :, z], structure=np.ones((3, 3), bool))
        piece = pieces == np.argmax(np.bincount(pieces.ravel())[1:]) + 1 if count > 1 else mask[:, :, z]
        points = np.argwhere(piece) * np.asarray(case.spacing[:2])
        if 1 < len(points) < 1500:  # (a larger piece's pairs would take long; the slices sampled suffice)
            farthest = np.max(np.linalg.norm(points[:, None] - points[None], axis=-1))
            assert farthest <= lesion.longest_mm + 1e-9
