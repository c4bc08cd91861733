"""The Gradio app: :func:`create_app` builds it, :func:`launch` serves it.

Modules: :mod:`~brainseg.ui.viewer` (viewing: load, move, overlays), :mod:`~brainseg.ui.segmentation`
(a run and its panels), :mod:`~brainseg.ui.review` (accept / reject, export), :mod:`~brainseg.ui.api`
(the ``/segment`` endpoint), :mod:`~brainseg.ui.model_menu` (variants and their checkpoints; the
``BRAINSEG_MODEL_SOURCES`` variable), :mod:`~brainseg.ui.examples`; the Gradio side in
:mod:`~brainseg.ui.layout` (the components), :mod:`~brainseg.ui.screen_updates` (a screen as component
updates), :mod:`~brainseg.ui.widgets` and :mod:`~brainseg.ui.app` (the wiring, one function per part).

Gradio is imported only when one of these is used, so the behaviour (plain functions) stays importable
and testable without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "launch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from brainseg.ui import app

        return getattr(app, name)
    raise AttributeError(f"module 'brainseg.ui' has no attribute {name!r}")
