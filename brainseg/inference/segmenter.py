"""The inference lifecycle: build a :class:`Segmenter` once per checkpoint, then segment cases with prompts.

    >>> segmenter = get_segmenter("clip-unet3d")                    # or local-dir:PATH, hf-hub:org/repo@rev
    >>> result = segmenter.segment(case, "segment the enhancing tumour", uncertainty=True)
    >>> result.labels.shape, result.target_regions                  # ((240, 240, 155), ('ET',))
    >>> segmenter.write(case, result, "out/")                       # segmentation.nii.gz, report.json

How a prompt is used: it is read by :func:`brainseg.text.interpret_prompt` into target regions (a refused
prompt raises :class:`PromptRefused` before anything runs). The networks are then run as they were trained:
3D variants and ``sam-dmif`` answer WT, TC and ET at once (clip-unet3d with its default description, the one
it was trained with); the prompted ``film-unet2d`` is asked each region with its canonical prompt
(:data:`brainseg.inference.forward.REGION_PROMPTS`). So the network's answer does not depend on the prompt's
wording, and a second prompt on the same case reuses everything: normalization, network outputs, labels.
The prompt decides the target regions: which regions the written segmentation keeps, and which attention
map :meth:`Segmentation.prompt_attention` shows.

Caching: each segmenter keeps the most recent case(s) (``cache_cases``), recognized by the identity of
``case.images`` or, for another object, by a hash of its contents; cached arrays are read-only, so treat
``case.images`` as immutable.
"""

from __future__ import annotations

import hashlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np
import torch

from brainseg.hub import (
    bundled_for_missing_sequences,
    load_checkpoint,
    missing_sequences_source,
    runs_on_missing_sequences,
)
from brainseg.inference.device import InferenceError, precision_name, resolve_device
from brainseg.inference.passes import PassOutput, RunConfig, describe_run, run_passes
from brainseg.inference.postprocess import (
    UNCERTAINTY_METHOD,
    checkpoint_thresholds,
    clean_tumor,
    labels_from_probabilities,
    nest_probabilities,
    predictive_entropy,
    restrict_to_regions,
)
from brainseg.inference.report import build_report, write_outputs
from brainseg.inference.resampling import MAX_SPACING_MM, model_grid_shape, resample_channels
from brainseg.inference.result import Segmentation, no_prompt_interpretation
from brainseg.inference.zerogpu import gpu_entry
from brainseg.io import Case
from brainseg.io.availability import missing_region_reasons, supported_regions
from brainseg.io.naming import SEQUENCES
from brainseg.labels import EVALUATION_REGIONS
from brainseg.metrics.volume import voxel_volume_ml
from brainseg.models import get_variant
from brainseg.preprocess.coverage import normalize_covered
from brainseg.preprocess.input_checks import case_input_warnings
from brainseg.preprocess.normalize import BRAIN_BOX_MARGIN, brain_box, check_method
from brainseg.text.prompts import PromptInterpretation, interpret_prompt

DEFAULT_MODEL = "clip-unet3d"
MAX_SEGMENTERS = 3
"""Built segmenters kept by :func:`get_segmenter` (least recently used dropped first)."""
SPACING_TOLERANCE = 0.25
"""Relative spacing difference from the model's training spacing above which a warning is given."""

NORMALIZATION_STEPS = {
    "zscore-brain": "each sequence z-scored over the brain (voxels every sequence covers), 0 outside",
    "paper-a3": "paper 000 A.3: clipped to mean +- 5 SD; T1 z-score, T1ce^0.9 then z-score, T2 and FLAIR min-max",
}

Progress = Callable[[float, str], None]


