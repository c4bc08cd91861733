"""Benchmark: rigid registration to FLAIR (``brainseg predict --register``) on real cases made misregistered.

    nice -n 15 .venv/bin/python -m benchmarks.registration [--data ../shared/data/real-train] [--cases 3]

For each case, T1, T1ce and T2 are each moved by a known rigid motion (a few mm and degrees, different per
sequence) and registered back to FLAIR with :func:`brainseg.preprocess.registration.register_case`.
Printed per sequence: the motion applied, the transform found, the seconds it took, the input check's shift
before and after, and the correlation with the unmoved sequence inside the brain before and after.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from time import perf_counter

import numpy as np
from scipy import ndimage as ndi

from brainseg.io import load_case
from brainseg.io.naming import SEQUENCES
from brainseg.preprocess.input_checks import best_shift, half_resolution
from brainseg.preprocess.registration import rigid_register

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real-train"
MOTIONS = {"T1": ((4, 0, 0), 3.0), "T1ce": ((0, -6, 2), 0.0), "T2": ((3, 3, 0), 5.0)}
"""Per sequence: (voxel roll along X, Y, Z; degrees about Z) applied before registering."""


def moved(image: np.ndarray, roll: tuple[int, int, int], degrees: float) -> np.ndarray:
    rotated = ndi.rotate(image, degrees, axes=(0, 1), reshape=False, order=1) if degrees else image
    return np.roll(rotated, roll, axis=(0, 1, 2))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--cases", type=int, default=3)
    args = parser.parse_args(argv)
    folders = sorted(p for p in Path(args.data).glob("*/") if p.is_dir())[: args.cases]
    if not folders:
        print(f"error: no cases in {args.data}", file=sys.stderr)
        return 2
    print("| case | sequence | applied | found | seconds | check's shift before / after | r before / after |")
    print("|---|---|---|---|---|---|---|")
    times = []
    for folder in folders:
        case = load_case(folder)
        flair = half_resolution(case.image("FLAIR"))
        for name, (roll, degrees) in MOTIONS.items():
            original = case.image(name)
            shifted = moved(original, roll, degrees)
            started = perf_counter()
            registered, mm, turned = rigid_register(case.image("FLAIR"), shifted, case.spacing)
            seconds = perf_counter() - started
            times.append(seconds)
            brain = original > 0
            before = np.corrcoef(original[brain], shifted[brain])[0, 1]
            after = np.corrcoef(original[brain], registered[brain])[0, 1]
            applied = f"{np.linalg.norm(np.array(roll) * np.array(case.spacing)):.1f} mm, {degrees:g} deg"
            shifts = f"{best_shift(flair, half_resolution(shifted))} / {best_shift(flair, half_resolution(registered))}"
            print(f"| {folder.name} | {name} | {applied} | {mm:.1f} mm, {turned:.1f} deg | {seconds:.1f} | {shifts} "
                  f"| {before:.3f} / {after:.3f} |")  # fmt: skip
        del case
    print(f"\nmedian {np.median(times):.1f} s per sequence over {len(times)} ({len(SEQUENCES) - 1} per case)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
