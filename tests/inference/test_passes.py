"""Run settings, window arithmetic, devices and the optional ZeroGPU decorator."""

import sys
import types

import pytest
import torch

from brainseg.errors import BrainSegError
from brainseg.inference.device import autocast_dtype, precision_name, resolve_device
from brainseg.inference.passes import RunConfig, padded_shape, window_count
from brainseg.inference.zerogpu import gpu_entry, spaces_gpu
from brainseg.models import create


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"roi_size": (100, 128, 128)}, "three positive multiples of 16"),
        ({"roi_size": (128, 128)}, "three positive multiples of 16"),
        ({"overlap": 1.0}, r"overlap must be in \[0, 1\)"),
        ({"max_voxels": 0}, "max_voxels must be a positive integer"),
        ({"slice_batch": 0}, "at least 1"),
    ],
)
def test_run_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**kwargs)


@pytest.mark.parametrize("size", [(240, 240, 160), (48, 48, 32), (128, 96, 64), (256, 256, 256)])
@pytest.mark.parametrize(("roi", "overlap"), [((128, 128, 128), 0.25), ((32, 32, 32), 0.5), ((64, 32, 96), 0.0)])
def test_window_count_matches_monai(size, roi, overlap):
    from monai.data.utils import dense_patch_slices
    from monai.inferers.utils import _get_scan_interval

    padded = tuple(max(s, r) for s, r in zip(size, roi, strict=True))  # MONAI pads up to the window first
    expected = len(dense_patch_slices(padded, roi, _get_scan_interval(padded, roi, 3, (overlap,) * 3)))
    assert window_count(size, RunConfig(roi_size=roi, overlap=overlap)) == expected


def test_window_count_of_a_brats_case():
    # 240 -> windows at 0, 96, 112 (interval 96); 160 -> 0, 32: a whole BraTS case is 3 x 3 x 2.
    assert window_count((240, 240, 160), RunConfig()) == 18


def test_padded_shape():
    unet = create("unet3d", "demo")
    assert padded_shape(unet, (240, 240, 155)) == (240, 240, 160)
    assert padded_shape(unet, (12, 14, 10)) == (32, 32, 32)
    assert padded_shape(create("sam-dmif", "demo"), (12, 14, 10)) == (16, 16, 10)  # slices: Z not padded


def test_devices():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert autocast_dtype(torch.device("cpu")) is None and precision_name(torch.device("cpu")) == "float32"
    with pytest.raises(BrainSegError, match="unknown device 'gpu'"):
        resolve_device("gpu")
    if not torch.cuda.is_available():
        with pytest.raises(BrainSegError, match="no CUDA GPU is available"):
            resolve_device("cuda")


def test_repo_spaces_folder_is_not_mistaken_for_the_package(monkeypatch):
    # The repository's spaces/ folder imports as a namespace package when the real one is absent.
    namespace = types.ModuleType("spaces")
    namespace.__path__ = []  # a namespace package: a path, no __file__, no GPU
    monkeypatch.setitem(sys.modules, "spaces", namespace)
    assert spaces_gpu() is None

    def work():
        return 1

    assert gpu_entry(work) is work


def test_real_spaces_package_wraps_the_entry_point(monkeypatch):
    calls = []

    def gpu(duration):
        def wrap(fn):
            calls.append(duration)
            return lambda *a, **k: ("on gpu", fn(*a, **k))

        return wrap

    fake = types.ModuleType("spaces")
    fake.__file__ = "/site-packages/spaces/__init__.py"
    fake.GPU = gpu
    monkeypatch.setitem(sys.modules, "spaces", fake)
    assert gpu_entry(lambda: 2)() == ("on gpu", 2)
    assert gpu_entry(duration=30)(lambda: 3)() == ("on gpu", 3)
    assert calls == [120, 30]


def test_the_repo_spaces_folder_itself_gives_no_decorator(monkeypatch):
    import importlib

    from tests.casefiles import REPO

    monkeypatch.syspath_prepend(str(REPO))  # as when the app runs from the repository root
    monkeypatch.delitem(sys.modules, "spaces", raising=False)
    spaces = importlib.import_module("spaces")
    if getattr(spaces, "__file__", None) is not None:
        pytest.skip(f"the real spaces package is installed ({spaces.__file__})")
    assert set(spaces.__path__) == {str(REPO / "spaces")}, "imported the repository's folder"
    assert spaces_gpu() is None
    assert gpu_entry(print) is print
