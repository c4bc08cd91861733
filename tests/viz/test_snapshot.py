"""The PNG snapshot of the views."""

import numpy as np
import pytest

from brainseg.viz.snapshot import GAP, compose_snapshot


def test_views_are_laid_out_in_rows_under_the_caption():
    red = np.zeros((10, 20, 3), np.uint8)
    red[..., 0] = 255
    blue = np.zeros((10, 20, 3), np.uint8)
    blue[..., 2] = 255
    sheet = np.asarray(compose_snapshot([[red, red], [blue]], caption=["case · model"], font_size=10))
    caption = 16  # one line of 10 px text plus 6 px spacing
    assert sheet.shape == (GAP + caption + 2 * (10 + GAP), GAP * 3 + 40, 3)
    top = GAP + caption
    assert tuple(sheet[top, GAP]) == (255, 0, 0) and tuple(sheet[top, 2 * GAP + 20]) == (255, 0, 0)
    assert tuple(sheet[top + 10 + GAP, GAP]) == (0, 0, 255)
    assert sheet[GAP : GAP + caption].max() > 200  # the caption is written
    with pytest.raises(ValueError, match="at least one view"):
        compose_snapshot([[]])
