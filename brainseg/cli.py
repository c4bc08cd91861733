"""The ``brainseg`` command line: ``inspect``, ``synth``, ``evaluate``, ``models``, ``train``, ``evaluate-model``,
``export-checkpoint``, ``predict``, ``refine``, ``rano``.

Every command turns bad input into one line ``error: ...`` on stderr and exit status 2, never a
traceback (see :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import os
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


SEQUENCES = ("t1", "t1ce", "t2", "flair")


def _add_sequence_arguments(parser: argparse.ArgumentParser) -> None:
    """A CASE folder or .zip, or the sequences' files one by one (any subset holding FLAIR or T1ce)."""
    parser.add_argument("case", nargs="?", help="case folder or .zip whose file names say the sequences")
    for sequence in SEQUENCES:
        parser.add_argument(
            f"--{sequence}",
            metavar="FILE",
            help=f"{sequence.upper()} NIfTI file (it takes this role whatever its name; a case may lack sequences "
            "as long as it has FLAIR or T1ce)",
        )


def _case_files(args: argparse.Namespace, names: Sequence[str] = SEQUENCES) -> dict[str, str | None]:
    """The files given by option (``--t1 ... --flair`` by default); an error when neither they nor a CASE are."""
    explicit = {k: getattr(args, k) for k in names}
    if args.case is None and not any(explicit.values()):
        raise UsageError("give a CASE folder or .zip, or --t1 --t1ce --t2 --flair")
    return explicit


def _add_case_arguments(parser: argparse.ArgumentParser) -> None:
    _add_sequence_arguments(parser)
    parser.add_argument("--truth", metavar="FILE", help="ground-truth segmentation NIfTI file")
    parser.add_argument(
        "--labels",
        default="auto",
        choices=["auto", *CONVENTIONS],
        help="label convention of the truth file (default: auto-detect)",
    )


def _load_case_from_args(args: argparse.Namespace):
    from brainseg.io import load_case

    return load_case(args.case, **_case_files(args, (*SEQUENCES, "truth")), labels=args.labels)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from brainseg.io import case_summary, format_summary

    summary = case_summary(_load_case_from_args(args))
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from brainseg.synth import write_cases

    if args.cases < 1:
        raise UsageError(f"--cases must be at least 1, got {args.cases}")
    for folder in write_cases(Path(args.out), args.cases, args.seed, lesion=args.lesion):
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


def _canonical_labels(path: str, labels: str, role: str):
    """(internal labels in canonical RAS order, spacing mm along X, Y, Z) of a label map file."""
    from brainseg.io import CanonicalFrame

    internal, volume, _guess = _read_label_file(path, labels, role)
    frame = CanonicalFrame(volume.shape, volume.affine)
    return frame.to_canonical(internal), frame.spacing


def _cmd_rano(args: argparse.Namespace) -> int:
    from brainseg.metrics.rano import format_measurement, format_response, measure, response

    labels, spacing = _canonical_labels(args.seg, args.labels, "segmentation")
    measurement = measure(labels, spacing, args.rule)
    print(format_measurement(measurement))
    record = {"segmentation": Path(args.seg).name, **measurement.as_dict()}
    if args.baseline:
        earlier, earlier_spacing = _canonical_labels(args.baseline, args.baseline_labels or args.labels, "baseline")
        result = response(measure(earlier, earlier_spacing, args.rule), measurement)
        print("\n" + format_response(result))
        record["response"] = {"baseline": Path(args.baseline).name, **result}
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=2) + "\n")
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


