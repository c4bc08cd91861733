"""One exception family for every problem a user can cause.

All subclass :class:`BrainSegError`, itself a :class:`ValueError`, so callers that only know
``ValueError`` still catch them. Messages are one line and name the file or argument, what was
found and what was expected; the CLI prints them after ``error:`` and the UI shows them in a
``gr.Error``.
"""

from __future__ import annotations


class BrainSegError(ValueError):
    """Base class: a one-line, user-facing message about bad input."""


class CaseFilesError(BrainSegError):
    """The set of files given for a case is incomplete, ambiguous or unreadable as a case."""


class NiftiFileError(BrainSegError):
    """A single NIfTI file is not a usable 3D image (format, size, affine, data)."""


class ArchiveError(BrainSegError):
    """A ``.zip`` upload is unsafe or unreadable."""


class GridMismatchError(BrainSegError):
    """Two volumes that must share one voxel grid do not."""


class LabelConventionError(BrainSegError):
    """A label map has values no convention allows, or its convention cannot be told."""
