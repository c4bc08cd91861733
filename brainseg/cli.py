"""The ``brainseg`` command line: ``inspect``, ``synth``, ``evaluate``, ``models``.

Every command turns bad input into one line ``error: ...`` on stderr and exit status 2, never a
traceback (see :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from brainseg.errors import BrainSegError
from brainseg.labels import AUTO_DETECTED, CONVENTIONS

EXIT_USAGE = 2


class UsageError(BrainSegError):
    """Bad command-line usage."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``error:`` line and exit 2 (argparse prints usage too)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _add_case_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("case", nargs="?", help="case folder or .zip whose file names say the sequences")
    for sequence in ("t1", "t1ce", "t2", "flair"):
        parser.add_argument(f"--{sequence}", metavar="FILE", help=f"{sequence.upper()} NIfTI file")
    parser.add_argument("--truth", metavar="FILE", help="ground-truth segmentation NIfTI file")
    parser.add_argument(
        "--labels",
        default="auto",
        choices=["auto", *CONVENTIONS],
        help="label convention of the truth file (default: auto-detect)",
    )


def _load_case_from_args(args: argparse.Namespace):
    from brainseg.io import load_case

    explicit = {k: getattr(args, k) for k in ("t1", "t1ce", "t2", "flair", "truth")}
    if args.case is None and not any(explicit.values()):
        raise UsageError("give a CASE folder or .zip, or --t1 --t1ce --t2 --flair")
    return load_case(args.case, **explicit, labels=args.labels)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from brainseg.io import case_summary, format_summary

    summary = case_summary(_load_case_from_args(args))
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from brainseg.synth import write_cases

    if args.cases < 1:
        raise UsageError(f"--cases must be at least 1, got {args.cases}")
    for folder in write_cases(Path(args.out), args.cases, args.seed):
        print(folder)
    return 0


def _read_label_file(path: str, labels: str, role: str):
    """(internal labels in file voxel order, volume, convention guess) of a label map file."""
    from brainseg.io import read_volume
    from brainseg.labels import ConventionGuess, detect_convention, to_internal

    volume = read_volume(path, name=f"{role} {Path(path).name}", allow_all_zero=True)
    guess = detect_convention(volume.data, volume.name) if labels == "auto" else ConventionGuess(labels, "named")
    return to_internal(volume.data, guess.name, volume.name), volume, guess


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from brainseg.io import require_same_grid
    from brainseg.metrics import evaluate

    pred, pred_volume, pred_guess = _read_label_file(args.pred, args.pred_labels or args.labels, "prediction")
    truth, truth_volume, truth_guess = _read_label_file(args.truth, args.labels, "truth")
    require_same_grid(pred_volume, truth_volume)
    report = evaluate(pred, truth, truth_volume.spacing)
    report.setdefault("conventions", {})["labels"] = {
        "prediction": {"convention": pred_guess.name, "reason": pred_guess.reason},
        "truth": {"convention": truth_guess.name, "reason": truth_guess.reason},
    }
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    from brainseg.models import get_variant, list_models
    from brainseg.models.registry import list_sizes

    names = list_models()
    width = max((len(n) for n in names), default=0)
    for name in names:
        variant = get_variant(name)
        sizes = "/".join(list_sizes(name))
        print(f"{name:<{width}}  {variant.description} [{sizes}]  ({variant.paper or 'baseline'})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``brainseg`` argument parser with all subcommands."""
    parser = _Parser(prog="brainseg", description="Brain-tumor segmentation on four-sequence MRI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    inspect = commands.add_parser("inspect", help="show what a case holds: files, naming, grid, orientation")
    _add_case_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect.set_defaults(handler=_cmd_inspect)

    synth = commands.add_parser("synth", help="write synthetic BraTS-like cases with tumor ground truth")
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--cases", type=int, default=1, help="number of cases (default 1)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same cases)")
    synth.set_defaults(handler=_cmd_synth)

    models = commands.add_parser("models", help="list the model variants: NAME  description  (paper file)")
    models.set_defaults(handler=_cmd_models)

    evaluate = commands.add_parser("evaluate", help="compare a segmentation with a ground truth (JSON)")
    evaluate.add_argument("--pred", required=True, help="predicted segmentation NIfTI")
    evaluate.add_argument("--truth", required=True, help="ground-truth segmentation NIfTI (same grid)")
    evaluate.add_argument(
        "--labels",
        default="auto",
        choices=["auto", *CONVENTIONS],
        help=f"label convention of the files (auto detects among {', '.join(AUTO_DETECTED)})",
    )
    evaluate.add_argument("--pred-labels", choices=list(CONVENTIONS), help="convention of --pred when it differs")
    evaluate.add_argument("--out", help="also write the JSON report to this file")
    evaluate.set_defaults(handler=_cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 success, 2 bad input or usage)."""
    try:
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except BrainSegError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"error: {exc.filename or exc}: {exc.strerror or 'cannot be read'}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