def _cmd_train(args: argparse.Namespace) -> int:
    from brainseg.training.config import ConfigError, TrainConfig
    from brainseg.training.trainer import train

    config = TrainConfig(
        model=args.model,
        size=args.size,
        data=args.data,
        real_share=args.real_share,
        fold=args.fold,
        folds=args.folds,
        real_augment=args.real_augment,
        out=args.out,
        steps=args.steps,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        train_cases=args.train_cases,
        realistic_share=args.realistic_share,
        metastasis_share=args.metastasis_share,
        low_grade_share=args.low_grade_share,
        val_cases=args.val_cases,
        val_every=args.val_every,
        seed=args.seed,
        workers=args.workers,
        cache_cases=args.cache_cases,
        tumor_probability=args.tumor_probability,
        hard_negative_share=args.hard_negative_share,
        device=args.device,
        cache=args.cache,
        synth_shape=args.synth_shape,
        stop_after=args.stop_after,
        ema=args.ema,
        init=args.init,
        pretrain_text=args.pretrain_text,
        edge_artifacts=args.edge_artifacts,
        bias_field=args.bias_field,
        slab_cuts=args.slab_cuts,
        sequence_dropout=args.sequence_dropout,
        loss=args.loss,
        model_overrides=_model_overrides(args.set or []),
        **({"peak_lr": args.lr} if args.lr is not None else {}),
        **({"hard_negative_kinds": _comma_list(args.hard_negative_kinds)} if args.hard_negative_kinds else {}),
    )
    try:
        summary = train(config)
    except ConfigError as exc:  # it names the options by field: name them by flag
        raise UsageError(exc.render(_train_flag)) from None
    if int(os.environ.get("RANK", "0")) == 0:
        print(json.dumps(summary, indent=2))
    return 0


_TRAIN_FLAGS = {"peak_lr": "--lr", "model_overrides": "--set"}
"""The :class:`~brainseg.training.config.TrainConfig` fields whose ``brainseg train`` flag is not ``--field-name``."""


def _train_flag(field: str) -> str:
    """``brainseg train``'s flag for a config field: ``hard_negative_share`` -> ``--hard-negative-share``."""
    return _TRAIN_FLAGS.get(field, "--" + field.replace("_", "-"))


