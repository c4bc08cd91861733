"""The bundled example case in assets/examples is a valid BraTS 2021 case that the generator reproduces."""

from __future__ import annotations

import json

import nibabel as nib
import numpy as np
import pytest

from brainseg.labels import to_internal
from tests.casefiles import REPO
from tests.synth.conftest import FULL_SEED

EXAMPLES = REPO / "assets" / "examples"
CASE = EXAMPLES / "BrainSeg-Synth-001"


def test_example_is_small_and_complete():
    files = sorted(p.name for p in CASE.iterdir())
    assert files == sorted(f"BrainSeg-Synth-001_{s}.nii.gz" for s in ("t1", "t1ce", "t2", "flair", "seg"))
    total = sum(p.stat().st_size for p in EXAMPLES.rglob("*") if p.is_file())
    assert total < 12e6


def test_example_matches_its_recorded_seed(full_case):
    # The manifest says which seed made the example; the session's full-size case uses that seed.
    manifest = json.loads((EXAMPLES / "synth_cases.json").read_text())
    assert manifest[0]["case_id"] == "BrainSeg-Synth-001" and manifest[0]["seed"] == FULL_SEED
    assert manifest[0]["generator"] == full_case.meta["generator"]
    seg = to_internal(np.asanyarray(nib.load(CASE / "BrainSeg-Synth-001_seg.nii.gz").dataobj), "brats2021")
    # Exact on the machine that wrote it; a different BLAS may move a rounding or a tie, hence the slack.
    wt = (seg > 0) | (full_case.labels > 0)
    assert np.mean(seg[wt] == full_case.labels[wt]) > 0.999
    for suffix, name in (("t1", "T1"), ("flair", "FLAIR")):
        data = np.asanyarray(nib.load(CASE / f"BrainSeg-Synth-001_{suffix}.nii.gz").dataobj).astype(np.int32)
        diff = np.abs(data - full_case.images[name].astype(np.int32))
        assert np.mean(diff <= 1) > 0.999, f"regenerate assets/examples (see its README): {name} differs"


@pytest.mark.parametrize("suffix", ["t1", "seg"])
def test_example_header_is_brats_like(suffix):
    image = nib.load(CASE / f"BrainSeg-Synth-001_{suffix}.nii.gz")
    assert image.shape == (240, 240, 155)
    assert nib.aff2axcodes(image.affine) == ("L", "P", "S")
