"""Cross-check against MONAI on BraTS-sized (240x240x155) synthetic cases, isotropic and anisotropic."""

import warnings

import numpy as np
import pytest
import torch
from monai.metrics import DiceMetric, HausdorffDistanceMetric

from brainseg.labels import REGIONS, region_mask
from brainseg.metrics import evaluate
from tests.metrics.synthetic import BRATS_SHAPE, case, predicted_from, tumor_labels

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def central_case():
    return case(seed=0)


@pytest.fixture(scope="module")
def border_case():
    """A tumor cut by the volume's X = 0 face, so both masks touch the array border."""
    rng = np.random.default_rng(1)
    truth = tumor_labels(rng, center=(12, 120, 70))
    return predicted_from(truth, rng), truth


def monai_scores(pred, truth, spacing):
    """(Dice, HD95) per region from MONAI, channels in REGIONS order."""
    one_hot = [
        torch.from_numpy(np.stack([region_mask(labels, name) for name in REGIONS])[None].astype(np.float32))
        for labels in (pred, truth)
    ]
    dice = DiceMetric(include_background=True, reduction="none")(*one_hot)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # MONAI's own deprecation notice
        hd95 = HausdorffDistanceMetric(include_background=True, percentile=95, reduction="none")(
            *one_hot, spacing=spacing
        )
    return dice[0].numpy(), hd95[0].numpy()


@pytest.mark.parametrize(
    ("which", "spacing"),
    # Two cases keep the suite fast (MONAI takes ~2 s CPU per call); together they cover isotropic and
    # anisotropic spacing (all three axes different, so a swapped axis shows) and masks on the border.
    [("central_case", (1.0, 1.0, 1.0)), ("border_case", (0.8, 1.2, 2.5))],
)
def test_dice_and_hd95_agree_with_monai(which, spacing, request):
    pred, truth = request.getfixturevalue(which)
    assert pred.shape == truth.shape == BRATS_SHAPE
    report = evaluate(pred, truth, spacing)
    monai_dice, monai_hd95 = monai_scores(pred, truth, spacing)
    for i, name in enumerate(REGIONS):
        ours = report["regions"][name]
        assert 0.0 < ours["dice"] < 1.0 and ours["hd95_mm"] > 0.0, name  # nothing trivially equal
        assert ours["dice"] == pytest.approx(float(monai_dice[i]), abs=1e-6), name
        # MONAI returns float32; the distances themselves are exact in both.
        assert ours["hd95_mm"] == pytest.approx(float(monai_hd95[i]), rel=1e-5), name