def _comma_list(text: str) -> tuple[str, ...]:
    """``"a, b,"`` -> ``("a", "b")``."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def _model_overrides(pairs: list[str]) -> dict | None:
    """``--set FIELD=VALUE`` pairs as a dict; VALUE is JSON (``false``, ``8``, ``"text"``) or else a plain string."""
    overrides = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not field:
            raise UsageError(f"--set {pair!r}: expected FIELD=VALUE, e.g. --set pixel_fusion=false")
        try:
            overrides[field] = json.loads(value)
        except ValueError:
            overrides[field] = value
    return overrides or None


def _cmd_evaluate_model(args: argparse.Namespace) -> int:
    from brainseg.evaluation.model_table import evaluate_model, format_table, save_table, test_cases

    if not args.model and not args.checkpoint:
        raise UsageError("give --model NAME (a bundled checkpoint) or --checkpoint SOURCE")
    if args.folds is not None:
        return _evaluate_folds(args)
    if args.tune_postprocess:
        raise UsageError("--tune-postprocess needs --folds N (it chooses on out-of-fold predictions)")
    cases = test_cases(args.data, Path(args.cache))
    checkpoints = args.checkpoint or [args.model]
    rows = [evaluate_model(*_row_name(source), cases, args.device, args.postprocess) for source in checkpoints]
    print(format_table(rows))
    if args.out:
        save_table(rows, Path(args.out))
    return 0


def _evaluate_folds(args: argparse.Namespace) -> int:
    """``evaluate-model --folds N``: per fold and overall, each case scored by the checkpoint that never saw it."""
    from brainseg.evaluation import cross_validation as cv

    if args.data.partition(":")[0] in ("synth", "synth-met", "synth-lgg") or not Path(args.data).is_dir():
        raise UsageError(f"--folds needs --data DIR, a folder of BraTS cases with truth; got {args.data!r}")
    if args.checkpoint and len(args.checkpoint) > 1:
        raise UsageError("--folds scores one model: give one --checkpoint SOURCE (with {fold} for fold checkpoints)")
    name, template = _row_name(args.checkpoint[0]) if args.checkpoint else (args.model, args.model)
    if args.subsets:
        return _evaluate_subsets(args, name, template)
    cases = cv.out_of_fold_predictions(
        template, Path(args.data), args.folds, args.device, progress=lambda line: print(line, file=sys.stderr)
    )
    thresholds = cases[0].own_thresholds  # the fold checkpoints share a recipe, hence their thresholds
    record: dict = {"model": name, "source": template, "folds": args.folds}
    if args.tune_postprocess:
        thresholds, grid = cv.choose_postprocessing(cases)
        print(f"## Post-processing chosen on the out-of-fold predictions of {len(cases)} cases\n")
        print(cv.format_postprocessing_grid(grid) + "\n")
        print(f"chosen: min_component_fraction {thresholds[0]:g}, min_enhancing_ml {thresholds[1]:g}\n")
        record["postprocessing_grid"] = grid
    reports = cv.score_cases(cases, thresholds if args.tune_postprocess else None)
    rows = cv.fold_rows(reports, args.folds)
    print(f"## {name}: {args.folds}-fold cross-validation (post-processing {thresholds[0]:g} / {thresholds[1]:g} mL)\n")
    print(cv.format_fold_table(rows) + "\n")
    print(cv.format_case_table(reports))
    record |= {
        "postprocessing": {"min_component_fraction": thresholds[0], "min_enhancing_ml": thresholds[1]},
        "rows": rows,
        "cases": reports,
        "seconds_per_case": sum(c.seconds for c in cases) / len(cases),
    }
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(cv.format_fold_table(rows) + "\n\n" + cv.format_case_table(reports) + "\n")
        out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _evaluate_subsets(args: argparse.Namespace, name: str, template: str) -> int:
    """``evaluate-model --folds N --subsets ...``: cross-validated Dice per subset of the sequences."""
    from brainseg.evaluation import sequence_subsets as subsets

    if args.tune_postprocess:
        raise UsageError("--subsets scores with each checkpoint's own post-processing; drop --tune-postprocess")
    chosen = subsets.parse_subsets(args.subsets)
    records = subsets.subset_scores(
        template, Path(args.data), args.folds, chosen, args.device, progress=lambda line: print(line, file=sys.stderr)
    )
    rows = subsets.subset_rows(records)
    table = subsets.format_subset_table(rows)
    print(f"## {name}: {args.folds}-fold cross-validation by subset of the sequences\n\n{table}")
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(table + "\n")
        record = {"model": name, "source": template, "folds": args.folds, "rows": rows, "cases": records}
        out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return 0


def _row_name(checkpoint: str) -> tuple[str, str]:
    """(row name, source) from ``NAME=SOURCE`` or a bare SOURCE (its own name)."""
    name, sep, source = checkpoint.partition("=")
    return (name, source) if sep and ":" not in name else (checkpoint, checkpoint)


def _cmd_export_checkpoint(args: argparse.Namespace) -> int:
    from brainseg.hub import export_checkpoint

    metrics = None
    if args.metrics:
        try:
            metrics = {"evaluation": json.loads(Path(args.metrics).read_text())}
        except (OSError, ValueError) as exc:
            raise UsageError(f"--metrics {args.metrics}: not a readable JSON file ({exc})") from None
    postprocessing = _chosen_postprocessing(Path(args.postprocessing)) if args.postprocessing else None
    folder = export_checkpoint(
        args.source, args.out, half=not args.float32, metrics=metrics, notes=args.note, postprocessing=postprocessing
    )
    size = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
    print(f"wrote {folder} ({size:.1f} MiB)")
    return 0


def _volumes_text(volumes: dict[str, float], sequences: tuple[str, ...]) -> str:
    """``WT 12.3 mL, TC not predicted (needs T1ce), ...`` for the regions of ``volumes``."""
    from brainseg.io.availability import missing_region_reasons

    reasons = missing_region_reasons(sequences, tuple(volumes))
    return ", ".join(
        f"{r} not predicted ({reasons[r]})" if r in reasons else f"{r} {v:.1f} mL" for r, v in volumes.items()
    )


def _cmd_predict(args: argparse.Namespace) -> int:
    import time

    from brainseg.inference.segmenter import DEFAULT_MODEL, Segmenter
    from brainseg.io import load_case
    from brainseg.text.prompts import interpret_prompt

    explicit = _case_files(args)
    if args.prompt is not None:
        interpret_prompt(args.prompt).require()  # a refused prompt fails before anything is loaded
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    started = time.perf_counter()
    case = load_case(args.case, **explicit, read_truth=False)
    if args.register:
        from brainseg.preprocess.registration import register_case

        case = register_case(case)
    loaded = time.perf_counter()
    keep = {"min_component_fraction": 0.0} if args.keep_small_components else {}
    keep |= {"min_enhancing_ml": 0.0} if args.keep_small_enhancing else {}
    members = _comma_list(args.model or DEFAULT_MODEL)
    if len(members) > 1:
        return _predict_fused(args, case, members, keep)
    if args.fusion:
        raise UsageError(f"--fusion {args.fusion}: give two or more models, e.g. --model clip-unet3d,unet3d,msfen")
    segmenter = Segmenter(members[0], args.device, **keep).for_case(case)  # a case lacking sequences may switch
    result = segmenter.segment(case, args.prompt, uncertainty=args.uncertainty)
    result.timings.update(load_case=loaded - started, load_checkpoint=segmenter.load_seconds)
    segmentation, report = segmenter.write(case, result, out, labels=args.labels)
    volumes, info = result.volumes_ml(case.spacing), segmenter.info
    print(f"{case.name}: {info['model']} on {info['device']}, target regions {', '.join(result.target_regions)}")
    print("  volumes: " + _volumes_text(volumes, result.sequences_used))
    for warning in [*case.warnings, *result.warnings]:
        print(f"  warning: {warning}")
    written = [segmentation, report]
    if args.snapshot:
        from brainseg.viz.snapshot import case_figure

        caption = [
            f"{case.name} · {info['model']} ({info.get('size', '?')}) · prompt: {args.prompt or 'none (every region)'}",
            _volumes_text({r: volumes[r] for r in ("WT", "TC", "ET")}, result.sequences_used)
            + ("" if result.labels.any() else " · no tumor found: views through the middle"),
            "Red NCR, green ED, yellow ET. Research and teaching only, not for clinical use.",
        ]
        written.append(out / "overlay.png")
        case_figure(case.images, case.spacing, result.target_labels(), caption).save(written[-1])
    print(f"  wrote {', '.join(str(p) for p in written)}")
    return 0


def _predict_fused(args: argparse.Namespace, case, members: tuple[str, ...], keep: dict) -> int:
    """``predict --model A,B[,C...]``: every member, then the fusion, its agreement map and one report."""
    from brainseg.hub import file_sha256
    from brainseg.inference.fusion import DEFAULT_RULE, fuse, fused_segmentation, fusion_record
    from brainseg.inference.report import AGREEMENT_FILE, REPORT_FILE, write_agreement, write_outputs
    from brainseg.inference.segmenter import Segmenter

    if len(set(members)) != len(members):
        raise UsageError(f"--model {args.model}: a model is named twice")
    if args.uncertainty:
        raise UsageError("--uncertainty is per model; run one model for it (the agreement map shows disagreement)")
    results, infos = [], []
    for member in members:
        segmenter = Segmenter(member, args.device, **keep)
        results.append(segmenter.segment(case, args.prompt))
        infos.append(segmenter.info)
    rule = args.fusion or DEFAULT_RULE
    fusion = fuse(results, [info["model"] for info in infos], rule)
    fused = fused_segmentation(fusion, results)
    info = {"model": f"fusion of {', '.join(fusion.members)}", "rule": rule, "members": infos}
    out = Path(args.out)
    segmentation, report_path = write_outputs(case, fused, info, out, labels=args.labels)
    agreement = write_agreement(fusion.agreement, case, out / AGREEMENT_FILE)
    report = json.loads(report_path.read_text())
    report["fusion"] = fusion_record(fusion, results, case.spacing)
    report["files"]["agreement"] = {"file": agreement.name, "sha256": file_sha256(agreement)}
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n")
    print(f"{case.name}: fusion ({rule}) of {', '.join(fusion.members)}")
    for member in report["fusion"]["members"]:
        volumes = member["volumes_ml"]
        print(f"  {member['model']}: " + ", ".join(f"{r} {volumes[r]:.1f} mL" for r in ("WT", "TC", "ET")))
    volumes = fused.volumes_ml(case.spacing)
    print("  fused: " + ", ".join(f"{r} {volumes[r]:.1f} mL" for r in ("WT", "TC", "ET")))
    for warning in [*case.warnings, *fused.warnings]:
        print(f"  warning: {warning}")
    print(f"  wrote {segmentation}, {agreement}, {report_path}")
    return 0


def _cmd_refine(args: argparse.Namespace) -> int:
    from brainseg.editing.session import refine_files

    if not args.click and not args.box:
        raise UsageError("give at least one --click I,J,K,SIGN,REGION or --box I0,J0,K0,I1,J1,K1,REGION")
    refined = refine_files(
        _case_files(args),
        args.seg,
        args.click,
        args.box,
        args.out,
        case_source=args.case,
        seg_labels=args.seg_labels,
        labels=args.labels,
    )
    report = refined.record
    print(f"{report['case']['name']}: {report['segmentation_is']}")
    for record in report["edits"]:
        where = record.get("input_voxel") or record.get("input_box")
        print(
            f"  {record['tool']} {record.get('sign', '')}{record['region']} at {where}: "
            f"+{record['ml_added']:.2f} mL, -{record['ml_removed']:.2f} mL ({record['seconds']:.2f} s)"
        )
    for spec in refined.unchanged:
        print(f"  changed nothing: {spec} (a - where the region is not, or a + inside it)")
    print(f"  wrote {refined.segmentation}, {refined.report}")
    return 0


def _add_switches(parser: argparse.ArgumentParser, switches: dict[str, str]) -> None:
    """On/off flags (``store_true``), each with its help text, in the given order."""
    for flag, help_text in switches.items():
        parser.add_argument(flag, action="store_true", help=help_text)


def _add_inspect_parser(commands) -> None:
    inspect = commands.add_parser("inspect", help="show what a case holds: files, naming, grid, orientation")
    _add_case_arguments(inspect)
    inspect.add_argument("--json", action="store_true", help="print JSON instead of text")
    inspect.set_defaults(handler=_cmd_inspect)


def _add_synth_parser(commands) -> None:
    synth = commands.add_parser("synth", help="write synthetic BraTS-like cases with tumor ground truth")
    synth.add_argument("--out", required=True, help="output folder")
    synth.add_argument("--cases", type=int, default=1, help="number of cases (default 1)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (same seed, same cases)")
    synth.add_argument(
        "--lesion", default="glioma", choices=["glioma", "metastasis", "low-grade"], help="tumor kind (default glioma)"
    )
    synth.set_defaults(handler=_cmd_synth)


def _add_train_parser(commands) -> None:
    train = commands.add_parser("train", help="train a model variant on synthetic cases or a BraTS folder")
    train.add_argument("--model", required=True, help="variant name (see brainseg models)")
    train.add_argument("--size", default="demo", help="config size (default demo)")
    train.add_argument(
        "--data",
        default="synth",
        help="synth, a folder of BraTS-layout cases with truth (DIR), or both: synth+DIR (default synth)",
    )
    train.add_argument("--out", required=True, help="run folder (an existing run there is resumed)")
    train.add_argument("--steps", type=int, default=1000, help="optimizer steps (default 1000)")
    train.add_argument("--patch-size", type=int, default=96, help="cubic patch edge, divisible by 16 (default 96)")
    train.add_argument("--batch-size", type=int, default=1, help="patches per step (paper: 1)")
    train.add_argument("--lr", type=float, help="peak learning rate (default: paper A.1, 1e-3)")
    train.add_argument("--train-cases", type=int, default=32, help="synthetic training cases (default 32)")
    train.add_argument("--val-cases", type=int, default=2, help="fixed synthetic validation cases (default 2)")
    train.add_argument("--val-every", type=int, default=100, help="validate and checkpoint every N steps")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--workers", type=int, default=1, help="data loader processes (default 1)")
    _add_train_case_arguments(train)
    _add_train_patch_arguments(train)
    _add_train_model_arguments(train)
    train.set_defaults(handler=_cmd_train)


def _add_train_case_arguments(train: argparse.ArgumentParser) -> None:
    """``brainseg train``'s options for the mix of synthetic training cases and how many stay in memory."""
    train.add_argument(
        "--real-share",
        type=float,
        default=0.5,
        help="with --data synth+DIR: share of patches cut from the real cases (default 0.5)",
    )
    train.add_argument(
        "--folds", type=int, help="split the real cases into N folds by case name (with --fold: cross-validation)"
    )
    train.add_argument(
        "--fold", type=int, help="hold back the real cases of fold K (0..N-1) and validate on them (real Dice)"
    )
    train.add_argument(
        "--realistic-share",
        type=float,
        default=0.0,
        help="share of synthetic training cases with realistic contrast (default 0: all domain-randomized)",
    )
    train.add_argument(
        "--metastasis-share",
        type=float,
        default=0.0,
        help="share of synthetic training cases with metastasis-like cystic lesions (default 0: all gliomas)",
    )
    train.add_argument(
        "--low-grade-share",
        type=float,
        default=0.0,
        help="share of synthetic training cases with non-enhancing low-grade-like gliomas, beyond the fifth of "
        "gliomas drawn non-enhancing (default 0)",
    )
    train.add_argument(
        "--cache-cases",
        type=int,
        default=None,
        help="normalized cases kept in memory per loader process (~75 MB each; default: every training case, "
        "up to 64; fewer than the training cases and most steps reread cases from disk)",
    )


def _add_train_patch_arguments(train: argparse.ArgumentParser) -> None:
    """``brainseg train``'s options for the patches (centres, augmentation) and where cases are made."""
    train.add_argument(
        "--tumor-probability", type=float, default=0.7, help="share of patches centred on tumor (default 0.7)"
    )
    train.add_argument(
        "--sequence-dropout",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of patches that keep only a random subset of the sequences holding FLAIR or T1ce, the others "
        "zeroed, so the model runs on cases that lack sequences (not in A.2; default 0)",
    )
    train.add_argument(
        "--hard-negative-share",
        type=float,
        default=0.0,
        help="share of patches centred on normal tissue that looks like tumor (see --hard-negative-kinds), "
        "taken from the brain-centred rest (default 0)",
    )
    train.add_argument(
        "--hard-negative-kinds",
        help="which normal tissue the hard-negative patches are centred on, comma-separated: sinus "
        "(contrast-filled venous sinuses: T1ce-bright, T2/FLAIR-dark), bright-flair (normal tissue as FLAIR-bright "
        "as edema) (default sinus)",
    )
    train.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    train.add_argument("--cache", default=".cache/synth", help="where synthetic cases are cached")
    train.add_argument(
        "--synth-shape", type=int, nargs=3, metavar=("X", "Y", "Z"), help="smaller synthetic grid for quick runs"
    )
    _add_switches(
        train,
        {
            "--edge-artifacts": "augment with simulated skull-stripping rims (not in A.2)",
            "--bias-field": "augment with per-sequence smooth intensity shading (not in A.2)",
            "--slab-cuts": "augment with the brain ending at a plane, as where a sequence's shorter slab ends "
            "(not in A.2)",
            "--real-augment": "augment for the real domain: simulated 3-6 mm slices, per-sequence shading, "
            "contrast and noise (not in A.2)",
        },
    )


