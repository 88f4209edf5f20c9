"""A KV cache that appends in place: decoding writes one position per step.

transformers' DynamicLayer concatenates on every update, so each generated token copies the
whole cache of every layer: with a long few-shot prompt that copy costs as much memory traffic
as reading the weights. GrowingLayer keeps spare room at the end of each layer's buffer and
returns views of its filled part; it reallocates only when the room runs out (amortised), or
when something outside replaced its keys (a crop), taking those as the truth. When finished
rows leave the batch, the kept rows' filled part is gathered once into a new buffer with the
same spare room (DynamicLayer's selection, then a regrow, would copy it twice).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer


class GrowingLayer(DynamicLayer):
    """DynamicLayer with in-place appends; `reserve`: positions to keep free for later steps."""

    def __init__(self, reserve: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.reserve = reserve
        self._kbuf: torch.Tensor | None = None
        self._vbuf: torch.Tensor | None = None
        self._view: torch.Tensor | None = None  # the keys we handed out last

    @classmethod
    def filled(cls, keys: torch.Tensor, values: torch.Tensor, batch: int, reserve: int) -> Any:
        """A layer holding `keys`/`values` (batch 1) repeated for `batch` rows: one copy."""
        layer = cls(reserve)
        layer.lazy_initialization(keys, values)
        layer._alloc(batch, keys, values, keys.shape[-2] + reserve)
        n = keys.shape[-2]
        layer._kbuf[:, :, :n] = keys  # broadcast over the batch
        layer._vbuf[:, :, :n] = values
        layer._publish(n)
        return layer

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
            self._kbuf = self._vbuf = self._view = None
        old = self.get_seq_length()
        new = old + key_states.shape[-2]
        if self._kbuf is None or self.keys is not self._view or new > self._kbuf.shape[-2]:
            self._regrow(key_states, value_states, old, new)
        self._kbuf[:, :, old:new] = key_states  # type: ignore[index]
        self._vbuf[:, :, old:new] = value_states  # type: ignore[index]
        self._publish(new)
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only rows `indices`: one gather into fresh buffers, the spare room kept."""
        if self._kbuf is None or self.keys is not self._view:
            super().batch_select_indices(indices)
            return
        n = self.get_seq_length()
        kbuf, vbuf = self._kbuf, self._vbuf
        self._alloc(len(indices), kbuf, vbuf, kbuf.shape[-2])
        self._kbuf[:, :, :n] = kbuf[indices, :, :n]  # type: ignore[index]
        self._vbuf[:, :, :n] = vbuf[indices, :, :n]  # type: ignore[index]
        self._publish(n)

    def _regrow(self, k_like: torch.Tensor, v_like: torch.Tensor, old: int, new: int) -> None:
        """New buffers with room to spare, holding what the layer has now."""
        keys, values = self.keys, self.values
        self._alloc(k_like.shape[0], k_like, v_like, new + max(self.reserve, new // 4, 16))
        if old:
            self._kbuf[:, :, :old] = keys  # type: ignore[index]
            self._vbuf[:, :, :old] = values  # type: ignore[index]

    def _alloc(self, batch: int, k_like: torch.Tensor, v_like: torch.Tensor, capacity: int) -> None:
        self._kbuf = k_like.new_empty((batch, k_like.shape[1], capacity, k_like.shape[-1]))
        self._vbuf = v_like.new_empty((batch, v_like.shape[1], capacity, v_like.shape[-1]))

    def _publish(self, n: int) -> None:
        self.keys = self._view = self._kbuf[:, :, :n]  # type: ignore[index]
        self.values = self._vbuf[:, :, :n]  # type: ignore[index]


def new_cache(config: Any, reserve: int = 0) -> Any:
    """A DynamicCache for `config` whose full-attention layers append in place."""
    cache = DynamicCache(config=config)
    cache.layers = [
        GrowingLayer(reserve) if type(layer) is DynamicLayer else layer for layer in cache.layers
    ]
    return cache


def repeated(cache: Any, batch: int, reserve: int = 0) -> Any:
    """A fresh cache with `cache`'s batch-1 contents repeated for `batch` rows; the source is
    never written to. Layers of other kinds (sliding windows) are copied the generic way."""
    out = copy.copy(cache)
    layers = []
    for layer in cache.layers:
        if isinstance(layer, GrowingLayer) and layer.get_seq_length() > 0:
            layers.append(GrowingLayer.filled(layer.keys, layer.values, batch, reserve))
        else:
            other = copy.deepcopy(layer)
            if batch > 1:
                other.batch_repeat_interleave(batch)
            layers.append(other)
    out.layers = layers
    return out
