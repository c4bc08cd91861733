"""Cross-validation folds over named real cases, the same on every machine and in every run.

Cases are sorted by name and dealt round-robin: case ``i`` of the sorted list is in fold ``i % folds``. So
the split depends on the case names alone (not on file order, seeds or hashing), neighbouring names, which
in BraTS share a source (``Brats18_2013_*``, ``Brats18_TCIA10_*``), are spread over different folds, and
adding cases to a folder moves only the cases after them in name order.
"""

from __future__ import annotations

from collections.abc import Sequence

from brainseg.errors import BrainSegError


def check_folds(fold: int | None, folds: int | None, cases: int | None = None) -> None:
    """Raise :class:`BrainSegError` unless ``fold`` / ``folds`` name one fold of a valid split of ``cases``.

    ``folds`` alone (no ``fold``) is allowed: every fold, as ``evaluate-model --folds`` reads them.
    """
    if folds is None:
        if fold is not None:
            raise BrainSegError(f"fold {fold} needs a number of folds (e.g. folds 6)")
        return
    if folds < 2:
        raise BrainSegError(f"folds must be at least 2, got {folds}")
    if cases is not None and folds > cases:
        raise BrainSegError(f"folds {folds}: more folds than the {cases} real cases")
    if fold is not None and not 0 <= fold < folds:
        raise BrainSegError(f"fold must be in 0..{folds - 1} for {folds} folds, got {fold}")


def fold_of(names: Sequence[str], folds: int) -> dict[str, int]:
    """Case name -> its fold in ``0 .. folds - 1`` (sorted names dealt round-robin)."""
    ordered = sorted(set(names))
    if len(ordered) != len(names):
        raise BrainSegError("case names must be distinct to split them into folds")
    check_folds(None, folds, len(ordered))
    return {name: index % folds for index, name in enumerate(ordered)}


def split_fold(names: Sequence[str], fold: int, folds: int) -> tuple[list[str], list[str]]:
    """``(training names, held-out names)`` of ``fold``, each sorted."""
    check_folds(fold, folds, len(names))
    assignment = fold_of(names, folds)
    training = sorted(name for name, k in assignment.items() if k != fold)
    held_out = sorted(name for name, k in assignment.items() if k == fold)
    return training, held_out
