"""Which sequences a case has, and which tumor regions that subset can support.

A clinical case often lacks one or more of the four BraTS sequences. BrainSeg segments any subset that
holds FLAIR or T1ce, by what each sequence shows:

- the whole tumor (WT: edema plus core) is the hyperintense region of FLAIR or T2;
- the tumor core (TC) and enhancing tumor (ET) are defined by contrast enhancement, seen only on T1ce.

So FLAIR alone gives WT only, T1ce alone gives TC and ET only, and T1ce with FLAIR or T2 gives all three.
A missing sequence is an all-zero channel in :attr:`brainseg.io.Case.images`; models trained with sequence
dropout (``brainseg train --sequence-dropout``) learned that input.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import combinations

from brainseg.errors import CaseFilesError
from brainseg.io.naming import SEQUENCES
from brainseg.labels import EVALUATION_REGIONS

INFORMATIVE = ("FLAIR", "T1ce")
"""A case needs at least one of these: without them no region is defined."""

REGION_NEEDS: dict[str, tuple[str, ...]] = {"WT": ("FLAIR", "T2"), "TC": ("T1ce",), "ET": ("T1ce",)}
"""Region -> the sequences any one of which shows it (edema on FLAIR / T2; enhancement on T1ce)."""


def ordered(sequences: Iterable[str]) -> tuple[str, ...]:
    """``sequences`` in :data:`SEQUENCES` order (T1, T1ce, T2, FLAIR), each once; unknown names raise."""
    given = set(sequences)
    unknown = given - set(SEQUENCES)
    if unknown:
        raise CaseFilesError(f"unknown sequence {sorted(unknown)[0]!r}; expected some of {', '.join(SEQUENCES)}")
    return tuple(s for s in SEQUENCES if s in given)


def usable_subsets() -> list[tuple[str, ...]]:
    """Every subset of the four sequences that holds FLAIR or T1ce, the full set last (12 in all)."""
    subsets = [
        subset
        for size in range(1, len(SEQUENCES) + 1)
        for subset in combinations(SEQUENCES, size)
        if any(s in subset for s in INFORMATIVE)
    ]
    return subsets


def supported_regions(available: Iterable[str], regions: Iterable[str] = EVALUATION_REGIONS) -> tuple[str, ...]:
    """Those of ``regions`` (WT, TC, ET; also NCR and ED) that the ``available`` sequences can show.

    NCR is part of the core (needs T1ce); ED is the whole tumor less the core, so it needs both.
    """
    have = set(available)
    shown = {r for r, needs in REGION_NEEDS.items() if any(s in have for s in needs)}
    shown |= {"NCR"} if "TC" in shown else set()
    shown |= {"ED"} if {"WT", "TC"} <= shown else set()
    return tuple(r for r in regions if r in shown)


_SUBREGION_NEEDS = {"NCR": "needs T1ce", "ED": "needs T1ce and FLAIR or T2"}


def missing_region_reasons(available: Iterable[str], regions: Iterable[str] = EVALUATION_REGIONS) -> dict[str, str]:
    """Region -> why it is not predicted (e.g. ``{"TC": "needs T1ce"}``), for those of ``regions`` (WT, TC, ET;
    also NCR and ED) that the ``available`` sequences cannot show."""
    have = tuple(available)
    supported = supported_regions(have, tuple(regions))
    return {
        r: _SUBREGION_NEEDS[r] if r in _SUBREGION_NEEDS else "needs " + " or ".join(REGION_NEEDS[r])
        for r in regions
        if r not in supported
    }


def check_available(available: Iterable[str], source: str) -> tuple[str, ...]:
    """The available sequences in canonical order; a one-line error when neither FLAIR nor T1ce is among them.

    Args:
        available: sequence names found for a case.
        source: how the case was given (folder, zip, file list), for the message.
    """
    have = ordered(available)
    if not any(s in have for s in INFORMATIVE):
        found = ", ".join(have) or "no sequence"
        raise CaseFilesError(
            f"{source}: found {found}; need FLAIR or T1ce (FLAIR alone gives the whole tumor, T1ce the tumor core "
            "and enhancing tumor; all four give the best result)"
        )
    return have


def describe_subset(available: Iterable[str]) -> str:
    """One line for the user: what was used and which regions that allows, e.g. for FLAIR alone
    ``"sequences used: FLAIR (missing T1, T1ce, T2); regions predicted: WT; not predicted: TC, ET (need T1ce)"``."""
    have = ordered(available)
    missing = [s for s in SEQUENCES if s not in have]
    text = f"sequences used: {', '.join(have)}" + (f" (missing {', '.join(missing)})" if missing else "")
    text += f"; regions predicted: {', '.join(supported_regions(have))}"
    reasons = missing_region_reasons(have)
    if reasons:
        needs = sorted(set(reasons.values()))
        text += f"; not predicted: {', '.join(reasons)} ({'; '.join(n.replace('needs', 'need') for n in needs)})"
    return text
