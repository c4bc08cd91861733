"""How long a slice change takes on the server: cut, scale, colour three views (and encode them as PNG).

Run: ``.venv/bin/python benchmarks/render_slices.py [--repeats 60] [--case FOLDER]``

Without ``--case`` a synthetic BraTS-size case (240 x 240 x 155, 1 mm, LPS, with a three-label tumor)
is written to a temporary folder and loaded like any upload. Prints one table row per measurement:
median and 95th percentile in milliseconds. The target: a slice change (three views re-rendered from
arrays already in memory) within 100 ms.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image

from brainseg.io import load_case
from brainseg.ui.examples import prepare
from brainseg.ui.viewer import Display, move_cursor, open_case
from brainseg.viz import PLANES, ViewOptions

TARGET_MS = 100.0


def write_synthetic_case(folder: Path, shape=(240, 240, 155)) -> Path:
    """Write a BraTS-size case (ellipsoid 'brain' with texture, three-label tumor) as uncompressed NIfTI."""
    rng = np.random.default_rng(0)
    x, y, z = np.meshgrid(*(np.linspace(-1, 1, n, dtype=np.float32) for n in shape), indexing="ij")
    brain = (x / 0.75) ** 2 + (y / 0.85) ** 2 + (z / 0.8) ** 2 < 1
    affine = np.diag([-1.0, -1.0, 1.0, 1.0])  # LPS, as BraTS files
    for suffix, mean in (("t1n", 500), ("t1c", 650), ("t2w", 800), ("t2f", 950)):
        image = np.where(brain, rng.normal(mean, 60, size=shape), 0).astype(np.int16)
        nib.save(nib.Nifti1Image(image, affine), folder / f"BENCH-000-{suffix}.nii")
    r2 = (x - 0.3) ** 2 + (y - 0.1) ** 2 + z**2
    labels = np.zeros(shape, np.uint8)
    labels[r2 < 0.09] = 2
    labels[r2 < 0.04] = 1
    labels[(r2 < 0.04) & (r2 > 0.02)] = 3
    nib.save(nib.Nifti1Image(labels, affine), folder / "BENCH-000-seg.nii")
    return folder


def timed(fn: Callable[[int], object], repeats: int) -> tuple[float, float]:
    """(median, p95) in ms of ``fn(i)`` for i in range(repeats), after two warm-up calls."""
    fn(0)
    fn(1)
    samples = []
    for i in range(repeats):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def png_bytes(image: np.ndarray) -> bytes:
    """Encode as the app does before handing a view to Gradio (``brainseg.ui.app._png_in_cache``)."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "png", compress_level=1)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60, help="slice changes timed per row (default 60)")
    parser.add_argument("--case", help="a case folder to use instead of the synthetic case")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.case) if args.case else write_synthetic_case(Path(tmp))
        case = load_case(folder)
    start = time.perf_counter()
    loaded = prepare(case)
    build_ms = (time.perf_counter() - start) * 1000
    renderer = loaded.renderer
    source = args.case or "synthetic (BraTS size, with truth)"
    x_size, y_size, z_size = renderer.shape
    centre = renderer.center

    def cursor(i: int) -> tuple[int, int, int]:
        # Walk the axial slices around the centre, as a slider drag does.
        return centre[0], centre[1], (centre[2] - 30 + i) % z_size

    rows: list[tuple[str, float, float]] = []
    fills = ViewOptions()
    outlined = ViewOptions(outline=("WT", "TC", "ET"))
    for plane in PLANES:
        rows.append(
            (f"render_view {plane}", *timed(lambda i, p=plane: renderer.render(p, cursor(i), "FLAIR"), args.repeats))
        )
    rows.append(("tri-planar (fill)", *timed(lambda i: renderer.render_all(cursor(i), "FLAIR", fills), args.repeats)))
    rows.append(
        (
            "tri-planar (fill + outlines)",
            *timed(lambda i: renderer.render_all(cursor(i), "FLAIR", outlined), args.repeats),
        )
    )
    session, _ = open_case(loaded, "benchmark")
    display = Display()
    rows.append(("slice-change callback", *timed(lambda i: move_cursor(session, cursor(i), display), args.repeats)))
    rows.append(
        (
            "callback + 3 PNG encodes",
            *timed(
                lambda i: [png_bytes(v) for v in move_cursor(session, cursor(i), display)[1].views.values()],
                args.repeats,
            ),
        )
    )

    print(f"case: {source}, {x_size}x{y_size}x{z_size}, canvas {renderer.canvas[1]}x{renderer.canvas[0]} px")
    print(f"once per case (window the 4 sequences to uint8): {build_ms:.0f} ms\n")
    print(f"{'per slice change':<32}{'median ms':>10}{'p95 ms':>10}  target {TARGET_MS:.0f} ms")
    print("-" * 70)
    for name, median, p95 in rows:
        print(f"{name:<32}{median:>10.1f}{p95:>10.1f}  {'ok' if p95 <= TARGET_MS else 'SLOW'}")


if __name__ == "__main__":
    main()
