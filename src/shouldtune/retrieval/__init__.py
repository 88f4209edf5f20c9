"""Embeddings and hybrid (BM25 + dense) retrieval over a task's documents."""
