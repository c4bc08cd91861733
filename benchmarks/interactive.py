"""Benchmark: how fast do clicks correct a prediction? The simulated-click protocol, per region.

    nice -n 15 .venv/bin/python -m benchmarks.interactive [--cases 18] [--synthetic 4] [--clicks 10]
        [--model clip-unet3d] [--verbose] [--doc docs/interactive.md]

Cases: the real BraTS 2018 cases with expert truth of ``../shared/data/real-train/`` (the first ``--cases`` of
the sorted list; skipped with a message when the folder is absent) and ``--synthetic`` generated cases
(:func:`brainseg.synth.generator.generate_case`, seeds 9000.., 2.5 mm grid, half metastasis-like).

Protocol (DeepIGeoS / nnInteractive / SAM-Med3D): start from the model's segmentation exactly as
``brainseg predict`` makes it (post-processing included); for each region (WT, TC, ET) separately, from that
start, click up to ``--clicks`` times, each click at the innermost voxel of the largest error component
(:func:`brainseg.editing.simulate.next_click`), ``+`` on a miss and ``-`` on a false positive, refined with
:func:`brainseg.editing.refine_click` on the result of the clicks before. Reported: the mean Dice after 0, 1, 3,
5 and 10 clicks, the share of clicks that kept or raised the Dice, and the seconds per click on this machine.

The table is printed and written between the markers of ``docs/interactive.md`` (``--doc ''`` writes nothing).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real-train"
DOC = REPO / "docs" / "interactive.md"
BEGIN, END = "<!-- interactive:begin -->", "<!-- interactive:end -->"
REGIONS = ("WT", "TC", "ET")
AFTER = (0, 1, 3, 5, 10)
"""Click counts the table reports the Dice after."""


@dataclass
class Curves:
    """Per (source, region): each case's Dice after 0..N clicks, and every click's seconds and Dice change."""

    dice: dict[tuple[str, str], list[list[float]]] = field(default_factory=dict)
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    changes: dict[tuple[str, str], list[float]] = field(default_factory=dict)


def _dice(labels: np.ndarray, truth: np.ndarray, region: str) -> float:
    from brainseg.labels import region_mask

    a, b = region_mask(labels, region), region_mask(truth, region)
    total = np.count_nonzero(a) + np.count_nonzero(b)
    return 1.0 if total == 0 else 2.0 * np.count_nonzero(a & b) / total


def _cases(args: argparse.Namespace):
    """(source, name, Case with truth) of the real cases, then of the synthetic ones."""
    from brainseg.io import load_case

    if args.cases and DATA.is_dir():
        for folder in sorted(p for p in DATA.iterdir() if p.is_dir())[: args.cases]:
            yield "real", folder.name, load_case(folder)
    elif args.cases:
        print(f"note: {DATA} is absent; no real cases", file=sys.stderr)
    if args.synthetic:
        import tempfile

        from brainseg.synth.brats_folders import write_case
        from brainseg.synth.generator import generate_case

        with tempfile.TemporaryDirectory() as tmp:
            for number in range(args.synthetic):
                lesion = "metastasis" if number % 2 else "glioma"
                synthetic = generate_case(9000 + number, lesion=lesion, shape=(96, 96, 62))
                folder = write_case(synthetic, Path(tmp), f"synth-{9000 + number}")
                yield "synthetic", folder.name, load_case(folder)


def run(args: argparse.Namespace) -> Curves:
    from brainseg.editing import EditHistory, IntensityScale, refine_click
    from brainseg.editing.simulate import next_click
    from brainseg.inference.segmenter import Segmenter

    segmenter = Segmenter(args.model)
    curves = Curves()
    for source, name, case in _cases(args):
        start = np.asarray(segmenter.segment(case).target_labels())
        scale = IntensityScale.of(case.images)
        for region in REGIONS:
            history = EditHistory.start(start, case.spacing)
            dice = [_dice(history.labels, case.truth, region)]
            for _ in range(args.clicks):
                click = next_click(history.labels, case.truth, region, case.spacing)
                if click is None:
                    dice.append(dice[-1])
                    continue
                started = time.perf_counter()
                edit = refine_click(history.labels, case.images, case.spacing, click, scale)
                curves.seconds.setdefault((source, region), []).append(time.perf_counter() - started)
                history = history.apply(edit)
                dice.append(_dice(history.labels, case.truth, region))
                curves.changes.setdefault((source, region), []).append(dice[-1] - dice[-2])
            curves.dice.setdefault((source, region), []).append(dice)
            if args.verbose:
                print(f"{source:9s} {name:28s} {region}: " + " ".join(f"{d:.3f}" for d in dice), flush=True)
    return curves


def table(curves: Curves, clicks: int) -> str:
    after = [n for n in AFTER if n <= clicks]
    header = "| cases | region | " + " | ".join(f"Dice after {n}" for n in after)
    header += " | clicks keeping or raising Dice | s per click (mean / max) |"
    lines = [header, "|" + "---|" * (len(after) + 4)]
    for (source, region), rows in curves.dice.items():
        dice = np.array(rows)
        changes = np.array(curves.changes.get((source, region), [0.0]))
        seconds = np.array(curves.seconds.get((source, region), [0.0]))
        means = " | ".join(f"{dice[:, n].mean():.3f}" for n in after)
        lines.append(
            f"| {len(rows)} {source} | {region} | {means} | {np.mean(changes >= -1e-9):.0%} | "
            f"{seconds.mean():.2f} / {seconds.max():.2f} |"
        )
    return "\n".join(lines)


def _write_doc(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else f"# Interactive correction benchmark\n\n{BEGIN}\n{END}\n"
    if BEGIN not in old or END not in old:
        old += f"\n{BEGIN}\n{END}\n"
    head, rest = old.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=18, help="real cases with truth (0: none)")
    parser.add_argument("--synthetic", type=int, default=4, help="generated cases (0: none)")
    parser.add_argument("--clicks", type=int, default=10, help="clicks per region")
    parser.add_argument("--model", default="clip-unet3d", help="the checkpoint whose predictions are corrected")
    parser.add_argument("--verbose", action="store_true", help="also print each case's Dice curve")
    parser.add_argument("--doc", default=str(DOC), help="Markdown file to write the table into ('' for none)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    curves = run(args)
    command = "python -m benchmarks.interactive " + shlex.join(argv if argv is not None else sys.argv[1:])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    threads = os.environ.get("OMP_NUM_THREADS", "all")
    text = (
        f"{table(curves, args.clicks)}\n\n"
        f"Start: `{args.model}` as `brainseg predict` runs it. Measured {stamp} with `{command}` on "
        f"{platform.processor() or platform.machine()} ({os.cpu_count()} cores, OMP threads {threads}), "
        f"{time.perf_counter() - started:.0f} s in all."
    )
    print(text)
    if args.doc:
        _write_doc(Path(args.doc), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
