"""Chunk documents and retrieve by BM25 and embedding similarity, fused by reciprocal rank."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rank_bm25 import BM25Okapi

from ..core.types import Document
from .embed import Embedder

_TOKEN = re.compile(r"\w+")
RRF_K = 60  # the constant from Cormack et al. 2009; damps the weight of top ranks


@dataclass(frozen=True)
class Chunk:
    source: str
    text: str


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def chunk_documents(docs: Sequence[Document], max_chars: int = 600) -> list[Chunk]:
    """Split on blank lines, then pack paragraphs into chunks of at most max_chars."""
    chunks = []
    for doc in docs:
        current = ""
        for para in (p.strip() for p in re.split(r"\n\s*\n", doc.text)):
            if not para:
                continue
            if current and len(current) + len(para) + 2 > max_chars:
                chunks.append(Chunk(doc.path, current))
                current = ""
            current = f"{current}\n\n{para}" if current else para
            while len(current) > max_chars:  # a single huge paragraph: hard split
                chunks.append(Chunk(doc.path, current[:max_chars]))
                current = current[max_chars:]
        if current:
            chunks.append(Chunk(doc.path, current))
    return chunks


class HybridIndex:
    def __init__(self, chunks: Sequence[Chunk], embedder: Embedder):
        if not chunks:
            raise ValueError("no chunks to index")
        self.chunks = list(chunks)
        self.embedder = embedder
        self.bm25 = BM25Okapi([tokenize(c.text) or [""] for c in self.chunks])
        self.vectors = embedder.encode([c.text for c in self.chunks])

    def search(self, query: str, k: int = 3) -> list[Chunk]:
        dense = self.vectors @ self.embedder.encode([query])[0]
        sparse = np.asarray(self.bm25.get_scores(tokenize(query)))
        fused = np.zeros(len(self.chunks))
        for scores in (dense, sparse):
            ranks = np.empty(len(scores), dtype=int)
            ranks[np.argsort(-scores, kind="stable")] = np.arange(len(scores))
            fused += 1.0 / (RRF_K + ranks + 1)
        top = np.argsort(-fused, kind="stable")[:k]
        return [self.chunks[i] for i in top]
