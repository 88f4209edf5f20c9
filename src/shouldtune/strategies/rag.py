"""rag: retrieve top-k document chunks (BM25 + MiniLM, rank-fused) into the prompt.

Optionally (`examples: k`) the k training examples nearest to the question are shown first as
worked examples — each with the context retrieved for *its* question — so the model sees the
answer format the task wants, as practitioners do. Each answer records the context it was
given (`Generation.meta["context"]`), so scoring can tell a retrieval failure (the answer was
not in the context) from a reading failure (it was, and the model missed it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
from pydantic import Field

from ..core.prompts import chat
from ..core.types import Example, Generation, Kind, Task
from ..retrieval.index import HybridIndex, chunk_documents
from .base import ChatStrategy, RunContext, generate_answers
from .base import Options as BaseOptions


class RagOptions(BaseOptions):
    top_k: int = Field(3, ge=1, le=50)
    chunk_chars: int = Field(600, ge=50, le=20_000)
    examples: int = Field(0, ge=0, le=16, description="worked examples from train, nearest first")


class Rag(ChatStrategy):
    name = "rag"
    kind = Kind.RETRIEVAL
    Options = RagOptions

    def __init__(self, options: RagOptions):
        super().__init__(options)
        self.options: RagOptions = options
        self.index: HybridIndex | None = None
        self._train: list[Example] = []
        self._train_vectors: np.ndarray | None = None

    def skip_reason(self, task: Task) -> str | None:
        return None if task.docs else "no docs/ folder with .md or .txt files"

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        chunks = chunk_documents(ctx.task.docs, self.options.chunk_chars)
        self.index = HybridIndex(chunks, ctx.embedder)
        details: dict[str, Any] = {
            "documents": len(ctx.task.docs),
            "chunks": len(chunks),
            "top_k": self.options.top_k,
        }
        if self.options.examples and ctx.task.train:
            self._train = list(ctx.task.train)
            self._train_vectors = ctx.embedder.encode([ex.input for ex in self._train])
            details["examples"] = min(self.options.examples, len(self._train))
        return details

    def context(self, question: str) -> str:
        if self.index is None:
            raise RuntimeError("prepare() runs before retrieval")
        hits = self.index.search(question, self.options.top_k)
        return "\n\n".join(f"[{h.source}]\n{h.text}" for h in hits)

    def _user(self, question: str, context: str) -> str:
        return f"Context:\n{context}\n\nQuestion: {question}"

    def _worked(self, example: Example, ctx: RunContext) -> list[Example]:
        if self._train_vectors is None:
            return []
        query = ctx.embedder.encode([example.input])[0]
        k = min(self.options.examples, len(self._train))
        top = np.argsort(-(self._train_vectors @ query), kind="stable")[:k]
        return [self._train[i] for i in top[::-1]]  # most similar last, next to the question

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return self._messages(example, ctx, self.context(example.input))

    def _messages(self, example: Example, ctx: RunContext, context: str) -> list[dict[str, str]]:
        msgs = chat(ctx.task.instruction, "", example.system)[:-1]
        for shot in self._worked(example, ctx):
            shown = self._user(shot.input, self.context(shot.input))
            msgs.append({"role": "user", "content": shown})
            msgs.append({"role": "assistant", "content": shot.output})
        msgs.append({"role": "user", "content": self._user(example.input, context)})
        return msgs

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        contexts = [self.context(ex.input) for ex in examples]
        convos = [self._messages(ex, ctx, c) for ex, c in zip(examples, contexts, strict=True)]
        gens = generate_answers(self.model(ctx), convos, ctx)
        return [replace(g, meta={"context": c}) for g, c in zip(gens, contexts, strict=True)]
