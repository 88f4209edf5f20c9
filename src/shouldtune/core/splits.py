"""The one dev split every strategy tunes on (no torch)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from .types import Example

DEV_FRACTION = 0.1  # the share of train every strategy tunes on (fine-tunes: dev_fraction)


def dev_split(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Carve a seeded dev set from train for tuning and early stopping; the test set is never
    touched. The same rows for every strategy given the same fraction and seed."""
    shuffled = list(examples)
    random.Random(seed + 1).shuffle(shuffled)
    n_dev = round(len(shuffled) * fraction)
    if n_dev == 0 or len(shuffled) - n_dev < 2:
        return shuffled, []
    return shuffled[n_dev:], shuffled[:n_dev]