@dataclass
class _CaseEntry:
    """Everything about one case that no prompt changes."""

    key: str
    images: weakref.ref
    normalized: np.ndarray  # (4, X', Y', Z') float32, model channel order and normalization, on the network grid
    brain: np.ndarray  # (X, Y, Z) bool on the case grid, voxels every sequence covers (preprocess.coverage)
    box: tuple[slice, slice, slice]  # on the network grid, the brain's bounding box plus a margin: what it sees
    warnings: list[str]
    available: tuple[str, ...]  # the sequences the case has (a missing one is an all-zero channel)
    model_shape: tuple[int, int, int] | None = None  # the network grid when resampled for thick slices, else None
    probabilities: np.ndarray | None = None  # (3, X, Y, Z) nested, masked, restricted to what `available` shows
    labels: np.ndarray | None = None
    attention: dict[str, np.ndarray] | None = None
    uncertainty: np.ndarray | None = None
    dropped: tuple[int, int] = (0, 0)  # small tumor components removed: (count, voxels)
    relabelled: int = 0  # enhancing voxels relabelled NCR because the case's ET was under min_enhancing_ml
    seconds: dict[str, float] = field(default_factory=dict)  # step -> seconds it took when it ran


def images_fingerprint(images: np.ndarray) -> str:
    """Hex digest of an array's shape, dtype and bytes (about 0.15 s for a 4 x 240 x 240 x 155 case)."""
    data = np.ascontiguousarray(images)
    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{data.shape}{data.dtype.str}".encode())
    digest.update(memoryview(data).cast("B"))
    return digest.hexdigest()


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@gpu_entry
def _run_on_gpu(
    model: torch.nn.Module,
    images: np.ndarray,
    device: torch.device,
    config: RunConfig,
    mirrored: tuple[bool, ...],
    progress: Progress | None,
) -> list[PassOutput]:
    """The GPU entry point (``spaces.GPU`` on ZeroGPU): numpy in, numpy out, no state touched."""
    return run_passes(model, images, device, config, mirrored, progress)


def _to_case_grid(output: PassOutput, shape: tuple[int, ...]) -> PassOutput:
    """A pass on the network's (resampled) grid, resampled back onto the case's (X, Y, Z) grid."""
    attention = {name: resample_channels(values[None], shape)[0] for name, values in output.attention.items()}
    return PassOutput(resample_channels(output.probabilities, shape), attention, output.seconds)


def _paste(output: PassOutput, box: tuple[slice, ...], shape: tuple[int, ...]) -> PassOutput:
    """A pass over the brain's box, put back on the whole (X, Y, Z) grid with zeros around it."""
    probabilities = np.zeros((output.probabilities.shape[0], *shape), dtype=np.float32)
    probabilities[(slice(None), *box)] = output.probabilities
    attention = {}
    for name, values in output.attention.items():
        attention[name] = np.zeros(shape, dtype=np.float32)
        attention[name][box] = values
    return PassOutput(probabilities, attention, output.seconds)


