"""The bundled default checkpoint on cases it never saw: a held-out synthetic case and the two real ones.

The thresholds sit well below what the checkpoint measured (README, "Demo checkpoints") so that a
re-export or a library update does not flap them, and well above what an untrained or broken model gets
(Dice ~0 to 0.3, tumor everywhere or nowhere).
"""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.hub import load_checkpoint
from brainseg.hub.sources import BUNDLED_DIR
from brainseg.inference.segmenter import DEFAULT_MODEL, Segmenter
from brainseg.io import load_case
from brainseg.labels import region_mask
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.synth import write_cases
from brainseg.training.evaluate_model import TEST_SEED
from tests.casefiles import REAL_CASES, real_case_folder

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def segmenter() -> Segmenter:
    return Segmenter(DEFAULT_MODEL, "cpu")


def test_the_default_is_bundled_small_and_says_what_it_is():
    folder = BUNDLED_DIR / DEFAULT_MODEL
    weights = folder / "model.safetensors"
    assert weights.stat().st_size < 10 * 2**20
    loaded = load_checkpoint(DEFAULT_MODEL)
    assert loaded.metadata["storage_dtype"] == "float16"
    assert loaded.metadata["training"]["steps"] > 0 and "synthetic" in loaded.metadata["training"]["data"]
    card = (folder / "README.md").read_text()
    assert "Not for clinical use" in card and "brainseg train --model clip-unet3d" in card


def test_held_out_synthetic_case(segmenter, tmp_path):
    folder = write_cases(tmp_path, 1, TEST_SEED + 7)[0]  # a seed no training or validation pool uses
    case = load_case(folder)
    result = segmenter.segment(case, None)
    scores = {
        region: dice(confusion_counts(region_mask(result.labels, region), region_mask(case.truth, region)))
        for region in ("WT", "TC", "ET")
    }
    assert scores["WT"] > 0.6 and scores["TC"] > 0.5 and scores["ET"] > 0.4, scores


@pytest.mark.parametrize("name", sorted(REAL_CASES))
def test_real_case_tumor_is_found_in_the_left_hemisphere(segmenter, name):
    # Both real cases have one tumor, in the left hemisphere (seen on their FLAIR and T1ce): the WT is a
    # plausible size and its centre lies left of the midline (canonical RAS: x grows to the right).
    case = load_case(real_case_folder(name), read_truth=False)
    result = segmenter.segment(case, None)
    volumes = result.volumes_ml(case.spacing)
    assert 20 < volumes["WT"] < 400, volumes
    assert 0 < volumes["ET"] < volumes["TC"] <= volumes["WT"], volumes
    tumor = np.argwhere(region_mask(result.labels, "WT"))
    brain = np.argwhere(case.images[1] > 0)
    midline = (brain[:, 0].min() + brain[:, 0].max()) / 2
    assert tumor[:, 0].mean() < midline - 10, (tumor[:, 0].mean(), midline)
