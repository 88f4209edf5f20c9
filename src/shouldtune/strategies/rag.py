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
from . import search
from .answering import answers_ranked
from .base import ChatStrategy, RunContext, answer_all
from .base import Options as BaseOptions


class RagOptions(BaseOptions):
    top_k: int = Field(3, ge=1, le=50)
    chunk_chars: int = Field(600, ge=50, le=20_000)
    examples: int = Field(0, ge=0, le=16, description="worked examples from train, nearest first")
    search: bool = Field(True, description="choose top_k, examples and instruction on dev")
    search_top_k: list[int] = Field(default_factory=lambda: [1, 3, 5], max_length=8)
    search_examples: list[int] = Field(default_factory=lambda: [0, 2], max_length=8)


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
        self.config = search.Candidate.of(
            top_k=options.top_k, examples=options.examples, instruction="task"
        )
        self._instructions: dict[str, str] = {}
        self._hits: dict[tuple[str, int], str] = {}
        self._queries: dict[str, np.ndarray] = {}
        self._memo = False  # cache retrievals while searching only: latency stays honest

    def skip_reason(self, task: Task) -> str | None:
        return None if task.docs else "no docs/ folder with .md or .txt files"

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        chunks = chunk_documents(ctx.task.docs, self.options.chunk_chars)
        self.index = HybridIndex(chunks, ctx.embedder)
        self._instructions = search.instruction_variants(
            ctx.task, ctx.labels, answers_ranked(ctx, self.model(ctx))
        )
        train, dev = ctx.dev_split()
        why_not = search.skip_reason(ctx, dev, self.options.search)
        pool = ctx.task.train if why_not else train
        wants_examples = why_not is None and any(self.options.search_examples)
        if (self.options.examples or wants_examples) and pool:
            self._train = list(pool)
            self._train_vectors = ctx.embedder.encode([ex.input for ex in self._train])
        if why_not:
            result = search.not_searched(self.config, why_not)
        else:
            self._memo = True
            result = search.halve_on_dev(
                ctx, self.name, self._candidates(), dev,
                lambda p: self._answer(p, ctx), ctx.score_row,  # type: ignore[arg-type]
            )  # fmt: skip
            self.config, self._memo = result.chosen, False
            self._hits, self._queries = {}, {}
        details: dict[str, Any] = {
            "documents": len(ctx.task.docs),
            "chunks": len(chunks),
            "top_k": self.config.get("top_k"),
            "instruction": self.config.get("instruction"),
            "search": result.to_json(),
        }
        if self.config.get("examples") and self._train:
            details["examples"] = min(int(self.config.get("examples")), len(self._train))
        return details

    def _candidates(self) -> list[search.Candidate]:
        top_ks = dict.fromkeys([self.options.top_k, *self.options.search_top_k])
        shots = dict.fromkeys([self.options.examples, *self.options.search_examples])
        if not self._train:
            shots = {0: None}
        axes = {"top_k": top_ks, "examples": shots, "instruction": self._instructions}
        return search.grid(self.config, axes)

    def _answer(self, pairs: list[tuple[search.Candidate, Example]], ctx: RunContext) -> list[str]:
        convos = [
            self._messages(ex, ctx, self.context(ex.input, c.get("top_k")), c) for c, ex in pairs
        ]
        return [g.text for g in answer_all(self.model(ctx), convos, ctx, views=False)]

    def context(self, question: str, top_k: int | None = None) -> str:
        if self.index is None:
            raise RuntimeError("prepare() runs before retrieval")
        k = int(top_k or self.config.get("top_k"))
        if (question, k) in self._hits:
            return self._hits[(question, k)]
        hits = self.index.search(question, k)
        text = "\n\n".join(f"[{h.source}]\n{h.text}" for h in hits)
        if self._memo:  # the search retrieves each dev row many times; serving never reuses
            self._hits[(question, k)] = text
        return text

    def _user(self, question: str, context: str) -> str:
        return f"Context:\n{context}\n\nQuestion: {question}"

    def _worked(self, example: Example, ctx: RunContext, n: int) -> list[Example]:
        if self._train_vectors is None or n <= 0:
            return []
        query = self._queries.get(example.input)
        if query is None:
            query = ctx.embedder.encode([example.input])[0]
            if self._memo:
                self._queries[example.input] = query
        k = min(n, len(self._train))
        sims = self._train_vectors @ query
        top = np.argsort(-sims, kind="stable")[:k]
        return [self._train[i] for i in top[::-1]]  # most similar last, next to the question

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        return self._messages(example, ctx, self.context(example.input))

    def _messages(
        self,
        example: Example,
        ctx: RunContext,
        context: str,
        config: search.Candidate | None = None,
    ) -> list[dict[str, str]]:
        config = config or self.config
        instruction = self._instructions.get(str(config.get("instruction")), ctx.task.instruction)
        msgs = chat(instruction, "", example.system)[:-1]
        top_k = config.get("top_k")
        for shot in self._worked(example, ctx, int(config.get("examples") or 0)):
            shown = self._user(shot.input, self.context(shot.input, top_k))
            msgs.append({"role": "user", "content": shown})
            msgs.append({"role": "assistant", "content": shot.output})
        msgs.append({"role": "user", "content": self._user(example.input, context)})
        return msgs

    def predict(self, examples: Sequence[Example], ctx: RunContext) -> list[Generation]:
        contexts = [self.context(ex.input) for ex in examples]
        convos = [self._messages(ex, ctx, c) for ex, c in zip(examples, contexts, strict=True)]
        gens = answer_all(self.model(ctx), convos, ctx)
        pairs = zip(gens, contexts, strict=True)
        return [replace(g, meta={**g.meta, "context": c}) for g, c in pairs]
