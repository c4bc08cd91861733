"""Every bundled demo checkpoint on cases it never saw: a held-out synthetic case and the two real ones.

The thresholds sit well below what each checkpoint measured (docs/checkpoints.md) so that a
re-export or a library update does not flap them, and well above what an untrained or broken model gets
(Dice ~0 to 0.3, tumor everywhere or nowhere). Where a checkpoint is known to fall short on a real case
(its model card's limitations), the test checks what it does get right and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from brainseg.evaluation.model_table import TEST_SEED
from brainseg.hub import load_checkpoint
from brainseg.hub.sources import BUNDLED_DIR
from brainseg.inference.segmenter import DEFAULT_MODEL, Segmenter
from brainseg.io import load_case
from brainseg.labels import region_mask
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.synth import write_cases
from tests.casefiles import REAL_CASES, real_case_folder

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@dataclass(frozen=True)
class Expected:
    """Lower bounds for one checkpoint: held-out synthetic Dice per region, real-case whole-tumor volume (mL).

    A real case mapped to None is a known miss, stated in the checkpoint's card: only the sanity checks
    (nested regions, no runaway volume) apply there. ``aurora_cyst_ml`` bounds the necrosis (NCR) marked
    on the AURORA metastasis, whose ~37 mL cyst it is; None where the card says the cyst is missed.
    """

    dice: dict[str, float]
    real_wt_ml: dict[str, float | None]
    aurora_cyst_ml: float | None = None


EXPECTED = {
    # Fine-tuned on the 18 real cases of ../shared/data/real-train (tests/inference/test_bundled_real_truth.py):
    # TEST_SEED + 7 (generator v5) WT 0.937, TC 0.926, ET 0.865; real WT 134 / 143 mL, the AURORA cyst as 34 mL
    # of necrosis. The synthetic-only checkpoint before it: 0.964 / 0.917 / 0.926, real WT 107 / 102 mL.
    # Every checkpoint was retrained on v5 cases (the v2-trained default scored WT 0.872 here, 4.0 of its
    # 6.6 mL of false positives within 3 mm of v5's full-size dural sinuses; the first v5 default, 64
    # cases without slab cuts, 0.959 / 0.894 / 0.900 and real WT 90 / 105 mL; the 192-case one before its
    # 96^3 fine-tune 0.953 / 0.822 / 0.881 and 95 / 99 mL).
    "clip-unet3d": Expected(
        {"WT": 0.9, "TC": 0.85, "ET": 0.8}, {"AURORA-example": 115, "BraTS-GLI-00001-000": 115}, aurora_cyst_ml=25
    ),
    # Retrained on v5 cases, then fine-tuned on generator-v6 cases (larger, T2-brighter metastasis-like cysts).
    # TEST_SEED + 7: WT 0.878, TC 0.778, ET 0.708 (before the fine-tune 0.874 / 0.811 / 0.700, the v2-trained
    # one 0.722 / 0.592 / 0.536); real WT 73 / 95 mL, the AURORA cyst as 37 mL of necrosis (before: WT 44 / 94,
    # the cyst missed); it also calls ~14 mL of the BraTS edema necrosis (its card says so).
    "sam-dmif": Expected(
        {"WT": 0.8, "TC": 0.7, "ET": 0.6}, {"AURORA-example": 55, "BraTS-GLI-00001-000": 70}, aurora_cyst_ml=25
    ),
    # Retrained on v5 cases, fine-tuned on generator-v6 cases, its text encoder taught the regions
    # (--pretrain-text), fine-tuned twice more. TEST_SEED + 7: WT 0.963, TC 0.912, ET 0.932 (before: 0.960 /
    # 0.900 / 0.838, the v1-trained one 0.791 / 0.645 / 0.606); real WT 53 / 76 mL, 31 mL of the AURORA cyst as
    # necrosis, most of both enhancing rims labelled necrosis too (its card says so; before: WT 40 / 86 mL,
    # the AURORA cyst missed and the BraTS core called edema).
    "film-unet2d": Expected(
        {"WT": 0.85, "TC": 0.8, "ET": 0.8}, {"AURORA-example": 40, "BraTS-GLI-00001-000": 60}, aurora_cyst_ml=20
    ),
    # Retrained on v5 cases, then fine-tuned twice on generator-v6 cases (the second time half metastasis-like).
    # TEST_SEED + 7: WT 0.968, TC 0.899, ET 0.980 (before the fine-tunes 0.869 / 0.789 / 0.933, the v3-trained one
    # 0.850 / 0.740 / 0.786); real WT 60 / 82 mL, 23 mL of the AURORA cyst as necrosis, its upper part unlabelled
    # (its card says so; before: WT 50 / 77 mL, the cyst called edema).
    "msfen": Expected(
        {"WT": 0.85, "TC": 0.75, "ET": 0.85}, {"AURORA-example": 45, "BraTS-GLI-00001-000": 60}, aurora_cyst_ml=15
    ),
    # Retrained on v5 cases, then fine-tuned on 96^3 patches. TEST_SEED + 7: WT 0.964, TC 0.926, ET 0.917
    # (before the fine-tune 0.854 / 0.923 / 0.913; the v1-trained one 0.427 / 0.691 / 0.677, 18 mL on the
    # sinuses); real WT 79 / 92 mL, nothing on the sinuses (before: 92 / 108 mL, 9.8 mL on the sagittal sinus).
    "unet3d": Expected(
        {"WT": 0.8, "TC": 0.75, "ET": 0.75}, {"AURORA-example": 60, "BraTS-GLI-00001-000": 70}, aurora_cyst_ml=25
    ),
    # Retrained on v5 cases with a fifth of its patches on sinus-like tissue, then fine-tuned on 96^3 patches.
    # TEST_SEED + 7: WT 0.900, TC 0.915, ET 0.913 (before the fine-tune 0.943 / 0.925 / 0.931, the v2-trained one
    # 0.630 / 0.641 / 0.655); real WT 89 / 103 mL (before 69 / 89), nothing on the sinuses (v2-trained: 25 mL).
    "tritier-film": Expected(
        {"WT": 0.85, "TC": 0.8, "ET": 0.8}, {"AURORA-example": 60, "BraTS-GLI-00001-000": 70}, aurora_cyst_ml=25
    ),
}
BUNDLED = sorted(p.name for p in BUNDLED_DIR.iterdir() if (p / "model.safetensors").is_file())


def test_every_bundled_checkpoint_has_expectations_and_the_default_is_bundled():
    assert DEFAULT_MODEL in BUNDLED
    assert set(BUNDLED) == set(EXPECTED), "a bundled checkpoint needs its row in EXPECTED"
    total = sum(f.stat().st_size for f in BUNDLED_DIR.parent.rglob("*") if f.is_file())
    assert total < 60 * 2**20, f"assets/ is {total / 2**20:.1f} MiB"


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request) -> tuple[str, Segmenter]:
    return request.param, Segmenter(request.param, "cpu")


def test_bundled_checkpoint_is_small_and_says_what_it_is(bundled):
    variant, _ = bundled
    folder = BUNDLED_DIR / variant
    assert (folder / "model.safetensors").stat().st_size < 10 * 2**20
    loaded = load_checkpoint(variant)
    assert loaded.model.config.variant == variant and loaded.metadata["storage_dtype"] == "float16"
    assert loaded.metadata["training"]["steps"] > 0 and "synthetic" in loaded.metadata["training"]["data"]
    card = (folder / "README.md").read_text()
    assert "Not for clinical use" in card and f"brainseg train --model {variant}" in card
    assert "## Limitations" in card and "held-out" in card


@pytest.fixture(scope="module")
def held_out_case(tmp_path_factory):
    folder = write_cases(tmp_path_factory.mktemp("held-out"), 1, TEST_SEED + 7)[0]  # no training or validation seed
    return load_case(folder)


def test_held_out_synthetic_case(bundled, held_out_case):
    variant, segmenter = bundled
    result = segmenter.segment(held_out_case, None)
    scores = {
        region: dice(confusion_counts(region_mask(result.labels, region), region_mask(held_out_case.truth, region)))
        for region in ("WT", "TC", "ET")
    }
    assert all(scores[r] > EXPECTED[variant].dice[r] for r in scores), (variant, scores)


@pytest.mark.parametrize("name", sorted(REAL_CASES))
def test_real_case_tumor_is_found_in_the_left_hemisphere(bundled, name):
    # Both real cases have one tumor, in the left hemisphere (seen on their FLAIR and T1ce): the WT is a
    # plausible size and its centre lies left of the midline (canonical RAS: x grows to the right).
    variant, segmenter = bundled
    case = load_case(real_case_folder(name), read_truth=False)
    result = segmenter.segment(case, None)
    volumes = result.volumes_ml(case.spacing)
    assert volumes["ET"] <= volumes["TC"] <= volumes["WT"] < 400, volumes
    minimum = EXPECTED[variant].real_wt_ml[name]
    if minimum is None:
        return  # a known miss (see the card)
    assert volumes["WT"] > minimum, volumes
    assert volumes["ET"] > 0, volumes
    cyst_minimum = EXPECTED[variant].aurora_cyst_ml
    if name == "AURORA-example" and cyst_minimum is not None:
        assert volumes["NCR"] > cyst_minimum, volumes
    tumor = np.argwhere(region_mask(result.labels, "WT"))
    brain = np.argwhere(case.images[1] > 0)
    midline = (brain[:, 0].min() + brain[:, 0].max()) / 2
    assert tumor[:, 0].mean() < midline - 10, (tumor[:, 0].mean(), midline)
