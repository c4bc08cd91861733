"""Cross-validation folds by case name, and real cases mixed with synthetic ones in training."""

from __future__ import annotations

import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.training import BratsFolderSet, PatchDataset
from brainseg.training.config import ConfigError, TrainConfig
from brainseg.training.data import ConcatSource
from brainseg.training.folds import fold_of, split_fold
from tests.casefiles import write_case

NAMES = [f"Brats18_{source}_{i}_1" for source in ("2013", "CBICA", "TCIA10") for i in range(6)]


def test_folds_partition_the_cases_and_depend_only_on_the_names():
    held = [split_fold(NAMES, fold, 6)[1] for fold in range(6)]
    assert sorted(name for h in held for name in h) == sorted(NAMES)  # every case held back exactly once
    assert all(len(h) == 3 for h in held)
    shuffled = list(np.random.default_rng(0).permutation(NAMES))
    assert [split_fold(shuffled, fold, 6)[1] for fold in range(6)] == held  # not the order given
    training, held_out = split_fold(NAMES, 2, 6)
    assert not set(training) & set(held_out) and len(training) == 15
    # Names of one source (neighbours in sorted order) land in different folds.
    assert len({fold_of(NAMES, 6)[f"Brats18_2013_{i}_1"] for i in range(6)}) == 6


@pytest.mark.parametrize(
    ("fold", "folds", "message"),
    [(0, 1, "at least 2"), (6, 6, r"0\.\.5"), (0, 19, "more folds than the 18")],
)
def test_bad_folds_are_refused(fold, folds, message):
    with pytest.raises(BrainSegError, match=message):
        split_fold(NAMES, fold, folds)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"folds": 3}, "needs fold"),
        ({"fold": 1}, "needs folds"),
        ({"data": "DIR", "fold": 3, "folds": 3}, r"0\.\.2"),
        ({"data": "synth", "fold": 0, "folds": 3}, "needs real cases"),
        ({"data": "synth+DIR", "real_share": 1.5}, r"real_share must be in \[0, 1\]"),
        ({"data": "synth+"}, "expected synth"),
    ],
)
def test_train_config_checks_the_data_options(options, message):
    config = TrainConfig(model="unet3d", **{"data": "synth+DIR", **options})
    with pytest.raises(ConfigError, match=message):
        config.validate()


def test_data_parts_reads_synth_folder_and_both():
    assert TrainConfig(model="unet3d").data_parts() == (True, None)
    assert TrainConfig(model="unet3d", data="../cases").data_parts() == (False, "../cases")
    assert TrainConfig(model="unet3d", data="synth+../a+b").data_parts() == (True, "../a+b")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("real")
    for name in ("Case-A", "Case-B", "Case-C"):
        write_case(root / name, case_id=name, shape=(24, 26, 20))
    return root


def test_folder_set_selects_cases_by_name_and_crops_to_the_brain(folder):
    chosen = BratsFolderSet(folder, cases=["Case-C", "Case-A"], crop=True)
    assert chosen.names == ["Case-A", "Case-C"]
    whole = BratsFolderSet(folder)
    images, truth = chosen[0]
    full_truth = whole[0][1]
    assert images.shape[1:] == truth.shape and truth.sum() == full_truth.sum()  # no tumor cut away
    assert np.prod(truth.shape) <= np.prod(full_truth.shape)
    with pytest.raises(BrainSegError, match="no usable case folder Case-Z"):
        BratsFolderSet(folder, cases=["Case-A", "Case-Z"])


def test_case_weights_give_each_part_its_share_of_patches(folder):
    source = ConcatSource(
        [BratsFolderSet(folder, cases=["Case-A"]), BratsFolderSet(folder, cases=["Case-B", "Case-C"])]
    )
    # The single "synthetic" case gets 0.3 of the patches, the two "real" ones 0.7 between them.
    weights = [0.3, 0.35, 0.35]
    dataset = PatchDataset(source, 8, "zscore-brain", False, seed=1, samples_per_epoch=2000, case_weights=weights)
    drawn = np.bincount([dataset.case_index(i) for i in range(2000)], minlength=3) / 2000
    assert drawn == pytest.approx(weights, abs=0.04)
    assert [dataset.case_index(i) for i in range(50)] == [dataset.case_index(i) for i in range(50)]  # seeded
    dataset.set_epoch(1)
    assert [dataset.case_index(i) for i in range(50)] != [dataset.case_index(i, epoch=0) for i in range(50)]
    with pytest.raises(BrainSegError, match="case_weights must be 3"):
        PatchDataset(source, 8, "zscore-brain", False, seed=1, samples_per_epoch=10, case_weights=[1.0, 0.0])
