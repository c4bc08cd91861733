"""Scoring a trained model on held-out cases (synthetic sets or BraTS folders): ``brainseg evaluate-model``.

Pure metrics live in :mod:`brainseg.metrics`; this package runs a checkpoint over cases and tabulates them.
"""

from brainseg.evaluation.model_table import EvaluationRow, evaluate_model, format_table, save_table, test_cases

__all__ = ["EvaluationRow", "evaluate_model", "format_table", "save_table", "test_cases"]
