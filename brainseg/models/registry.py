"""Names every model variant: ``create(name, size)``, ``list_models()``.

Each variant registers its config dataclass and builder in :data:`VARIANTS` (one line in
:mod:`brainseg.models`); sizes are JSON files ``configs/<variant>/<size>.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from brainseg.models.contract import ModelConfig, ModelConfigError, SegmentationModel

CONFIG_DIR = Path(__file__).with_name("configs")


@dataclass(frozen=True)
class VariantRecipe:
    """How a variant is trained, where it differs from the shared schedule (:mod:`brainseg.training.recipe`).

    Attributes:
        loss: a name from :data:`brainseg.losses.LOSSES` (the variant's paper's loss).
        deep_supervision: weight the model's deep-supervision heads into the loss.
        tumor_type_weight: weight of the tumor-type classification loss (clip-unet3d's head).
        distillation_weight: weight of the multi-teacher distillation (tritier-film).
        prompted: a single-target variant trained on prompts sampled from the region vocabulary.
        slices_per_patch: for 2D variants, axial slices taken from each 3D training patch.
        batch_dice: overlap losses over the whole batch (see :func:`brainseg.losses.create_loss`); on for the
            2D variants, whose batches hold many slices without tumor.
        lr_multipliers: learning-rate multiplier per parameter group of the model's ``parameter_groups()``
            (empty: one group at the base rate).
    """

    loss: str
    deep_supervision: bool = False
    tumor_type_weight: float = 0.0
    distillation_weight: float = 0.0
    prompted: bool = False
    slices_per_patch: int = 0
    batch_dice: bool = False
    lr_multipliers: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """A registered model variant: everything about it lives here, so adding one touches its module only.

    Attributes:
        name: registry name, e.g. ``clip-unet3d``.
        description: one line for ``brainseg models`` and the app's dropdown.
        paper: the seed paper file it implements (``""`` for the baseline).
        config_class: the variant's :class:`ModelConfig` subclass.
        build: config -> model.
        recipe: how it is trained (loss, heads, learning-rate groups).
        citation: the paper's title and authors as users should read them.
    """

    name: str
    description: str
    paper: str
    config_class: type[ModelConfig]
    build: Callable[[Any], SegmentationModel]
    recipe: VariantRecipe = field(default_factory=lambda: VariantRecipe("dice-bce"))
    citation: str = ""


VARIANTS: dict[str, Variant] = {}


def register(variant: Variant) -> Variant:
    VARIANTS[variant.name] = variant
    return variant


def get_variant(name: str) -> Variant:
    """The registered variant; an unknown name raises an error listing the valid ones."""
    _load_all()
    if name not in VARIANTS:
        raise ModelConfigError(f"unknown model {name!r}; valid models: {', '.join(sorted(VARIANTS))}")
    return VARIANTS[name]


def list_models() -> list[str]:
    """Registered variant names, sorted."""
    _load_all()
    return sorted(VARIANTS)


def list_sizes(name: str) -> list[str]:
    """Sizes that have a JSON config for variant ``name``."""
    get_variant(name)
    return sorted(p.stem for p in (CONFIG_DIR / name).glob("*.json"))


def load_config(name: str, size: str = "demo", **overrides: Any) -> ModelConfig:
    """Read ``configs/<name>/<size>.json`` into the variant's config dataclass, with field overrides.

    An override key may name a field of a nested config with a dot: ``{"text.frozen": False}``.
    """
    variant = get_variant(name)
    path = CONFIG_DIR / name / f"{size}.json"
    if not path.is_file():
        raise ModelConfigError(f"model {name!r} has no size {size!r}; sizes: {', '.join(list_sizes(name))}")
    values = json.loads(path.read_text())
    for key, value in overrides.items():
        *parents, leaf = key.split(".")
        owner = values
        for parent in parents:
            if not isinstance(owner.get(parent), dict):
                raise ModelConfigError(f"{path.name} of {name}: override {key!r} needs {parent!r} written out there")
            owner = owner[parent]
        owner[leaf] = value
    return variant.config_class.from_dict(values)


def create(name: str, size: str = "demo", **overrides: Any) -> SegmentationModel:
    """Build a model variant at a named size.

    Example::

        model = create("unet3d", "demo")
        out = model(torch.zeros(1, 4, 64, 64, 64))   # out.logits: (1, 3, 64, 64, 64)
    """
    return build_from_config(load_config(name, size, **overrides))


def build_from_config(config: ModelConfig) -> SegmentationModel:
    """Build the model a config describes (used when loading checkpoints)."""
    return get_variant(config.variant).build(config)


@cache
def _load_all() -> None:
    # Importing the package registers every variant (one module each).
    import brainseg.models  # noqa: F401
