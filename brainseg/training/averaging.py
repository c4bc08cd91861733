"""An exponential moving average of a model's weights (``brainseg train --ema DECAY``).

Why not ``torch.optim.swa_utils.AveragedModel``: with ``use_buffers=True`` it averages every buffer,
non-persistent constants included, and the text towers' causal attention mask holds ``-inf``, which a
lerp turns into NaN (every output NaN, every prediction empty); with ``use_buffers=False`` batch-norm
running statistics would stay at their initial values. So, as timm's ``ModelEmaV2`` does, this averages
the state dict: parameters and persistent buffers (floating point: lerp; integer counters: copied), and
leaves constants alone.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class WeightAverage:
    """``average = decay * average + (1 - decay) * weights`` after every optimizer step.

    The first update copies the weights, as ``AveragedModel`` does. ``module`` is a copy of the model
    holding the average (validate and save it); the trained model itself is never changed.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {decay}")
        self.decay = decay
        self.module = copy.deepcopy(model)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        current = model.state_dict()
        for name, average in self.module.state_dict().items():  # tensors sharing the module's storage
            value = current[name].detach()
            if self.updates and average.is_floating_point():
                average.lerp_(value.to(average.dtype), 1.0 - self.decay)
            else:
                average.copy_(value)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
