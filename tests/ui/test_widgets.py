"""Small Gradio-side helpers: error messages without the server's upload folders."""

import gradio as gr
import pytest

from brainseg.errors import CaseFilesError
from brainseg.ui.widgets import user_errors, without_folders


def test_upload_folders_leave_error_messages_but_other_paths_stay(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "gradio"))
    upload = tmp_path / "gradio" / "3f2a9c" / "T1.nii.gz"
    message = f"{upload}: not a NIfTI file; checkpoint local-dir:/srv/models/unet3d"
    assert without_folders(message) == "T1.nii.gz: not a NIfTI file; checkpoint local-dir:/srv/models/unet3d"

    @user_errors("Cannot load this case")
    def refuse():
        raise CaseFilesError(message)

    with pytest.raises(gr.Error) as caught:
        refuse()
    assert caught.value.message.startswith("T1.nii.gz: not a NIfTI file") and str(tmp_path) not in caught.value.message
