import stat
import zipfile

import pytest

from brainseg.errors import ArchiveError
from brainseg.io.archive import extract_zip


def test_extracts_nested_files(tmp_path):
    archive = tmp_path / "case.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("case/a_t1.nii.gz", b"x" * 10)
        zf.writestr("__MACOSX/case/._a_t1.nii.gz", b"junk")
        zf.writestr("case/.DS_Store", b"junk")
    target = tmp_path / "out"
    target.mkdir()
    files = extract_zip(archive, target)
    assert [f.relative_to(target.resolve()).as_posix() for f in files] == ["case/a_t1.nii.gz"]


@pytest.mark.parametrize("entry", ["../evil.nii.gz", "/etc/evil.nii.gz", "case/../../evil.nii.gz", "C:/evil.nii"])
def test_refuses_entries_outside_target(tmp_path, entry):
    archive = tmp_path / "slip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(zipfile.ZipInfo(entry), b"x")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ArchiveError, match="points outside the archive folder"):
        extract_zip(archive, target)
    assert not (tmp_path / "evil.nii.gz").exists()


def test_refuses_symlinks(tmp_path):
    archive = tmp_path / "link.zip"
    info = zipfile.ZipInfo("t1.nii.gz")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(info, "/etc/passwd")
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ArchiveError, match="symbolic link"):
        extract_zip(archive, target)


def test_size_cap_from_declared_and_actual_sizes(tmp_path):
    archive = tmp_path / "big.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("t1.nii.gz", b"\x00" * 5000)
    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(ArchiveError, match="over the limit of 4,000"):
        extract_zip(archive, target, max_bytes=4000)


def test_refuses_non_zip(tmp_path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"not a zip")
    with pytest.raises(ArchiveError, match="fake.zip: not a readable .zip archive"):
        extract_zip(fake, tmp_path)
