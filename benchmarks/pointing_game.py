"""Benchmark: do the app's heat maps point at the tumor? Pointing-game scores per variant and map kind.

    nice -n 15 .venv/bin/python -m benchmarks.pointing_game [--cases 4] [--variants NAME ...] [--verbose]

For every variant whose checkpoint the app finds locally (:func:`brainseg.ui.model_menu.model_choices`: the
bundled ``assets/checkpoints/<variant>/``, or a ``local-dir:`` override), on ``--cases`` real BraTS 2018
cases with truth (``../shared/data/real-train/``, spread evenly over the sorted case list; skipped with a
message when the folder is absent), the segmenter runs as the app runs it: once without a prompt (with
uncertainty) and with the prompts "whole tumor", "tumor core" and "enhancing tumor" (served from its
cache). The maps scored are exactly those the app shows: :func:`brainseg.ui.segmentation.heat_volumes`
with the app's brain (any sequence nonzero), quantized to 256 levels, and ranked inside that brain only.

A map's score is :func:`brainseg.metrics.pointing.pointing_game`: the share of its brightest 1 % of brain
voxels that lie inside its region of the truth (ties shared by expectation). Regions: the ``WT``, ``TC``
and ``ET`` attention maps against that region; the ``prompt`` map against the prompt's region; the
``semantic`` map against WT and against each prompt's region; ``uncertainty`` and any other map
(``modality_*``) against WT. The ``chance`` column is the region's share of the brain
(:func:`~brainseg.metrics.pointing.chance_pointing`): what a map that knows nothing of the tumor scores.

The table (and with ``--verbose`` the per-case rows) is printed and written between the markers of
``docs/pointing-game.md`` (``--doc PATH``; ``--doc ''`` writes nothing); the text around the markers is kept.
The means, with each checkpoint's sha256, go to ``assets/checkpoints/pointing_game.json`` (``--scores``), which
the app reads to pick the map it shows first (:mod:`brainseg.ui.map_guide`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "real-train"
DOC = REPO / "docs" / "pointing-game.md"
SCORES = REPO / "assets" / "checkpoints" / "pointing_game.json"
BEGIN, END = "<!-- pointing-game:begin -->", "<!-- pointing-game:end -->"
PROMPTS = {"whole tumor": "WT", "tumor core": "TC", "enhancing tumor": "ET"}
"""The prompts run, and the region each one asks for (checked against the prompt reader at run time)."""
FIXED_ROWS = (
    ("semantic", "WT"),
    ("semantic", "TC"),
    ("semantic", "ET"),
    ("WT", "WT"),
    ("TC", "TC"),
    ("ET", "ET"),
    ("uncertainty", "WT"),
)


@dataclass(frozen=True)
class Score:
    variant: str
    case: str
    map: str  # row label, e.g. "semantic", "prompt \"tumor core\""
    region: str
    score: float
    chance: float
    flat: float  # share of the brain at the map's top level: above 0.5 the app shows a uniform map


def pick_cases(folder: Path, count: int) -> list[Path]:
    """``count`` case folders spread evenly over the sorted list (mixes the 2013, CBICA and TCIA sources)."""
    cases = sorted(p for p in folder.iterdir() if p.is_dir() and any(p.glob("*seg.nii*")))
    if count >= len(cases):
        return cases
    picks = np.linspace(0, len(cases) - 1, count).round().astype(int)
    return [cases[i] for i in picks]


def local_variants(names: list[str] | None) -> dict[str, str]:
    """Variant -> checkpoint source, for the variants whose checkpoint is in a local folder, as the app finds them."""
    from brainseg.ui.model_menu import model_choices

    choices = model_choices()
    unknown = sorted(set(names or ()) - set(choices))
    if unknown:
        raise SystemExit(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(choices)}")
    picked = {}
    for name, choice in choices.items():
        if names and name not in names:
            continue
        if choice.available and choice.folder is not None:
            picked[name] = choice.source
        else:
            print(f"skipping {name}: no local checkpoint ({choice.source})", file=sys.stderr)
    return picked


def score_case(variant: str, segmenter, case, top_fraction: float) -> list[Score]:
    """Every map the app shows for ``case``, without a prompt and with each of :data:`PROMPTS`, scored."""
    from brainseg.labels import region_mask
    from brainseg.metrics.pointing import chance_pointing, pointing_game
    from brainseg.ui.segmentation import PROMPT, heat_volumes

    brain = (case.images != 0).any(axis=0)  # the app's brain (brainseg.ui.segmentation.run_segmentation)
    truth = {r: region_mask(case.truth, r) for r in ("WT", "TC", "ET")}
    chance = {r: chance_pointing(mask, brain) for r, mask in truth.items()}
    scores = []

    def add(label: str, levels: np.ndarray, region: str) -> None:
        value = pointing_game(levels, truth[region], brain, top_fraction)
        flat = float(np.mean(levels[brain] == levels[brain].max())) if brain.any() else math.nan
        scores.append(Score(variant, case.name, label, region, value, chance[region], flat))

    result = segmenter.segment(case, None, uncertainty=True)
    maps = heat_volumes(result, brain, prompted=False)
    for name, heat in maps.items():
        region = name if name in truth else "WT"
        add(name, heat.levels, region)
        if name == "semantic":
            for other in ("TC", "ET"):
                add(name, heat.levels, other)
    for prompt, region in PROMPTS.items():
        result = segmenter.segment(case, prompt, uncertainty=True)  # the cached outputs, read for this prompt
        if tuple(result.target_regions) != (region,):
            raise SystemExit(f"prompt {prompt!r} was read as {result.target_regions}, expected ({region},)")
        maps = heat_volumes(result, brain, prompted=True)
        add(f'{PROMPT} "{prompt}"', maps[PROMPT].levels, region)
    return scores


def _mean(values: list[float]) -> tuple[float, int]:
    finite = [v for v in values if not math.isnan(v)]
    return (float(np.mean(finite)) if finite else math.nan), len(finite)


FLAT = 0.5
"""A map with more than this share of the brain at its top level is shown as one uniform colour: marked ``flat``."""


def _cell(value: float, count: int, total: int, flat: bool = False) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.2f}" + (f" ({count}/{total})" if count < total else "") + (" flat" if flat else "")


def summary_table(scores: list[Score], variants: list[str], cases: list[str]) -> str:
    """Markdown: map kind x (chance, variants...) -> mean score over the cases."""
    prompted = [(f'prompt "{p}"', r) for p, r in PROMPTS.items()]
    rows = [*FIXED_ROWS, *prompted]
    rows += sorted({(s.map, s.region) for s in scores} - set(rows))  # modality_* maps, when a variant has them
    lines = [
        "| map -> region | chance | " + " | ".join(variants) + " |",
        "|---|---|" + "---|" * len(variants),
    ]
    for kind, region in rows:
        chance_values = {s.case: s.chance for s in scores if s.region == region}
        chance, n = _mean([chance_values[c] for c in cases if c in chance_values])
        cells = [f"`{kind}` -> {region}", _cell(chance, n, len(cases))]
        for variant in variants:
            values = [s.score for s in scores if s.variant == variant and s.map == kind and s.region == region]
            mean, count = _mean(values)
            flat = any(s.flat > FLAT for s in scores if s.variant == variant and s.map == kind)
            cells.append(_cell(mean, count, len(cases), flat) if values else "n/a")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def case_table(scores: list[Score], variants: list[str], cases: list[str]) -> str:
    """Markdown: one row per (case, map -> region): chance and each variant's score."""
    keys = list(dict.fromkeys((s.map, s.region) for s in scores))
    lines = [
        "| case | map -> region | chance | " + " | ".join(variants) + " |",
        "|---|---|---|" + "---|" * len(variants),
    ]
    for case in cases:
        for kind, region in keys:
            here = {s.variant: s for s in scores if s.case == case and s.map == kind and s.region == region}
            if not here:
                continue
            chance = next(iter(here.values())).chance
            cells = [case, f"`{kind}` -> {region}", _cell(chance, 1, 1)]
            cells += [_cell(here[v].score, 1, 1, here[v].flat > FLAT) if v in here else "n/a" for v in variants]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scores_json(scores: list[Score], shas: dict[str, str], cases: list[str], command: str) -> dict:
    """What :mod:`brainseg.ui.map_guide` reads: per variant its checkpoint's sha256 and, per ``map:region``
    (``prompt:ET`` for the prompt asking for ET), the mean score, mean chance and whether it was ever flat."""
    variants = {}
    for variant, sha in shas.items():
        maps = {}
        for kind, region in dict.fromkeys((s.map, s.region) for s in scores if s.variant == variant):
            mine = [s for s in scores if s.variant == variant and s.map == kind and s.region == region]
            key = f"{'prompt' if kind.startswith('prompt ') else kind}:{region}"
            score, _ = _mean([s.score for s in mine])
            chance, _ = _mean([s.chance for s in mine])
            if not math.isnan(score):
                flat = any(s.flat > FLAT for s in mine)
                maps[key] = {"score": round(score, 3), "chance": round(chance, 3), "flat": flat}
        variants[variant] = {"sha256": sha, "cases": len(cases), "maps": maps}
    generated = datetime.now(UTC).isoformat(timespec="seconds")
    return {"generated": generated, "command": command, "cases": cases, "variants": variants}


