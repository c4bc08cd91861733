"""Run a model on the session's case and keep what the views need: labels, heat maps, scores, a 3D figure.

Plain functions, no Gradio. The segmenter comes from a factory (``source -> Segmenter``), by default
:func:`brainseg.inference.segmenter.get_segmenter`; tests pass a fake with the same interface.
A run that fails (refused prompt, missing checkpoint, bad input) raises before the session changes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from brainseg.editing import EditHistory
from brainseg.inference.protocol import SegmenterFactory, SegmenterProtocol
from brainseg.io import region_volumes_ml
from brainseg.labels import EVALUATION_REGIONS, REGIONS, SUBREGIONS
from brainseg.text.prompts import PromptInterpretation, interpret_prompt
from brainseg.ui import map_guide
from brainseg.ui.model_menu import RUN_TIMES, ModelChoice
from brainseg.viz.heatmap import HeatVolume
from brainseg.viz.overlay import difference_map

Progress = Callable[[float, str], None]
"""``(fraction in [0, 1], message)``, as :mod:`brainseg.inference.passes` reports."""

NO_PROMPT = "No prompt: every region (WT, TC, ET) is segmented."
ATTENTION_ORDER = ("semantic", "WT", "TC", "ET")
UNCERTAINTY = "uncertainty"
PROMPT = "prompt"


def default_segmenters(source: str) -> SegmenterProtocol:
    """The real segmenter for ``source`` (loaded once per process, least recently used out)."""
    from brainseg.inference.segmenter import get_segmenter  # torch and the model zoo load on first use

    return get_segmenter(source)


def prompt_or_none(prompt: str | None) -> str | None:
    """The prompt as the segmenter takes it: stripped, or None for an empty box (automatic, every region)."""
    text = (prompt or "").strip()
    return text or None


def interpretation_markdown(prompt: str | None) -> str:
    """How the prompt box reads right now (cheap; runs as the user types): regions and confidence, or why not."""
    text = prompt_or_none(prompt)
    if text is None:
        return f"ℹ {NO_PROMPT}"
    return _interpretation_line(interpret_prompt(text))


def run_interpretation_markdown(run: Run) -> str:
    """How the run read its prompt (the reading it ran with, not a second one)."""
    if run.prompt is None:
        return f"ℹ {NO_PROMPT}"
    return _interpretation_line(run.result.interpretation)


def done_markdown(run: Run) -> str:
    """The status line after a run: the app's time for it, the model and the device."""
    seconds = sum(v for k, v in run.timings.items() if k.endswith("(app)") or k == "metrics")
    done = f"✓ Done in {seconds:.1f} s: {run.model} on {run.info.get('device', '?')}"
    if getattr(run.result, "from_cache", False):
        done += f" · cached result (the network ran earlier, in {_network_seconds(run):.1f} s)"
    return done


def _network_seconds(run: Run) -> float:
    computed = getattr(run.result, "computed_seconds", {}) or {}
    return float(sum(computed.values()))


def _interpretation_line(reading: PromptInterpretation) -> str:
    if reading.refused:
        return f"✗ **Refused**: {reading.reason}"
    return f"✓ **{' + '.join(reading.regions)}**: {reading.reason}"


