"""Benchmark: end-to-end ``brainseg predict`` per variant on one real-size case, with the MONAI BraTS network.

    python -m benchmarks.predict_case [--case FOLDER] [--variants NAME ...] [--device cpu] [--uncertainty]

Each variant is run as a user runs it: a fresh ``python -m brainseg.cli predict`` process (interpreter and
torch start-up, case reading, checkpoint loading, normalization, network, post-processing, writing the NIfTI
and the report). The table gives its wall-clock seconds, its peak resident memory (``wait4`` of that
process), the steps' seconds from its ``report.json``, and the rest (interpreter and library start-up).
Checkpoints: the bundled one (``assets/checkpoints/<variant>``) when present, else demo-size random weights
written to a temporary folder; the table says which (speed does not depend on the weights).

For scale, the same run times the network of the MONAI ``brats_mri_segmentation`` bundle (SegResNet,
init_filters 16, blocks_down (1, 2, 2, 4), blocks_up (1, 1, 1), 4 -> 3 channels) on the same case, z-scored
and zero-padded to a multiple of 16, one forward in float32 after a small warm-up: the network alone, in this
process, on the same device.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from brainseg.hub.sources import BUNDLED_DIR
from brainseg.models import list_models

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CASES = [REPO.parent / "shared/data/real/BraTS-GLI-00001-000", REPO / "assets/examples/BrainSeg-Synth-001"]
STEPS = ("load_case", "load_checkpoint", "preprocess", "inference", "uncertainty", "postprocess", "write")


def checkpoint_source(name: str, workdir: Path) -> tuple[str, str]:
    """(source, what it is): the bundled checkpoint when present, else random demo weights saved in ``workdir``."""
    if (BUNDLED_DIR / name / "model.safetensors").is_file():
        return name, "bundled"
    from brainseg.hub import save_checkpoint
    from brainseg.models import create

    torch.manual_seed(0)
    folder = save_checkpoint(create(name, "demo"), workdir / name)
    return f"local-dir:{folder}", "random demo weights"


def run_predict(case: Path, source: str, out: Path, device: str, uncertainty: bool) -> tuple[float, float, dict]:
    """(wall seconds, peak RSS in GiB, report) of one ``brainseg predict`` process."""
    command = [sys.executable, "-m", "brainseg.cli", "predict", str(case), "--model", source]
    command += ["--device", device, "--out", str(out)] + (["--uncertainty"] if uncertainty else [])
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"brainseg predict failed for {source}: {stderr.strip()}")
    peak_gib = usage.ru_maxrss / 1024**2  # Linux reports kilobytes
    return seconds, peak_gib, json.loads((out / "report.json").read_text())


def segresnet_seconds(case: Path, device: str) -> tuple[float, tuple[int, ...]]:
    """One forward of the MONAI BraTS bundle's SegResNet on the case (z-scored, padded to 16); (seconds, shape)."""
    from monai.networks.nets import SegResNet

    from brainseg.inference.forward import pad_spatial
    from brainseg.io import load_case
    from brainseg.preprocess.normalize import normalize

    images = normalize(load_case(case).images, "zscore-brain")
    volume, _ = pad_spatial(torch.from_numpy(images)[None].to(device))  # (1, 4, 240, 240, 160)
    network = SegResNet(
        spatial_dims=3, init_filters=16, in_channels=4, out_channels=3, blocks_down=(1, 2, 2, 4), blocks_up=(1, 1, 1)
    )
    network = network.to(device).eval()
    with torch.no_grad():
        network(volume[..., :32, :32, :32].contiguous())  # warm-up
        if device == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        network(volume)
        if device == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - started, tuple(volume.shape[2:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", type=Path, default=next((p for p in DEFAULT_CASES if p.is_dir()), None))
    parser.add_argument("--variants", nargs="+", default=[n for n in list_models() if not n.startswith("test-")])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--uncertainty", action="store_true", help="also run the mirrored pass (uncertainty map)")
    args = parser.parse_args()
    if args.case is None:
        raise SystemExit("no case found; pass --case FOLDER")
    print(
        f"case {args.case.name}, device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} CPU "
        f"threads, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        + (", with the uncertainty pass" if args.uncertainty else "")
        + "\n"
    )
    header = "| variant | checkpoint | `brainseg predict`, end to end | peak RSS | " + " | ".join(STEPS)
    header += " | start-up, other |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    with tempfile.TemporaryDirectory(prefix="brainseg-bench-") as tmp:
        workdir = Path(tmp)
        for name in args.variants:
            source, kind = checkpoint_source(name, workdir)
            seconds, peak, report = run_predict(
                args.case, source, workdir / f"out-{name}", args.device, args.uncertainty
            )
            steps = report["timings_s"]
            cells = " | ".join(f"{steps[s]:.1f} s" if s in steps else "-" for s in STEPS)
            other = seconds - sum(steps.get(s, 0.0) for s in STEPS)  # interpreter, imports, printing
            print(f"| `{name}` | {kind} | {seconds:.1f} s | {peak:.2f} GiB | {cells} | {other:.1f} s |", flush=True)
    seconds, shape = segresnet_seconds(args.case, args.device)
    grid = "x".join(map(str, shape))
    print(
        f"\nMONAI brats_mri_segmentation network (SegResNet, init_filters 16), one forward on {grid}: {seconds:.1f} s"
    )


if __name__ == "__main__":
    main()
