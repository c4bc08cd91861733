"""Redo the real-case overlays of docs/real-cases.md: every bundled checkpoint on the real cases of ``../shared/data/real/``.

    .venv/bin/python docs/make_real_overlays.py [--variants clip-unet3d sam-dmif] [--real ../shared/data/real]

Runs ``brainseg predict CASE --model VARIANT --snapshot`` (what a user runs), copies each ``overlay.png`` to
``docs/images/real_<case>_<variant>.png`` and prints a markdown table of the region volumes (mL).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = ("AURORA-example", "BraTS-GLI-00001-000")


def bundled_variants() -> list[str]:
    return sorted(p.name for p in (REPO / "assets" / "checkpoints").iterdir() if (p / "model.safetensors").is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=bundled_variants())
    parser.add_argument("--real", type=Path, default=REPO.parent / "shared" / "data" / "real")
    args = parser.parse_args()
    rows = ["| variant | case | WT mL | TC mL | ET mL | network s |", "|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as scratch:
        for variant in args.variants:
            for case in CASES:
                out = Path(scratch) / variant / case
                command = [sys.executable, "-m", "brainseg.cli", "predict", str(args.real / case)]
                command += ["--model", variant, "--snapshot", "--out", str(out)]
                subprocess.run(command, check=True, cwd=REPO, capture_output=True, text=True)
                shutil.copy(out / "overlay.png", REPO / "docs" / "images" / f"real_{case}_{variant}.png")
                report = json.loads((out / "report.json").read_text())
                volumes = [f"{report['regions'][r]['volume_ml']:.1f}" for r in ("WT", "TC", "ET")]
                rows.append(f"| `{variant}` | {case} | {' | '.join(volumes)} | {report['timings_s']['inference']:.1f} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
