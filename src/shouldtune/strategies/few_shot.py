"""few_shot (k seeded random demonstrations) and few_shot_knn (k nearest by embedding).

Both search their prompt on the dev split (strategies/search.py): how many shots, how they
are chosen (label tasks: also one per label, "balanced"), and the instruction variant. The
demonstrations then come from the training part of the split, as the fine-tunes train on it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..core import prompts
from ..core.splits import stratified
from ..core.types import Example, Kind, Task
from . import search
from .answering import answers_ranked
from .base import ChatStrategy, RunContext, answer_all
from .base import Options as BaseOptions

# Shot counts searched by default; 32 can be added (search_k) where prefill is cheap (a GPU).
SEARCH_K = (2, 4, 8, 16)


class FewShotOptions(BaseOptions):
    k: int = Field(4, ge=1, le=64)
    selection: Literal["random", "knn"] = "random"
    search: bool = Field(True, description="choose k, selection and instruction on dev")
    search_k: list[int] = Field(default_factory=lambda: list(SEARCH_K), max_length=12)


class FewShot(ChatStrategy):
    name = "few_shot"
    kind = Kind.PROMPTING
    Options = FewShotOptions

    def __init__(self, options: FewShotOptions):
        super().__init__(options)
        self.options: FewShotOptions = options
        self._train: list[Example] = []
        self._train_vectors: np.ndarray | None = None
        self.config = search.Candidate.of(
            k=options.k, selection=self._default_selection(), instruction="task"
        )
        self._instructions: dict[str, str] = {}
        self._fixed: dict[search.Candidate, list[Example]] = {}
        self._queries: dict[str, np.ndarray] = {}
        self._memo = False  # cache query embeddings while searching only: latency stays honest

    def _default_selection(self) -> str:
        return "nearest" if self.options.selection == "knn" else "random"

    def skip_reason(self, task: Task) -> str | None:
        return None if task.train else "no training examples to draw demonstrations from"

    # ---- the search ------------------------------------------------------------------

    def candidates(self, ctx: RunContext, pool: Sequence[Example]) -> list[search.Candidate]:
        shot_tokens, room = search.context_room(ctx, pool)
        ks = search.shot_counts(self.options.search_k, len(pool), self.options.k, shot_tokens, room)
        selections = [self._default_selection()]
        if ctx.labels:
            selections.append("nearest-distinct" if self.options.selection == "knn" else "balanced")
        axes = {"k": ks, "selection": selections, "instruction": self._instructions}
        return search.grid(self.config, axes)

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        self._instructions = search.instruction_variants(
            ctx.task, ctx.labels, answers_ranked(ctx, self.model(ctx))
        )
        train, dev = ctx.dev_split()
        why_not = search.skip_reason(ctx, dev, self.options.search)
        self._use_pool(ctx, ctx.task.train if why_not else train)
        if why_not:
            result = search.not_searched(self.config, why_not)
        else:
            self._memo = True
            result = search.halve_on_dev(
                ctx, self.name, self.candidates(ctx, self._train), dev,
                lambda p: self._answer(p, ctx), ctx.score_row,  # type: ignore[arg-type]
            )  # fmt: skip
            self.config, self._memo, self._queries = result.chosen, False, {}
        k = min(int(self.config.get("k")), len(self._train))
        return {
            "k": k,
            "selection": self.config.get("selection"),
            "instruction": self.config.get("instruction"),
            "shot_pool": len(self._train),
            "search": result.to_json(),
        }

    def _answer(self, pairs: list[tuple[search.Candidate, Example]], ctx: RunContext) -> list[str]:
        convos = [self._messages(ex, ctx, c) for c, ex in pairs]
        return [g.text for g in answer_all(self.model(ctx), convos, ctx, views=False)]

    # ---- demonstrations ----------------------------------------------------------------

    def _use_pool(self, ctx: RunContext, pool: Sequence[Example]) -> None:
        self._train = list(pool)
        self._fixed = {}
        self._seed = ctx.seed
        if self.options.selection == "knn":
            self._train_vectors = ctx.embedder.encode([ex.input for ex in self._train])

    def shots_for(
        self, example: Example, ctx: RunContext, config: search.Candidate | None = None
    ) -> list[Example]:
        config = config or self.config
        k, selection = min(int(config.get("k")), len(self._train)), config.get("selection")
        if selection in ("random", "balanced"):
            # One fixed set for every request: the shared prefix can be cached and reused.
            if config not in self._fixed:
                self._fixed[config] = _fixed_shots(self._train, k, selection, self._seed)
            return self._fixed[config]
        if self._train_vectors is None:
            raise RuntimeError("prepare() runs before nearest-neighbour shots")
        query = self._queries.get(example.input)
        if query is None:
            query = ctx.embedder.encode([example.input])[0]
            if self._memo:  # the search asks each dev row many times; serving never reuses
                self._queries[example.input] = query
        order = np.argsort(-(self._train_vectors @ query), kind="stable")
        distinct = selection == "nearest-distinct"
        top = _distinct_labels(self._train, order, k) if distinct else order[:k]
        # Most similar last: closest to the question the model answers next.
        return [self._train[i] for i in list(top)[::-1]]

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return self._messages(example, ctx, self.config)

    def _messages(
        self, example: Example, ctx: RunContext, config: search.Candidate
    ) -> list[dict[str, str]]:
        instruction = self._instructions.get(str(config.get("instruction")), ctx.task.instruction)
        return prompts.few_shot(instruction, self.shots_for(example, ctx, config), example)


def _fixed_shots(train: list[Example], k: int, selection: str, seed: int) -> list[Example]:
    """k seeded random demonstrations; "balanced": one per label in turn, so k shots cover
    min(k, labels) labels."""
    rng = random.Random(seed)
    if selection != "balanced":
        return rng.sample(train, k)
    shots = stratified(train, lambda ex: ex.output.strip(), k, rng)
    rng.shuffle(shots)
    return shots


def _distinct_labels(train: list[Example], order: Sequence[int], k: int) -> list[int]:
    """The nearest rows, at most one per label (then the nearest others if labels run out)."""
    chosen, seen = [], set()
    for i in order:
        label = train[i].output.strip()
        if label not in seen:
            chosen.append(int(i))
            seen.add(label)
        if len(chosen) == k:
            return chosen
    rest = [int(i) for i in order if int(i) not in set(chosen)]
    return chosen + rest[: k - len(chosen)]


class KnnFewShot(FewShot):
    name = "few_shot_knn"

    def __init__(self, options: FewShotOptions):
        super().__init__(options.model_copy(update={"selection": "knn"}))
