"""Cases shared by the synth tests, generated once per session (template loading alone takes ~2 s).

Logic tests use a coarse grid (SMALL: the BraTS field of view in 2.5 mm voxels, ~0.4 s a case); one
full-size case checks what only the real grid can show (file layout, BraTS affine, fine structures).
"""

from __future__ import annotations

import pytest

from brainseg.synth import generate_case

SMALL = (96, 96, 62)
SMALL_SEEDS = (0, 1, 2, 3, 4, 5, 6, 7)
FULL_SEED = 6  # a multifocal enhancing case


@pytest.fixture(scope="session")
def small_cases():
    """seed -> realistic case on the SMALL grid."""
    return {seed: generate_case(seed, shape=SMALL) for seed in SMALL_SEEDS}


@pytest.fixture(scope="session")
def small_randomized_cases():
    """seed -> domain-randomized case on the SMALL grid."""
    return {seed: generate_case(seed, shape=SMALL, domain_randomized=True) for seed in SMALL_SEEDS[:4]}


@pytest.fixture(scope="session")
def full_case():
    """One realistic case on the real BraTS grid (240 x 240 x 155, 1 mm)."""
    return generate_case(FULL_SEED)
