"""The Gradio viewer: :func:`create_app` builds it, :func:`launch` serves it.

Gradio is imported only when one of these is used, so :mod:`brainseg.ui.callbacks` (the behaviour,
plain functions) stays importable and testable without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "launch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from brainseg.ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'brainseg.ui' has no attribute {name!r}")
