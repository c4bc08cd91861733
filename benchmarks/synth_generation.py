"""Time :func:`brainseg.synth.generate_case` and print a table.

Run with one BLAS thread to measure the cost on one core::

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/synth_generation.py --cases 6

CPU time is reported next to wall time because on a shared machine wall time mostly measures the
neighbours; the template loading (once per process) is timed separately.
"""

from __future__ import annotations

import argparse
import resource
import time

from brainseg.synth.anatomy import load_template_anatomy
from brainseg.synth.generator import generate_case
from brainseg.synth.space import BRATS_SHAPE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/synth_generation.py", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=6, help="number of cases (seeds 1..N)")
    parser.add_argument("--randomized", action="store_true", help="domain-randomized contrast")
    parser.add_argument("--shape", type=int, nargs=3, default=list(BRATS_SHAPE), help="grid size X Y Z")
    args = parser.parse_args(argv)

    wall, cpu = time.perf_counter(), time.process_time()
    load_template_anatomy()
    print(f"template loading (once per process): {time.perf_counter() - wall:.2f} s wall, "
          f"{time.process_time() - cpu:.2f} s CPU\n")  # fmt: skip
    print("| seed | wall (s) | CPU (s) | WT (mL) | foci | enhancing | mass effect (mm) |")
    print("|---|---|---|---|---|---|---|")
    cpu_times = []
    for seed in range(1, args.cases + 1):
        wall, cpu = time.perf_counter(), time.process_time()
        case = generate_case(seed, domain_randomized=args.randomized, shape=tuple(args.shape))
        cpu_times.append(time.process_time() - cpu)
        m = case.meta
        print(
            f"| {seed} | {time.perf_counter() - wall:.2f} | {cpu_times[-1]:.2f} | {m['tumor_volume_ml']['WT']:.1f} "
            f"| {m['n_foci']} | {m['enhancing']} | {m['mass_effect_max_mm']:.1f} |"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nmean CPU per case: {sum(cpu_times) / len(cpu_times):.2f} s; peak resident memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
