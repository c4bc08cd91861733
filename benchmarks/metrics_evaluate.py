"""Benchmark: ``evaluate()`` on BraTS-sized (240x240x155) synthetic cases; prints a table.

Run (one core):  taskset -c 0 .venv/bin/python -m benchmarks.metrics_evaluate
CPU time is printed beside wall time because wall time on a shared machine mostly measures the neighbours.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

from brainseg.metrics import evaluate
from tests.metrics.synthetic import case


def _speckled(pred: np.ndarray, seed: int = 0) -> np.ndarray:
    """Worst case: ~9000 one-voxel false ET specks over the whole volume (crops no longer help)."""
    speckled = pred.copy()
    speckled[(np.random.default_rng(seed).random(pred.shape) < 0.001) & (pred == 0)] = 3
    return speckled


def main(repeats: int = 3) -> None:
    pred, truth = case(seed=0)
    cases = {
        "tumor + FP blob, 1 mm": (pred, truth, (1.0, 1.0, 1.0)),
        "tumor + FP blob, 0.8x1.2x2.5 mm": (pred, truth, (0.8, 1.2, 2.5)),
        "~9000 FP specks, 1 mm": (_speckled(pred), truth, (1.0, 1.0, 1.0)),
        "both empty, 1 mm": (np.zeros_like(pred), np.zeros_like(truth), (1.0, 1.0, 1.0)),
    }
    print(f"{'case (240x240x155)':<34} {'wall s (median)':>16} {'cpu s (median)':>15}")
    for name, (p, t, spacing) in cases.items():
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            evaluate(p, t, spacing)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        print(f"{name:<34} {statistics.median(walls):>16.2f} {statistics.median(cpus):>15.2f}")


if __name__ == "__main__":
    main()
