"""Hugging Face ZeroGPU support: wrap the GPU entry point with ``spaces.GPU`` when that package is present.

On a ZeroGPU Space a GPU is attached only while a function decorated with ``spaces.GPU`` runs. Everywhere
else (a laptop, CI, a CPU Space) the package is absent and :func:`gpu_entry` returns the function unchanged,
so nothing depends on it.

Why the extra guard: this repository has a top-level ``spaces/`` folder (the Space's files, no
``__init__.py``). When the real package is not installed, ``import spaces`` run from the repository root
does not fail: Python imports that folder as an empty namespace package. A real, installed ``spaces``
package always wins over such a folder, so the decorator is taken only from a module that is a regular
package (it has a ``__file__``) and has a callable ``GPU``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_DURATION_S = 120
"""Seconds of GPU a call may hold on ZeroGPU (a whole case with a mirrored pass takes far less on an H200)."""


def spaces_gpu() -> Callable[..., Any] | None:
    """``spaces.GPU`` when the Hugging Face ``spaces`` package is installed, else None (never raises)."""
    try:
        spaces = importlib.import_module("spaces")
    except ImportError:
        return None
    gpu = getattr(spaces, "GPU", None)
    # A namespace package (the repo's spaces/ folder) has no __file__ and no GPU.
    if getattr(spaces, "__file__", None) is None or not callable(gpu):
        return None
    return gpu


def gpu_entry(function: F | None = None, *, duration: int = DEFAULT_DURATION_S) -> Any:
    """Decorate the function that does the GPU work; a no-op without the ``spaces`` package.

    Usable bare (``@gpu_entry``) or with arguments (``@gpu_entry(duration=60)``). The decorated function
    should take and return CPU data (numpy arrays, plain values): on ZeroGPU it may run in another process.
    """

    def decorate(fn: F) -> F:
        gpu = spaces_gpu()
        return fn if gpu is None else gpu(duration=duration)(fn)

    return decorate(function) if function is not None else decorate