def _add_train_model_arguments(train: argparse.ArgumentParser) -> None:
    """``brainseg train``'s options for the model, its loss, its starting weights and the session's length."""
    train.add_argument(
        "--loss", help="loss name instead of the variant's paper's, e.g. dice, jaccard, tversky, dice-bce"
    )
    train.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="change a model-config field from the size's JSON (ablations, e.g. pixel_fusion=false; a nested "
        "field with a dot, e.g. text.frozen=false); repeatable",
    )
    train.add_argument("--init", help="start from this checkpoint's weights (fine-tuning), e.g. local-dir:RUN/best")
    train.add_argument(
        "--pretrain-text",
        type=int,
        default=0,
        metavar="STEPS",
        help="first train the model's text encoder STEPS steps to name each prompt's region, standing in for a "
        "pretrained encoder (e.g. 200; default: 0, none)",
    )
    train.add_argument("--stop-after", type=int, help="train at most N steps now; the same command continues")
    train.add_argument(
        "--ema",
        type=float,
        metavar="DECAY",
        help="validate and save a moving average of the weights with this decay (e.g. 0.999; default: off)",
    )


def _add_evaluate_model_parser(commands) -> None:
    scores = commands.add_parser("evaluate-model", help="score checkpoints on held-out cases (papers' table)")
    scores.add_argument("--model", help="bundled checkpoint name (default when --checkpoint is not given)")
    scores.add_argument(
        "--checkpoint",
        action="append",
        help="checkpoint source (bundled name, local-dir:PATH, hf-hub:...), or NAME=SOURCE to name its row; repeatable",
    )
    scores.add_argument(
        "--data",
        default="synth:8",
        help="synth:N held-out synthetic gliomas, synth-met:N metastasis-like, synth-lgg:N non-enhancing cases, "
        "or a BraTS folder",
    )
    scores.add_argument(
        "--folds",
        type=int,
        help="cross-validation: score each case of --data DIR with its fold's checkpoint (a source with {fold}, "
        "e.g. local-dir:runs/cv/fold{fold}/checkpoints/last), as brainseg predict runs; per fold and overall",
    )
    scores.add_argument("--out", help="also write the table here (.md) and as JSON beside it")
    scores.add_argument(
        "--subsets",
        metavar="LIST",
        help="with --folds: also score each case given only these sequences, e.g. all,FLAIR,T1ce,T1ce+FLAIR "
        "(the others zeroed, as for a case whose files lack them)",
    )
    _add_switches(
        scores,
        {
            "--postprocess": "post-process as the app does: drop small tumor components, relabel a small enhancing "
            "tumor NCR (default: the network's output as thresholded)",
            "--tune-postprocess": "with --folds: choose the post-processing thresholds on the out-of-fold "
            "predictions (best mean Dice) and score with them",
        },
    )
    scores.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    scores.add_argument("--cache", default=".cache/synth", help="where synthetic cases are cached")
    scores.set_defaults(handler=_cmd_evaluate_model)


