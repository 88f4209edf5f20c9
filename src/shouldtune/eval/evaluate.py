"""Run one strategy end to end on the test set and measure it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..core.fileio import atomic_write_jsonl
from ..core.stats import bootstrap_ci
from ..core.types import Quality, StrategyResult
from ..strategies.base import RunContext
from .measure import PeakRss, percentiles_ms


def evaluate(
    strategy: Any,
    ctx: RunContext,
    scorer: Callable[[str, str], float],
    run_dir: Path,
    latency_samples: int,
    bootstrap_samples: int,
) -> StrategyResult:
    """prepare (timed) -> batched predictions on the test set -> single-request latency."""
    test = ctx.task.test
    with PeakRss() as rss:
        ctx.progress.stage(strategy.name, "preparing")
        t0 = time.perf_counter()
        details = strategy.prepare(ctx) or {}
        prepare_s = time.perf_counter() - t0
        ctx.progress.stage(strategy.name, "evaluating", total=len(test))
        t0 = time.perf_counter()
        gens = strategy.predict(test, ctx)
        eval_s = time.perf_counter() - t0
        # Optional hook: counts gathered during the test-set pass (tool calls, step times).
        measured = getattr(strategy, "measured", None)
        details = {**details, **(measured() if callable(measured) else {})}
        ctx.progress.stage(strategy.name, "latency", total=min(latency_samples, len(test)))
        latencies = []
        for example in test[:latency_samples]:
            t0 = time.perf_counter()
            strategy.predict([example], ctx)
            latencies.append(time.perf_counter() - t0)
            ctx.progress.advance()
    scores = [scorer(g.text, ex.output) for g, ex in zip(gens, test, strict=True)]
    mean, lo, hi = bootstrap_ci(scores, bootstrap_samples, seed=ctx.seed)
    # Optional hook: details that need the test scores (a fine-tune's full-data curve point).
    complete = getattr(strategy, "complete_details", None)
    details = complete(details, scores, ctx) if callable(complete) else details
    rel = Path("predictions") / f"{strategy.name}.jsonl"
    atomic_write_jsonl(
        run_dir / rel,
        (
            {
                "index": i,
                "source": ex.source,
                "input": ex.input,
                "expected": ex.output,
                "predicted": g.text,
                "score": s,
                "prompt_tokens": g.prompt_tokens,
                "new_tokens": g.new_tokens,
            }
            for i, (ex, g, s) in enumerate(zip(test, gens, scores, strict=True))
        ),
    )
    new_tokens = sum(g.new_tokens for g in gens)
    training = strategy.kind == "fine-tuning"
    details = {
        **details,
        "prepare_seconds": round(prepare_s, 2),
        # Generated tokens per request, for the cost model's FLOPs and API prices.
        "new_tokens_mean": round(new_tokens / max(len(gens), 1), 2),
    }
    return StrategyResult(
        name=strategy.name,
        kind=strategy.kind,
        quality=Quality(ctx.task.metric, round(mean, 4), round(lo, 4), round(hi, 4)),
        latency_ms=percentiles_ms(latencies),
        tokens_per_s=round(new_tokens / eval_s, 2) if eval_s > 0 else 0.0,
        prompt_tokens_mean=round(sum(g.prompt_tokens for g in gens) / max(len(gens), 1), 1),
        # A fine-tune may exclude diagnostics (its learning curve) from its training cost.
        train_seconds=round(details.get("train_seconds", prepare_s), 2) if training else 0.0,
        eval_seconds=round(eval_s, 2),
        peak_rss_mb=round(rss.peak_mb, 1),
        predictions_file=str(rel),
        scores=scores,
        details=details,
    )
