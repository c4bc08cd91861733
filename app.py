"""Serve the BrainSeg app (``make demo``): http://127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say
otherwise. Upload limit, cache clean-up, queue limits and the preloaded example are set in :func:`brainseg.ui.launch`;
BRAINSEG_MODEL_SOURCES points model variants at checkpoints (see :mod:`brainseg.ui.model_menu`)."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before Gradio is imported

from brainseg.ui import launch

if __name__ == "__main__":
    launch()
