"""What every fine-tuning strategy shares: options, the dev split, tokenised samples."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from ..core.config import StrategyOptions
from ..core.prompts import chat
from ..core.types import Example, Task
from .data import Sample, make_sample
from .trainer import TrainConfig

MIN_TRAIN = 4


class FineTuneOptions(StrategyOptions):
    epochs: int = Field(3, ge=1, le=100)
    learning_rate: float = Field(1e-3, gt=0, le=1)
    batch_size: int = Field(8, ge=1, le=512)
    grad_accum: int = Field(1, ge=1, le=512)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    weight_decay: float = Field(0.0, ge=0)
    dev_fraction: float = Field(0.1, ge=0, lt=1)
    evals_per_epoch: int = Field(1, ge=1, le=100)
    patience: int = Field(1, ge=1)
    max_length: int = Field(512, ge=16)

    def train_config(self, seed: int, quick: bool) -> TrainConfig:
        return TrainConfig(
            epochs=1 if quick else self.epochs,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            grad_accum=self.grad_accum,
            warmup_ratio=self.warmup_ratio,
            weight_decay=self.weight_decay,
            evals_per_epoch=self.evals_per_epoch,
            patience=self.patience,
            seed=seed,
        )


def skip_reason(task: Task) -> str | None:
    if len(task.train) < MIN_TRAIN:
        return f"only {len(task.train)} training examples (fine-tuning needs at least {MIN_TRAIN})"
    return None


def dev_split(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Carve a seeded dev set from train for early stopping; the test set is never touched."""
    shuffled = list(examples)
    random.Random(seed + 1).shuffle(shuffled)
    n_dev = round(len(shuffled) * fraction)
    if n_dev == 0 or len(shuffled) - n_dev < 2:
        return shuffled, []
    return shuffled[n_dev:], shuffled[:n_dev]


def encode_examples(
    lm: Any, task: Task, examples: Sequence[Example], max_length: int
) -> list[Sample]:
    """The same chat format the model is evaluated with; loss on the answer only."""
    samples = []
    for ex in examples:
        prompt, completion = lm.encode_for_training(
            chat(task.instruction, ex.input, ex.system), ex.output
        )
        samples.append(make_sample(prompt, completion, max_length))
    return samples
