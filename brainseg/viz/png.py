"""A fast lossless PNG encoder for display images (the slice views sent on every slider step).

PIL's encoder chooses a filter per row adaptively, which costs more than the rendering of a view. Here
every row uses the PNG "Sub" filter (each byte minus the same channel one pixel to the left, one numpy
subtraction), then zlib at level 1: about 1.6x faster than PIL's ``compress_level=1`` for ~20 % larger
files, and pixel-exact.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SUB = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """PNG file bytes of an (H, W, 3) uint8 RGB image (8-bit truecolour, no alpha, no interlace).

    Args:
        rgb: (H, W, 3) uint8.
        level: zlib level 0..9 (1: fast, what a slider step needs).
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    height, width, _ = rgb.shape
    flat = np.ascontiguousarray(rgb).reshape(height, 3 * width)
    rows = np.empty((height, 1 + 3 * width), np.uint8)  # each row: its filter byte, then the filtered bytes
    rows[:, 0] = _SUB
    rows[:, 1:4] = flat[:, :3]
    np.subtract(flat[:, 3:], flat[:, :-3], out=rows[:, 4:])  # modulo 256, as the PNG Sub filter defines
    header = struct.pack(
        ">IIBBBBB", width, height, 8, 2, 0, 0, 0
    )  # 8 bits, truecolour, deflate, filter 0, no interlace
    idat = zlib.compress(rows.tobytes(), level)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
