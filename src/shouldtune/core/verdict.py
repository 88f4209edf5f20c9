"""The verdict: the cheapest strategy not significantly worse than the best one.

Fine-tuning is recommended only when a fine-tuned strategy is significantly better (paired
bootstrap over the same test examples) than every alternative that needs no training.
"""

from __future__ import annotations

from collections.abc import Sequence

from .stats import paired_difference_ci
from .types import StrategyResult, Verdict

FINE_TUNING = "fine-tuning"


def cost_key(result: StrategyResult) -> tuple[bool, float, str]:
    """Cheaper first: no one-off training, then lower per-request latency."""
    return (result.train_seconds > 0, result.latency_ms.get("p50", 0.0), result.name)


def _fmt(r: StrategyResult) -> str:
    q = r.quality
    return f"{r.name} scored {q.score:.3f} {q.metric} (95% CI {q.ci_low:.3f}-{q.ci_high:.3f})"


def _diff(a: StrategyResult, b: StrategyResult, seed: int) -> tuple[float, float, float]:
    return paired_difference_ci(a.scores, b.scores, seed=seed)


def _fine_tune_winners(results: Sequence[StrategyResult], seed: int) -> list[StrategyResult]:
    tuned = [r for r in results if r.kind == FINE_TUNING]
    others = [r for r in results if r.kind != FINE_TUNING]
    if not tuned or not others:
        return []
    return [t for t in tuned if all(_diff(t, o, seed)[1] > 0 for o in others)]


def decide(results: Sequence[StrategyResult], seed: int = 0) -> Verdict:
    if not results:
        raise ValueError("no strategy results to decide on")
    n = len(results[0].scores)
    best = max(results, key=lambda r: (r.quality.score, -cost_key(r)[1]))
    tied = [r for r in results if r is best or _diff(best, r, seed)[1] <= 0]
    winners = _fine_tune_winners(results, seed)
    pool = [r for r in tied if r in winners] or winners if winners else tied
    recommended = min(pool, key=cost_key)

    reasons = [f"Best quality: {_fmt(best)} on {n} held-out examples."]
    if recommended is not best:
        d, lo, hi = _diff(best, recommended, seed)
        reasons.append(
            f"Recommended {recommended.name}: {recommended.quality.score:.3f} is not significantly"
            f" below the best (paired difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f}) and it"
            f" is cheaper: {recommended.train_seconds:.0f} s of training,"
            f" {recommended.latency_ms.get('p50', 0):.0f} ms per request (p50) against"
            f" {best.train_seconds:.0f} s and {best.latency_ms.get('p50', 0):.0f} ms."
        )
    reasons.append(_fine_tune_reason(results, winners, seed))
    worse = [r for r in results if r not in tied]
    if worse:
        listed = ", ".join(f"{r.name} ({r.quality.score:.3f})" for r in worse)
        reasons.append(f"Significantly worse than {best.name}: {listed}.")
    return Verdict(
        fine_tune=bool(winners),
        recommended=recommended.name,
        reasons=reasons,
        best=best.name,
        not_worse_than_best=[r.name for r in tied],
    )


def _fine_tune_reason(
    results: Sequence[StrategyResult], winners: list[StrategyResult], seed: int
) -> str:
    tuned = [r for r in results if r.kind == FINE_TUNING]
    others = [r for r in results if r.kind != FINE_TUNING]
    if not tuned:
        return "No fine-tuned strategy was run, so this verdict compares only the alternatives."
    if not others:
        return "Only fine-tuned strategies were run: nothing to compare fine-tuning against."
    if winners:
        top = max(winners, key=lambda r: r.quality.score)
        rival = max(others, key=lambda r: r.quality.score)
        d, lo, hi = _diff(top, rival, seed)
        return (
            f"Fine-tune: {top.name} beats every alternative significantly; the strongest"
            f" alternative, {rival.name} ({rival.quality.score:.3f}), is {d:.3f} lower"
            f" (95% CI {lo:.3f} to {hi:.3f}). Training took {top.train_seconds:.0f} s."
        )
    top = max(tuned, key=lambda r: r.quality.score)
    rival = max(others, key=lambda r: (r.quality.score, -cost_key(r)[1]))
    d, lo, hi = _diff(top, rival, seed)
    return (
        f"Do not fine-tune: {top.name} ({top.quality.score:.3f}, {top.train_seconds:.0f} s of"
        f" training) is not significantly better than {rival.name}"
        f" ({rival.quality.score:.3f}; paired difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f})."
    )
