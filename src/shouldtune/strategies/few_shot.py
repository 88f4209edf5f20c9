"""few_shot (k seeded random demonstrations) and few_shot_knn (k nearest by embedding)."""

from __future__ import annotations

import random
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core import prompts
from ..core.types import Example, Kind, Task
from .base import ChatStrategy, RunContext
from .base import Options as BaseOptions


class FewShotOptions(BaseOptions):
    k: int = Field(4, ge=1, le=64)
    selection: Literal["random", "knn"] = "random"


class FewShot(ChatStrategy):
    name = "few_shot"
    kind = Kind.PROMPTING
    Options = FewShotOptions

    def __init__(self, options: FewShotOptions):
        super().__init__(options)
        self.options: FewShotOptions = options
        self._shots: list[Example] = []
        self._train_vectors: np.ndarray | None = None
        self._train: list[Example] = []

    def skip_reason(self, task: Task) -> str | None:
        return None if task.train else "no training examples to draw demonstrations from"

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        self._train = list(ctx.task.train)
        k = min(self.options.k, len(self._train))
        if self.options.selection == "knn":
            self._train_vectors = ctx.embedder.encode([ex.input for ex in self._train])
        else:
            # One fixed set for every request: the shared prefix can be cached and reused.
            self._shots = random.Random(ctx.seed).sample(self._train, k)
        return {"k": k, "selection": self.options.selection}

    def shots_for(self, example: Example, ctx: RunContext) -> list[Example]:
        if self._train_vectors is None:
            return self._shots
        query = ctx.embedder.encode([example.input])[0]
        sims = self._train_vectors @ query
        k = min(self.options.k, len(self._train))
        top = np.argsort(-sims, kind="stable")[:k]
        # Most similar last: closest to the question the model answers next.
        return [self._train[i] for i in top[::-1]]

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return prompts.few_shot(ctx.task.instruction, self.shots_for(example, ctx), example)


class KnnFewShot(FewShot):
    name = "few_shot_knn"

    def __init__(self, options: FewShotOptions):
        super().__init__(options.model_copy(update={"selection": "knn"}))
