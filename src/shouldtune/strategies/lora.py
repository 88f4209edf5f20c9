"""lora: a LoRA adapter (peft) trained on train with the shared loop, merged for evaluation."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import Field

from ..core.prompts import chat
from ..core.types import Example, Task
from ..finetune import common
from .base import ChatStrategy, RunContext


class LoraOptions(common.FineTuneOptions):
    rank: int = Field(8, ge=1, le=1024)
    alpha: float | None = Field(None, gt=0, description="default: 2 x rank")
    dropout: float = Field(0.05, ge=0, lt=1)
    target_modules: str | list[str] = "all-linear"


class Lora(ChatStrategy):
    name = "lora"
    kind = "fine-tuning"
    Options = LoraOptions

    def __init__(self, options: LoraOptions):
        super().__init__(options)
        self.options: LoraOptions = options
        self.tuned: Any = None

    def skip_reason(self, task: Task) -> str | None:
        return common.skip_reason(task)

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        from peft import LoraConfig, get_peft_model

        from ..finetune.trainer import train
        from ..models.lm import LanguageModel

        opts, base = self.options, ctx.lm
        train_ex, dev_ex = common.dev_split(ctx.task.train, opts.dev_fraction, ctx.seed)
        train_s = common.encode_examples(base, ctx.task, train_ex, opts.max_length)
        dev_s = common.encode_examples(base, ctx.task, dev_ex, opts.max_length)
        config = LoraConfig(
            r=opts.rank,
            lora_alpha=opts.alpha or 2 * opts.rank,
            lora_dropout=opts.dropout,
            target_modules=opts.target_modules,
            task_type="CAUSAL_LM",
        )
        import torch

        torch.manual_seed(ctx.seed)  # adapter initialisation
        model = get_peft_model(copy.deepcopy(base.model), config)
        ctx.progress.stage(self.name, "training", total=None)
        report = train(
            model,
            train_s,
            dev_s,
            opts.train_config(ctx.seed, ctx.quick),
            _pad_id(base.tokenizer),
            on_step=lambda s, t: ctx.progress.advance(),
        )
        adapter_dir = ctx.work_dir / "adapters" / self.name
        model.save_pretrained(adapter_dir)
        self.tuned = LanguageModel(
            f"{base.name}+{self.name}", model.merge_and_unload(), base.tokenizer
        )
        return {
            "train_examples": len(train_ex),
            "dev_examples": len(dev_ex),
            "adapter_dir": str(adapter_dir.relative_to(ctx.work_dir)),
            "lora": {
                "rank": opts.rank,
                "alpha": opts.alpha or 2 * opts.rank,
                "target_modules": opts.target_modules,
            },
            "training": report.to_json(),
        }

    def model(self, ctx: RunContext) -> Any:
        return self.tuned

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return chat(ctx.task.instruction, example.input, example.system)


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
