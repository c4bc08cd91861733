"""Fixtures shared by the inference tests."""

import pytest

from tests.inference.helpers import registered_pointwise_variant


@pytest.fixture(scope="module")
def pointwise_variant():
    """The tiny ``pointwise`` test variant, registered for one test module."""
    with registered_pointwise_variant():
        yield
