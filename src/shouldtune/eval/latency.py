"""Single-request latency: one untimed warm-up, then timed requests at batch size 1.

Timed one strategy after another, a load change on the machine (another job, a thermal limit)
lands on whichever strategy runs then. So the run keeps the strategies it can hold alive and
times them **round-robin**: round i sends test row i to every held strategy, in a seeded
order that changes each round, so load falls on all alike. A strategy too big to hold beside
the others (a full fine-tune of a large model) is timed on its own, right after it answered,
and its details say so.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from ..contract import RunContext, Strategy
from ..core.types import Example, StrategyRun
from ..progress import NullProgress
from .measure import percentiles_ms

# A fine-tune is held for the round-robin while its weights take at most this share of the
# memory still free on its device: the rest stays for the next strategy's training.
HOLD_SHARE = 0.25
Clock = Callable[[], float]


def _timed(strategy: Strategy, example: Example, ctx: RunContext, clock: Clock | None) -> float:
    """One request as served; the strategy's own progress counting is muted (the caller
    counts requests), so a strategy that advances per answer is not counted twice."""
    clock = clock or time.perf_counter  # read at call time: a test may replace it
    progress, ctx.progress = ctx.progress, NullProgress()
    try:
        t0 = clock()
        strategy.predict([example], ctx)
        return clock() - t0
    finally:
        ctx.progress = progress


@contextmanager
def _serving(ctx: RunContext) -> Iterator[None]:
    ctx.serving = True  # answered as served: no diagnostic views (the free-text view)
    try:
        yield
    finally:
        ctx.serving = False


def solo(
    strategy: Strategy, ctx: RunContext, examples: Sequence[Example], clock: Clock | None = None
) -> list[float]:
    """Seconds per request for one strategy on its own (a strategy too big to hold)."""
    if not examples:
        return []
    ctx.progress.stage(strategy.name, "latency", total=len(examples))
    return _rounds([strategy], ctx, examples, random.Random(0), clock)[strategy.name]


def round_robin(
    strategies: Sequence[Strategy],
    ctx: RunContext,
    examples: Sequence[Example],
    seed: int,
    clock: Clock | None = None,
) -> dict[str, list[float]]:
    """Seconds per request for each strategy (by name), the requests interleaved: each round
    one request per strategy, in a seeded order reshuffled every round."""
    if not examples or not strategies:
        return {s.name: [] for s in strategies}
    names = ", ".join(s.name for s in strategies)
    total = len(examples) * len(strategies)
    ctx.progress.stage("latency", f"round-robin over {names}", total=total)
    return _rounds(strategies, ctx, examples, random.Random(seed), clock)


def _rounds(
    strategies: Sequence[Strategy],
    ctx: RunContext,
    examples: Sequence[Example],
    rng: random.Random,
    clock: Clock | None,
) -> dict[str, list[float]]:
    """One untimed warm-up per strategy (a cold first request — lazy loads, allocator growth —
    is not what serving costs), then round i sends examples[i] to each, in `rng`'s order."""
    out: dict[str, list[float]] = {s.name: [] for s in strategies}
    with _serving(ctx):
        for s in strategies:
            _timed(s, examples[0], ctx, clock)  # warm-up, not kept
        for example in examples:
            order = list(strategies)
            rng.shuffle(order)
            for s in order:
                out[s.name].append(_timed(s, example, ctx, clock))
                ctx.progress.advance()
    return out


def with_samples(run: StrategyRun, seconds: Sequence[float], seed: int, how: str) -> StrategyRun:
    """`run` with its latency measured: p50/p95 with the p95's interval, every sample kept
    (in the order taken) and how they were taken ("round-robin" or "alone")."""
    details = {
        **run.details,
        "latency_samples_ms": [round(x * 1000, 1) for x in seconds],
        "latency_timed": how,
    }
    return replace(run, latency_ms=percentiles_ms(seconds, seed), details=details)


def weight_bytes(model: Any) -> int:
    """Bytes of a torch module's parameters and buffers (0 for anything else)."""
    params = getattr(model, "parameters", None)
    if params is None:
        return 0
    tensors = [*model.parameters(), *getattr(model, "buffers", lambda: [])()]
    return sum(t.numel() * t.element_size() for t in tensors)


def free_bytes(device: Any) -> int:
    """Memory still free where `device`'s tensors live: the GPU's, else the host's."""
    if getattr(device, "type", "cpu") == "cuda":
        import torch

        return int(torch.cuda.mem_get_info(device)[0])
    import psutil

    return int(psutil.virtual_memory().available)


def can_hold(strategy: Strategy, free: int) -> bool:
    """True when keeping `strategy` alive until the round-robin costs little: it holds no
    model of its own (it serves the run's model; its state is an index or a prompt), or its
    tuned weights fit in HOLD_SHARE of the `free` bytes."""
    tuned = strategy.tuned_model()
    model = getattr(tuned, "model", tuned)
    return model is None or weight_bytes(model) <= HOLD_SHARE * free
