"""The installed ``brainseg`` command, run as a user would (a subprocess)."""

import json
import subprocess
import sys

import pytest

from tests.casefiles import write_case

BRAINSEG = [sys.executable, "-m", "brainseg.cli"]


def run(*args, cwd=None):
    return subprocess.run([*BRAINSEG, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_inspect_folder(tiny_case):
    result = run("inspect", tiny_case["T1"].parent)
    assert result.returncode == 0, result.stderr
    assert "naming: brats2021" in result.stdout
    assert "orientation LPS" in result.stdout
    assert "labels brats2021" in result.stdout


def test_inspect_explicit_files_json(tiny_case):
    result = run(
        "inspect", "--t1", tiny_case["T1"], "--t1ce", tiny_case["T1ce"], "--t2", tiny_case["T2"],
        "--flair", tiny_case["FLAIR"], "--truth", tiny_case["truth"], "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["input_grid"]["shape"] == [12, 14, 10]
    assert summary["truth"]["convention"] == "brats2021"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        ((), ("the following arguments are required",)),
        (("inspect",), ("give a CASE folder or .zip",)),
        (("inspect", "/no/such/case"), ("/no/such/case: no such file or folder",)),
        (("inspect", "--bogus"), ("unrecognized arguments: --bogus",)),
        (("evaluate", "--pred", "x.nii.gz"), ("--truth",)),
    ],
)
def test_usage_errors_are_one_line(args, fragments):
    assert_one_line_error(run(*args), *fragments)


def test_bad_case_is_one_line_error(tmp_path):
    paths = write_case(tmp_path / "c")
    paths["FLAIR"].write_bytes(b"garbage")
    assert_one_line_error(run("inspect", tmp_path / "c"), "Case-001_flair.nii.gz: not a readable NIfTI file")
    paths["FLAIR"].unlink()
    assert_one_line_error(run("inspect", tmp_path / "c"), "missing FLAIR")
