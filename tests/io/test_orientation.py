import itertools

import nibabel as nib
import numpy as np
import pytest

from brainseg.io.orientation import CanonicalFrame


def affine_for(axcodes: str, spacing=(1.0, 2.0, 3.0)) -> np.ndarray:
    """An affine whose array axes point along ``axcodes`` (e.g. 'PSL')."""
    directions = {"R": (0, 1), "L": (0, -1), "A": (1, 1), "P": (1, -1), "S": (2, 1), "I": (2, -1)}
    affine = np.zeros((4, 4))
    for axis, code in enumerate(axcodes):
        world, sign = directions[code]
        affine[world, axis] = sign * spacing[axis]
    affine[:3, 3] = (7.0, -3.0, 11.0)
    affine[3, 3] = 1
    return affine


ORIENTATIONS = ["".join(p) for p in itertools.product("RL", "AP", "SI")] + ["PSR", "SLA", "IRP"]


@pytest.mark.parametrize("axcodes", ORIENTATIONS)
def test_round_trip_and_world_coordinates(axcodes):
    shape = (4, 5, 6)
    data = np.arange(np.prod(shape)).reshape(shape)
    frame = CanonicalFrame(shape, affine_for(axcodes))
    canonical = frame.to_canonical(data)
    assert "".join(nib.aff2axcodes(frame.canonical_affine)) == "RAS"
    assert canonical.shape == frame.canonical_shape
    np.testing.assert_array_equal(frame.to_input(canonical), data)
    # Every value sits at the same world point before and after reorientation.
    for value in (0, 17, data.size - 1):
        i_in = np.argwhere(data == value)[0]
        i_can = np.argwhere(canonical == value)[0]
        world_in = frame.input_affine @ np.r_[i_in, 1]
        world_can = frame.canonical_affine @ np.r_[i_can, 1]
        np.testing.assert_allclose(world_in, world_can)


def test_spacing_follows_axes():
    frame = CanonicalFrame((4, 5, 6), affine_for("PSR", spacing=(1.0, 2.0, 3.0)))
    # P (1 mm) becomes Y, S (2 mm) becomes Z, R (3 mm) becomes X.
    assert frame.spacing == pytest.approx((3.0, 1.0, 2.0))
    assert frame.canonical_shape == (6, 4, 5)


def test_shape_mismatch_is_an_error():
    frame = CanonicalFrame((4, 5, 6), np.eye(4))
    with pytest.raises(ValueError, match=r"does not match the input grid \(4, 5, 6\)"):
        frame.to_canonical(np.zeros((4, 5, 7)))