@dataclass
class Run:
    """One finished segmentation of the session's case.

    Attributes:
        model: variant name.
        source: checkpoint source it was loaded from.
        info: the segmenter's provenance (model, size, source, sha256, description, paper, device).
        prompt: the prompt as run (None: automatic).
        result: the ``Segmentation`` (attention maps dropped: :attr:`heatmaps` keeps them quantized).
        heatmaps: name -> quantized map (``semantic``, ``WT``, ``TC``, ``ET``, ``uncertainty`` ...).
        evaluation: :func:`brainseg.metrics.evaluate` against the case's truth, or None without truth.
        figure: plotly figure of the regions in 3D.
        timings: step -> seconds (the segmenter's, plus the app's own steps).
        finished: UTC time the run finished, ISO 8601.
        map_notes: map name -> one line: what the map is and how well it points at the tumor
            (:mod:`brainseg.ui.map_guide`).
        first_map: the map to show first, one measured to point at the tumor; None when none is.
        history: the corrections made on the prediction shown (:mod:`brainseg.editing`); None before the first.
    """

    model: str
    source: str
    info: dict
    prompt: str | None
    result: Any
    heatmaps: dict[str, HeatVolume]
    evaluation: dict | None
    figure: Any
    timings: dict[str, float]
    finished: str
    map_notes: dict[str, str] = field(default_factory=dict)
    first_map: str | None = None
    history: EditHistory | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def model_labels(self) -> np.ndarray:
        """(X, Y, Z) uint8 internal labels of the prompt's target regions (every region without a prompt),
        canonical RAS, as the model gave them."""
        if "target" not in self._cache:
            self._cache["target"] = self.result.target_labels()
        target: np.ndarray = self._cache["target"]
        return target

    @property
    def labels(self) -> np.ndarray:
        """(X, Y, Z) uint8 internal labels shown and exported: the model's with the corrections in effect."""
        return self.history.labels if self.history is not None else self.model_labels

    @property
    def edited(self) -> bool:
        """Whether corrections are in effect (even ones that brought the labels back to the model's)."""
        return self.history is not None and self.history.count > 0

    def edit_history(self, spacing: tuple[float, float, float]) -> EditHistory:
        """The history to make the next correction on (an empty one on the model's labels before the first)."""
        if self.history is not None:
            return self.history
        return EditHistory.start(self.model_labels, spacing, origin="blank" if self.source == DRAWING else "model")

    def with_history(self, history: EditHistory, truth: np.ndarray | None, spacing: tuple[float, float, float]) -> Run:
        """A copy of this run showing ``history``'s labels, scored again against ``truth`` (None: no truth); its
        3D figure is None until :func:`labels_figure` draws it again."""
        from brainseg.metrics import evaluate

        evaluation = evaluate(history.labels, truth, spacing) if truth is not None else None
        return dataclasses.replace(self, history=history, evaluation=evaluation, figure=None, _cache={})

    def reviewed_labels(self, rejected: tuple[str, ...] = ()) -> np.ndarray:
        """The prediction with the rejected sub-regions (NCR, ED, ET) set to background; cached per choice."""
        rejected = tuple(sorted(set(rejected)))
        if not rejected:
            return self.labels
        key = ("reviewed", rejected)
        if key not in self._cache:
            self._trim()
            self._cache[key] = np.where(np.isin(self.labels, [SUBREGIONS[r] for r in rejected]), 0, self.labels)
        return self._cache[key].astype(np.uint8, copy=False)

    def difference(self, truth: np.ndarray, region: str, rejected: tuple[str, ...] = ()) -> np.ndarray:
        """Codes of :func:`brainseg.viz.overlay.difference_map` of the reviewed prediction; cached."""
        key = ("difference", region, tuple(sorted(set(rejected))))
        if key not in self._cache:
            self._trim()
            self._cache[key] = difference_map(self.reviewed_labels(rejected), truth, region)
        return self._cache[key]

    def _trim(self, keep: int = 4) -> None:
        # A few derived volumes (9 MB each for a BraTS case) are enough for toggling back and forth.
        while len(self._cache) >= keep:
            oldest = next(k for k in self._cache if k != "target")  # the model's labels stay
            self._cache.pop(oldest)


DRAWING = "student drawing"
"""The source (and model name) of a run that is a student's drawing (:mod:`brainseg.ui.teaching`)."""


def heat_volumes(result: Any, brain: np.ndarray | None = None, prompted: bool = False) -> dict[str, HeatVolume]:
    """The result's attention maps and uncertainty, quantized for display, each from 0 to its own maximum.

    A map's own maximum, not 1: a network's semantic attention may never exceed 0.2, and on a fixed 0..1
    scale it would not show at all; the colorbar gives the values.

    Args:
        result: a ``Segmentation``.
        brain: (X, Y, Z) bool; maps are shown inside it only (a network's attention outside the brain
            means nothing and would veil the anatomy). None: everywhere.
        prompted: with a prompt, the map for the prompt's regions comes first, as ``prompt``.
    """
    sources: dict[str, tuple[np.ndarray, str]] = {}
    if prompted and result.attention:
        regions = " + ".join(result.target_regions)
        sources[PROMPT] = (result.prompt_attention(), f"prompt attention ({regions})")
    names = [n for n in ATTENTION_ORDER if n in result.attention]
    names += [n for n in result.attention if n not in names]
    for name in names:
        if np.asarray(result.attention[name]).ndim == 3:
            sources[name] = (result.attention[name], f"{name} attention")
    if result.uncertainty is not None:
        sources[UNCERTAINTY] = (result.uncertainty, "uncertainty (0 = certain)")
    maps = {}
    for name, (values, title) in sources.items():
        inside = values if brain is None else np.where(brain, values, np.float32(0))  # scaled to the brain's maximum
        maps[name] = HeatVolume.from_values(inside, title, 0.0)
    return maps