class Segmenter:
    """A checkpoint loaded once, segmenting cases on request.

    Args:
        source: a bundled name (``clip-unet3d``), ``local-dir:PATH`` or ``hf-hub:org/repo@revision``.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda`` or ``cuda:N``.
        run: whole-volume / sliding-window / slice-batch settings (:class:`RunConfig`).
        cache_cases: how many recent cases keep their normalized images and outputs (memory: about 0.3-0.5 GB
            per 240 x 240 x 155 case).
        min_component_fraction: tumor components under this share of the largest are removed; 0 keeps all.
            None: the checkpoint's own threshold (its card's ``postprocessing``, chosen by cross-validation),
            else :data:`~brainseg.inference.postprocess.MIN_COMPONENT_FRACTION`.
        min_enhancing_ml: a case's enhancing tumor under this volume (mL) is relabelled non-enhancing core
            (:func:`~brainseg.inference.postprocess.relabel_small_enhancing`); 0 keeps it. None: the
            checkpoint's own, else :data:`~brainseg.inference.postprocess.MIN_ENHANCING_ML`.

    Attributes:
        info: ``model`` (variant name), ``size``, ``source``, ``sha256`` (of model.safetensors),
            ``description``, ``paper``, ``device``, ``precision``.
        model: the network, eval mode, on the device.
        load_seconds: time spent loading the checkpoint.

    Raises:
        BrainSegError: a bad source or device, missing or mismatched checkpoint files, or a data contract
            this pipeline cannot feed; one-line messages.
    """

    def __init__(
        self,
        source: str,
        device: str = "auto",
        *,
        run: RunConfig | None = None,
        cache_cases: int = 1,
        min_component_fraction: float | None = None,
        min_enhancing_ml: float | None = None,
    ) -> None:
        if cache_cases < 1:
            raise ValueError(f"cache_cases must be at least 1, got {cache_cases}")
        self.device = resolve_device(device)
        started = perf_counter()
        self.checkpoint = load_checkpoint(source, device=self.device)
        self.load_seconds = perf_counter() - started
        self.model = self.checkpoint.model
        self.run_config = run or RunConfig()
        self.cache_cases = cache_cases
        own_fraction, own_ml = checkpoint_thresholds(self.checkpoint.metadata)
        self.min_component_fraction = own_fraction if min_component_fraction is None else min_component_fraction
        self.min_enhancing_ml = own_ml if min_enhancing_ml is None else min_enhancing_ml
        self._check_contract()
        config = self.model.config
        variant = get_variant(config.variant)
        self.info = {
            "model": variant.name,
            "size": config.size,
            "source": self.checkpoint.source,
            "sha256": self.checkpoint.sha256,
            "description": variant.description,
            "paper": variant.paper,
            "device": str(self.device),
            "precision": precision_name(self.device),
        }
        # Only a model trained with sequence dropout has seen zeroed channels; others need all four.
        self.runs_on_missing = runs_on_missing_sequences(self.checkpoint.metadata)
        self._asked_thresholds = (min_component_fraction, min_enhancing_ml)  # None: each checkpoint's own
        self._companion: Segmenter | None = None
        self._channel_order = [SEQUENCES.index(s) for s in config.data.sequences]
        self._cache: OrderedDict[str, _CaseEntry] = OrderedDict()
        self._lock = threading.RLock()

    def for_case(self, case: Case) -> Segmenter:
        """The segmenter that runs ``case``: this one, or, for a case lacking sequences that this checkpoint
        was not trained for, the checkpoint kept beside it that was (loaded once, on first need; see
        :func:`brainseg.hub.checkpoint.missing_sequences_source`). :meth:`segment`, :meth:`report` and
        :meth:`write` go through it, so the report names the checkpoint that made the segmentation."""
        if self.runs_on_missing or not tuple(getattr(case, "missing", ())):
            return self
        with self._lock:
            if self._companion is None:
                source = missing_sequences_source(self.info["source"])
                if source is None:
                    return self
                fraction, enhancing_ml = self._asked_thresholds
                self._companion = Segmenter(
                    source,
                    str(self.device),
                    run=self.run_config,
                    cache_cases=self.cache_cases,
                    min_component_fraction=fraction,
                    min_enhancing_ml=enhancing_ml,
                )
            return self._companion

    def __repr__(self) -> str:
        return f"Segmenter({self.info['source']!r}, device={self.info['device']!r})"

    def _check_contract(self) -> None:
        data = self.model.config.data
        label = f"checkpoint {self.checkpoint.source}"
        if sorted(data.sequences) != sorted(SEQUENCES):
            raise InferenceError(f"{label}: expects sequences {data.sequences}; this pipeline feeds {SEQUENCES}")
        if data.orientation != "RAS":
            raise InferenceError(f"{label}: expects {data.orientation} arrays; cases are processed in RAS")
        check_method(data.normalization)
        outputs = sorted(data.outputs)
        prompted = data.dims == 2 and list(data.outputs) == ["target"] and hasattr(self.model, "segment_volume")
        if outputs != sorted(EVALUATION_REGIONS) and not prompted:
            raise InferenceError(f"{label}: outputs {data.outputs}; expected WT, TC and ET (or one prompted target)")
        multiple = int(getattr(self.model, "multiple", 16))
        if data.dims == 3 and any(n % multiple for n in self.run_config.roi_size):
            raise InferenceError(f"{label}: sliding-window size {self.run_config.roi_size} must divide by {multiple}")

    # ------------------------------------------------------------------------------------------ caching

    def _find(self, case: Case) -> tuple[_CaseEntry | None, str | None]:
        """The cached entry of ``case`` (by identity of its images, else by content) and its key if computed."""
        for entry in self._cache.values():
            if entry.images() is case.images:
                return entry, entry.key
        key = images_fingerprint(case.images) if isinstance(case.images, np.ndarray) else None
        entry = self._cache.get(key) if key is not None else None
        if entry is not None:
            entry.images = weakref.ref(case.images)
        return entry, key

    def _prepare(self, case: Case, key: str) -> _CaseEntry:
        images = case.images
        if not isinstance(images, np.ndarray) or images.ndim != 4 or images.shape[0] != len(SEQUENCES):
            raise InferenceError(
                f"case {case.name!r}: images must be a (4, X, Y, Z) array, got {getattr(images, 'shape', None)}"
            )
        data = self.model.config.data
        ordered = images if self._channel_order == list(range(len(SEQUENCES))) else images[self._channel_order]
        normalized, coverage = normalize_covered(ordered, data.normalization)  # (4, X, Y, Z) float32
        brain = coverage.covered
        warnings = [line] if (line := coverage.warning(data.sequences)) else []
        available = tuple(getattr(case, "available", SEQUENCES))  # load_case has told the user what is missing
        warnings += case_input_warnings(case)
        model_shape = model_grid_shape(case.shape, case.spacing, data.spacing_mm)
        network_brain = brain
        if model_shape is not None:  # thick slices: the network works on its own spacing (resampling.py)
            normalized = resample_channels(normalized, model_shape)
            network_brain = resample_channels(brain[None].astype(np.float32), model_shape)[0] > 0.5
            warnings.append(
                f"voxels of {' x '.join(f'{s:g}' for s in case.spacing)} mm (an edge over {MAX_SPACING_MM:g} mm): "
                f"resampled to the model's {' x '.join(f'{s:g}' for s in data.spacing_mm)} mm for the network and "
                "back; lesions thinner than a slice may be missed"
            )
        # The network sees the brain plus a margin, as in training (see brain_box).
        entry = _CaseEntry(
            key, weakref.ref(images), normalized, brain, brain_box(network_brain), warnings, available, model_shape
        )
        self._cache[entry.key] = entry
        while len(self._cache) > self.cache_cases:
            self._cache.popitem(last=False)
        return entry

    def clear_cache(self) -> None:
        """Forget every cached case."""
        with self._lock:
            self._cache.clear()

    # ------------------------------------------------------------------------------------------ segment

    def segment(
        self,
        case: Case,
        prompt: str | PromptInterpretation | None = None,
        *,
        uncertainty: bool = False,
        progress: Progress | None = None,
    ) -> Segmentation:
        """Segment ``case``; the regions the prompt asks for are :attr:`Segmentation.target_regions`.

        Args:
            case: a loaded case (:func:`brainseg.io.load_case`), images (4, X, Y, Z) canonical RAS.
            prompt: free text such as ``"enhancing tumour"``, or its reading already made by
                :func:`brainseg.text.interpret_prompt` (a caller that checked it need not read it twice);
                None for all regions.
            uncertainty: also compute the per-voxel uncertainty (one extra, mirrored, network pass per case).
            progress: called with (fraction in [0, 1], message) as steps finish.

        Raises:
            PromptRefused: the prompt was refused (before any preprocessing or network pass).
            BrainSegError: the case does not fit the model (one-line message).
        """
        if (chosen := self.for_case(case)) is not self:
            return chosen.segment(case, prompt, uncertainty=uncertainty, progress=progress)
        started = perf_counter()
        interpretation = read_prompt(prompt)
        targets = self.check_sequences(case, interpretation.regions)
        notify = progress or (lambda fraction, message: None)
        timings = {"preprocess": 0.0, "inference": 0.0}
        with self._lock:
            entry, key = self._find(case)
            if entry is None:
                notify(0.0, "normalizing intensities")
                step = perf_counter()
                entry = self._prepare(case, key or "")
                timings["preprocess"] = perf_counter() - step
            else:
                self._cache.move_to_end(entry.key)
            # Plain pass when the case has no outputs yet, mirrored pass when uncertainty is new.
            mirrored = (False,) * (entry.probabilities is None) + (True,) * (uncertainty and entry.uncertainty is None)
            outputs = self._run(entry, mirrored, notify) if mirrored else []
            timings["inference"] = sum(o.seconds for o, m in zip(outputs, mirrored, strict=True) if not m)
            if uncertainty:
                timings["uncertainty"] = sum(o.seconds for o, m in zip(outputs, mirrored, strict=True) if m)
            step = perf_counter()
            self._store(entry, outputs, mirrored, voxel_volume_ml(case.spacing))
            timings["postprocess"] = perf_counter() - step if mirrored else 0.0
            entry.seconds.update({k: v for k, v in timings.items() if v > 0})  # kept for the cached calls
            result = self._result(case, entry, interpretation, targets, uncertainty, timings, not mirrored)
        timings["total"] = perf_counter() - started
        notify(1.0, "done")
        return result

    def check_sequences(self, case: Case, regions: tuple[str, ...] = EVALUATION_REGIONS) -> tuple[str, ...]:
        """Those of ``regions`` this model can segment on ``case``'s sequences; one-line errors otherwise.

        Raises:
            InferenceError: the case lacks sequences and this model was not trained for that, or none of the
                asked regions can be seen on the sequences the case has.
        """
        if (chosen := self.for_case(case)) is not self:
            return chosen.check_sequences(case, regions)
        available = tuple(getattr(case, "available", SEQUENCES))
        missing = [s for s in SEQUENCES if s not in available]
        if missing and not self.runs_on_missing:
            others = [name for name in bundled_for_missing_sequences() if name != self.info["model"]]
            hint = f"; {', '.join(others)} runs on fewer" if others else ""
            raise InferenceError(
                f"{self.info['model']} needs T1, T1ce, T2 and FLAIR (it was trained on complete cases); case "
                f"{case.name!r} lacks {', '.join(missing)}{hint}"
            )
        targets = supported_regions(available, regions)
        if not targets:
            reasons = missing_region_reasons(available, regions)
            asked = ", ".join(f"{r} ({reasons[r]})" for r in regions)
            raise InferenceError(
                f"case {case.name!r} has {', '.join(available)} only: {asked} cannot be segmented on it; "
                f"it supports {', '.join(supported_regions(available))}"
            )
        return targets

    def _run(self, entry: _CaseEntry, mirrored: tuple[bool, ...], notify: Progress) -> list[PassOutput]:
        def progress(fraction: float, message: str) -> None:
            notify(0.05 + 0.9 * fraction, f"{self.info['model']}: {message}")

        run = _run_on_gpu if self.device.type == "cuda" else run_passes
        try:
            cropped = entry.normalized[(slice(None), *entry.box)]  # (4, x, y, z)
            outputs = run(self.model, cropped, self.device, self.run_config, mirrored, progress)
            pasted = [_paste(output, entry.box, entry.model_shape or entry.brain.shape) for output in outputs]
            return pasted if entry.model_shape is None else [_to_case_grid(o, entry.brain.shape) for o in pasted]
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            raise InferenceError(
                f"out of GPU memory running {self.info['model']} on a {'x'.join(map(str, entry.brain.shape))} case; "
                "use the CPU or a lower RunConfig.max_voxels (sliding windows)"
            ) from None

    def _store(self, entry: _CaseEntry, outputs: list[PassOutput], mirrored: tuple[bool, ...], voxel_ml: float) -> None:
        """Post-process new passes into the entry: nested, brain-masked probabilities, labels, uncertainty."""
        supported = supported_regions(entry.available)
        for output, mirror in zip(outputs, mirrored, strict=True):
            probabilities = nest_probabilities(restrict_to_regions(output.probabilities, supported))
            probabilities *= entry.brain  # (3, X, Y, Z) * (X, Y, Z): 0 outside the brain
            if not mirror:
                entry.dropped, entry.relabelled = clean_tumor(
                    probabilities, self.min_component_fraction, self.min_enhancing_ml, voxel_ml
                )
                entry.probabilities = _read_only(probabilities)
                entry.labels = _read_only(labels_from_probabilities(probabilities))
                entry.attention = {name: _read_only(value) for name, value in output.attention.items()}
            else:
                if entry.probabilities is None:  # pragma: no cover - the plain pass always runs first
                    raise RuntimeError("mirrored pass without a plain pass")
                uncertainty = predictive_entropy([entry.probabilities, probabilities])
                uncertainty *= entry.brain
                entry.uncertainty = _read_only(uncertainty)

    def _result(
        self,
        case: Case,
        entry: _CaseEntry,
        interpretation: PromptInterpretation,
        targets: tuple[str, ...],
        uncertainty: bool,
        timings: dict[str, float],
        from_cache: bool,
    ) -> Segmentation:
        if entry.labels is None or entry.probabilities is None or entry.attention is None:  # pragma: no cover
            raise RuntimeError("case entry has no outputs")
        warnings = list(entry.warnings)
        expected = np.asarray(self.model.config.data.spacing_mm, dtype=float)
        spacing = np.asarray(case.spacing, dtype=float)
        if entry.model_shape is None and np.any(np.abs(spacing - expected) > SPACING_TOLERANCE * expected):
            warnings.append(
                f"voxel size {' x '.join(f'{s:g}' for s in spacing)} mm differs from the model's "
                f"{' x '.join(f'{s:g}' for s in expected)} mm; segmented at the case's own spacing, not resampled"
            )
        if not entry.labels.any():
            warnings.append("no tumor found: no voxel has a whole-tumor probability above 0.5")
        left_out = [r for r in interpretation.regions if r not in targets]
        if left_out and interpretation.prompt:  # without a prompt, the case's warning says what is predicted
            warnings.append(
                f"the prompt asks for {', '.join(interpretation.regions)}; not segmented on these sequences: "
                + ", ".join(
                    f"{r} ({reason})" for r, reason in missing_region_reasons(entry.available, left_out).items()
                )
            )
        return Segmentation(
            labels=entry.labels,
            probabilities=entry.probabilities,
            attention=dict(entry.attention),
            uncertainty=entry.uncertainty if uncertainty else None,
            interpretation=interpretation,
            target_regions=targets,
            sequences_used=entry.available,
            regions_predicted=supported_regions(entry.available),
            timings=timings,
            preprocessing=self._preprocessing_steps(case, entry, uncertainty),
            postprocessing=self._postprocessing_steps(uncertainty, entry, case.spacing),
            warnings=warnings,
            from_cache=from_cache,
            computed_seconds=dict(entry.seconds),
        )

    def _preprocessing_steps(self, case: Case, entry: _CaseEntry, uncertainty: bool) -> list[str]:
        data = self.model.config.data
        frame = case.frame
        cropped = tuple(b.stop - b.start for b in entry.box)
        steps = [
            f"reoriented from the input grid ({'x'.join(map(str, frame.input_shape))}, {frame.input_orientation}) "
            f"to canonical RAS ({'x'.join(map(str, case.shape))}): axes permuted and flipped only, no interpolation",
            f"channels in the model's order: {', '.join(data.sequences)}",
            f"intensity normalization {data.normalization}: {NORMALIZATION_STEPS.get(data.normalization, '')}".rstrip(
                ": "
            ),
            *(
                [
                    f"resampled (trilinear) from {'x'.join(map(str, case.shape))} voxels to the model's spacing "
                    f"({'x'.join(map(str, entry.model_shape))}); the outputs resampled back before thresholding"
                ]
                if entry.model_shape
                else []
            ),
            f"cropped to the brain's bounding box plus {BRAIN_BOX_MARGIN} voxels ({'x'.join(map(str, cropped))}) "
            "for the network; outputs 0 outside it",
            f"network: {describe_run(self.model, cropped, self.run_config)}",
            f"device {self.info['device']}, {self.info['precision']}",
        ]
        if uncertainty:
            steps.append("test-time augmentation for uncertainty: a second pass on the left-right mirrored input")
        return steps

    def _postprocessing_steps(
        self, uncertainty: bool, entry: _CaseEntry, spacing: tuple[float, float, float]
    ) -> list[str]:
        steps = [
            "sigmoid per region; nested: P(TC) <= P(WT), P(ET) <= P(TC)",
            "threshold 0.5: ET = ET; NCR = TC without ET; ED = WT without TC",
            "voxels outside the brain (all four sequences 0) or outside a sequence's field of view set to background",
        ]
        voxel_ml = voxel_volume_ml(spacing)
        if self.min_component_fraction > 0:
            count, voxels = entry.dropped
            steps.append(
                f"tumor components (26-connected) smaller than {self.min_component_fraction:.0%} of the largest "
                f"removed: {count} ({voxels * voxel_ml:.2f} mL)"
            )
        else:
            steps.append("every tumor component kept (no small-component removal)")
        if self.min_enhancing_ml > 0:
            steps.append(
                f"enhancing tumor under {self.min_enhancing_ml:g} mL in all relabelled non-enhancing core (NCR), "
                "as BraTS entries do: "
                + (f"{entry.relabelled * voxel_ml:.2f} mL relabelled" if entry.relabelled else "nothing relabelled")
            )
        else:
            steps.append("enhancing tumor kept whatever its volume")
        if uncertainty:
            steps.append(f"uncertainty: {UNCERTAINTY_METHOD}")
        return steps

    # ------------------------------------------------------------------------------------------ output

    def report(self, case: Case, result: Segmentation, *, labels: str = "brats2023") -> dict:
        """The ``report.json`` content (see :func:`brainseg.inference.report.build_report`)."""
        if (chosen := self.for_case(case)) is not self:
            return chosen.report(case, result, labels=labels)
        return build_report(case, result, self.info, labels=labels, training=self.checkpoint.metadata)

    def write(
        self, case: Case, result: Segmentation, out_dir: str | Path, labels: str = "brats2023"
    ) -> tuple[Path, Path]:
        """Write ``segmentation.nii.gz`` (target regions, on the input grid with the T1ce file's affine),
        ``uncertainty.nii.gz`` when computed, and ``report.json``; returns (segmentation, report) paths."""
        if (chosen := self.for_case(case)) is not self:
            return chosen.write(case, result, out_dir, labels)
        return write_outputs(case, result, self.info, out_dir, labels=labels, training=self.checkpoint.metadata)


