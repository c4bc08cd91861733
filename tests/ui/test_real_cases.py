"""Both real cases (../shared/data/real) load in the viewer and show the right way round.

Skipped when the folder is absent (a user's fresh clone).
"""

import numpy as np
import pytest

from brainseg.ui import viewer
from brainseg.ui.examples import ExampleLibrary, find_examples
from brainseg.ui.viewer import Display
from brainseg.viz import ViewOptions
from tests.casefiles import REAL_CASES, REAL_DATA, real_case_folder

PLAIN = Display(crosshair=False)


@pytest.fixture(scope="module")
def shown():
    for name in REAL_CASES:
        real_case_folder(name)  # skips when absent
    library = ExampleLibrary(find_examples([(REAL_DATA, "real")]))
    result = {}
    for name in REAL_CASES:
        session, screen = viewer.load_example(None, name, PLAIN, library)
        # Anatomy checks read the bare images: no crosshair, no orientation letters.
        centred = session.loaded.renderer.render_all((120, 120, 77), "T1", ViewOptions(crosshair=False, letters=False))
        result[name] = (session, screen, centred)
    return result


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_real_case_loads_and_renders(shown, name):
    session, screen, _ = shown[name]
    assert session.loaded.case.name == name
    assert session.origin == "real example"
    assert {plane: view.shape for plane, view in screen.views.items()} == {
        "axial": (480, 480, 3),
        "coronal": (480, 480, 3),
        "sagittal": (480, 480, 3),
    }
    assert screen.sliders == {
        "axial": (screen.cursor[2], 154),
        "coronal": (screen.cursor[1], 239),
        "sagittal": (screen.cursor[0], 239),
    }
    assert f"orientation {REAL_CASES[name][0]}" in screen.summary
    assert "No warnings" in screen.warnings
    for view in screen.views.values():
        assert view.std() > 10  # a brain is on screen, not a blank canvas


def _brain(view: np.ndarray) -> np.ndarray:
    return view.mean(axis=2) > 20


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_real_brain_is_upright_with_the_face_to_the_left(shown, name):
    """Anatomy fixes the orientation: in a mid-sagittal view the lower third of the brain (cerebellum and
    brainstem) lies behind the centre, i.e. right of it with anterior on the left; in a mid-coronal view
    the top third (the vertex) is narrower than the bottom third (temporal lobes)."""
    _, _, centred = shown[name]
    sagittal = _brain(centred["sagittal"])
    rows, columns = np.flatnonzero(sagittal.any(axis=1)), np.flatnonzero(sagittal.any(axis=0))
    top, bottom = rows[0], rows[-1]
    lower_third = sagittal[bottom - (bottom - top) // 3 : bottom + 1]
    assert np.nonzero(lower_third)[1].mean() > (columns[0] + columns[-1]) / 2 + 20
    coronal = _brain(centred["coronal"])
    rows = np.flatnonzero(coronal.any(axis=1))
    third = (rows[-1] - rows[0]) // 3
    upper_width = coronal[rows[0] : rows[0] + third].sum(axis=1).mean()
    lower_width = coronal[rows[-1] - third : rows[-1]].sum(axis=1).mean()
    assert upper_width < lower_width - 20


def test_both_real_brains_overlap_on_screen(shown):
    """Different files (LPS and RAS) of brains in one atlas space must look alike in every view."""
    (_, _, a), (_, _, b) = shown.values()
    for plane in ("axial", "coronal", "sagittal"):
        x, y = _brain(a[plane]), _brain(b[plane])
        dice = 2 * np.count_nonzero(x & y) / (np.count_nonzero(x) + np.count_nonzero(y))
        assert dice > 0.85, plane


@pytest.mark.parametrize("name", list(REAL_CASES))
def test_the_hyperintense_lesion_shows_on_the_side_the_file_says(shown, name):
    """The brightest FLAIR voxels (the lesion) lie on the patient's left or right in world coordinates;
    in the axial view they must appear on the opposite side of the screen (radiological convention)."""
    session, _, _ = shown[name]
    case = session.loaded.case
    flair = case.image("FLAIR")
    bright = np.argwhere(flair > np.percentile(flair[flair > 0], 99.5))
    centre = np.rint(bright.mean(axis=0)).astype(int)
    world_x = (case.affine @ np.r_[centre, 1])[0] - (case.affine @ np.r_[np.array(case.shape) / 2, 1])[0]
    options = ViewOptions(crosshair=False, letters=False)
    axial = session.loaded.renderer.render("axial", tuple(centre), "FLAIR", options).mean(axis=2)
    lit_columns = np.nonzero(axial > 250)[1]
    on_viewer_left = lit_columns.mean() < axial.shape[1] / 2
    on_patient_right = world_x > 0
    assert on_viewer_left == on_patient_right
