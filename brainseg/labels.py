"""Tumor sub-regions, evaluation regions and label conventions, defined once for the whole package.

Internally every label map uses the BraTS 2023 values: 0 background, 1 NCR (necrotic / non-enhancing
tumor core), 2 ED (peritumoral edema, SNFH), 3 ET (enhancing tumor). Files in other conventions are
converted on the way in (:func:`to_internal`) and on the way out (:func:`from_internal`).

Evaluation regions are nested unions of sub-regions::

    WT (whole tumor) = NCR + ED + ET
    TC (tumor core)  = NCR + ET
    ET (enhancing)   = ET

Metrics, prompts, visualization and export all read :data:`REGIONS` and :data:`CONVENTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainseg.errors import LabelConventionError

# Internal label values (BraTS 2023 layout).
BACKGROUND, NCR, ED, ET = 0, 1, 2, 3

SUBREGIONS: dict[str, int] = {"NCR": NCR, "ED": ED, "ET": ET}
"""Sub-region name -> internal label value."""
LABEL_NAMES: dict[int, str] = {BACKGROUND: "background", **{value: name for name, value in SUBREGIONS.items()}}
"""Internal label value -> its short name (``background``, ``NCR``, ``ED``, ``ET``)."""

REGIONS: dict[str, tuple[int, ...]] = {
    "WT": (NCR, ED, ET),
    "TC": (NCR, ET),
    "ET": (ET,),
    "NCR": (NCR,),
    "ED": (ED,),
}
"""Region name -> the internal labels it is made of. WT, TC, ET are the BraTS evaluation regions."""

EVALUATION_REGIONS: tuple[str, ...] = ("WT", "TC", "ET")

REGION_NAMES: dict[str, str] = {
    "WT": "whole tumor (NCR + ED + ET)",
    "TC": "tumor core (NCR + ET)",
    "ET": "enhancing tumor",
    "NCR": "necrotic / non-enhancing tumor core",
    "ED": "peritumoral edema (SNFH)",
}


@dataclass(frozen=True)
class LabelConvention:
    """A published label scheme.

    Args:
        name: identifier used on the command line (``brats2021``).
        title: human-readable name.
        meanings: file label value -> meaning, as the challenge documents it.
        to_internal: file label value -> internal label value (0 drops the label from all regions).
    """

    name: str
    title: str
    meanings: dict[int, str]
    to_internal: dict[int, int]

    @property
    def values(self) -> frozenset[int]:
        """Label values (background included) that may appear in a file of this convention."""
        return frozenset({0, *self.meanings})


CONVENTIONS: dict[str, LabelConvention] = {
    c.name: c
    for c in (
        LabelConvention(
            "brats2015",
            "BraTS 2013-2015",
            {1: "necrosis", 2: "edema", 3: "non-enhancing tumor", 4: "enhancing tumor"},
            # Necrosis and non-enhancing tumor were merged into NCR from 2017 on; both are tumor core.
            {1: NCR, 2: ED, 3: NCR, 4: ET},
        ),
        LabelConvention(
            "brats2021",
            "BraTS 2017-2021",
            {1: "NCR/NET (necrotic and non-enhancing tumor core)", 2: "ED (edema)", 4: "ET (enhancing tumor)"},
            {1: NCR, 2: ED, 4: ET},
        ),
        LabelConvention(
            "brats2023",
            "BraTS 2023 (GLI and siblings)",
            {1: "NCR (necrotic tumor core, NETC)", 2: "ED (edema, SNFH)", 3: "ET (enhancing tumor)"},
            {1: NCR, 2: ED, 3: ET},
        ),
        LabelConvention(
            "brats2024",
            "BraTS 2024 post-treatment",
            {1: "NETC", 2: "SNFH", 3: "ET", 4: "resection cavity"},
            # The resection cavity is not tumor: it belongs to none of WT, TC, ET.
            {1: NCR, 2: ED, 3: ET, 4: BACKGROUND},
        ),
        LabelConvention(
            "msd",
            "Medical Segmentation Decathlon Task01 BrainTumour",
            {1: "edema", 2: "non-enhancing tumor", 3: "enhancing tumor"},
            {1: ED, 2: NCR, 3: ET},
        ),
    )
}
"""Every convention a label map can be read in. Only ``brats2021`` and ``brats2023`` are written."""

OUTPUT_CONVENTIONS: tuple[str, ...] = ("brats2023", "brats2021")
DEFAULT_OUTPUT_CONVENTION = "brats2023"
AUTO_DETECTED = ("brats2015", "brats2021", "brats2023")
"""Conventions that :func:`detect_convention` chooses between; ``brats2024`` and ``msd`` must be named."""


def get_convention(name: str) -> LabelConvention:
    """Look a convention up by name; an unknown name raises an error listing the valid ones."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise LabelConventionError(
            f"unknown label convention {name!r}; expected one of: {', '.join(CONVENTIONS)}"
        ) from None


@dataclass(frozen=True)
class ConventionGuess:
    """Result of :func:`detect_convention`: the convention and the reason it was chosen."""

    name: str
    reason: str


