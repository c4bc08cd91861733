"""The fast PNG encoder decodes (with PIL) to exactly the image given."""

import io

import numpy as np
import pytest
from PIL import Image

from brainseg.viz.png import encode_png


@pytest.mark.parametrize("shape", [(1, 1, 3), (3, 5, 3), (480, 480, 3)])
def test_round_trip_is_exact(shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=shape, dtype=np.uint8)
    image[: shape[0] // 2] = 200  # flat and noisy parts, and wrap-around differences (0 - 255)
    decoded = Image.open(io.BytesIO(encode_png(image)))
    assert decoded.mode == "RGB" and decoded.size == (shape[1], shape[0])
    np.testing.assert_array_equal(np.asarray(decoded), image)


def test_non_contiguous_views_are_encoded_as_shown():
    image = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3)[:, ::-1]
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(encode_png(image)))), image)


def test_only_rgb_bytes_are_accepted():
    with pytest.raises(ValueError, match=r"expected an \(H, W, 3\) uint8 image"):
        encode_png(np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((4, 4, 3), np.float32))
