"""Server-side rendering of cases: tri-planar slices, intensity windows, label overlays.

Arrays come in the canonical RAS frame of :class:`brainseg.io.Case`; images go out as (H, W, 3) uint8
RGB in radiological display convention (see :mod:`brainseg.viz.slices`).
"""

from brainseg.viz.case_renderer import AxialLine, CaseRenderer, ViewOptions, render_view
from brainseg.viz.overlay import FILL_REGIONS, OUTLINE_REGIONS, REGION_COLORS, blend_labels, draw_outlines
from brainseg.viz.slices import LAYOUTS, PLANES, DisplayGrid, extract_slice, fit_pixels_per_mm, shared_canvas
from brainseg.viz.window import Window, brain_window

__all__ = [
    "FILL_REGIONS",
    "LAYOUTS",
    "OUTLINE_REGIONS",
    "PLANES",
    "REGION_COLORS",
    "AxialLine",
    "CaseRenderer",
    "DisplayGrid",
    "ViewOptions",
    "Window",
    "blend_labels",
    "brain_window",
    "draw_outlines",
    "extract_slice",
    "fit_pixels_per_mm",
    "render_view",
    "shared_canvas",
]
