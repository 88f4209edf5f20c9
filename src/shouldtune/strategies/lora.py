"""lora: a LoRA adapter (peft) trained with the shared fine-tuning pipeline, merged to serve.

Defaults from the literature: alpha = 2 x rank, adapters on every linear projection
(attention and MLP; "all-linear" excludes the output head).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from ..finetune.common import FineTuneOptions
from ..finetune.strategy import FineTuneStrategy, deep_copy


class LoraOptions(FineTuneOptions):
    rank: int = Field(8, ge=1, le=1024)
    alpha: float | None = Field(None, gt=0, description="default: 2 x rank")
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"


class Lora(FineTuneStrategy):
    name = "lora"
    Options = LoraOptions
    weights_format = "peft-lora"

    def __init__(self, options: LoraOptions):
        super().__init__(options)
        self.options: LoraOptions = options

    @property
    def alpha(self) -> float:
        return self.options.alpha or 2 * self.options.rank

    def trainable_copy(self, base: torch.nn.Module, seed: int) -> torch.nn.Module:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=self.options.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.options.dropout,
            target_modules=self.options.target_modules,
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(seed)  # adapter initialisation
        return get_peft_model(deep_copy(base), config)

    def save(self, model: torch.nn.Module, names: Sequence[str], folder: Path) -> None:
        model.save_pretrained(folder)  # the adapter only: a few MB

    def for_inference(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.merge_and_unload()  # plain weights: no adapter overhead per token

    def describe(self, model: torch.nn.Module) -> dict[str, Any]:
        modules = sorted(model.peft_config["default"].target_modules or [])
        return {
            "lora": {
                "rank": self.options.rank,
                "alpha": self.alpha,
                "dropout": self.options.dropout,
                "target_modules": modules,
            }
        }