def labels_figure(loaded_case: Any, labels: np.ndarray, truth: np.ndarray | str | None = "case") -> Any:
    """The plotly 3D view of ``labels`` ((X, Y, Z) internal, canonical) in ``loaded_case``'s brain, with a truth:
    the case's (``"case"``), the one given, or none (None, e.g. while the Teaching tab hides it)."""
    from brainseg.viz.surface import segmentation_figure

    case = loaded_case.case
    shown = case.truth if isinstance(truth, str) else truth
    return segmentation_figure(labels, case.spacing, brain=loaded_case.brain, truth=shown)


def run_segmentation(
    loaded_case: Any,
    choice: ModelChoice,
    prompt: str | None,
    *,
    uncertainty: bool = False,
    segmenters: SegmenterFactory = default_segmenters,
    progress: Progress | None = None,
) -> Run:
    """Segment ``loaded_case.case`` with ``choice``'s model.

    Steps (each reported to ``progress``): load the model (once per process), run it, compute the scores
    against the truth when there is one, build the 3D figure.

    Raises:
        PromptRefused: the prompt does not ask clearly for a region (checked before anything loads).
        CheckpointMissing: the variant has no checkpoint.
        BrainSegError: whatever the segmenter refuses, with its one-line message.
    """
    from brainseg.metrics import evaluate

    report = progress or (lambda fraction, message: None)
    prompt = prompt_or_none(prompt)
    reading = interpret_prompt(prompt).require() if prompt is not None else None  # read once, used by the run
    source = choice.require()
    case = loaded_case.case
    voxels = int(np.prod(case.shape))
    timings: dict[str, float] = {}

    start = time.perf_counter()
    report(0.0, f"Loading {choice.name}")
    segmenter = segmenters(source).for_case(case)  # a case lacking sequences may need another checkpoint
    timings["model load (app)"] = time.perf_counter() - start
    device = str(segmenter.info.get("device", "cpu"))
    estimate = RUN_TIMES.estimate(choice.name, voxels, device)

    def network(fraction: float, message: str) -> None:  # the segmenter's own steps fill 5 % .. 80 %
        about = f" (about {estimate:.0f} s on {device})" if estimate is not None else ""
        report(0.05 + 0.75 * min(max(float(fraction), 0.0), 1.0), f"{message}{about}")

    start = time.perf_counter()
    network(0.0, f"Segmenting with {choice.name}")
    result = segmenter.segment(case, reading, uncertainty=uncertainty, progress=network)
    elapsed = time.perf_counter() - start
    if not result.from_cache:  # a cached result ran no network: it says nothing of the next run's time
        RUN_TIMES.record(choice.name, device, voxels, elapsed)
    timings.update({f"{k}": float(v) for k, v in dict(result.timings).items()})
    timings["segment (app)"] = elapsed

    evaluation = None
    if case.truth is not None:
        report(0.82, "Scoring against the ground truth (Dice, HD95, lesion-wise)")
        start = time.perf_counter()
        evaluation = evaluate(result.labels, case.truth, case.spacing)
        timings["metrics"] = time.perf_counter() - start

    report(0.92, "Preparing the attention maps and the 3D view")
    start = time.perf_counter()
    heatmaps = heat_volumes(result, loaded_case.brain, prompted=prompt is not None)
    figure = labels_figure(loaded_case, result.target_labels())
    timings["views (app)"] = time.perf_counter() - start
    report(1.0, "Done")
    slim = dataclasses.replace(result, attention={})  # the quantized heat maps replace ~36 MB per map
    regions = tuple(result.target_regions) if prompt is not None else ()
    sha = str(segmenter.info.get("sha256", ""))
    scores = {name: map_guide.map_score(choice.name, sha, name, regions) for name in heatmaps}
    return Run(
        model=choice.name,
        source=source,
        info=dict(segmenter.info),
        prompt=prompt,
        result=slim,
        heatmaps=heatmaps,
        evaluation=evaluation,
        figure=figure,
        timings=timings,
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        map_notes={name: map_guide.map_note(name, score, regions) for name, score in scores.items()},
        first_map=map_guide.first_map(list(heatmaps), scores),
    )


