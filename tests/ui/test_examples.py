"""Which examples the app offers, and how loaded examples are cached."""

from pathlib import Path

import pytest

from brainseg.errors import CaseFilesError
from brainseg.ui.examples import BUNDLED_EXAMPLES, REAL_EXAMPLES, Example, ExampleLibrary, find_examples
from tests.casefiles import REAL_DATA, REPO, write_case


def test_default_roots_are_the_bundled_folder_and_the_shared_real_cases():
    assert BUNDLED_EXAMPLES == REPO / "assets" / "examples"
    assert REAL_EXAMPLES == REAL_DATA


def test_every_case_folder_is_listed_bundled_first(tmp_path: Path):
    bundled, real = tmp_path / "bundled", tmp_path / "real"
    write_case(bundled / "synth-b", truth=True)
    write_case(bundled / "synth-a", truth=False)
    (bundled / ".hidden").mkdir()
    (bundled / "README.md").write_text("not a case")
    write_case(real / "Real-1", truth=False)
    write_case(real / "synth-a", truth=False)  # same name as a bundled one: the first root wins
    examples = find_examples([(bundled, "bundled"), (real, "real"), (tmp_path / "absent", "real")])
    assert [(e.name, e.kind, e.has_truth) for e in examples] == [
        ("synth-a", "bundled", False),
        ("synth-b", "bundled", True),
        ("Real-1", "real", False),
    ]
    assert examples[0].label == "synth-a (synthetic, no truth)"
    assert examples[2].label == "Real-1 (real MRI, no truth)"


def test_default_example_is_the_first_bundled_one(tmp_path: Path):
    real = Example("Real-1", tmp_path, "real", False)
    bundled = Example("synth", tmp_path, "bundled", True)
    assert ExampleLibrary([real, bundled]).default == "synth"
    assert ExampleLibrary([real]).default == "Real-1"
    assert ExampleLibrary([]).default is None


def test_unknown_name_lists_the_examples(tiny_library):
    with pytest.raises(CaseFilesError, match="unknown example 'x'; expected one of: Case-001"):
        tiny_library.load("x")
    with pytest.raises(CaseFilesError, match="none available"):
        ExampleLibrary([]).get("x")


def test_loaded_examples_are_cached_least_recently_used_out(tmp_path: Path):
    examples = []
    for name in ("a", "b", "c"):
        write_case(tmp_path / name, truth=False)
        examples.append(Example(name, tmp_path / name, "bundled", False))
    library = ExampleLibrary(examples, cache_size=2)
    first = library.load("a")
    assert library.load("a") is first
    library.load("b")
    library.load("c")  # evicts "a", the least recently used
    assert library.load("c") is library.load("c")
    assert library.load("a") is not first
