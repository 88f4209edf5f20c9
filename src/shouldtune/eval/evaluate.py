"""Run one strategy end to end on the test set and measure it — no scoring here.

The answers, timings and details come back as a `StrategyRun`, which the resume cache keeps;
scoring (core/scoring.py) happens afterwards, so a changed metric never re-runs a strategy.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..contract import RunContext, Strategy
from ..core.types import StrategyResult, StrategyRun, Traits
from ..models.constrain import shape_details  # no torch: shape facts only
from ..strategies.answering import label_summary
from . import latency
from .measure import PeakRss, percentiles_ms


def evaluate(
    strategy: Strategy,
    ctx: RunContext,
    latency_samples: int,
    traits: Traits | None = None,
    defer_latency: bool = False,
) -> StrategyRun:
    """prepare (timed) -> batched predictions on the test set -> single-request latency
    (eval/latency.py), unless `defer_latency`: the run then times it later, round-robin with
    the other strategies, and the run's latency stays empty ("pending") until then."""
    test = ctx.task.test
    with PeakRss() as rss:
        ctx.progress.stage(strategy.name, "preparing")
        t0 = time.perf_counter()
        details = strategy.prepare(ctx) or {}
        prepare_s = time.perf_counter() - t0
        ctx.progress.stage(strategy.name, "evaluating", total=len(test))
        t0, views = time.perf_counter(), ctx.view_seconds
        gens = strategy.predict(test, ctx)
        view_s = ctx.view_seconds - views  # diagnostic views are not what serving costs
        eval_s = time.perf_counter() - t0 - view_s
        details = {**details, **strategy.measured()}
        latencies = [] if defer_latency else latency.solo(strategy, ctx, test[:latency_samples])
    traits = traits or strategy.traits()
    new_tokens = sum(g.new_tokens for g in gens)
    labels = label_summary(gens)
    shape = shape_details(ctx.output_shape, gens)
    details = {
        **details,
        **({"label_answers": {**labels, "free_view_seconds": round(view_s, 2)}} if labels else {}),
        **({"output_shape": shape} if shape else {}),
        "prepare_seconds": round(prepare_s, 2),
        # Every single-request sample goes in with the latency (latency.with_samples).
        "latency_samples_ms": [],
        "latency_timed": "pending",
        # Generated tokens per request, for the cost model's FLOPs and API prices.
        "new_tokens_mean": round(new_tokens / max(len(gens), 1), 2),
    }
    run = StrategyRun(
        name=strategy.name,
        kind=str(strategy.kind),
        traits=traits,
        generations=list(gens),
        latency_ms=percentiles_ms([], ctx.seed),
        tokens_per_s=round(new_tokens / eval_s, 2) if eval_s > 0 else 0.0,
        prompt_tokens_mean=round(sum(g.prompt_tokens for g in gens) / max(len(gens), 1), 1),
        # A fine-tune may exclude diagnostics (its learning curve) from its training cost.
        train_seconds=round(details.get("train_seconds", prepare_s), 2) if traits.trains else 0.0,
        eval_seconds=round(eval_s, 2),
        peak_rss_mb=round(rss.peak_mb, 1),
        details=details,
    )
    return run if defer_latency else latency.with_samples(run, latencies, ctx.seed, "alone")


def evaluate_scored(
    strategy: Strategy,
    ctx: RunContext,
    metric: Any,
    out_dir: Path,
    latency_samples: int = 1,
    bootstrap_samples: int = 2000,
) -> StrategyResult:
    """One strategy run and scored on the whole test set (every row clean), its predictions
    written under `out_dir`: for using one strategy from Python, outside a whole run.
    `metric`: a core.metrics.Metric, or a plain (predicted, expected) -> float function."""
    from ..core.fileio import atomic_write_jsonl
    from ..core.metrics import Metric
    from ..core.scoring import TestSplit, score_run

    if not isinstance(metric, Metric):
        metric = Metric(ctx.task.metric, metric)
    run = evaluate(strategy, ctx, latency_samples)
    result, rows = score_run(
        run,
        ctx.task.test,
        metric,
        TestSplit(len(ctx.task.test)),
        bootstrap_samples,
        ctx.seed,
        lambda details, score, scores: type(strategy).score_details(
            details, score, scores, bootstrap_samples, ctx.seed
        ),
    )
    atomic_write_jsonl(Path(out_dir) / result.predictions_file, rows)
    return result
