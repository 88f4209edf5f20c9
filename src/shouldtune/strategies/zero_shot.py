"""zero_shot: the instruction and the input, through the model's chat template."""

from __future__ import annotations

from ..core.prompts import chat
from ..core.types import Example, Kind
from .base import ChatStrategy, Options, RunContext


class ZeroShot(ChatStrategy):
    name = "zero_shot"
    kind = Kind.PROMPTING
    Options = Options

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return chat(ctx.task.instruction, example.input, example.system)