def write_doc(path: Path, generated: str) -> None:
    """Replace the text between the markers (or append it, with markers) and keep the rest of the file."""
    block = f"{BEGIN}\n{generated.rstrip()}\n{END}"
    text = path.read_text() if path.exists() else "# Pointing game: do the heat maps point at the tumor?\n\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=4, help="real cases with truth to use (default 4)")
    parser.add_argument("--data", type=Path, default=DATA, help="folder of BraTS case folders with truth")
    parser.add_argument("--variants", nargs="*", help="variants to run (default: every one with a local checkpoint)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda")
    parser.add_argument("--top-fraction", type=float, default=0.01, help="share of a map's brain voxels (0.01)")
    parser.add_argument("--doc", default=str(DOC), help="markdown file to write the table into ('' for none)")
    parser.add_argument("--verbose", action="store_true", help="also the per-case rows")
    parser.add_argument(
        "--scores", default=str(SCORES), help="JSON of the scores for the app's map guide ('' for none)"
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"skipped: no real cases with truth at {args.data} (the BraTS 2018 folder is not in this checkout)")
        return
    if args.cases < 1:
        raise SystemExit("--cases must be at least 1")

    from brainseg.inference.segmenter import Segmenter
    from brainseg.io import load_case

    folders = pick_cases(args.data, args.cases)
    if not folders:
        print(f"skipped: no case folder with a *seg.nii* truth file in {args.data}")
        return
    variants = local_variants(args.variants)
    started = time.perf_counter()
    cases = [load_case(folder) for folder in folders]
    names = [c.name for c in cases]
    print(f"{len(cases)} case(s): {', '.join(names)}", file=sys.stderr)
    scores: list[Score] = []
    seconds: dict[str, float] = {}
    shas: dict[str, str] = {}
    for variant, source in variants.items():
        step = time.perf_counter()
        segmenter = Segmenter(source, args.device)
        shas[variant] = str(segmenter.info.get("sha256", ""))
        for case in cases:
            scores += score_case(variant, segmenter, case, args.top_fraction)
            print(f"  {variant} {case.name}: {time.perf_counter() - step:.0f} s so far", file=sys.stderr)
        del segmenter
        seconds[variant] = time.perf_counter() - step
    total = time.perf_counter() - started

    summary = summary_table(scores, list(variants), names)
    per_case = case_table(scores, list(variants), names) if args.verbose else ""
    niceness = os.nice(0)  # the priority it ran at, so that the command reads as it was typed
    command = (f"nice -n {niceness} " if niceness else "") + ".venv/bin/python -m benchmarks.pointing_game "
    command += shlex.join(sys.argv[1:] if argv is None else argv)
    timing = ", ".join(f"{v} {s:.0f} s" for v, s in seconds.items())
    generated = "\n".join(
        [
            f"Generated {datetime.now(UTC).strftime('%Y-%m-%d %H:%M')} UTC by",
            "",
            "```bash",
            command.strip(),
            "```",
            "",
            f"{len(cases)} real BraTS 2018 cases with truth ({', '.join(names)}), top {args.top_fraction:.0%} of "
            f"each map's brain voxels, device {args.device}, {platform.processor() or platform.machine()}; "
            f"{total / 60:.1f} min in all ({timing}). Cells: mean pointing-game score over the cases "
            "(1 = every one of the brightest voxels is in the region); `(k/n)`: only k cases have that region; "
            "`n/a`: the variant has no such map; `flat`: on some case more than half the brain is at the map's top "
            "level, so the app shows it as one colour; `chance`: the region's mean share of the brain.",
            "",
            summary,
        ]
        + (["", "Per case:", "", per_case] if per_case else [])
    )
    print(generated)
    if args.doc:
        write_doc(Path(args.doc), generated)
        print(f"written to {args.doc}", file=sys.stderr)
    if args.scores:
        Path(args.scores).write_text(json.dumps(scores_json(scores, shas, names, command.strip()), indent=1) + "\n")
        print(f"written to {args.scores}", file=sys.stderr)


if __name__ == "__main__":
    main()
