"""Example cases the app offers: bundled synthetic cases and, in a development checkout, real ones.

An example is a folder whose file names say the sequences (see :mod:`brainseg.io.naming`). Loaded
examples are cached (read-only, shared by every session), so picking one again is instant.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from brainseg.editing import IntensityScale
from brainseg.errors import CaseFilesError
from brainseg.io import Case, load_case
from brainseg.io.naming import TRUTH, recognize
from brainseg.viz import CaseRenderer

REPO = Path(__file__).resolve().parents[2]
BUNDLED_EXAMPLES = REPO / "assets" / "examples"
"""Synthetic cases shipped with the repository, one folder each."""
REAL_EXAMPLES = REPO.parent / "shared" / "data" / "real"
"""Real cases next to a development checkout (absent in a user's clone)."""
REAL_TRUTH_EXAMPLES = REPO.parent / "shared" / "data" / "real-train"
"""Real BraTS cases with expert truth next to a development checkout, for teaching (absent in a user's clone)."""
BRATS_SOURCES = {
    "2013": "BRATS 2013 clinical case",
    "CBICA": "UPenn (CBICA) glioblastoma",
    "TCIA01": "TCGA-GBM glioblastoma",
    "TCIA02": "TCGA-GBM glioblastoma",
    "TCIA03": "TCGA-GBM glioblastoma",
    "TCIA04": "TCGA-GBM glioblastoma",
    "TCIA05": "TCGA-GBM glioblastoma",
    "TCIA06": "TCGA-GBM glioblastoma",
    "TCIA08": "TCGA-GBM glioblastoma",
    "TCIA09": "TCGA-LGG lower-grade glioma",
    "TCIA10": "TCGA-LGG lower-grade glioma",
    "TCIA12": "TCGA-LGG lower-grade glioma",
    "TCIA13": "TCGA-LGG lower-grade glioma",
}
"""BraTS 2017-2020 case-name prefix (after ``Brats1X_``) -> where the scan comes from."""
SYNTHETIC_CATALOGUE = BUNDLED_EXAMPLES / "synth_cases.json"


@dataclass(frozen=True)
class Example:
    """One example case.

    Attributes:
        name: folder name, unique among examples (the API loads examples by this name).
        path: the case folder.
        kind: ``bundled`` (synthetic, in the repository) or ``real``.
        has_truth: a file in the folder is named like a segmentation.
        description: a few words on the case (its source or its synthetic lesion), or ''.
    """

    name: str
    path: Path
    kind: str
    has_truth: bool
    description: str = ""

    @classmethod
    def from_folder(cls, folder: Path, kind: str = "bundled") -> Example:
        """The example held in ``folder``, named after it."""
        return cls(folder.name, folder, kind, _has_truth(folder), describe(folder.name, kind))

    @property
    def label(self) -> str:
        """One line for the example list, e.g. ``BraTS-GLI-00001-000 (real MRI, no truth)``."""
        kind = "synthetic" if self.kind == "bundled" else "real MRI"
        described = f" · {self.description}" if self.description else ""
        return f"{self.name} ({kind}, {'with truth' if self.has_truth else 'no truth'}){described}"


def describe(name: str, kind: str) -> str:
    """A few words on a case: the BraTS source its name says, or the bundled synthetic case's lesion and volume."""
    parts = name.split("_")
    if len(parts) > 2 and parts[0].lower().startswith("brats1") and parts[1] in BRATS_SOURCES:
        return BRATS_SOURCES[parts[1]]
    if kind == "bundled" and SYNTHETIC_CATALOGUE.is_file():
        import json

        for entry in json.loads(SYNTHETIC_CATALOGUE.read_text()):
            if entry.get("case_id") == name:
                volume = entry.get("tumor_volume_ml", {}).get("WT")
                lesion = entry.get("lesion", "glioma")
                return f"{lesion}, WT {volume:.0f} mL" if volume is not None else str(lesion)
    return ""


def _has_truth(folder: Path) -> bool:
    return any((found := recognize(p)) is not None and found.role == TRUTH for p in folder.rglob("*") if p.is_file())


def find_examples(roots: Iterable[tuple[Path, str]] | None = None) -> list[Example]:
    """Every case folder directly under the given roots, bundled ones first, each root sorted by name.

    Args:
        roots: (folder, kind) pairs; default: :data:`BUNDLED_EXAMPLES` as ``bundled``, then
            :data:`REAL_EXAMPLES` and :data:`REAL_TRUTH_EXAMPLES` as ``real``. Missing roots are skipped;
            so are hidden folders and a name already taken by an earlier root.
    """
    if roots is None:
        roots = ((BUNDLED_EXAMPLES, "bundled"), (REAL_EXAMPLES, "real"), (REAL_TRUTH_EXAMPLES, "real"))
    examples: dict[str, Example] = {}
    for root, kind in roots:
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if folder.name not in examples:
                examples[folder.name] = Example.from_folder(folder, kind)
    return list(examples.values())


@dataclass(frozen=True)
class LoadedCase:
    """A case ready to show: the case itself and its renderer (windowed volumes cached)."""

    case: Case
    renderer: CaseRenderer

    @cached_property
    def brain(self) -> np.ndarray:
        """(X, Y, Z) bool: where any sequence is non-zero (BraTS-style data is zero outside the brain)."""
        brain: np.ndarray = (self.case.images != 0).any(axis=0)
        return brain

    @cached_property
    def derived(self) -> dict:
        """What is computed from the case alone and kept for the sessions showing it (e.g. the truth's RANO
        measurement, :mod:`brainseg.ui.rano_panel`)."""
        return {}

    @cached_property
    def intensity_scale(self) -> IntensityScale:
        """The brain's intensity scale that click and box refinement compare sequences on (computed once)."""
        return IntensityScale.of(self.case.images)


def prepare(case: Case) -> LoadedCase:
    """Window a freshly loaded case for display (about 0.3 s for 240x240x155)."""
    return LoadedCase(case, CaseRenderer.from_case(case))


class ExampleLibrary:
    """The examples offered by one app, loaded on first use and kept (least recently used out).

    Loaded cases are shared between sessions and must be treated as read-only.

    Args:
        examples: what to offer (default: :func:`find_examples`).
        cache_size: how many loaded examples to keep in memory (a BraTS-size case takes ~180 MB).
    """

    def __init__(self, examples: list[Example] | None = None, cache_size: int = 3) -> None:
        self.examples = find_examples() if examples is None else list(examples)
        self._by_name = {e.name: e for e in self.examples}
        self._cache: OrderedDict[str, LoadedCase] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def names(self) -> list[str]:
        return [e.name for e in self.examples]

    @property
    def default(self) -> str | None:
        """The example shown on start: the first bundled one, else the first one, else None."""
        bundled = [e.name for e in self.examples if e.kind == "bundled"]
        return (bundled or self.names or [None])[0]

    def get(self, name: str) -> Example:
        try:
            return self._by_name[name]
        except KeyError:
            valid = ", ".join(self.names) or "none available"
            raise CaseFilesError(f"unknown example {name!r}; expected one of: {valid}") from None

    def load(self, name: str) -> LoadedCase:
        """The loaded example ``name`` (read from disk on first use)."""
        example = self.get(name)
        # One lock for all loads: two sessions asking for the same example read it once.
        with self._lock:
            if name in self._cache:
                self._cache.move_to_end(name)
                return self._cache[name]
            loaded = prepare(load_case(example.path))
            self._cache[name] = loaded
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return loaded
