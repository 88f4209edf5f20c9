"""More seeds for a close call: fine-tunes vary with the seed (Dodge et al. 2020; Mosbach et al.
2023), so when a fine-tune's lead over the best alternative — or its deficit — lies within its
own interval's width, it is trained on two more seeds with the learning rate its sweep chose
(no new sweep, no learning curve, the same dev split), and each seed's test answers are kept.
Scoring turns them into per-seed scores (FineTuneStrategy.score_details); the decision reads
the spread: a lead that one seed in three reverses is not a lead (core/decision.py).

Reading the test set here chooses nothing: it decides how much evidence to gather, not which
model or prompt is used.
"""

from __future__ import annotations

import dataclasses
import gc
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .contract import RunContext, Strategy
from .core.metrics import Metric
from .core.scoring import TestSplit
from .core.stats import bootstrap_ci
from .core.types import Example, StrategyRun

EXTRA_SEEDS = 2


def _scores(run: StrategyRun, test: Sequence[Example], metric: Metric, rows: list[int]) -> list:
    return [
        metric.score_row(run.generations[i].text, test[i].output, test[i].source) for i in rows
    ]


def close_calls(
    runs: Sequence[StrategyRun],
    test: Sequence[Example],
    metric: Metric,
    split: TestSplit,
    n_resamples: int,
    seed: int,
) -> list[str]:
    """Fine-tunes whose distance to the best alternative is at most their CI's width."""
    rows = split.clean
    alternatives = [r for r in runs if not r.traits.trains]
    if not rows or not alternatives:
        return []
    best_alt = max(sum(_scores(r, test, metric, rows)) / len(rows) for r in alternatives)
    close = []
    for r in runs:
        if not r.traits.trains or "seeds" in r.details:
            continue
        mean, low, high = bootstrap_ci(_scores(r, test, metric, rows), n_resamples, seed)
        if abs(mean - best_alt) <= high - low:
            close.append(r.name)
    return close


def seed_answers(
    strategy: Strategy, ctx: RunContext, run: StrategyRun, seeds: Sequence[int]
) -> list[dict]:
    """The strategy retrained on each seed, with its first run's learning rate: test answers."""
    chosen = run.details.get("learning_rate_chosen")
    update: dict[str, Any] = {"lr_sweep": False, "learning_curve": False}
    if isinstance(chosen, int | float):
        update["learning_rate"] = float(chosen)
    strategy.options = strategy.options.model_copy(update=update)
    out = []
    for s in seeds:
        # Its own work folder: the run's saved weights (export, probes) stay the first seed's.
        with tempfile.TemporaryDirectory(prefix=f"shouldtune-seed{s}-") as tmp:
            seeded = dataclasses.replace(
                ctx, seed=s, split_seed=ctx.seed, checkpoint_dir=None, work_dir=Path(tmp)
            )
            ctx.progress.stage(strategy.name, f"seed {s}")
            strategy.prepare(seeded)
            answers = strategy.predict(list(ctx.task.test), seeded)
            out.append({"seed": s, "predictions": [g.text for g in answers]})
            strategy.tuned = None
            gc.collect()
    return out
