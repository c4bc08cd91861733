"""The first heat map and the line under each map, from measured pointing-game scores of one checkpoint."""

import json

from brainseg.ui import map_guide
from brainseg.ui.map_guide import MapScore


def _scores(tmp_path, sha="abc"):
    path = tmp_path / "pointing_game.json"
    maps = {
        "semantic:WT": {"score": 0.0, "chance": 0.08},
        "TC:TC": {"score": 0.6, "chance": 0.04},
        "ET:ET": {"score": 0.48, "chance": 0.01},
        "prompt:ET": {"score": 0.48, "chance": 0.01},
        "uncertainty:WT": {"score": 0.79, "chance": 0.08, "flat": False},
        "WT:WT": {"score": 0.08, "chance": 0.08, "flat": True},
    }
    path.write_text(json.dumps({"variants": {"clip-unet3d": {"sha256": sha, "cases": 5, "maps": maps}}}))
    return path


def _measured(path, names, regions, sha="abc"):
    return {n: map_guide.map_score("clip-unet3d", sha, n, regions, path) for n in names}


def test_a_map_that_does_not_point_at_the_tumor_is_never_first(tmp_path):
    path = _scores(tmp_path)
    names = ["semantic", "WT", "TC", "ET"]
    scores = _measured(path, names, ())
    assert scores["semantic"] == MapScore(0.0, "WT", 0.08, 5)
    assert not scores["WT"].points_well()  # at chance, and flat
    assert map_guide.first_map(names, scores) == "TC"  # not the semantic map listed first
    assert map_guide.first_map(
        ["semantic", "ET", "prompt"], _measured(path, ["semantic", "ET", "prompt"], ("ET",))
    ) == ("prompt")
    assert map_guide.first_map(["semantic"], scores) is None


def test_scores_of_another_checkpoint_are_not_used(tmp_path):
    path = _scores(tmp_path, sha="other")
    scores = _measured(path, ["TC"], ())
    assert scores == {"TC": None}
    assert map_guide.first_map(["TC"], scores) is None
    assert "Not measured on real cases for this checkpoint" in map_guide.map_note("TC", None, ())


def test_the_note_says_what_the_map_is_and_how_it_scored(tmp_path):
    scores = _measured(_scores(tmp_path), ["semantic", "prompt"], ("ET",))
    assert scores["semantic"] is None  # semantic was scored against WT only in this file
    note = map_guide.map_note("prompt", scores["prompt"], ("ET",))
    assert note.startswith("The model's attention for the regions the prompt asked for (ET): points at the tumor")
    assert "48% of its brightest 1 % of voxels fall in the ET on 5 real cases (chance 1%)" in note
    flat = map_guide.map_note("WT", MapScore(0.08, "WT", 0.08, 5, flat=True), ())
    assert "does not point at the tumor" in flat and "almost one colour" in flat


def test_the_bundled_scores_are_of_the_bundled_checkpoints():
    """A retrained checkpoint needs ``python -m benchmarks.pointing_game --cases 10``: old scores do not apply."""
    from brainseg.hub import file_sha256
    from brainseg.hub.sources import BUNDLED_DIR

    measured = json.loads(map_guide.SCORES_FILE.read_text())["variants"]
    for variant, entry in measured.items():
        assert entry["sha256"] == file_sha256(BUNDLED_DIR / variant / "model.safetensors"), variant
    # The default model's semantic map does not point at the tumor; its TC map does, and is shown first.
    clip = {n: map_guide.map_score("clip-unet3d", measured["clip-unet3d"]["sha256"], n, ()) for n in ("semantic", "TC")}
    assert not clip["semantic"].points_well() and clip["TC"].points_well()
    assert map_guide.first_map(["semantic", "TC", "ET"], clip) == "TC"
