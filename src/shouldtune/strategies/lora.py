"""lora: a LoRA adapter (peft) trained with the shared fine-tuning pipeline, merged to serve.

Defaults from the literature: alpha = 2 x rank, adapters on every linear projection
(attention and MLP). "all-linear" means every linear layer inside the transformer blocks,
found by module type (finetune.layers.block_linears), so any Hugging Face causal LM works
whatever it names its projections; the output head and embeddings stay frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from pydantic import Field

from ..finetune.common import FineTuneOptions
from ..finetune.layers import block_linears
from .finetuned import FineTuneStrategy, deep_copy


class LoraOptions(FineTuneOptions):
    rank: int = Field(8, ge=1, le=1024)
    alpha: float | None = Field(None, gt=0, description="default: 2 x rank")
    # 0, as peft and torchtune default: dropout on every adapter's input cost ~8% of LoRA's
    # step time here (benchmarks/README.md) for a regulariser that dev-loss early stopping
    # and the rank already provide on these short fine-tunes.
    dropout: float = Field(0.0, ge=0, lt=1)
    # "all-linear": every linear layer in the blocks; else peft's own (names or a regex).
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
        from transformers.pytorch_utils import Conv1D

        model = deep_copy(base)
        targets = self.options.target_modules
        if targets == "all-linear":
            targets = block_linears(model)
        modules = dict(model.named_modules())
        config = LoraConfig(
            r=self.options.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.options.dropout,
            target_modules=targets,
            # GPT-2's Conv1D stores its weight transposed (peft would switch this itself)
            fan_in_fan_out=isinstance(targets, list)
            and any(isinstance(modules.get(t), Conv1D) for t in targets),
            task_type="CAUSAL_LM",
        )
        torch.manual_seed(seed)  # adapter initialisation
        return get_peft_model(model, config)

    def save(self, model: torch.nn.Module, names: Sequence[str], folder: Path) -> None:
        model.save_pretrained(folder)  # the adapter only: a few MB

    def for_inference(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.merge_and_unload()  # plain weights: no adapter overhead per token

    def describe(self, model: torch.nn.Module) -> dict[str, Any]:
        targets = model.peft_config["default"].target_modules or []
        targets = [targets] if isinstance(targets, str) else list(targets)
        return {
            "lora": {
                "rank": self.options.rank,
                "alpha": self.alpha,
                "dropout": self.options.dropout,
                # the distinct layer names (q_proj, c_attn...); adapted layers counts them all
                "target_modules": sorted({t.rsplit(".", 1)[-1] for t in targets}),
                "adapted_layers": len(targets),
            }
        }
