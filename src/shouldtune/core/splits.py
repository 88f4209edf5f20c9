"""The one dev split every strategy tunes on (no torch)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from .types import Example

T = TypeVar("T")

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


def quick_sample(
    test: Sequence[Example], n: int, seed: int, by_label: bool = False
) -> list[Example]:
    """`--quick`'s test rows: a seeded sample, not the file's head (a file may list its repeated
    or easiest rows first); for a label task stratified by label (labels in turn, each label's
    rows shuffled), so every label is drawn before any twice. File order is kept."""
    if len(test) <= n:
        return list(test)
    rng = random.Random(seed)
    if not by_label:
        return [test[i] for i in sorted(rng.sample(range(len(test)), n))]
    chosen = stratified(range(len(test)), lambda i: test[i].output.strip(), n, rng)
    return [test[i] for i in sorted(chosen)]


def stratified(
    items: Iterable[T], label: Callable[[T], str], n: int, rng: random.Random
) -> list[T]:
    """n items drawn label by label in turn (labels and each label's items in a seeded order),
    so every label is drawn before any is drawn twice."""
    groups: dict[str, list[T]] = {}
    for item in items:
        groups.setdefault(label(item), []).append(item)
    order = sorted(groups)
    rng.shuffle(order)
    for rows in groups.values():
        rng.shuffle(rows)
    chosen: list[T] = []
    depth = 0
    while len(chosen) < n and depth < max((len(g) for g in groups.values()), default=0):
        for key in order:
            if depth < len(groups[key]) and len(chosen) < n:
                chosen.append(groups[key][depth])
        depth += 1
    return chosen
