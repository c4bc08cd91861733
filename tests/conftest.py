"""Fixtures shared by every test folder (helpers live in tests/casefiles.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.casefiles import write_case


@pytest.fixture
def tiny_case(tmp_path: Path) -> dict[str, Path]:
    """A tiny BraTS 2021-named LPS case with truth: role -> path."""
    return write_case(tmp_path / "case")


@pytest.fixture(scope="module")
def torch_one_thread():
    """Tiny tensors: one thread is faster than two fighting over shared cores (OpenMP barriers)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
