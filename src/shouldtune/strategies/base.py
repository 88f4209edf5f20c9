"""What the strategies share beyond the contract: the chat-strategy shape and how an LLM
strategy's answers are generated. The contract itself (`Strategy`, `RunContext`, `Options`)
lives in shouldtune/contract.py and is re-exported here, where strategies import it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from ..contract import Options, RunContext, Strategy
from ..core.types import Example, Generation, Kind

__all__ = [
    "ChatStrategy",
    "Options",
    "RunContext",
    "Strategy",
    "answer_all",
    "generate_answers",
]


class ChatStrategy(Strategy):
    """Shared shape of LLM strategies: build chat messages per example, generate with a model
    (by default the run's chat model: the served backend when there is one)."""

    kind: ClassVar[str] = Kind.PROMPTING
    uses_run_model: ClassVar[bool] = True

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        return {}

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        raise NotImplementedError

    def model(self, ctx: RunContext) -> Any:
        return ctx.chat_lm

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        convos = [self.messages(ex, ctx) for ex in examples]
        return answer_all(self.model(ctx), convos, ctx)


def answer_all(
    model: Any, convos: list, ctx: RunContext, views: bool = True
) -> list[Generation]:
    """Free generation, or for a label task the ranked label set (strategies/answering.py);
    `views`: also the diagnostic free-text view of a ranked answer (off while searching)."""
    from .answering import answer

    return answer(model, convos, ctx, generate_answers, views)


def generate_answers(model: Any, convos: list, ctx: RunContext) -> list[Generation]:
    """The task's generation settings (token budget, batch size, stop strings) on any model:
    the local one, a served backend, or a fine-tune being scored for its learning curve.
    When the task's answers have a shape (models.constrain), they are decoded under it
    unless task.yaml says `constrained: false`, and each answer's meta records whether it
    has the shape (`valid_output`) and whether it was decoded under it (`constrained`)."""
    gen = ctx.generation
    constraint = ctx.output_constraint
    gens = model.generate(
        convos,
        gen.max_new_tokens,
        gen.batch_size,
        on_batch=ctx.progress.advance,
        stop=getattr(gen, "stop", ()),
        **({"constraint": constraint} if constraint is not None else {}),
    )
    shape = ctx.output_shape
    if shape is not None:
        enforces = getattr(model, "constrains", lambda _shape: True)
        applied = constraint is not None and enforces(constraint)
        for g in gens:
            g.meta.update(valid_output=shape.valid(g.text), constrained=applied)
    return gens
