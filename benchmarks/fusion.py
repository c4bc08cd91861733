"""Benchmark: does fusing variants beat the best single one on real cases with expert truth?

    nice -n 15 .venv/bin/python -m benchmarks.fusion [--data ../shared/data/real-train] [--folds 3]
        [--model NAME[=SOURCE] ...] [--out runs/eval/fusion.json]

Every ``--model`` (default: the six bundled variants) segments every case of ``--data`` exactly as
``brainseg predict`` does (the Segmenter, each checkpoint's own post-processing). A SOURCE holding ``{fold}``
is a set of cross-validation checkpoints: each case is then segmented by the fold checkpoint that held it
back (``--folds`` N, folds by case name as ``brainseg train --fold``). The members are then fused by each
rule of :data:`brainseg.inference.fusion.FUSION_RULES`, all of them together and the best three (by mean
Dice) together. Printed: mean Dice per region (WT, TC, ET) and their mean, per single model and per fusion.
The best-three choice is made on the same cases it is scored on, so it flatters those rows a little.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from brainseg.evaluation.cross_validation import fold_source
from brainseg.inference import Segmenter
from brainseg.inference.fusion import FUSION_RULES, fuse
from brainseg.io import load_case
from brainseg.labels import EVALUATION_REGIONS, region_mask
from brainseg.metrics.overlap import confusion_counts, dice
from brainseg.models import list_models
from brainseg.training.data import BratsFolderSet
from brainseg.training.folds import fold_of

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real-train"


def region_dice(labels: np.ndarray, truth: np.ndarray) -> list[float]:
    return [dice(confusion_counts(region_mask(labels, r), region_mask(truth, r))) for r in EVALUATION_REGIONS]


def row(name: str, scores: list[list[float]]) -> str:
    means = np.mean(scores, axis=0)
    return f"| {name} | " + " | ".join(f"{v:.3f}" for v in means) + f" | {means.mean():.3f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--folds", type=int, default=3, help="folds of any {fold} source (default 3)")
    parser.add_argument("--model", action="append", help="NAME or NAME=SOURCE; repeatable (default: every variant)")
    parser.add_argument("--out", help="also write the scores as JSON here")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"skipped: {args.data} is absent", file=sys.stderr)
        return 0
    members = [m.partition("=") for m in (args.model or list_models())]
    sources = {name: source or name for name, _, source in members}
    cases = BratsFolderSet(Path(args.data))
    folds = fold_of(cases.names, args.folds)
    segmenters: dict[tuple[str, int], Segmenter] = {}

    def segment_all(names: list[str], case) -> list:
        results = []
        for name in names:
            source = sources[name]
            key = (name, folds[case.name] if "{fold}" in source else -1)
            if key not in segmenters:
                segmenters[key] = Segmenter(fold_source(source, key[1]), "cpu")
            results.append(segmenters[key].segment(case))
            segmenters[key].clear_cache()
        return results

    scores: dict[str, list[list[float]]] = {}
    for path in cases.folders:
        case = load_case(path)
        results = segment_all(list(sources), case)
        for name, result in zip(sources, results, strict=True):
            scores.setdefault(name, []).append(region_dice(result.labels, case.truth))
        for rule in FUSION_RULES:
            fused = fuse(results, list(sources), rule)
            scores.setdefault(f"all {len(sources)}, {rule}", []).append(region_dice(fused.labels, case.truth))
        print(f"{path.name}: " + ", ".join(f"{n} {scores[n][-1][0]:.2f}" for n in sources), file=sys.stderr)
    singles = sorted(sources, key=lambda n: -np.mean(scores[n]))
    best = singles[:3]
    if len(sources) > 3:  # a second pass for the best three (probabilities are not kept for every member)
        for path in cases.folders:
            case = load_case(path)
            results = segment_all(best, case)
            for rule in FUSION_RULES:
                fused = fuse(results, best, rule)
                scores.setdefault(f"best 3 ({', '.join(best)}), {rule}", []).append(
                    region_dice(fused.labels, case.truth)
                )
    print(f"{len(cases)} real cases of {args.data}\n")
    print("| model or fusion | Dice WT | Dice TC | Dice ET | mean |")
    print("|---|---|---|---|---|")
    for name in [*singles, *(n for n in scores if n not in sources)]:
        print(row(name, scores[name]))
    if args.out:
        Path(args.out).write_text(json.dumps({"sources": sources, "scores": scores}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
