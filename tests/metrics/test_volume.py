import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.metrics.volume import volume_ml, voxel_volume_ml


def test_voxel_volume_from_spacing():
    assert voxel_volume_ml((1.0, 1.0, 1.0)) == pytest.approx(0.001)
    assert voxel_volume_ml((2.0, 1.5, 1.0)) == pytest.approx(0.003)


def test_mask_volume_in_ml():
    mask = np.zeros((20, 20, 20), bool)
    mask[:10, :10, :10] = True  # 1000 voxels of 3 mm^3
    assert volume_ml(mask, (2.0, 1.5, 1.0)) == pytest.approx(3.0)
    assert volume_ml(np.zeros((3, 3, 3), bool), (1, 1, 1)) == 0.0


@pytest.mark.parametrize(
    ("spacing", "message"),
    [((1.0, 1.0), "must have 3 values"), ((1.0, 0.0, 1.0), "finite and positive"), ((1, np.nan, 1), "finite")],
)
def test_bad_spacing_is_refused(spacing, message):
    with pytest.raises(BrainSegError, match=message):
        voxel_volume_ml(spacing)