def _chosen_postprocessing(path: Path) -> dict:
    """The thresholds an ``evaluate-model --folds N --tune-postprocess --out`` JSON chose, and how."""
    try:
        record = json.loads(path.read_text())
        chosen, grid = record["postprocessing"], record["postprocessing_grid"]
        best = max(row["mean_dice"] for row in grid)
        cases = len(record["cases"])
        return {
            "min_component_fraction": float(chosen["min_component_fraction"]),
            "min_enhancing_ml": float(chosen["min_enhancing_ml"]),
            "chosen_by": f"best mean Dice ({best:.4f}) over the out-of-fold predictions of {cases} real cases, "
            f"{record['folds']}-fold cross-validation of {record['source']}, among {len(grid)} threshold pairs",
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"--postprocessing {path}: not the JSON of evaluate-model --folds N --tune-postprocess --out ({exc!r})"
        ) from None


def _add_export_checkpoint_parser(commands) -> None:
    export = commands.add_parser(
        "export-checkpoint", help="copy a checkpoint (e.g. a run's best) into Hub layout, float16 by default"
    )
    export.add_argument("source", help="checkpoint source: local-dir:RUN/checkpoints/best, bundled name, hf-hub:...")
    export.add_argument("out", help="target folder, e.g. assets/checkpoints/clip-unet3d")
    export.add_argument("--metrics", help="JSON file (e.g. from evaluate-model --out) added to the card's metrics")
    export.add_argument("--note", action="append", help="a known limitation for the model card; repeatable")
    export.add_argument(
        "--postprocessing",
        metavar="CV_JSON",
        help="the checkpoint's own post-processing thresholds, as chosen by evaluate-model --folds N "
        "--tune-postprocess --out (its JSON)",
    )
    export.add_argument("--float32", action="store_true", help="keep float32 weights (default: float16, half size)")
    export.set_defaults(handler=_cmd_export_checkpoint)