def _present_values(label_map: np.ndarray, source: str) -> list[int]:
    """Sorted label values in ``label_map``; non-integer values raise."""
    values = np.unique(label_map)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        bad = [v for v in values if not np.isfinite(v) or v != round(float(v))][:5]
        raise LabelConventionError(
            f"{source}: label map has non-integer values {bad}; expected integer labels such as 0, 1, 2, 3, 4"
        )
    return [int(v) for v in values]


def detect_convention(label_map: np.ndarray, source: str = "label map", hint: str | None = None) -> ConventionGuess:
    """Tell which BraTS convention a label map uses from the values present.

    Args:
        label_map: integer label volume of any shape.
        source: name of the file, for messages.
        hint: a convention suggested by context (e.g. the BraTS 2023 file naming), used only where the
            values alone cannot decide.

    Returns:
        The convention and why. Maps whose values mean the same regions under every BraTS convention
        (only 0, 1, 2) are reported as ``brats2023``.

    Raises:
        LabelConventionError: values outside 0-4, or label 3 without label 4 and no hint (3 is ET in
            BraTS 2023 but non-enhancing tumor in BraTS 2013-2015).
    """
    values = _present_values(label_map, source)
    invalid = [v for v in values if v not in (0, 1, 2, 3, 4)]
    if invalid:
        raise LabelConventionError(
            f"{source}: label values {invalid} are not BraTS labels; expected 0 and a subset of 1, 2, 3, 4"
        )
    present = set(values) - {0}
    if hint is not None and hint not in CONVENTIONS:
        get_convention(hint)  # raises with the list of valid names
    if hint is not None and present <= CONVENTIONS[hint].values:
        return ConventionGuess(hint, f"values {sorted(present)} fit {hint}, named by context")
    if not present:
        return ConventionGuess("brats2023", "empty map (only background); every convention reads it the same")
    if present <= {1, 2}:
        return ConventionGuess("brats2023", f"values {sorted(present)} mean NCR and ED in every BraTS convention")
    if 4 in present and 3 in present:
        return ConventionGuess("brats2015", "labels 3 and 4 both present: only BraTS 2013-2015 uses both")
    if 4 in present:
        return ConventionGuess("brats2021", "label 4 (ET) present without 3: BraTS 2017-2021")
    raise LabelConventionError(
        f"{source}: label 3 without label 4 is ambiguous (ET in BraTS 2023, non-enhancing tumor in BraTS "
        "2013-2015, ET in MSD with 1=edema); name the convention (the app's 'Truth label convention', the CLI's "
        "--labels), e.g. brats2023"
    )


def to_internal(label_map: np.ndarray, convention: str, source: str = "label map") -> np.ndarray:
    """Convert a label map from ``convention`` to internal labels.

    Args:
        label_map: integer label volume, any shape.
        convention: a name from :data:`CONVENTIONS`.
        source: name of the file, for messages.

    Returns:
        uint8 array of the same shape with values in {0, 1 NCR, 2 ED, 3 ET}.
    """
    conv = get_convention(convention)
    values = _present_values(label_map, source)
    unexpected = sorted(set(values) - conv.values)
    if unexpected:
        raise LabelConventionError(
            f"{source}: label values {unexpected} do not exist in {conv.title} (allowed: {sorted(conv.values)})"
        )
    lookup = np.zeros(max(conv.values) + 1, dtype=np.uint8)
    for file_value, internal in conv.to_internal.items():
        lookup[file_value] = internal
    return lookup[np.asarray(label_map).astype(np.int64)]


def from_internal(internal: np.ndarray, convention: str = DEFAULT_OUTPUT_CONVENTION) -> np.ndarray:
    """Convert internal labels (0, 1 NCR, 2 ED, 3 ET) to an output convention (``brats2023`` or ``brats2021``).

    Returns:
        uint8 array of the same shape.
    """
    if convention not in OUTPUT_CONVENTIONS:
        raise LabelConventionError(f"labels can be written as {' or '.join(OUTPUT_CONVENTIONS)}, not {convention!r}")
    lookup = np.array([0, 1, 2, 3], dtype=np.uint8)
    if convention == "brats2021":
        lookup[ET] = 4
    return lookup[np.asarray(internal, dtype=np.uint8)]


def region_mask(internal: np.ndarray, region: str) -> np.ndarray:
    """Boolean mask of ``region`` (WT, TC, ET, NCR or ED) in an internal label map of any shape."""
    try:
        labels = REGIONS[region]
    except KeyError:
        raise LabelConventionError(f"unknown region {region!r}; expected one of: {', '.join(REGIONS)}") from None
    return np.isin(internal, labels)


def labels_from_regions(wt: np.ndarray, tc: np.ndarray, et: np.ndarray) -> np.ndarray:
    """Build an internal label map from three boolean region masks of one shape.

    The regions are forced to nest (ET within TC within WT): a voxel is ET if ``et & tc & wt``, NCR if
    in TC but not ET, ED if in WT but not TC.

    Returns:
        uint8 array with values in {0, 1, 2, 3}.
    """
    wt = np.asarray(wt, dtype=bool)
    tc = np.asarray(tc, dtype=bool) & wt
    et = np.asarray(et, dtype=bool) & tc
    out = np.zeros(wt.shape, dtype=np.uint8)
    out[wt] = ED
    out[tc] = NCR
    out[et] = ET
    return out
