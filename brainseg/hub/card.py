"""Model cards (``README.md`` of a checkpoint) in the Hugging Face format."""

from __future__ import annotations

import json
from typing import Any

INTENDED_USE = "Research and teaching only. Not for clinical use: not a medical device, not validated on patients."


def model_card(config: dict[str, Any]) -> str:
    """A model card from a checkpoint's ``config.json`` content (variant, size, data contract, metadata).

    The ``brainseg`` block may carry ``training`` (data, recipe, steps, hardware, time), ``postprocessing``
    (the checkpoint's own thresholds), ``metrics`` (e.g. validation Dice per region) and ``notes`` (known
    limitations, one line each); whatever is absent is stated as not recorded (or, for the post-processing,
    as BrainSeg's defaults).
    """
    meta = config.get("brainseg", {})
    training = meta.get("training")
    metrics = meta.get("metrics")
    data = config.get("data", {})
    lines = [
        "---",
        "license: apache-2.0",
        "library_name: brainseg",
        "tags: [medical-imaging, brain-tumor, segmentation, mri, brats, research-only]",
        "---",
        "",
        f"# BrainSeg `{config.get('variant')}` ({config.get('size')} size)",
        "",
        f"**Intended use.** {INTENDED_USE}",
        "",
        "## Inputs and outputs",
        f"- Sequences, in channel order: {', '.join(data.get('sequences', []))}",
        f"- Normalization: `{data.get('normalization')}`; spacing {data.get('spacing_mm')} mm; "
        f"orientation {data.get('orientation')}",
        f"- Outputs (sigmoid channels): {', '.join(data.get('outputs', []))}; regions WT = NCR+ED+ET, "
        "TC = NCR+ET, ET (BraTS).",
        f"- Weights: {meta.get('storage_dtype', 'float32')} in `model.safetensors`, loaded as float32.",
        "",
        "## Training",
        ("```json\n" + json.dumps(training, indent=2) + "\n```") if training else "Not recorded (untrained weights).",
        "",
        "## Post-processing",
        _postprocessing_text(meta.get("postprocessing")),
        "",
        "## Metrics",
        ("```json\n" + json.dumps(metrics, indent=2) + "\n```") if metrics else "Not recorded.",
        "",
        "## Limitations",
        *([f"- {note}" for note in meta.get("notes", [])] or ["Not recorded."]),
        "",
        "## License",
        "Code and weights: Apache-2.0. Check the terms of any data used to train or evaluate.",
        "",
    ]
    return "\n".join(lines)


def _postprocessing_text(chosen: dict[str, Any] | None) -> str:
    """The card's line on the thresholds the Segmenter applies with this checkpoint."""
    if not chosen:
        return (
            "BrainSeg's defaults (brainseg.inference.postprocess): tumor components under 5% of the largest removed, "
            "an enhancing tumor under 0.5 mL in all relabelled necrosis."
        )
    fraction, enhancing = chosen["min_component_fraction"], chosen["min_enhancing_ml"]
    relabel = (
        f"an enhancing tumor under {enhancing:g} mL in all relabelled necrosis" if enhancing else "no small-ET relabel"
    )
    text = f"Tumor components under {fraction:.0%} of the largest removed; {relabel}."
    return text + (f" Chosen by {chosen['chosen_by']}." if chosen.get("chosen_by") else "")
