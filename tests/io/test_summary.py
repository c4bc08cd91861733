"""The `brainseg inspect` summary of a case and region volumes."""

import numpy as np

from brainseg.io import load_case
from brainseg.io.summary import case_summary, format_summary, region_volumes_ml
from brainseg.labels import ED, ET, NCR
from tests.casefiles import write_case


def test_region_volumes_follow_the_nested_regions_and_the_spacing():
    labels = np.zeros((4, 4, 4), np.uint8)
    labels[0, 0, :2] = NCR
    labels[1, 0, :3] = ED
    labels[2, 0, 0] = ET
    volumes = region_volumes_ml(labels, (2.0, 1.0, 1.0))  # 2 mm^3 per voxel
    assert volumes == {"WT": 12e-3, "TC": 6e-3, "ET": 2e-3, "NCR": 4e-3, "ED": 6e-3}


def test_summary_lists_files_grid_and_truth(tmp_path):
    paths = write_case(tmp_path / "c")
    summary = case_summary(load_case(tmp_path / "c"))
    assert summary["case"] == "Case-001" and summary["naming_scheme"] == "brats2021"
    assert summary["sequences"]["FLAIR"]["file"] == paths["FLAIR"].name
    assert summary["input_grid"] == {"shape": [12, 14, 10], "spacing_mm": [1.0, 1.0, 1.0], "orientation": "LPS"}
    assert summary["truth"]["file"] == paths["truth"].name
    text = format_summary(summary)
    assert "Case-001" in text and paths["T1ce"].name in text and "LPS" in text
