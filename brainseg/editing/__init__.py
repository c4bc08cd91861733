"""Correcting a segmentation: manual tools, click and box refinement, and the undo history.

* :mod:`brainseg.editing.history`: :class:`Edit` (a sparse change) and :class:`EditHistory` (undo, redo,
  back to the model, the record ``report.json`` lists).
* :mod:`brainseg.editing.tools`: brush, eraser, remove a component, fill a hole.
* :mod:`brainseg.editing.refine`: positive / negative clicks and boxes that grow or cut a region in 3D.
* :mod:`brainseg.editing.simulate`: where a simulated user clicks next (for benchmarks and tests).
* :mod:`brainseg.editing.session`: refine a case's segmentation file from click and box specs (CLI, API).
"""

from brainseg.editing.history import MAX_UNDO, Edit, EditHistory
from brainseg.editing.refine import CLICK_REGIONS, Click, IntensityScale, refine_box, refine_click
from brainseg.editing.tools import EditError, brush, erase, fill_hole, remove_component

__all__ = [
    "CLICK_REGIONS",
    "MAX_UNDO",
    "Click",
    "Edit",
    "EditError",
    "EditHistory",
    "IntensityScale",
    "brush",
    "erase",
    "fill_hole",
    "refine_box",
    "refine_click",
    "remove_component",
]
