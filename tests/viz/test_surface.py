"""The 3D view: voxel-face meshes on a coarse grid, and the plotly figure."""

import numpy as np
import pytest

from brainseg.labels import ED, ET, NCR
from brainseg.viz.surface import auto_step, downsample_mask, region_mesh, segmentation_figure, voxel_faces


def test_one_voxel_is_a_cube_of_twelve_triangles():
    vertices, faces = voxel_faces(np.ones((1, 1, 1), bool))
    assert vertices.shape == (8, 3) and faces.shape == (12, 3)
    assert sorted(map(tuple, vertices.astype(int).tolist())) == [
        (x, y, z) for x in (0, 1) for y in (0, 1) for z in (0, 1)
    ]


def test_shared_faces_are_not_drawn():
    vertices, faces = voxel_faces(np.ones((2, 1, 1), bool))
    assert vertices.shape == (12, 3) and faces.shape == (20, 3)  # 10 outer faces, two triangles each
    assert voxel_faces(np.zeros((3, 3, 3), bool))[1].shape == (0, 3)


def test_blocks_keep_regions_of_a_third_and_small_lesions():
    mask = np.zeros((6, 6, 6), bool)
    mask[:3, :3, :3] = True  # one full 3-block
    mask[3:, 3:, 3:5] = True  # 18 of 27 voxels: kept
    assert downsample_mask(mask, 3).sum() == 2
    tiny = np.zeros((6, 6, 6), bool)
    tiny[5, 5, 5] = True  # 1 of 27: kept because nothing else would be
    assert downsample_mask(tiny, 3).tolist() == [[[False, False], [False, False]], [[False, False], [False, True]]]
    with pytest.raises(ValueError, match="at least 1"):
        downsample_mask(mask, 0)


def test_meshes_are_in_millimetres():
    mask = np.zeros((4, 4, 4), bool)
    mask[:2, :2, :2] = True
    vertices, _ = region_mesh(mask, (1.0, 1.0, 2.5), step=2)
    assert vertices.max(axis=0).tolist() == [2.0, 2.0, 5.0]
    assert region_mesh(np.zeros((4, 4, 4), bool), (1, 1, 1), 2) == (None, None)
    assert auto_step((240, 240, 155)) == 3 and auto_step((12, 14, 10)) == 1


def test_figure_has_one_trace_per_present_region():
    labels = np.zeros((12, 12, 12), np.uint8)
    labels[2:9, 2:9, 2:9] = ED
    labels[4:7, 4:7, 4:7] = NCR
    labels[5, 5, 5] = ET
    brain = np.ones_like(labels, bool)
    figure = segmentation_figure(labels, (1, 1, 1), brain=brain, truth=labels, step=1)
    assert [t.name for t in figure.data] == ["brain", "predicted ED", "predicted NCR", "predicted ET", "truth WT"]
    assert figure.data[-1].visible == "legendonly"
    assert figure.layout.scene.aspectmode == "data"
    empty = segmentation_figure(np.zeros((4, 4, 4), np.uint8), (1, 1, 1))
    assert len(empty.data) == 0 and "empty prediction" in empty.layout.annotations[0].text


def test_the_axis_titles_fit_inside_the_figure():
    # With the camera at distance 2.0 and no margins, plotly clipped the axis titles at the figure's edges.
    figure = segmentation_figure(np.zeros((4, 4, 4), np.uint8), (1, 1, 1))
    eye = figure.layout.scene.camera.eye
    assert np.linalg.norm([eye.x, eye.y, eye.z]) >= 2.6
    assert min(figure.layout.margin.l, figure.layout.margin.r, figure.layout.margin.b) >= 10
    assert all(len(axis.title.text) <= 10 for axis in (figure.layout.scene.xaxis, figure.layout.scene.yaxis))