def _add_predict_parser(commands) -> None:
    predict = commands.add_parser("predict", help="segment a case: segmentation.nii.gz and report.json")
    _add_sequence_arguments(predict)
    predict.add_argument(
        "--model",
        help="checkpoint: bundled name, local-dir:PATH or hf-hub:org/repo@revision (default clip-unet3d); several, "
        "comma-separated, are each run and fused (see --fusion), with agreement.nii.gz",
    )
    predict.add_argument(
        "--fusion",
        choices=["majority", "mean", "staple"],
        help="with several --model: per-region majority vote (default), probability mean, or STAPLE",
    )
    predict.add_argument("--prompt", help="free-text target, e.g. 'enhancing tumor' (default: every region)")
    predict.add_argument(
        "--labels", default="brats2023", choices=["brats2023", "brats2021"], help="labels written (ET = 3 or 4)"
    )
    predict.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    predict.add_argument("--uncertainty", action="store_true", help="also write uncertainty.nii.gz (mirrored pass)")
    predict.add_argument("--out", required=True, help="output folder")
    _add_switches(
        predict,
        {
            "--snapshot": "also write overlay.png: tri-planar views through the tumor",
            "--register": "rigidly register every sequence to FLAIR first (SimpleITK, mutual information; for "
            "sequences that are not co-registered, ~10-25 s each on a CPU)",
            "--keep-small-components": "keep small tumor components (default: those under the checkpoint's share of "
            "the largest, 5%% unless its card chose another by cross-validation, are removed as likely "
            "false positives)",
            "--keep-small-enhancing": "keep a small enhancing tumor as ET (default: one under the checkpoint's "
            "threshold in all, 0.5 mL unless its card chose another, is relabelled NCR, as BraTS entries do)",
        },
    )
    predict.set_defaults(handler=_cmd_predict)


