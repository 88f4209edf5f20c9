"""rag: retrieve top-k document chunks (BM25 + MiniLM, rank-fused) into the prompt."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..core.prompts import chat
from ..core.types import Example, Task
from ..retrieval.index import HybridIndex, chunk_documents
from .base import ChatStrategy, RunContext
from .base import Options as BaseOptions


class RagOptions(BaseOptions):
    top_k: int = Field(3, ge=1, le=50)
    chunk_chars: int = Field(600, ge=50, le=20_000)


class Rag(ChatStrategy):
    name = "rag"
    kind = "retrieval"
    Options = RagOptions

    def __init__(self, options: RagOptions):
        super().__init__(options)
        self.options: RagOptions = options
        self.index: HybridIndex | None = None

    def skip_reason(self, task: Task) -> str | None:
        return None if task.docs else "no docs/ folder with .md or .txt files"

    def prepare(self, ctx: RunContext) -> dict[str, Any]:
        chunks = chunk_documents(ctx.task.docs, self.options.chunk_chars)
        self.index = HybridIndex(chunks, ctx.embedder)
        return {"documents": len(ctx.task.docs), "chunks": len(chunks), "top_k": self.options.top_k}

    def messages(self, example: Example, ctx: RunContext) -> list[dict[str, str]]:
        assert self.index is not None, "prepare() runs before messages()"
        hits = self.index.search(example.input, self.options.top_k)
        context = "\n\n".join(f"[{h.source}]\n{h.text}" for h in hits)
        user = f"Context:\n{context}\n\nQuestion: {example.input}"
        return chat(ctx.task.instruction, user, example.system)
