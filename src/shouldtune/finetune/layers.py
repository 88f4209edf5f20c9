"""Which parameters train: transformer blocks of a causal LM, and LISA-style sampling."""

from __future__ import annotations

import random
from collections.abc import Sequence

import torch


def find_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    """The transformer blocks, bottom to top: the ModuleList with one entry per layer."""
    n_layers = getattr(getattr(model, "config", None), "num_hidden_layers", None)
    lists = [m for m in model.modules() if isinstance(m, torch.nn.ModuleList) and len(m) > 0]
    exact = [m for m in lists if len(m) == n_layers]
    chosen = exact or sorted(lists, key=len, reverse=True)
    if not chosen:
        raise ValueError("found no transformer blocks (no ModuleList) in the model")
    return list(chosen[0])


def block_linears(model: torch.nn.Module) -> list[str]:
    """Names of every linear layer inside the transformer blocks, found by type.

    nn.Linear, and transformers' Conv1D (GPT-2 style models store their projections that
    way); the output head is never one of them, nor anything outside the blocks (embedding
    projections, vision towers). Works for any Hugging Face causal LM, whatever it calls its
    projections.
    """
    from transformers.pytorch_utils import Conv1D

    inside = {id(m) for block in find_blocks(model) for m in block.modules()}
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    names = [
        name
        for name, m in model.named_modules()
        if isinstance(m, torch.nn.Linear | Conv1D) and id(m) in inside and m is not head
    ]
    if not names:
        raise ValueError("found no linear layers inside the transformer blocks")
    return names


def freeze_all_but(model: torch.nn.Module, blocks: Sequence[torch.nn.Module]) -> None:
    model.requires_grad_(False)
    for block in blocks:
        block.requires_grad_(True)


class LisaSampler:
    """Every `interval` batches, unfreeze `n` seeded random blocks from `pool`, freeze the rest.

    All of `pool` must require grad when training starts so the optimizer holds them; a
    frozen block then gets no gradient and AdamW leaves it exactly as it is. Each period's
    draw depends only on (seed, period), so a resumed run samples what it would have.
    """

    def __init__(self, pool: Sequence[torch.nn.Module], n: int, interval: int, seed: int):
        self.pool, self.n, self.interval = list(pool), min(n, len(pool)), interval
        self.seed = seed
        self.history: list[list[int]] = []
        self._period: int | None = None

    def __call__(self, batch_index: int) -> None:
        # By period, not by `batch_index % interval`: a run resumed mid-period must freeze
        # what the uninterrupted run froze from the period's first batch on.
        period = batch_index // self.interval
        if period == self._period:
            return
        self._period = period
        rng = random.Random(self.seed * 1_000_003 + period)
        active = set(rng.sample(range(len(self.pool)), self.n))
        for i, block in enumerate(self.pool):
            block.requires_grad_(i in active)
        self.history.append(sorted(active))