_SEGMENTERS: OrderedDict[tuple[str, str], Segmenter] = OrderedDict()
_SEGMENTERS_LOCK = threading.Lock()


def get_segmenter(source: str | None = None, device: str = "auto") -> Segmenter:
    """A built :class:`Segmenter` for ``source`` (default :data:`DEFAULT_MODEL`) on ``device``.

    The last :data:`MAX_SEGMENTERS` segmenters are kept, so switching between a few variants does not reload
    them; the least recently used is dropped first.
    """
    source = (source or DEFAULT_MODEL).strip()
    key = (source, str(resolve_device(device)))
    with _SEGMENTERS_LOCK:
        if key in _SEGMENTERS:
            _SEGMENTERS.move_to_end(key)
            return _SEGMENTERS[key]
        segmenter = Segmenter(source, key[1])
        _SEGMENTERS[key] = segmenter
        while len(_SEGMENTERS) > MAX_SEGMENTERS:
            _SEGMENTERS.popitem(last=False)
        return segmenter


def clear_segmenters() -> None:
    """Drop every segmenter kept by :func:`get_segmenter`."""
    with _SEGMENTERS_LOCK:
        _SEGMENTERS.clear()


def read_prompt(prompt: str | PromptInterpretation | None) -> PromptInterpretation:
    """The reading of ``prompt`` (made once: a reading is taken as it is); refused prompts raise
    :class:`~brainseg.text.prompts.PromptRefused`; None reads as every region."""
    if prompt is None:
        return no_prompt_interpretation()
    reading = prompt if isinstance(prompt, PromptInterpretation) else interpret_prompt(prompt)
    return reading.require()