# ---- what the result panels show -------------------------------------------------------------------------

METRIC_HEADERS = ["region", "predicted mL", "truth mL", "Dice", "IoU", "precision", "sensitivity", "HD95 mm"]
LESION_HEADERS = ["region", "lesion-wise Dice", "lesion-wise HD95 mm", "truth lesions", "TP", "FP", "FN"]


def metrics_rows(run: Run, spacing: tuple[float, float, float]) -> tuple[list[str], list[list]]:
    """(headers, rows) of the region table: volumes always; overlap and HD95 when there is a truth."""
    if run.evaluation is None:
        volumes = region_volumes_ml(run.labels, spacing) if run.edited else run.result.volumes_ml(spacing)
        return ["region", "predicted mL"], [[_asked(run, r), round(float(volumes.get(r, 0.0)), 3)] for r in REGIONS]
    rows = []
    for region, m in run.evaluation["regions"].items():
        rows.append(
            [
                _asked(run, region),
                round(m["volume_pred_ml"], 3),
                round(m["volume_truth_ml"], 3),
                round(m["dice"], 3),
                round(m["iou"], 3),
                round(m["precision"], 3),
                round(m["sensitivity"], 3),
                round(m["hd95_mm"], 1),
            ]
        )
    return METRIC_HEADERS, rows


def _asked(run: Run, region: str) -> str:
    """The region's name, marked when a prompt asked for it (the scores are of the whole prediction)."""
    return f"{region} (asked)" if run.prompt and region in run.result.target_regions else region


def lesion_rows(run: Run) -> list[list]:
    """Rows of the BraTS 2023 lesion-wise table (empty without truth)."""
    if run.evaluation is None:
        return []
    rows = []
    for region in EVALUATION_REGIONS:
        m = run.evaluation["lesionwise"][region]
        rows.append(
            [
                _asked(run, region),
                round(m["dice"], 3),
                round(m["hd95_mm"], 1),
                m["num_truth_lesions"],
                m["tp"],
                m["fp"],
                m["fn"],
            ]
        )
    return rows


def run_markdown(run: Run) -> str:
    """What ran: model, checkpoint, device, prompt reading, regions asked, and the timings."""
    info = run.info
    reading = getattr(run.result, "interpretation", None)
    prompt = f"“{run.prompt}”" if run.prompt else "none (automatic)"
    lines = [
        f"**{run.model}** ({info.get('size', '?')}) on **{info.get('device', '?')}** · checkpoint "
        f"`{info.get('source', run.source)}` · sha256 `{str(info.get('sha256', ''))[:12]}`",
        f"Prompt: {prompt} · regions: {', '.join(getattr(run.result, 'target_regions', ())) or '-'}",
    ]
    if reading is not None and run.prompt:
        lines.append(_interpretation_line(reading))
    for warning in getattr(run.result, "warnings", ()):
        lines.append(f"⚠ {warning}")
    steps = " · ".join(f"{name} {seconds:.2f} s" for name, seconds in run.timings.items())
    lines.append(f"Timings: {steps}")
    if getattr(run.result, "from_cache", False):
        first = " · ".join(f"{k} {v:.2f} s" for k, v in run.result.computed_seconds.items())
        lines.append(f"Cached: the network did not run again for this case; when it ran: {first}")
    if run.edited:
        lines.append(
            f"Corrected: **{run.history.summary()}** (see Correct the segmentation); the views, the volumes, "  # type: ignore[union-attr]
            "the scores and the export show the corrected segmentation."
        )
    if run.evaluation is not None:
        rules = run.evaluation["conventions"]["lesionwise"]["challenge"]
        asked = " Scores are of the whole prediction; (asked) marks the prompt's regions." if run.prompt else ""
        lines.append(
            "Scores against the uploaded truth; both masks empty: Dice 1, HD95 0; one empty: HD95 374 mm "
            f"(BraTS 2023). Lesion-wise rules: {rules}.{asked}"
        )
    return "  \n".join(lines)
