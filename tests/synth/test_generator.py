"""generate_case: determinism, grid, contrast orderings, tumor labels, skull strip, randomized mode."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi
from scipy import stats

from brainseg.labels import ED, ET, NCR
from brainseg.synth import SEQUENCES, brats_affine, generate_case
from brainseg.synth.measure import blood_like, blood_like_mask, shading_correlations, truth_classes
from brainseg.synth.tumor import METASTASIS_WHOLE_TUMOR_ML
from tests.synth.conftest import SMALL

CSF, GM, WM = 1, 2, 3  # SyntheticCase.tissue_labels codes


def healthy_median(case, sequence: str, tissue: int) -> float:
    """Median of ``sequence`` over tumor-free voxels whose dominant tissue is ``tissue``."""
    where = (case.tissue_labels == tissue) & (case.labels == 0)
    return float(np.median(case.images[sequence][where]))


def all_cases(small_cases, full_case):
    return [*small_cases.values(), full_case]


def test_same_seed_gives_byte_identical_arrays(small_cases):
    again = generate_case(3, shape=SMALL)
    first = small_cases[3]
    for seq in SEQUENCES:
        assert again.images[seq].tobytes() == first.images[seq].tobytes()
    assert again.labels.tobytes() == first.labels.tobytes()
    assert again.meta == first.meta


def test_different_seeds_give_different_cases(small_cases):
    a, b = small_cases[0], small_cases[1]
    assert not np.array_equal(a.labels, b.labels)
    assert not np.array_equal(a.images["T1"], b.images["T1"])
    assert a.meta["tumor_centers_voxel"] != b.meta["tumor_centers_voxel"]


def test_full_size_grid_dtype_and_lps_affine(full_case):
    assert set(full_case.images) == {"T1", "T1ce", "T2", "FLAIR"}
    for image in full_case.images.values():
        assert image.shape == (240, 240, 155)
        assert image.dtype == np.float32
    assert full_case.labels.shape == (240, 240, 155)
    assert full_case.labels.dtype == np.uint8
    expected = np.array([[-1, 0, 0, 0], [0, -1, 0, 239], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=float)
    np.testing.assert_array_equal(full_case.affine, expected)
    assert nib.aff2axcodes(full_case.affine) == ("L", "P", "S")


def test_small_grid_keeps_the_field_of_view():
    affine = brats_affine(SMALL)
    assert nib.aff2axcodes(affine) == ("L", "P", "S")
    np.testing.assert_allclose(nib.affines.voxel_sizes(affine), [2.5, 2.5, 155 / 62])


def test_images_are_whole_numbers_in_int16_range(full_case):
    for image in full_case.images.values():
        assert image.min() >= 0 and image.max() <= 32767
        np.testing.assert_array_equal(image, np.rint(image))


def test_voxel_axes_run_posterior_and_superior(full_case):
    # Axis 1 runs to Posterior and axis 2 to Superior: the lowest part of the brain (cerebellum and
    # brainstem) lies behind the brain's centre, at higher axis-1 indices. A RAS-ordered array would put
    # it at lower indices. (The MNI152 2009 symmetric template has no left-right anatomy to check.)
    y, z = np.nonzero(full_case.brain_mask.any(axis=0))
    lowest = y[z < z.min() + 10]
    assert lowest.mean() > y.mean() + 10
    x = np.nonzero(full_case.brain_mask.any(axis=(1, 2)))[0]
    assert 105 < (x[0] + x[-1]) / 2 < 135  # centred left-right, as in BraTS


@pytest.mark.parametrize("seq,order", [("T1", (WM, GM, CSF)), ("T1ce", (WM, GM, CSF)), ("T2", (CSF, GM, WM))])
def test_tissue_ordering(small_cases, full_case, seq, order):
    for case in all_cases(small_cases, full_case):
        medians = [healthy_median(case, seq, t) for t in order]
        assert medians[0] > medians[1] > medians[2], (case.meta["seed"], seq, medians)


def local_ratio(case, sequence: str, tissue: int, reference: int, block_mm: float = 20.0) -> float:
    """Median over ``block_mm`` cubes of (median of ``tissue`` / median of ``reference``) in the cube.

    Grey matter lies outside white matter, so a slow bias field (up to +-25 % over 70 mm) can tip the
    whole-brain medians of the two; within a cube the field is nearly constant.
    """
    step = max(2, round(block_mm / nib.affines.voxel_sizes(case.affine)[0]))
    image, tissues = case.images[sequence], truth_classes(case.tissue_labels, case.labels, case.brain_mask)
    ratios = []
    for corner in np.ndindex(*(int(np.ceil(n / step)) for n in image.shape)):
        box = tuple(slice(c * step, (c + 1) * step) for c in corner)
        a, b = image[box][tissues[box] == tissue], image[box][tissues[box] == reference]
        if a.size >= 20 and b.size >= 20:
            ratios.append(np.median(a) / np.median(b))
    return float(np.median(ratios))


def test_flair_suppresses_csf_and_shows_grey_above_white(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        csf, wm = (healthy_median(case, "FLAIR", t) for t in (CSF, WM))
        assert csf < 0.7 * wm, (case.meta["seed"], csf, wm)
        assert local_ratio(case, "FLAIR", GM, WM) > 1.0, case.meta["seed"]


def test_enhancing_tumor_is_bright_on_t1ce(small_cases, full_case):
    checked = 0
    for case in all_cases(small_cases, full_case):
        et = case.labels == ET
        if not et.any():
            continue
        core = np.isin(case.labels, (NCR, ET))
        around = ndi.binary_dilation(core, iterations=2) & ~core & case.brain_mask
        t1ce = case.images["T1ce"]
        assert np.median(t1ce[et]) > 1.4 * np.median(t1ce[around]), case.meta["seed"]
        # Contrast uptake, not a T1-bright lesion: on plain T1 the rim stands out far less.
        t1 = case.images["T1"]
        on_t1 = np.median(t1[et]) / np.median(t1[around])
        assert np.median(t1ce[et]) / np.median(t1ce[around]) > on_t1 + 0.4, case.meta["seed"]
        checked += 1
    assert checked >= 5


def nearby_median(case, sequence: str, region: np.ndarray, tissue: int, mm: float = 12.0) -> float:
    """Median of ``sequence`` over healthy ``tissue`` voxels within ``mm`` of ``region``.

    Local, so that a strong bias field (up to +-25 %) cannot decide the comparison.
    """
    reach = max(1, round(mm / nib.affines.voxel_sizes(case.affine)[0]))
    near = ndi.binary_dilation(region, iterations=reach) & (case.labels == 0) & (case.tissue_labels == tissue)
    return float(np.median(case.images[sequence][near]))


def test_edema_is_bright_on_flair_and_t2(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        edema = case.labels == ED
        flair, t2 = (float(np.median(case.images[s][edema])) for s in ("FLAIR", "T2"))
        assert flair > 1.4 * nearby_median(case, "FLAIR", edema, WM), case.meta["seed"]
        assert flair > 1.2 * nearby_median(case, "FLAIR", edema, GM), case.meta["seed"]
        assert t2 > 1.4 * nearby_median(case, "T2", edema, WM), case.meta["seed"]


def test_labels_are_internal_values_inside_the_brain(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        assert set(np.unique(case.labels)) <= {0, NCR, ED, ET}
        assert not np.any(case.labels[~case.brain_mask])


def test_tumor_core_is_wrapped_in_edema(small_cases, full_case):
    # Sub-regions nest: outside the core (NCR + ET) comes edema, not healthy tissue, except where the
    # core meets CSF or the brain's edge, which tumors do not grow into.
    for case in all_cases(small_cases, full_case):
        core = np.isin(case.labels, (NCR, ET))
        border = ndi.binary_dilation(core) & ~core
        healthy_tissue = border & (case.labels == 0) & (case.tissue_labels > CSF)
        assert healthy_tissue.sum() <= 0.01 * border.sum(), case.meta["seed"]


def test_necrosis_sits_inside_the_enhancing_rim(full_case):
    assert full_case.meta["enhancing"]
    ncr = full_case.labels == NCR
    border = ndi.binary_dilation(ncr) & ~ncr
    assert np.mean(full_case.labels[border] == ET) > 0.6


def test_non_enhancing_tumor_has_no_et(small_cases):
    lgg = [c for c in small_cases.values() if not c.meta["enhancing"]]
    assert lgg, "the seeds should include a non-enhancing case"
    for case in lgg:
        assert not np.any(case.labels == ET)
        assert np.any(case.labels == NCR) and np.any(case.labels == ED)


def test_meta_volumes_match_the_labels(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        voxel_ml = np.prod(nib.affines.voxel_sizes(case.affine)) / 1000
        counts = np.bincount(case.labels.ravel(), minlength=4)
        volumes = case.meta["tumor_volume_ml"]
        assert volumes["WT"] == pytest.approx(counts[1:].sum() * voxel_ml, abs=0.01)
        assert volumes["TC"] == pytest.approx((counts[NCR] + counts[ET]) * voxel_ml, abs=0.01)
        assert volumes["ET"] == pytest.approx(counts[ET] * voxel_ml, abs=0.01)
        assert 1.0 <= volumes["WT"] <= 165.0
        assert volumes["TC"] < volumes["WT"]


def test_whole_tumor_volume_follows_the_plan(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        planned = sum(case.meta["planned_whole_tumor_ml"])
        assert 0.7 * planned <= case.meta["tumor_volume_ml"]["WT"] <= 1.15 * planned, case.meta["seed"]


def test_multifocal_case_has_separate_foci(full_case):
    assert full_case.meta["multifocal"] and full_case.meta["n_foci"] == 3
    pieces = ndi.label(full_case.labels > 0)[0]
    sizes = np.bincount(pieces.ravel())[1:]
    assert np.sum(sizes * 0.001 >= 0.5) >= 2  # at least two foci of 0.5 mL or more


def test_skull_stripped_zero_outside_brain(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        outside = ~case.brain_mask
        for seq, image in case.images.items():
            assert not np.any(image[outside]), seq
            assert np.mean(image[case.brain_mask] > 0) > 0.99, seq
        # Like BraTS, the brain sits well inside the grid: the outer 8 mm of x and y are empty.
        assert not case.brain_mask[:3].any() and not case.brain_mask[-3:].any()
        assert not case.brain_mask[:, :3].any() and not case.brain_mask[:, -3:].any()
        assert not case.brain_mask[:, :, -2:].any()  # the top of the head is inside the grid


def test_brain_volume_is_adult_sized(small_cases, full_case):
    for case in all_cases(small_cases, full_case):
        assert 1200 < case.meta["brain_ml"] < 1750


def test_domain_randomized_changes_contrast_not_anatomy(small_cases, small_randomized_cases):
    signs = []
    for seed, randomized in small_randomized_cases.items():
        realistic = small_cases[seed]
        # Geometry and tumor come from their own random streams: the same seed gives the same truth.
        np.testing.assert_array_equal(randomized.labels, realistic.labels)
        assert randomized.meta["domain_randomized"] and not realistic.meta["domain_randomized"]
        for seq in SEQUENCES:
            assert not np.array_equal(randomized.images[seq], realistic.images[seq])
        signs.append(healthy_median(randomized, "T1", GM) > healthy_median(randomized, "T1", WM))
        # The contrasts that define the BraTS regions survive randomization.
        et = randomized.labels == ET
        if et.any():
            assert np.median(randomized.images["T1ce"][et]) > healthy_median(randomized, "T1ce", WM)
        edema = randomized.labels == ED
        flair_wm = healthy_median(randomized, "FLAIR", WM)
        assert np.median(randomized.images["FLAIR"][edema]) > flair_wm
    # Random per-class intensities: the T1 grey/white order is not fixed any more.
    assert any(signs) and not all(signs)


@pytest.mark.parametrize("domain_randomized", [False, True])
def test_metastasis_keeps_the_head_and_grows_a_cyst_with_an_enhancing_rim(small_cases, domain_randomized):
    for seed in (0, 2, 5):
        glioma = (
            small_cases[seed] if not domain_randomized else generate_case(seed, shape=SMALL, domain_randomized=True)
        )
        metastasis = generate_case(seed, shape=SMALL, lesion="metastasis", domain_randomized=domain_randomized)
        assert (glioma.meta["lesion"], metastasis.meta["lesion"]) == ("glioma", "metastasis")
        # Same head (the mass effect may push tissue differently); the volume is redrawn, the foci stay.
        assert np.mean((metastasis.tissue_labels > 0) == (glioma.tissue_labels > 0)) > 0.99
        planned = metastasis.meta["planned_whole_tumor_ml"]
        assert len(planned) == len(glioma.meta["planned_whole_tumor_ml"])
        assert METASTASIS_WHOLE_TUMOR_ML[0] - 0.1 <= sum(planned) <= METASTASIS_WHOLE_TUMOR_ML[1] + 0.1
        assert metastasis.meta["enhancing"] and (metastasis.labels == ET).any()
        cyst, csf = metastasis.labels == NCR, (metastasis.tissue_labels == CSF) & (metastasis.labels == 0)
        assert cyst.any() and metastasis.meta["core_solid_share"] == 0.0  # all fluid or necrosis, no solid tumor
        # Fluid: up to the case's own CSF on T2 (three quarters of it when proteinaceous), under the rim on T1ce.
        # (Most CSF voxels of the 2.5 mm grid are partial volume: the 90th percentile is the pure fluid.)
        t2_cyst, t2_csf = np.median(metastasis.images["T2"][cyst]), np.percentile(metastasis.images["T2"][csf], 90)
        assert 0.5 * t2_csf < t2_cyst < 1.3 * t2_csf
        t1ce = metastasis.images["T1ce"]
        assert np.median(t1ce[cyst]) < np.median(t1ce[metastasis.labels == ET])
        if not domain_randomized:
            assert np.median(t1ce[cyst]) < healthy_median(metastasis, "T1ce", WM)


def test_low_grade_keeps_the_glioma_plan_without_enhancement(small_cases):
    for seed in (0, 2, 5):
        glioma, low_grade = small_cases[seed], generate_case(seed, shape=SMALL, lesion="low-grade")
        assert low_grade.meta["lesion"] == "low-grade" and not low_grade.meta["enhancing"]
        assert low_grade.meta["planned_whole_tumor_ml"] == glioma.meta["planned_whole_tumor_ml"]
        assert np.mean((low_grade.tissue_labels > 0) == (glioma.tissue_labels > 0)) > 0.99
        core = low_grade.labels == NCR
        assert core.any() and (low_grade.labels == ED).any() and not (low_grade.labels == ET).any()
        # The non-enhancing core: FLAIR-bright, and on T1ce at most a little brighter than white matter
        # (the real glioma's solid core: 1.05), never like enhancing tumor (>= 1.35).
        assert low_grade.meta["core_solid_share"] == 1.0
        assert np.median(low_grade.images["FLAIR"][core]) > 1.3 * healthy_median(low_grade, "FLAIR", WM)
        assert np.median(low_grade.images["T1ce"][core]) < 1.2 * healthy_median(low_grade, "T1ce", WM)


def test_enhancing_glioma_core_mixes_necrosis_and_solid_tumor(small_cases):
    # Label NCR covers necrosis and solid non-enhancing tumor (classes NCR and NET, each with its own mean per
    # case). Across cases, the core's median (over nearby white matter: the bias field varies +-25 % across the
    # brain) follows the mix of the two means that the case drew; blur, rim and edema partial volume and
    # texture blur it on the 2.5 mm grid, hence a rank correlation rather than a tolerance.
    shares, expected, observed = [], {"T1ce": [], "T2": []}, {"T1ce": [], "T2": []}
    for case in small_cases.values():
        core = case.labels == NCR
        if not case.meta["enhancing"] or core.sum() < 50:
            continue
        share = case.meta["core_solid_share"]
        shares.append(share)
        for seq in expected:
            means = case.meta["contrast"][seq]["means"]
            expected[seq].append(share * means["NET"] + (1 - share) * means["NCR"])
            observed[seq].append(np.median(case.images[seq][core]) / nearby_median(case, seq, core, WM, mm=20.0))
    assert min(shares) < 0.3 and max(shares) > 0.7 and len(shares) >= 5, shares
    for seq in expected:
        rho = stats.spearmanr(expected[seq], observed[seq]).statistic
        assert rho > 0.6, (seq, shares, expected[seq], observed[seq])


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="lesion must be one of glioma, metastasis, low-grade"):
        generate_case(0, lesion="meningioma")
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        generate_case(-1)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        generate_case(1.5)
    with pytest.raises(ValueError, match="shape must be three integers"):
        generate_case(0, shape=(240, 240))
    with pytest.raises(ValueError, match="shape must be three integers"):
        generate_case(0, shape=(8, 8, 8))


def test_realistic_shading_is_shared_across_sequences_as_on_real_scans(small_cases):
    # On the two real cases the white matter's slow shading correlates 0.89-0.94 between T2 and FLAIR,
    # 0.57-0.88 between T1 and FLAIR and 0.46-0.59 between T1 and T1ce (one receive coil for all four);
    # independent fields per sequence (generator v2) gave medians -0.2 to 0.06 over these seeds, and
    # T1-versus-T1ce shading that a network took for tumor.
    found = {"T2~FLAIR": [], "T1~FLAIR": [], "T1~T1ce": []}
    for case in small_cases.values():
        classes = truth_classes(case.tissue_labels, case.labels, case.brain_mask)  # tumor is class 4, not WM
        voxel_mm = float(nib.affines.voxel_sizes(case.affine)[0])
        correlations = shading_correlations(case.images, classes, voxel_mm=voxel_mm)
        for pair, values in found.items():
            values.append(correlations[pair])
    assert np.median(found["T2~FLAIR"]) > 0.7, found
    assert np.median(found["T1~FLAIR"]) > 0.4, found
    assert np.median(found["T1~T1ce"]) > 0.3, found


def test_dural_sinuses_look_like_the_real_cases_blood(full_case):
    """Measured like the real cases (tests/synth/test_measure.py): 12-18 mL there, T1ce 2.3, T2 0.5-0.7,
    FLAIR 0.4-0.55 x WM. Up to generator v4 the synthetic sinus gave 3-5 mL at 1.8 / 0.9 / 0.8."""
    classes = np.where(full_case.labels > 0, 4, full_case.tissue_labels).astype(np.uint8)
    out = blood_like(full_case.images, classes)
    assert 8 < out["ml"] < 30 and out["largest_ml"] > 0.6 * out["ml"], out
    assert out["T1ce"] > 2.0 and out["T2"] < 0.8 and out["FLAIR"] < 0.8, out
    # The system reaches from the vertex down to the transverse sinuses, 4-6 cm either side of the midline.
    blood = blood_like_mask(full_case.images, classes)
    pieces, _ = ndi.label(blood, structure=np.ones((3, 3, 3)))
    system = pieces == np.argmax(np.bincount(pieces[blood]))
    idx = np.argwhere(system)
    brain = np.argwhere(full_case.brain_mask)
    assert idx[:, 2].max() > brain[:, 2].max() - 10 and idx[:, 2].min() < brain[:, 2].mean() - 20
    assert np.ptp(idx[:, 0]) > 80  # left to right across the back of the head (1 mm voxels)
