"""Tokenised training samples with completion-only labels, and length-bucketed batches."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch

IGNORE = -100  # label value the loss skips: prompt tokens are context, not targets


@dataclass(frozen=True)
class Sample:
    input_ids: list[int]
    labels: list[int]

    @property
    def n_target(self) -> int:
        return sum(1 for t in self.labels if t != IGNORE)


def make_sample(prompt: list[int], completion: list[int], max_length: int) -> Sample:
    """Prompt tokens get IGNORE labels; an over-long prompt is cut from the left."""
    completion = completion[:max_length]
    room = max_length - len(completion)
    prompt = prompt[-room:] if room > 0 else []
    return Sample(prompt + completion, [IGNORE] * len(prompt) + completion)


def bucketed_batches(
    samples: Sequence[Sample], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Shuffle, sort by length inside windows of 50 batches, then shuffle batch order.

    Similar lengths share a batch, so little compute is spent on padding, while the
    order still changes every epoch.
    """
    rng = random.Random(seed * 100_003 + epoch)
    order = list(range(len(samples)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: len(samples[i].input_ids))
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def random_batches(
    samples: Sequence[Sample], batch_size: int, seed: int, epoch: int
) -> list[list[int]]:
    """Plain shuffled batches: the reference the bucketed padding waste is compared with."""
    order = list(range(len(samples)))
    random.Random(seed * 100_003 + epoch).shuffle(order)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(samples: Sequence[Sample], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(s.input_ids) for s in samples)
    ids = torch.full((len(samples), width), pad_id, dtype=torch.long)
    labels = torch.full((len(samples), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(samples), width), dtype=torch.long)
    for row, s in enumerate(samples):
        n = len(s.input_ids)
        ids[row, :n] = torch.tensor(s.input_ids)
        labels[row, :n] = torch.tensor(s.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def padding_waste(samples: Sequence[Sample], batches: Sequence[Sequence[int]]) -> float:
    """Share of the token slots in the padded batches that are padding."""
    real = sum(len(samples[i].input_ids) for b in batches for i in b)
    slots = sum(len(b) * max(len(samples[i].input_ids) for i in b) for b in batches)
    return 1 - real / slots if slots else 0.0


def padding_report(samples: Sequence[Sample], batch_size: int, seed: int) -> dict[str, float]:
    """Padding waste of plain shuffled batches (before) and length-bucketed ones (after)."""
    if not samples:
        return {"random_batches": 0.0, "bucketed_batches": 0.0}
    return {
        "random_batches": padding_waste(samples, random_batches(samples, batch_size, seed, 0)),
        "bucketed_batches": padding_waste(samples, bucketed_batches(samples, batch_size, seed, 0)),
    }
