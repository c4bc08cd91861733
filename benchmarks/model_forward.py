"""Benchmark: every model variant's size and its CPU forward time on a real-size case; prints a table.

    python -m benchmarks.model_forward [--case FOLDER] [--threads N] [--variants NAME ...]

Parameters are counted for both sizes (trainable / total, frozen towers included in the total). The forward
time is the demo size on one whole 240 x 240 x 155 case (a real case from ../shared/data/real when present,
else the bundled synthetic example), z-scored per sequence over the brain, padded to 240 x 240 x 160 for the
3D variants, slice by slice (155 axial slices, batches of 16) for the 2D ones; eval mode, no_grad, after one
warm-up forward on a small input. This is the network alone: reading, preprocessing and writing belong to
the inference pipeline's benchmark.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from brainseg.io import load_case
from brainseg.models import create, list_models

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASES = [REPO.parent / "shared/data/real/BraTS-GLI-00001-000", REPO / "assets/examples/BrainSeg-Synth-001"]


def zscore_brain(images: np.ndarray) -> torch.Tensor:
    """(4, X, Y, Z) raw -> (1, 4, X, Y, Z) float32, each sequence z-scored over its nonzero voxels."""
    out = np.zeros_like(images, dtype=np.float32)
    for c, image in enumerate(images):
        brain = image != 0
        out[c][brain] = (image[brain] - image[brain].mean()) / (image[brain].std() + 1e-6)
    return torch.from_numpy(out)[None]


def count(model: torch.nn.Module) -> tuple[int, int]:
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def forward_seconds(name: str, volume: torch.Tensor) -> float:
    model = create(name, "demo").eval()
    dims = model.config.data.dims
    with torch.no_grad():
        if dims == 3:
            padded = F.pad(volume, (0, (-volume.shape[-1]) % 16))  # (1, 4, 240, 240, 160)
            model(volume[..., :32, :32, :32].contiguous())  # warm-up
            start = time.perf_counter()
            model(padded)
        else:
            context = getattr(model.config, "context_slices", 0)
            slices = volume[0].permute(3, 0, 1, 2)  # (Z, 4, X, Y)
            if context:
                raise SystemExit("2.5D context is not benchmarked here")
            model(slices[:2])  # warm-up
            start = time.perf_counter()
            for i in range(0, len(slices), 16):
                model(slices[i : i + 16])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", type=Path, default=next((p for p in DEFAULT_CASES if p.is_dir()), None))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--variants", nargs="+", default=list_models())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    case = load_case(args.case)
    volume = zscore_brain(case.images)
    print(f"case {case.name} {case.shape}, torch {torch.__version__}, {args.threads} CPU threads\n")
    print("| variant | demo params (trainable / total) | paper params (trainable / total) | demo forward, CPU |")
    print("|---|---|---|---|")
    for name in args.variants:
        demo, paper = count(create(name, "demo")), count(create(name, "paper"))
        seconds = forward_seconds(name, volume)
        print(
            f"| `{name}` | {demo[0] / 1e6:.2f}M / {demo[1] / 1e6:.2f}M | {paper[0] / 1e6:.1f}M / {paper[1] / 1e6:.1f}M "
            f"| {seconds:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
