"""Model zoo: one variant per module, registered by name.

    >>> from brainseg.models import create, list_models
    >>> model = create("unet3d", size="demo")

Infrastructure modules (``contract``, ``registry``, ``blocks``, ``slicing``, ``text_encoders``, ``tritier_physics``)
register nothing; every other module here defines one variant and registers it when imported.
"""

import importlib
import pkgutil

from brainseg.models.contract import DataContract, ModelConfig, ModelConfigError, ModelOutput, SegmentationModel
from brainseg.models.registry import VARIANTS, build_from_config, create, get_variant, list_models, load_config

_INFRASTRUCTURE = {"contract", "registry", "blocks", "slicing", "text_encoders", "tritier_physics"}

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in _INFRASTRUCTURE and not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "VARIANTS",
    "DataContract",
    "ModelConfig",
    "ModelConfigError",
    "ModelOutput",
    "SegmentationModel",
    "build_from_config",
    "create",
    "get_variant",
    "list_models",
    "load_config",
]
