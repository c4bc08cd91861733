import gzip
import io
import tracemalloc

import nibabel as nib
import numpy as np
import pytest

from brainseg.errors import NiftiFileError
from brainseg.io.nifti import read_volume


def save(path, data, affine=None):
    nib.save(nib.Nifti1Image(data, np.eye(4) if affine is None else affine), path)
    return path


def test_reads_3d_and_trailing_singleton(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4) + 1
    volume = read_volume(save(tmp_path / "a.nii.gz", data[..., None]))
    assert volume.shape == (2, 3, 4)
    assert volume.data.dtype == np.float32
    np.testing.assert_array_equal(volume.data, data)
    assert volume.dtype == "int16"


def test_refuses_4d_with_several_volumes(tmp_path):
    with pytest.raises(NiftiFileError, match=r"x.nii.gz: has shape \(2, 3, 4, 2\); expected a 3D volume"):
        read_volume(save(tmp_path / "x.nii.gz", np.ones((2, 3, 4, 2), np.float32)))


def with_sform_row0(path, row):
    """Rewrite an uncompressed .nii so that its sform's first row is ``row`` (qform disabled)."""
    raw = path.read_bytes()
    header = nib.Nifti1Header.from_fileobj(io.BytesIO(raw[:348]))
    header["srow_x"] = row
    header["sform_code"] = 1
    header["qform_code"] = 0
    path.write_bytes(header.binaryblock + raw[348:])
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [([0.0, 0.0, 0.0, 0.0], "affine is singular"), ([np.nan, 0.0, 0.0, 0.0], "affine has non-finite values")],
)
def test_refuses_singular_and_nonfinite_affine(tmp_path, row, message):
    path = with_sform_row0(save(tmp_path / "s.nii", np.ones((2, 2, 2), np.float32)), row)
    with pytest.raises(NiftiFileError, match=f"s.nii: {message}"):
        read_volume(path)


def test_replaces_isolated_nonfinite_and_reports(tmp_path):
    data = np.ones((4, 4, 4), np.float32)
    data[0, 0, 0] = np.nan
    data[1, 1, 1] = np.inf
    volume = read_volume(save(tmp_path / "f.nii.gz", data))
    assert volume.data[0, 0, 0] == 0 and volume.data[1, 1, 1] == 0
    assert volume.warnings == ["f.nii.gz: 2 NaN/Inf voxels replaced with 0"]


def test_refuses_all_nan_and_all_zero(tmp_path):
    with pytest.raises(NiftiFileError, match="every voxel is NaN"):
        read_volume(save(tmp_path / "nan.nii.gz", np.full((3, 3, 3), np.nan, np.float32)))
    with pytest.raises(NiftiFileError, match="every voxel is zero"):
        read_volume(save(tmp_path / "zero.nii.gz", np.zeros((3, 3, 3), np.float32)))
    assert read_volume(tmp_path / "zero.nii.gz", allow_all_zero=True).shape == (3, 3, 3)


def test_refuses_non_nifti_and_garbage(tmp_path):
    with pytest.raises(NiftiFileError, match="t1.png: not a NIfTI file"):
        read_volume(tmp_path / "t1.png")
    garbage = tmp_path / "t1.nii.gz"
    garbage.write_bytes(b"this is not a nifti file at all")
    with pytest.raises(NiftiFileError, match="t1.nii.gz: not a readable NIfTI file"):
        read_volume(garbage)


def test_refuses_truncated_data(tmp_path):
    path = save(tmp_path / "t.nii", np.ones((20, 20, 20), np.float32))
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(NiftiFileError, match="t.nii: "):
        read_volume(path)


def _header_declaring(shape, dtype=np.int16) -> bytes:
    header = nib.Nifti1Header()
    header.set_data_dtype(dtype)
    header.set_data_shape(shape)
    header["vox_offset"] = 352
    return header.binaryblock + b"\x00" * 4


def test_huge_declared_size_is_refused_before_reading(tmp_path):
    """A 1 KB file declaring 32 GiB must be refused from its header alone."""
    path = tmp_path / "bomb.nii.gz"
    path.write_bytes(gzip.compress(_header_declaring((4096, 4096, 1024)) + b"\x00" * 512))
    assert path.stat().st_size < 1024
    tracemalloc.start()
    with pytest.raises(NiftiFileError, match=r"declares \(4096, 4096, 1024\) = 17,179,869,184 voxels"):
        read_volume(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 1024**2


def test_gzip_bomb_reads_only_the_declared_size(tmp_path):
    """A small declared volume followed by 256 MB of compressed zeros never decompresses the excess."""
    path = tmp_path / "zipbomb.nii.gz"
    with gzip.open(path, "wb", compresslevel=9) as stream:
        stream.write(_header_declaring((8, 8, 8), np.uint8))
        stream.write(np.arange(512, dtype=np.uint8).tobytes())
        chunk = b"\x00" * (1 << 20)
        for _ in range(256):
            stream.write(chunk)
    assert path.stat().st_size < 2 * 1024**2
    tracemalloc.start()
    volume = read_volume(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert volume.shape == (8, 8, 8)
    assert peak < 20 * 1024**2