def _add_refine_parser(commands) -> None:
    refine = commands.add_parser(
        "refine", help="correct a segmentation with clicks and boxes: segmentation.nii.gz and report.json"
    )
    _add_sequence_arguments(refine)
    refine.add_argument("--seg", required=True, metavar="START", help="the segmentation to refine (input grid)")
    refine.add_argument(
        "--seg-labels",
        default="brats2023",
        choices=["auto", *CONVENTIONS],
        help="label convention of START (default brats2023, as brainseg predict writes; auto to detect)",
    )
    refine.add_argument(
        "--click",
        action="append",
        default=[],
        metavar="I,J,K,SIGN,REGION",
        help="voxel I,J,K of the input grid; SIGN + (it belongs to REGION) or - (it does not); REGION WT, TC or ET; "
        "repeatable, applied in order",
    )
    refine.add_argument(
        "--box",
        action="append",
        default=[],
        metavar="I0,J0,K0,I1,J1,K1,REGION",
        help="segment REGION anew inside this box of the input grid (corners inclusive); repeatable, after the clicks",
    )
    refine.add_argument(
        "--labels", default="brats2023", choices=["brats2023", "brats2021"], help="labels written (ET = 3 or 4)"
    )
    refine.add_argument("--out", required=True, help="output folder")
    refine.set_defaults(handler=_cmd_refine)


def _add_models_parser(commands) -> None:
    models = commands.add_parser("models", help="list the model variants: NAME  description  (paper file)")
    models.set_defaults(handler=_cmd_models)


def _add_labels_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """``--labels``: the label convention of ``what``, auto-detected by default."""
    parser.add_argument(
        "--labels",
        default="auto",
        choices=["auto", *CONVENTIONS],
        help=f"label convention of {what} (auto detects among {', '.join(AUTO_DETECTED)})",
    )


def _add_evaluate_parser(commands) -> None:
    evaluate = commands.add_parser("evaluate", help="compare a segmentation with a ground truth (JSON)")
    evaluate.add_argument("--pred", required=True, help="predicted segmentation NIfTI")
    evaluate.add_argument("--truth", required=True, help="ground-truth segmentation NIfTI (same grid)")
    _add_labels_argument(evaluate, "the files")
    evaluate.add_argument("--pred-labels", choices=list(CONVENTIONS), help="convention of --pred when it differs")
    evaluate.add_argument("--out", help="also write the JSON report to this file")
    evaluate.set_defaults(handler=_cmd_evaluate)


def _add_rano_parser(commands) -> None:
    from brainseg.metrics.rano import DEFAULT_RULE, RULES

    rano = commands.add_parser(
        "rano", help="bidimensional (RANO) and volumetric measurement of a segmentation's enhancing lesions"
    )
    rano.add_argument("--seg", required=True, help="segmentation NIfTI (a prediction or a truth)")
    _add_labels_argument(rano, "the file")
    rano.add_argument(
        "--rule", default=DEFAULT_RULE, choices=list(RULES), help="target-lesion and response rule (default rano2)"
    )
    rano.add_argument("--baseline", help="the earlier time point's segmentation: percent changes and response")
    rano.add_argument("--baseline-labels", choices=list(CONVENTIONS), help="convention of --baseline when it differs")
    rano.add_argument("--json", help="also write the measurement (and response) as JSON here")
    rano.set_defaults(handler=_cmd_rano)


def build_parser() -> argparse.ArgumentParser:
    """The ``brainseg`` argument parser with all subcommands."""
    parser = _Parser(prog="brainseg", description="Brain-tumor segmentation on four-sequence MRI.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for add in (
        _add_inspect_parser,
        _add_synth_parser,
        _add_train_parser,
        _add_evaluate_model_parser,
        _add_export_checkpoint_parser,
        _add_predict_parser,
        _add_refine_parser,
        _add_models_parser,
        _add_evaluate_parser,
        _add_rano_parser,
    ):
        add(commands)
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
