"""Input checks: each fires on a file made to fail it (from the bundled example case), names the file and
what to do, and stays quiet on the real cases of ../shared/data."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage as ndi

from brainseg.io import load_case
from brainseg.preprocess.input_checks import case_input_warnings
from brainseg.preprocess.registration import register_case

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "assets" / "examples" / "BrainSeg-Synth-001"
SHARED = ROOT.parent / "shared" / "data"
REAL_CASES = sorted(p for folder in ("real", "real-train") for p in (SHARED / folder).glob("*/") if p.is_dir())
SUFFIX = {"T1": "t1", "T1ce": "t1ce", "T2": "t2", "FLAIR": "flair"}


@pytest.fixture(scope="module")
def example():
    """The example case's four sequences, (X, Y, Z) RAS, cropped around the brain (faster checks), and affine."""
    case = load_case(EXAMPLE)
    images = {name: case.image(name) for name in SUFFIX}
    brain = np.logical_or.reduce([image > 0 for image in images.values()])
    box = tuple(slice(max(int(a.min()) - 12, 0), int(a.max()) + 13) for a in np.nonzero(brain))
    return {name: image[box].copy() for name, image in images.items()}, case.affine


def write_case(folder: Path, images: dict[str, np.ndarray], affine: np.ndarray) -> Path:
    folder.mkdir(parents=True)
    for name, image in images.items():
        nib.save(nib.Nifti1Image(image.astype(np.float32), affine), folder / f"made_{SUFFIX[name]}.nii.gz")
    return folder


def warnings_of(tmp_path: Path, images: dict[str, np.ndarray], affine: np.ndarray) -> list[str]:
    return case_input_warnings(load_case(write_case(tmp_path / "made", images, affine)))


def test_the_example_case_is_quiet(example, tmp_path):
    assert warnings_of(tmp_path, *example) == []


@pytest.mark.skipif(not REAL_CASES, reason="../shared/data/real and real-train are not here")
def test_every_real_case_is_quiet():
    loud = {p.name: w for p in REAL_CASES if (w := case_input_warnings(load_case(p)))}
    assert len(REAL_CASES) >= 2 and loud == {}


def test_a_shifted_sequence_is_misregistered_and_register_fixes_it(example, tmp_path):
    images, affine = example
    shifted = dict(images, T1ce=np.roll(images["T1ce"], 6, axis=0))
    case = load_case(write_case(tmp_path / "made", shifted, affine))
    (line,) = case_input_warnings(case)
    assert line.startswith("made_t1ce.nii.gz (T1ce) looks misregistered to FLAIR")
    assert "once moved 6 mm (X -6 mm)" in line and "--register" in line
    registered = register_case(case)
    assert case_input_warnings(registered) == []
    (done,) = [w for w in registered.warnings if w.startswith("registered made_t1ce.nii.gz (T1ce) to FLAIR: moved ")]
    assert 5.5 < float(done.split("moved ")[1].split(" mm")[0]) < 6.5  # the 6 mm roll (ITK's sampling varies)
    brain = images["T1ce"] > 0
    before = np.corrcoef(images["T1ce"][brain], case.image("T1ce")[brain])[0, 1]
    after = np.corrcoef(images["T1ce"][brain], registered.image("T1ce")[brain])[0, 1]
    assert before < 0.8 < 0.95 < after
    assert registered.images is not case.images and np.array_equal(case.image("FLAIR"), images["FLAIR"])


def test_a_bright_ring_around_the_brain_is_not_skull_stripped(example, tmp_path):
    images, affine = example
    brain = np.logical_or.reduce([image > 0 for image in images.values()])
    skull = ndi.binary_dilation(brain, iterations=5)
    scalp = ndi.binary_dilation(skull, iterations=5) & ~skull  # fat: brighter than any brain tissue
    headed = {}
    for name, image in images.items():
        head = image.copy()
        head[skull & ~brain] = 0.05 * np.median(image[brain])  # bone: nearly dark
        head[scalp] = 1.4 * np.percentile(image[brain], 99)
        headed[name] = head
    (line,) = warnings_of(tmp_path, headed, affine)
    assert line.startswith("made_t1.nii.gz (T1) has a bright ring outside the brain")
    assert "not skull-stripped" in line and "brain extraction" in line


def test_a_noisy_background_is_not_skull_stripped(example, tmp_path):
    images, affine = example
    rng = np.random.default_rng(0)
    noisy = {name: np.where(image > 0, image, rng.uniform(1, 20, image.shape)) for name, image in images.items()}
    (line,) = warnings_of(tmp_path, noisy, affine)
    assert line.startswith("100% of the volume is nonzero: the images look not skull-stripped")


def test_a_t2_given_as_flair_has_bright_csf(example, tmp_path):
    images, affine = example
    (line,) = warnings_of(tmp_path, dict(images, FLAIR=images["T2"]), affine)
    assert line.startswith("made_flair.nii.gz (FLAIR) has bright CSF") and "looks like a T2" in line


def test_a_t1_given_as_t1ce_shows_no_contrast_uptake(example, tmp_path):
    images, affine = example
    rng = np.random.default_rng(1)
    t1 = images["T1"]
    copy = np.where(t1 > 0, t1 * 1.3 + rng.normal(0, 0.02 * t1[t1 > 0].std(), t1.shape), 0)
    (line,) = warnings_of(tmp_path, dict(images, T1ce=copy), affine)
    assert line.startswith("made_t1ce.nii.gz (T1ce) shows no contrast uptake relative to T1")


def test_swapped_t1_and_t1ce_are_named(example, tmp_path):
    images, affine = example
    (line,) = warnings_of(tmp_path, dict(images, T1=images["T1ce"], T1ce=images["T1"]), affine)
    assert line.startswith("made_t1ce.nii.gz (T1ce) is darker than made_t1.nii.gz (T1)") and "swapped" in line


def test_checks_run_on_a_subset_of_the_sequences(example, tmp_path):
    images, affine = example
    flair_only = {"FLAIR": images["FLAIR"]}
    assert warnings_of(tmp_path, flair_only, affine) == []
    shifted = {"T2": images["T2"], "FLAIR": np.roll(images["FLAIR"], -8, axis=1)}
    (line,) = warnings_of(tmp_path / "2", shifted, affine)
    assert line.startswith("made_t2.nii.gz (T2) looks misregistered") and "once moved 8 mm (Y -8 mm)" in line
