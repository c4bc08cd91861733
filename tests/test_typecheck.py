"""mypy, strict on the library packages listed in pyproject.toml's [tool.mypy]; the test run checks it so that
CI does too (``make lint`` runs the same command)."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_mypy_strict_on_the_typed_packages():
    result = subprocess.run(
        [sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
