"""The /segment endpoint's function with a fake segmenter: files in, a NIfTI and a report out, clear refusals."""

import nibabel as nib
import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.labels import EVALUATION_REGIONS
from brainseg.text.prompts import PromptRefused
from brainseg.ui.api import segment_files
from brainseg.ui.model_menu import DEFAULT_MODEL, CheckpointMissing, ModelChoice
from tests.casefiles import LPS_AFFINE, write_case
from tests.ui.fakes import FakeFactory

CHOICES = {
    DEFAULT_MODEL: ModelChoice(DEFAULT_MODEL, "", "", "local-dir:/ckpt/default", None, True),
    "unet3d": ModelChoice("unet3d", "", "", "unet3d", None, False),
}


@pytest.fixture
def files(tmp_path):
    paths = write_case(tmp_path / "case", truth=False)
    return [str(paths[s]) for s in ("T1", "T1ce", "T2", "FLAIR")]


def test_four_files_give_a_segmentation_and_its_report(files, tmp_path):
    factory = FakeFactory()
    steps = []
    path, report = segment_files(
        *files, None, "", tmp_path / "out", CHOICES, segmenters=factory, progress=lambda f, m: steps.append(f)
    )
    assert list(factory.segmenters) == ["local-dir:/ckpt/default"]  # None: the default model
    assert path.name == "segmentation.nii.gz"
    image = nib.load(path)
    np.testing.assert_allclose(image.affine, LPS_AFFINE)
    assert image.shape == (12, 14, 10)
    for region in EVALUATION_REGIONS:
        assert report["regions"][region]["volume_ml"] == pytest.approx(0.027)  # the fake's 3x3x3 ET cube
    assert report["prompt"] is None
    assert steps == sorted(steps) and steps[0] == 0.0


def test_a_prompt_is_passed_on(files, tmp_path):
    factory = FakeFactory()
    _, report = segment_files(*files, DEFAULT_MODEL, "enhancing tumor", tmp_path, CHOICES, segmenters=factory)
    assert factory.segmenters["local-dir:/ckpt/default"].calls[0] == ("segment", "enhancing tumor")
    assert report["target_regions"] == ["ET"]


def test_bad_calls_fail_with_one_line_and_run_nothing(files, tmp_path):
    factory = FakeFactory()
    with pytest.raises(BrainSegError, match=r"^missing FLAIR and T1ce \(given: T1, T2\): give FLAIR or T1ce"):
        segment_files(files[0], None, files[2], None, None, "", tmp_path, CHOICES, segmenters=factory)
    with pytest.raises(PromptRefused, match="'liver' is outside"):
        segment_files(*files, None, "the liver", tmp_path, CHOICES, segmenters=factory)
    with pytest.raises(BrainSegError, match="unknown model 'nope'; valid models: "):
        segment_files(*files, "nope", None, tmp_path, CHOICES, segmenters=factory)
    with pytest.raises(CheckpointMissing, match="no trained checkpoint for unet3d is bundled yet"):
        segment_files(*files, "unet3d", None, tmp_path, CHOICES, segmenters=factory)
    assert factory.segmenters == {}
