"""Text and prompts: reading free-text prompts as tumor regions, and the synonym vocabulary."""

from brainseg.text.prompts import PromptInterpretation, PromptRefused, interpret_prompt

__all__ = ["PromptInterpretation", "PromptRefused", "interpret_prompt"]
