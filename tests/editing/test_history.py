"""Undo, redo, reset and the edit record of :class:`brainseg.editing.EditHistory`."""

import numpy as np

from brainseg.editing import MAX_UNDO, EditHistory, brush
from brainseg.editing.history import RESET, make_edit


def _start() -> EditHistory:
    labels = np.zeros((20, 20, 10), np.uint8)
    labels[5:10, 5:10, 3:6] = 2
    return EditHistory.start(labels, (1.0, 1.0, 2.0))


def test_an_edit_stores_only_the_voxels_it_changed_and_undo_restores_them_exactly():
    history = _start()
    edit = brush(history.labels, (7, 7, 4), "ET", 2.0, (1.0, 1.0, 2.0), axis=2)
    # A 2 mm disk on the axial slice: 13 voxels, all of them ED before.
    assert edit.changed == 13 and set(edit.before) == {2} and set(edit.after) == {3}
    assert edit.voxels_added() == 13 and edit.voxels_removed() == 0 and edit.label_changes() == {"ED": -13, "ET": 13}
    edited = history.apply(edit)
    assert np.count_nonzero(edited.labels == 3) == 13 and edited.summary() == "model + 1 edit"
    assert not edited.labels.flags.writeable and np.count_nonzero(history.labels == 3) == 0  # the old one kept
    back = edited.undo()
    assert np.array_equal(back.labels, history.model) and back.can_redo and back.summary() == "model"
    assert np.array_equal(back.redo().labels, edited.labels)


def test_a_new_edit_after_undo_drops_the_redo_tail_and_reset_is_undoable():
    history = _start()
    for x in (6, 8, 12):
        history = history.apply(brush(history.labels, (x, 7, 4), "NCR", 1.0, (1.0, 1.0, 2.0)))
    history = history.undo().undo()
    history = history.apply(brush(history.labels, (15, 15, 4), "ED", 1.0, (1.0, 1.0, 2.0)))
    assert history.count == 2 and not history.can_redo
    reset = history.reset()
    assert np.array_equal(reset.labels, reset.model) and reset.records()[-1]["tool"] == RESET
    assert reset.summary() == "model + 3 edits"  # the reset is itself an edit in the record
    assert np.array_equal(reset.undo().labels, history.labels)


def test_an_edit_that_changes_nothing_is_not_recorded():
    history = _start()
    same = make_edit(history.labels, history.labels == 2, 2, "brush", "ED")
    assert same.changed == 0 and history.apply(same) is history


def test_more_than_max_undo_edits_keep_every_record_but_only_max_undo_steps():
    history = _start()
    for step in range(MAX_UNDO + 5):
        voxel = (step % 20, (step // 20) % 20, 8)
        history = history.apply(brush(history.labels, voxel, "ET", 0.5, (1.0, 1.0, 2.0)))
    assert history.count == MAX_UNDO + 5 and len(history.records()) == MAX_UNDO + 5
    for _ in range(MAX_UNDO + 5):
        history = history.undo()
    assert history.count == 5 and np.count_nonzero(history.labels == 3) == 5  # the five oldest stay in effect


def test_the_record_gives_volumes_in_ml_from_the_spacing():
    history = _start()
    edit = brush(history.labels, (15, 15, 5), "ED", 0.5, (1.0, 1.0, 2.0))  # one voxel of 2 mm^3
    record = history.apply(edit).records()[0]
    assert record["tool"] == "brush" and record["region"] == "ED" and record["voxels_added"] == 1
    assert record["ml_added"] == 0.002 and record["voxel"] == [15, 15, 5] and record["plane"] == "3D"
