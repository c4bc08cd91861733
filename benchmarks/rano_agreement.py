"""Benchmark: RANO measured on a model's prediction against RANO measured on the expert truth, real cases.

    nice -n 15 .venv/bin/python -m benchmarks.rano_agreement [--data ../shared/data/real-train]
        [--model SOURCE] [--folds 3] [--rule rano2]

Each case of ``--data`` (BraTS layout, with truth) is segmented as ``brainseg predict`` does; a SOURCE holding
``{fold}`` is a set of cross-validation checkpoints and each case is then segmented by the fold checkpoint
that held it back (folds by case name, as ``brainseg train --fold``). Both segmentations are measured with
:func:`brainseg.metrics.rano.measure`. Printed: per case the largest lesion's diameters, the number of
measurable lesions and the sum of products from truth and prediction, then the median absolute difference
of the SPD (percent of the truth's) and how often the measurable-lesion counts agree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from brainseg.evaluation.cross_validation import fold_source
from brainseg.inference import Segmenter
from brainseg.io import load_case
from brainseg.metrics.rano import Measurement, measure
from brainseg.training.data import BratsFolderSet
from brainseg.training.folds import fold_of

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real-train"


def largest(measurement: Measurement) -> str:
    if not measurement.lesions:
        return "-"
    lesion = measurement.lesions[0]
    return f"{lesion.longest_mm:.0f} x {lesion.perpendicular_mm:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--model", default="clip-unet3d", help="checkpoint source; {fold} for fold checkpoints")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--rule", default="rano2")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"skipped: {args.data} is absent", file=sys.stderr)
        return 0
    cases = BratsFolderSet(Path(args.data))
    folds = fold_of(cases.names, args.folds)
    segmenters: dict[int, Segmenter] = {}
    print(f"RANO ({args.rule}) from {args.model} vs from the expert truth, {len(cases)} real cases\n")
    print(
        "| case | largest lesion mm, truth | predicted | measurable, truth | predicted | SPD mm², truth | predicted |"
    )
    print("|---|---|---|---|---|---|---|")
    differences, counts_agree = [], 0
    for path in cases.folders:
        fold = folds[path.name] if "{fold}" in args.model else -1
        if fold not in segmenters:
            segmenters[fold] = Segmenter(fold_source(args.model, fold), "cpu")
        case = load_case(path)
        result = segmenters[fold].segment(case)
        segmenters[fold].clear_cache()
        truth, predicted = measure(case.truth, case.spacing, args.rule), measure(result.labels, case.spacing, args.rule)
        counts = [sum(lesion.measurable for lesion in m.lesions) for m in (truth, predicted)]
        counts_agree += counts[0] == counts[1]
        if truth.sum_of_products_mm2 > 0:
            differences.append(
                abs(predicted.sum_of_products_mm2 - truth.sum_of_products_mm2) / truth.sum_of_products_mm2
            )
        print(
            f"| {path.name} | {largest(truth)} | {largest(predicted)} | {counts[0]} | {counts[1]} | "
            f"{truth.sum_of_products_mm2:.0f} | {predicted.sum_of_products_mm2:.0f} |"
        )
    print(
        f"\nmedian |SPD difference| {100 * float(np.median(differences)):.0f}% of the truth's "
        f"(IQR {100 * np.percentile(differences, 25):.0f}-{100 * np.percentile(differences, 75):.0f}%); "
        f"measurable-lesion count equal in {counts_agree} of {len(cases)} cases"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
