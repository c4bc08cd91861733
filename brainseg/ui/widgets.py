"""Small pieces of the Gradio app: page style, legends, PNG encoding, error conversion.

This module, :mod:`brainseg.ui.layout`, :mod:`brainseg.ui.screen_updates` and :mod:`brainseg.ui.app` import Gradio.
"""

from __future__ import annotations

import functools
import hashlib
import html
import os
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr
import numpy as np

from brainseg.errors import BrainSegError
from brainseg.labels import REGION_NAMES
from brainseg.viz import FILL_REGIONS, OUTLINE_REGIONS, REGION_COLORS
from brainseg.viz.png import encode_png

CSS = """
.bs-view img { background: #000; }
#bs-summary textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
.bs-warnings { border-left: 4px solid #f59e0b; background: rgba(245, 158, 11, 0.10); padding: 6px 10px;
  border-radius: 4px; }
.bs-warnings ul { margin: 4px 0 0 0; }
.bs-warnings.bs-none { border-left-color: #10b981; background: rgba(16, 185, 129, 0.10); }
.bs-legend { font-size: 13px; line-height: 1.9; }
.bs-swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin: 0 4px 0 10px;
  vertical-align: -1px; }
.bs-ring { background: transparent !important; border: 2px solid; }
#bs-segment { min-height: 52px; font-size: 17px; }
#bs-interpretation, #bs-model-info { font-size: 13px; }
#bs-interpretation p, #bs-model-info p { margin: 2px 0; }
.bs-colorbar { max-width: 420px; font-size: 12px; }
.bs-map-note { font-size: 12px; margin-top: 4px; color: var(--body-text-color-subdued); }
.bs-colorbar-title { font-weight: 600; margin-bottom: 2px; }
.bs-colorbar-bar { height: 14px; border-radius: 3px; border: 1px solid #4443; }
.bs-colorbar-ticks { display: flex; justify-content: space-between; }
.bs-step { font-weight: 600; color: var(--color-accent); }
"""

NARROW_SCREEN_PX = 1100
"""Below this window width the sidebar starts closed: open, it would cover a third of the page or more."""
JS = f"""
() => {{
  if (window.innerWidth >= {NARROW_SCREEN_PX}) return;
  const close = () => {{
    const bar = document.querySelector('#bs-sidebar');
    if (!bar) return false;
    if (bar.classList.contains('open')) bar.querySelector('.toggle-button')?.click();
    return true;
  }};
  if (close()) return;
  const timer = setInterval(() => {{ if (close()) clearInterval(timer); }}, 100);
  setTimeout(() => clearInterval(timer), 10000);
}}
"""
"""Runs once when the page opens."""


def legend_html() -> str:
    """Swatches of the fill and outline colours, named in full on hover."""

    def entry(region: str, ring: bool) -> str:
        r, g, b = REGION_COLORS[region]
        style = f"border-color: rgb({r},{g},{b})" if ring else f"background: rgb({r},{g},{b})"
        title = html.escape(REGION_NAMES[region])
        swatch = f'<span class="bs-swatch{" bs-ring" if ring else ""}" style="{style}"></span>'
        return f'<span title="{title}">{swatch}{region}</span>'

    fills = "".join(entry(r, False) for r in FILL_REGIONS)
    outlines = "".join(entry(r, True) for r in OUTLINE_REGIONS)
    return f'<div class="bs-legend">Fill:{fills}<br>Outline:{outlines}</div>'


def png_in_cache(image: np.ndarray, cache_dir: str, name: str) -> str:
    """Encode an (H, W, 3) uint8 view as PNG into Gradio's cache folder and return its path.

    Gradio would encode a returned array itself with PIL at zlib level 6 (~20 ms for a 480 x 480 view);
    :func:`brainseg.viz.png.encode_png` takes ~4 ms, which matters six times per slice change.
    A path already inside the cache is served as is (and aged out by ``delete_cache``).
    """
    data = encode_png(image)
    folder = Path(cache_dir) / hashlib.sha256(data).hexdigest()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    if not path.exists():
        staging = folder / f".{name}.{threading.get_ident()}.png"
        staging.write_bytes(data)
        staging.replace(path)  # atomic: a concurrent reader never sees half a file
    return str(path)


def user_errors(title: str) -> Callable[[Callable], Callable]:
    """Show bad input as a ``gr.Error`` titled ``title`` with the CLI's one-line message (upload folders left
    out, see :func:`without_folders`); the session keeps what it showed (a failing handler returns nothing, so
    no output changes)."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except BrainSegError as exc:
                message = without_folders(str(exc))
                raise gr.Error(message, title=title, print_exception=False) from None
            except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
                message = without_folders(f"{exc.filename or exc}: {exc.strerror or 'cannot be read'}")
                raise gr.Error(message, title="Cannot read a file", print_exception=False) from None

        return wrapper

    return decorate


def without_folders(message: str) -> str:
    """``message`` with the server's upload folders removed (``/tmp/gradio/3f2a…/T1.nii.gz`` -> ``T1.nii.gz``):
    that folder means nothing to the user, and the file's name is what they gave. Other paths (a checkpoint
    folder the server was configured with) stay whole."""
    uploads = os.environ.get("GRADIO_TEMP_DIR") or str(Path(tempfile.gettempdir()) / "gradio")
    return re.sub(re.escape(uploads.rstrip("/")) + r"/(?:[^\s/:'\"]+/)*", "", message)
