"""Inference: run a variant over a whole case and turn its outputs into labels."""

from brainseg.inference.predict import REGION_PROMPTS, logits_to_labels, pad_spatial, predict_volume

__all__ = ["REGION_PROMPTS", "logits_to_labels", "pad_spatial", "predict_volume"]
