"""What every fine-tuning strategy shares: options, the dev split, tokenised samples."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from ..core.config import StrategyOptions
from ..core.prompts import chat
from ..core.splits import DEV_FRACTION, dev_split  # noqa: F401 - the one split, re-exported
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
    dev_fraction: float = Field(DEV_FRACTION, ge=0, lt=1)
    evals_per_epoch: int = Field(1, ge=1, le=100)
    patience: int = Field(1, ge=1)
    max_length: int = Field(512, ge=16)
    # Learning-rate sweep on the dev split (finetune/sweep.py): every candidate starts its
    # real run; after a round of sweep_max_steps batches the best two go on for another
    # round, the better one wins and its run continues. Default candidates: lr/3, lr, 3 lr.
    lr_sweep: bool = True
    lr_candidates: list[float] | None = Field(None, min_length=1, max_length=10)
    sweep_max_steps: int = Field(
        40, ge=1, description="batches in the sweep's first round (at most 1/4 of the run)"
    )
    # A default grid whose winner sits at its edge is extended (x3 or /3) while that helps.
    sweep_extend: int = Field(2, ge=0, le=6, description="extra rates beyond the grid's edge")
    # Learning curve: also train on these fractions of train and score each on test.
    # None = auto: only when the projected extra training time fits the budget.
    learning_curve: bool | None = None
    learning_curve_fractions: list[float] = Field([0.25, 0.5], min_length=1, max_length=6)
    learning_curve_budget_s: float = Field(120.0, ge=0)

    @field_validator("lr_candidates")
    @classmethod
    def _positive_rates(cls, value: list[float] | None) -> list[float] | None:
        if value is not None and any(not 0 < v <= 1 for v in value):
            raise ValueError("learning rates must lie in (0, 1]")
        return value

    @field_validator("learning_curve_fractions")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if any(not 0 < v < 1 for v in value):
            raise ValueError("fractions must lie strictly between 0 and 1 (1.0 is the main run)")
        return sorted(set(value))

    def candidates(self) -> list[float]:
        if self.lr_candidates:
            return list(self.lr_candidates)
        return [float(f"{self.learning_rate * f:.2g}") for f in (1 / 3, 1, 3)]

    def train_config(
        self, seed: int, quick: bool, learning_rate: float | None = None
    ) -> TrainConfig:
        return TrainConfig(
            epochs=1 if quick else self.epochs,
            learning_rate=learning_rate or self.learning_rate,
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
