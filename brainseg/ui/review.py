"""Review and export: accept or reject each predicted sub-region, add a note, write the files to download.

The export is the segmentation NIfTI on the input's own grid and affine (written by the segmenter, in
the chosen label convention, with the corrections made and the rejected sub-regions removed), the
segmenter's ``report.json`` with a ``review`` block (decisions, note, time), ``segmentation_is`` ("model" or
"model + N edits") and a ``corrections`` block (every edit: tool, region, voxels added and removed, time),
and a PNG of the views as they were on screen.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from brainseg import __version__
from brainseg.editing.session import edits_block
from brainseg.errors import BrainSegError
from brainseg.inference.protocol import SegmenterFactory
from brainseg.labels import DEFAULT_OUTPUT_CONVENTION, EVALUATION_REGIONS, SUBREGIONS
from brainseg.ui.segmentation import default_segmenters
from brainseg.ui.viewer import Cursor, Display, Session, heat_volume, screen
from brainseg.viz.snapshot import compose_snapshot

EXPORT_CONVENTIONS = ("brats2023", "brats2021")
"""Label conventions a segmentation can be written in (ET = 3 or ET = 4)."""
MAX_NOTE_CHARS = 2000


@dataclass(frozen=True)
class Review:
    """The reviewer's decision on one run.

    Attributes:
        accepted: sub-regions (NCR, ED, ET) kept; the others are rejected and removed from the export.
        note: free text, kept verbatim in the report (at most :data:`MAX_NOTE_CHARS` characters).
        labels: label convention of the exported NIfTI, ``brats2023`` or ``brats2021``.
    """

    accepted: tuple[str, ...] = tuple(SUBREGIONS)
    note: str = ""
    labels: str = DEFAULT_OUTPUT_CONVENTION

    def __post_init__(self) -> None:
        unknown = [r for r in self.accepted if r not in SUBREGIONS]
        if unknown:
            raise BrainSegError(f"unknown region(s) {unknown} to accept; expected some of: {', '.join(SUBREGIONS)}")
        if self.labels not in EXPORT_CONVENTIONS:
            raise BrainSegError(
                f"export label convention {self.labels!r} is not one of: {', '.join(EXPORT_CONVENTIONS)}"
            )
        if len(self.note) > MAX_NOTE_CHARS:
            raise BrainSegError(f"the reviewer note has {len(self.note)} characters; at most {MAX_NOTE_CHARS}")

    @property
    def rejected(self) -> tuple[str, ...]:
        return tuple(r for r in SUBREGIONS if r not in self.accepted)

    def record(self, decided_at: str) -> dict:
        """The ``review`` block of the report."""
        return {
            "decisions": {r: "accepted" if r in self.accepted else "rejected" for r in SUBREGIONS},
            "removed_from_segmentation": list(self.rejected),
            "reviewer_note": self.note,
            "decided_at": decided_at,
            "label_convention": self.labels,
            "reviewed_with": f"BrainSeg app {__version__}",
        }


def export_run(
    session: Session | None,
    review: Review,
    out_dir: str | Path,
    *,
    snapshot: Image.Image | None = None,
    segmenters: SegmenterFactory = default_segmenters,
    now: datetime | None = None,
) -> list[Path]:
    """Write the reviewed run of ``session`` into ``out_dir``; returns the files (NIfTI, report, PNG).

    Raises:
        BrainSegError: there is no run to export yet.
    """
    if session is None or session.run is None:
        raise BrainSegError("nothing to export yet: load a case and press Segment first")
    run = session.run
    case = session.loaded.case
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    reviewed = dataclasses.replace(run.result, labels=run.reviewed_labels(review.rejected))
    if run.edited:  # what was painted is written, whatever regions the prompt asked for
        reviewed = dataclasses.replace(reviewed, target_regions=EVALUATION_REGIONS)
    segmenter = segmenters(run.source)
    segmentation_path, report_path = segmenter.write(case, reviewed, out_dir, labels=review.labels)
    report = json.loads(Path(report_path).read_text())
    report.setdefault("provenance", run.info)
    report["review"] = review.record((now or datetime.now(UTC)).isoformat(timespec="seconds"))
    history = run.edit_history(case.spacing)
    report["segmentation_is"] = history.summary() + (
        f", then {', '.join(review.rejected)} rejected" if review.rejected else ""
    )
    report["corrections"] = edits_block(case, history)
    if run.evaluation is not None:
        report["evaluation_before_review"] = {
            "against": "the uploaded ground truth",
            "regions": {r: {k: m[k] for k in ("dice", "hd95_mm")} for r, m in run.evaluation["regions"].items()},
        }
    Path(report_path).write_text(json.dumps(report, indent=2) + "\n")
    files = [Path(segmentation_path), Path(report_path)]
    if snapshot is not None:
        png = out_dir / "snapshot.png"
        snapshot.save(png, optimize=True)
        files.append(png)
    return files


def snapshot(session: Session, cursor: Cursor, display: Display) -> Image.Image:
    """The views as on screen at ``cursor`` (and the map views after a run), captioned with the case, model,
    prompt, time, the overlay line and the map's range."""
    shown = screen(session, cursor, display)
    run = session.run
    caption = [_plain(shown.readout.split("\n")[-1])]
    if run is not None:
        prompt = run.prompt or "none (every region)"
        where = f"{session.loaded.case.name} · {run.model} ({run.info.get('size', '?')})"
        caption.insert(0, f"{where} · prompt: {prompt} · {run.finished}")
    heat = heat_volume(session, display)
    if heat is not None:
        caption.append(f"Lower row: {heat.title}, {heat.low:.2f} (transparent) to {heat.high:.2f} (yellow)")
    caption.append("Research and teaching only, not for clinical use.")
    rows = [list(shown.views.values())] + ([list(shown.heat_views.values())] if shown.heat_views else [])
    return compose_snapshot(rows, caption)


def _plain(markdown: str) -> str:
    """Markdown/HTML of a readout line as plain text (for the snapshot caption)."""
    return re.sub(r"<[^>]+>|\*\*", "", markdown).replace("■", "")
