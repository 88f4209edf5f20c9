"""full: every weight of the model trains (AdamW), with the shared loop."""

from __future__ import annotations

import torch
from pydantic import Field

from ..finetune.common import FineTuneOptions
from .finetuned import FineTuneStrategy, deep_copy


class FullOptions(FineTuneOptions):
    # Full fine-tunes move every weight: an order of magnitude below LoRA's rate.
    learning_rate: float = Field(5e-5, gt=0, le=1)


class Full(FineTuneStrategy):
    name = "full"
    Options = FullOptions

    def trainable_copy(self, base: torch.nn.Module, seed: int) -> torch.nn.Module:
        model = deep_copy(base)
        model.requires_grad_(True)
        return model
