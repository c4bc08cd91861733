"""The Compare tab without a browser: several (fake) variants on the phantom, their agreement and tables."""

import dataclasses

import numpy as np
import pytest

from brainseg.errors import BrainSegError
from brainseg.labels import ET, NCR, region_mask
from brainseg.ui import compare, viewer
from brainseg.ui.model_menu import ModelChoice
from brainseg.ui.viewer import Display
from tests.ui.fakes import FakeSegmenter


class WithoutET(FakeSegmenter):
    """The fake's prediction with its enhancing tumor called necrosis: it disagrees on ET only."""

    def segment(self, case, prompt=None, **options):
        result = super().segment(case, prompt, **options)
        labels = np.where(result.labels == ET, NCR, result.labels).astype(np.uint8)
        probabilities = result.probabilities.copy()
        probabilities[2] = 0.0
        return dataclasses.replace(result, labels=labels, probabilities=probabilities)


def factory(source: str):
    return WithoutET(source) if source.endswith("b") else FakeSegmenter(source)


CHOICES = [ModelChoice(n, "test", "", f"local-dir:/checkpoints/{n}", None, True, "demo", 1) for n in ("a", "b", "c")]


def test_three_variants_are_compared_and_their_disagreement_is_where_one_differs(session):
    comparison = compare.run_comparison(session.loaded, CHOICES, factory)
    assert comparison.members == ("a", "b", "c")
    dice = dict((row[0], row[1:]) for row in compare.dice_rows(comparison)[1])
    assert dice["a | c"] == [1.0, 1.0, 1.0] and dice["a | b"][:2] == [1.0, 1.0] and dice["a | b"][2] == 0.0
    et = comparison.fusion.disagreement("ET")
    assert et.sum() == region_mask(comparison.labels[0], "ET").sum()  # b alone dissents
    assert not comparison.fusion.disagreement("WT").any()
    rows = compare.volume_rows(comparison, session.loaded.case.spacing)[1]
    assert [r[0] for r in rows] == ["a", "b", "c", "majority fusion"] and rows[1][3] == 0.0
    assert rows[-1][3] == pytest.approx(rows[0][3])  # two of three keep the ET: the fusion does


def test_the_grid_follows_the_cursor_and_the_region(session):
    comparison = compare.run_comparison(session.loaded, CHOICES[:2], factory)
    compared = dataclasses.replace(session, comparison=comparison)
    first = viewer.screen(compared, (24, 24, 20), Display()).comparison
    assert first is not None and first.shape[0] == 3 * (compare.ROW_HEIGHT + compare.LABEL_BAR)  # 2 rows + agreement
    moved = viewer.screen(compared, (24, 24, 12), Display()).comparison
    assert not np.array_equal(first, moved)
    on_et = viewer.screen(compared, (24, 24, 20), dataclasses.replace(Display(), compare_region="ET")).comparison
    assert not np.array_equal(first[-compare.ROW_HEIGHT :], on_et[-compare.ROW_HEIGHT :])
    assert viewer.screen(session, (24, 24, 20), Display()).comparison is None


def test_one_variant_or_one_without_a_checkpoint_is_refused(session):
    with pytest.raises(BrainSegError, match="two or more"):
        compare.run_comparison(session.loaded, CHOICES[:1], factory)
    missing = dataclasses.replace(CHOICES[1], available=False, source="local-dir:/nonexistent")
    with pytest.raises(BrainSegError):
        compare.run_comparison(session.loaded, [CHOICES[0], missing], factory)


def test_the_agreement_row_colours_how_many_variants_agree():
    colors = compare.count_colors(3)
    assert colors[3] == compare.TEAL and colors[2] == (255, 0, 40) and colors[1] == (255, 230, 40)
    assert set(compare.count_colors(2)) == {1, 2}
