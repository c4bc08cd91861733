"""Model cards (``README.md`` of a checkpoint) in the Hugging Face format."""

from __future__ import annotations

import json
from typing import Any

INTENDED_USE = "Research and teaching only. Not for clinical use: not a medical device, not validated on patients."


def model_card(config: dict[str, Any]) -> str:
    """A model card from a checkpoint's ``config.json`` content (variant, size, data contract, metadata).

    The ``brainseg`` block may carry ``training`` (data, recipe, steps, hardware, time), ``metrics``
    (e.g. validation Dice per region) and ``notes`` (known limitations, one line each); whatever is absent
    is stated as not recorded.
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
