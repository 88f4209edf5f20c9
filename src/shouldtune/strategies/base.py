"""The one protocol every strategy implements, and the context a run hands it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..core.config import StrategyOptions
from ..core.types import Example, Generation, Task
from ..progress import NullProgress, Progress

Options = StrategyOptions


@dataclass
class RunContext:
    """What a strategy may use: the task, the base model and embedder (loaded lazily)."""

    task: Task
    seed: int = 0
    quick: bool = False
    work_dir: Path = Path(".")
    progress: Progress = field(default_factory=NullProgress)
    lm_loader: Callable[[], Any] | None = None
    embedder_loader: Callable[[], Any] | None = None
    backend_loader: Callable[[], Any] | None = None  # a served model (OpenAI-compatible)
    checkpoint_dir: Path | None = None  # where training checkpoints go (resume after a kill)
    _lm: Any = None
    _embedder: Any = None
    _backend: Any = None

    @property
    def lm(self) -> Any:
        """The base LanguageModel. Strategies must not modify it (copy before training)."""
        if self._lm is None:
            if self.lm_loader is None:
                raise RuntimeError("this run has no language model")
            self._lm = self.lm_loader()
        return self._lm

    @property
    def chat_lm(self) -> Any:
        """What prompting strategies generate with: the served backend when the run has one,
        else the local model (fine-tuning always trains the local one)."""
        if self.backend_loader is None:
            return self.lm
        if self._backend is None:
            self._backend = self.backend_loader()
        return self._backend

    @property
    def embedder(self) -> Any:
        if self._embedder is None:
            if self.embedder_loader is None:
                raise RuntimeError("this run has no embedder")
            self._embedder = self.embedder_loader()
        return self._embedder

    @property
    def generation(self) -> Any:
        return self.task.config.generation


class Strategy(Protocol):
    name: ClassVar[str]
    kind: ClassVar[str]  # one of core.types.KINDS
    Options: ClassVar[type[Options]]

    def skip_reason(self, task: Task) -> str | None:
        """Why this strategy does not apply to the task, or None when it does."""

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        """One-off work (training, indexing). Returns details for results.json."""

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        """Answers for the examples, batched as the strategy sees fit."""


class ChatStrategy:
    """Shared shape of LLM strategies: build chat messages per example, generate with a model."""

    kind: ClassVar[str] = "prompting"

    def __init__(self, options: Options):
        self.options = options

    def skip_reason(self, task: Task) -> str | None:
        return None

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        return {}

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        raise NotImplementedError

    def model(self, ctx: RunContext) -> Any:
        return ctx.chat_lm

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        convos = [self.messages(ex, ctx) for ex in examples]
        return generate_answers(self.model(ctx), convos, ctx)


def generate_answers(model: Any, convos: list, ctx: RunContext) -> list[Generation]:
    """The task's generation settings (token budget, batch size, stop strings) on any model:
    the local one, a served backend, or a fine-tune being scored for its learning curve."""
    gen = ctx.generation
    return model.generate(
        convos,
        gen.max_new_tokens,
        gen.batch_size,
        on_batch=ctx.progress.advance,
        stop=getattr(gen, "stop", ()),
    )
