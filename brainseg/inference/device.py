"""Choose the device and the numeric precision inference runs at."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from brainseg.errors import BrainSegError

DEVICE_CHOICES = ("auto", "cpu", "cuda")


class InferenceError(BrainSegError):
    """Inference cannot run as asked (device, memory, a model whose data contract does not fit)."""


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N`` -> a torch device.

    Raises:
        InferenceError: an unknown name, or CUDA asked for where there is none.
    """
    if isinstance(name, torch.device):
        name = str(name)
    text = (name or "auto").strip().lower()
    if text == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if text == "cpu":
        return torch.device("cpu")
    if text == "cuda" or (text.startswith("cuda:") and text[5:].isdigit()):
        if not torch.cuda.is_available():
            raise InferenceError(f"device {name!r} asked for, but no CUDA GPU is available; use --device cpu or auto")
        index = int(text[5:]) if ":" in text else 0
        if index >= torch.cuda.device_count():
            raise InferenceError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) present")
        return torch.device(text)
    raise InferenceError(f"unknown device {name!r}; expected one of: {', '.join(DEVICE_CHOICES)} (or cuda:N)")


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bfloat16 on GPUs that support it, float16 on older ones, None (float32) on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def precision_name(device: torch.device) -> str:
    """What :func:`autocast` uses on ``device``, for reports: ``float32``, ``bfloat16 autocast``, ..."""
    dtype = autocast_dtype(device)
    return "float32" if dtype is None else f"{str(dtype).removeprefix('torch.')} autocast"


@contextlib.contextmanager
def autocast(device: torch.device) -> Iterator[None]:
    """Mixed precision on CUDA (bf16, else fp16), nothing on the CPU (float32 is faster there for convs)."""
    dtype = autocast_dtype(device)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield
