"""zero_shot: the instruction and the input, through the model's chat template. The
instruction is chosen on the dev split among the task's own and variants that state the
answer's form (strategies/search.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..core.prompts import chat
from ..core.types import Example, Kind
from . import search
from .answering import answers_ranked
from .base import ChatStrategy, Options, RunContext, answer_all


class ZeroShotOptions(Options):
    search: bool = Field(True, description="choose the instruction variant on dev")


class ZeroShot(ChatStrategy):
    name = "zero_shot"
    kind = Kind.PROMPTING
    Options = ZeroShotOptions

    def __init__(self, options: ZeroShotOptions):
        super().__init__(options)
        self.options: ZeroShotOptions = options
        self.config = search.Candidate.of(instruction="task")
        self._instructions: dict[str, str] = {}

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        self._instructions = search.instruction_variants(
            ctx.task, ctx.labels, answers_ranked(ctx, self.model(ctx))
        )
        _, dev = ctx.dev_split()
        why_not = search.skip_reason(ctx, dev, self.options.search)
        if why_not:
            return {"instruction": "task", "search": search.not_searched(self.config, why_not)
                    .to_json()}  # fmt: skip
        candidates = [search.Candidate.of(instruction=name) for name in self._instructions]
        result = search.halve_on_dev(
            ctx, self.name, candidates, dev,
            lambda pairs: self._answer(pairs, ctx), ctx.score_row,  # type: ignore[arg-type]
        )  # fmt: skip
        self.config = result.chosen
        return {"instruction": self.config.get("instruction"), "search": result.to_json()}

    def _answer(self, pairs: list[tuple[search.Candidate, Example]], ctx: RunContext) -> list[str]:
        convos = [self._messages(ex, ctx, c) for c, ex in pairs]
        return [g.text for g in answer_all(self.model(ctx), convos, ctx, views=False)]

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return self._messages(example, ctx, self.config)

    def _messages(
        self, example: Example, ctx: RunContext, config: search.Candidate
    ) -> list[dict[str, str]]:
        instruction = self._instructions.get(str(config.get("instruction")), ctx.task.instruction)
        return chat(instruction, example.input, example.system)
