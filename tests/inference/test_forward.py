"""predict_volume: the prompted 2D path shares its encoder across regions without changing the answers."""

import pytest
import torch
import torch.nn.functional as F

from brainseg.inference.forward import REGION_PROMPTS, predict_volume
from brainseg.models import create

pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.mark.parametrize("context_slices", [0, 1])
def test_prompted_2d_equals_one_segment_volume_per_region(context_slices):
    torch.manual_seed(0)
    model = create("film-unet2d", "demo", context_slices=context_slices).eval()
    images = torch.randn(1, 4, 40, 36, 20)
    steps = []
    with torch.no_grad():
        out = predict_volume(model, images, slice_batch=7, on_step=lambda done, total: steps.append((done, total)))
        padded = F.pad(images, (0, 0, 0, 12, 0, 8))  # X, Y to 48; the 20 slices stay 20
        for index, region in enumerate(("WT", "TC", "ET")):
            reference = model.segment_volume(padded, [REGION_PROMPTS[region]], slice_batch=5)
            torch.testing.assert_close(out.logits[:, index : index + 1], reference.logits[..., :40, :36, :20])
            torch.testing.assert_close(out.attention[region], reference.attention["semantic"][..., :40, :36, :20])
    assert out.logits.shape == (1, 3, 40, 36, 20)
    assert steps == [(1, 3), (2, 3), (3, 3)]  # 20 slices in batches of 7


def test_2d_slice_batches_report_progress():
    model = create("sam-dmif", "demo").eval()
    steps = []
    out = predict_volume(model, torch.randn(1, 4, 32, 32, 5), slice_batch=2, on_step=lambda d, t: steps.append((d, t)))
    assert out.logits.shape == (1, 3, 32, 32, 5)
    assert steps == [(1, 3), (2, 3), (3, 3)]  # 5 slices (not padded to 16) in batches of 2
