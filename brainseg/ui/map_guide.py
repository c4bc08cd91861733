"""Which heat map the app shows first, and the line under each map saying what it is and whether it points at
the tumor, from measured pointing-game scores (``benchmarks/pointing_game.py``, ``docs/pointing-game.md``).

A map's pointing-game score is the share of its brightest 1 % of brain voxels inside the region it is meant to
show, on real cases with an expert truth; a map that knows nothing of the tumor scores the region's share of
the brain (chance). Scores belong to one checkpoint (its sha256): another checkpoint of the same variant is
"not measured". A map is shown first only if it scores well (:func:`points_well`); one that does not is still
offered, saying so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from brainseg.hub.sources import BUNDLED_DIR

SCORES_FILE = BUNDLED_DIR / "pointing_game.json"
"""Written by ``python -m benchmarks.pointing_game --scores``: variant -> checkpoint sha256, cases, scores."""
GOOD_SCORE = 0.25
"""A map points well when at least this share of its brightest voxels is in the region ..."""
GOOD_OVER_CHANCE = 5.0
"""... and that share is at least this many times the region's share of the brain."""
FIRST_CHOICES = ("prompt", "WT", "TC", "ET", "activation", "uncertainty", "semantic")
"""The order maps are tried in for the first one shown (then any other map, e.g. ``modality_*``)."""

WHAT_MAPS_ARE = {
    "prompt": "the model's attention for the regions the prompt asked for ({regions})",
    "semantic": "the model's own spatial attention before any region is chosen (not a tumor map by design)",
    "WT": "the model's attention for its whole-tumor output",
    "TC": "the model's attention for its tumor-core output",
    "ET": "the model's attention for its enhancing-tumor output",
    "uncertainty": "how much the plain and the left-right mirrored pass disagree (entropy; 0 = certain)",
    "activation": "the mean activation of the network's last decoder stage",
}


@dataclass(frozen=True)
class MapScore:
    """One measured map: mean pointing-game score, the region it was scored against, that region's chance
    score, the number of cases, and whether the app shows it as one flat colour on some case."""

    score: float
    region: str
    chance: float
    cases: int
    flat: bool = False

    def points_well(self) -> bool:
        return not self.flat and self.score >= max(GOOD_SCORE, GOOD_OVER_CHANCE * self.chance)


@cache
def _measured(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def map_score(
    model: str, sha256: str, name: str, regions: tuple[str, ...], path: Path = SCORES_FILE
) -> MapScore | None:
    """The measured score of map ``name`` of this checkpoint for a run asking for ``regions`` (None when that
    checkpoint or map was not measured). The ``prompt`` and ``semantic`` maps are scored against the regions
    asked (WT without a prompt); region maps against their region; the others against WT."""
    variant = _measured(path).get("variants", {}).get(model)
    if not variant or variant.get("sha256") != sha256:
        return None
    if name in ("prompt", "semantic"):
        region = "+".join(regions) or "WT"
    else:
        region = name if name in ("WT", "TC", "ET") else "WT"
    entry = variant.get("maps", {}).get(f"{name}:{region}")
    if entry is None:
        return None
    return MapScore(entry["score"], region, entry["chance"], int(variant.get("cases", 0)), bool(entry.get("flat")))


def first_map(names: list[str], scores: dict[str, MapScore | None]) -> str | None:
    """The map to show first: the first of :data:`FIRST_CHOICES` (then the rest) that points well; None if
    none does."""
    ordered = [n for n in FIRST_CHOICES if n in names] + [n for n in names if n not in FIRST_CHOICES]
    return next((n for n in ordered if (s := scores.get(n)) is not None and s.points_well()), None)


def map_note(name: str, score: MapScore | None, regions: tuple[str, ...]) -> str:
    """One line under a map: what it is, and how well it pointed at the tumor on real cases."""
    what = WHAT_MAPS_ARE.get(name, f"the model's {name.replace('_', ' ')} map")
    what = what.format(regions=" + ".join(regions) or "every region")
    if score is None:
        return f"{what[0].upper()}{what[1:]}. Not measured on real cases for this checkpoint."
    verdict = "points at the tumor" if score.points_well() else "does not point at the tumor"
    flat = "; shown as almost one colour" if score.flat else ""
    measured = (
        f"{score.score:.0%} of its brightest 1 % of voxels fall in the {score.region} on {score.cases} real cases "
        f"(chance {score.chance:.0%}){flat}"
    )
    return f"{what[0].upper()}{what[1:]}: {verdict}, {measured}."
