"""A :class:`brainseg.ui.viewer.Screen` and a session's run as the component updates of the page's output
groups (:class:`brainseg.ui.layout.Page`), in the groups' order.

Views are returned as PNG paths in Gradio's cache (:func:`brainseg.ui.widgets.png_in_cache`).
"""

from __future__ import annotations

import gradio as gr

from brainseg.ui import editing, rano_panel, segmentation, viewer
from brainseg.ui.layout import NO_HEAT, NO_RUN, Page
from brainseg.ui.viewer import Display, Screen, Session
from brainseg.ui.widgets import png_in_cache
from brainseg.viz import PLANES


def views(page: Page, shown: Screen) -> tuple[list, list]:
    """(the three views, :attr:`Page.linked_outputs`: the three map views, the colorbar and the comparison
    grid); without a run the map views are empty, without a comparison its grid."""
    cache = page.images[PLANES[0]].GRADIO_CACHE
    pictures = [png_in_cache(shown.views[p], cache, p) for p in PLANES]
    grid = None if shown.comparison is None else png_in_cache(shown.comparison, cache, "compare")
    if shown.heat_views is None:
        return pictures, [None, None, None, NO_HEAT, grid]
    heat = [png_in_cache(shown.heat_views[p], cache, f"heat-{p}") for p in PLANES]
    return pictures, [*heat, shown.colorbar, grid]


def run_panel(session: Session | None, heat: str | None) -> list:
    """Updates of :attr:`Page.run_outputs` for the session's run (or their empty state); ``heat`` is the map
    to select (the run's first when it has no such map)."""
    run = session.run if session is not None else None
    if run is None:
        empty_lesions = {"headers": segmentation.LESION_HEADERS, "data": []}
        return [
            gr.Radio(choices=["semantic"], value="semantic"),
            None,
            NO_RUN,
            {"headers": ["region", "predicted mL"], "data": []},
            empty_lesions,
            None,
            editing.history_markdown(None),
            rano_panel.NOTHING_MEASURED,
        ]
    names = list(run.heatmaps) or ["semantic"]
    headers, rows = segmentation.metrics_rows(run, session.loaded.case.spacing)  # type: ignore[union-attr]
    return [
        gr.Radio(choices=names, value=heat if heat in names else names[0]),
        run.figure,
        segmentation.run_markdown(run),
        {"headers": headers, "data": rows},
        {"headers": segmentation.LESION_HEADERS, "data": segmentation.lesion_rows(run)},
        None,
        editing.history_markdown(session),
        rano_panel.NOTHING_MEASURED,
    ]


def edited(session: Session, status: str) -> list:
    """Updates of :attr:`Page.edited_outputs` after an edit (or undo, redo, reset) of the session's run."""
    run = session.run
    assert run is not None
    headers, rows = segmentation.metrics_rows(run, session.loaded.case.spacing)
    return [
        editing.history_markdown(session, status),
        segmentation.run_markdown(run),
        {"headers": headers, "data": rows},
        {"headers": segmentation.LESION_HEADERS, "data": segmentation.lesion_rows(run)},
    ]


def overlay_radio(session: Session, display: Display) -> gr.Radio:
    """The Overlay radio offering what the case can draw, set to what is drawn (nothing before a run without
    a truth)."""
    choices = viewer.overlay_choices(session)
    return gr.Radio(choices=choices, value=display.overlay if display.overlay in choices else None)


def full(page: Page, session: Session, shown: Screen, display: Display) -> list:
    """Updates of :attr:`Page.full_outputs`: a newly loaded case, slider ranges included."""
    slider_updates = [gr.Slider(value=v, maximum=m) for v, m in shown.sliders.values()]
    pictures, heat = views(page, shown)
    texts = [shown.title, shown.readout, shown.warnings, shown.summary]
    return [*pictures, *slider_updates, *texts, *heat, *run_panel(session, None), overlay_radio(session, display)]


def partial(page: Page, shown: Screen | None, with_sliders: bool = False) -> list:
    """Updates of the views, map views, colorbar, (with ``with_sliders``) the three slider positions, and the
    readout; ``shown`` None (no case) changes nothing."""
    if shown is None:
        return [gr.skip()] * (2 * len(PLANES) + 3 + (len(PLANES) if with_sliders else 0))
    pictures, heat = views(page, shown)
    values = [gr.Slider(value=v) for v, _ in shown.sliders.values()] if with_sliders else []
    return [*pictures, *heat, *values, shown.readout]
