"""The verdict: the cheapest strategy not significantly worse than the best one.

Fine-tuning is recommended only when a fine-tuned strategy is significantly better (paired
bootstrap over the same test examples) than every alternative that needs no training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .cost import CostReport, money
from .stats import paired_difference_ci
from .types import StrategyResult, Verdict

FINE_TUNING = "fine-tuning"
BASELINE = "baseline"  # no language model at all


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


def decide(
    results: Sequence[StrategyResult], seed: int = 0, costs: CostReport | None = None
) -> Verdict:
    if not results:
        raise ValueError("no strategy results to decide on")
    n = len(results[0].scores)
    best = max(results, key=lambda r: (r.quality.score, -cost_key(r)[1]))
    tied = [r for r in results if r is best or _diff(best, r, seed)[1] <= 0]
    winners = _fine_tune_winners(results, seed)
    # Probe rule: among fine-tunes that beat every alternative, those whose probes show no
    # significant rise in fabrication or forgetting are preferred; a harmful one is
    # recommended only when no clean one wins, and `_probe_reasons` then says what it costs.
    preferred = [w for w in winners if not probe_harms(w)] or winners
    pool = [r for r in tied if r in preferred] or preferred if preferred else tied
    recommended = min(pool, key=cost_key)

    reasons = [f"Best quality: {_fmt(best)} on {n} held-out examples."]
    if best.quality.score <= 0:
        reasons.append(
            f"Nothing worked: no strategy got a single test example right, so {recommended.name}"
            " is only the cheapest of equally failed options. Check the metric and the data,"
            " or try a bigger model, before choosing."
        )
    if recommended is not best:
        d, lo, hi = _diff(best, recommended, seed)
        reasons.append(
            f"Recommended {recommended.name}: {recommended.quality.score:.3f} is not significantly"
            f" below the best (paired difference {d:+.3f}, 95% CI {lo:+.3f} to {hi:+.3f}) and it"
            f" is cheaper: {recommended.train_seconds:.0f} s of training,"
            f" {recommended.latency_ms.get('p50', 0):.0f} ms per request (p50) against"
            f" {best.train_seconds:.0f} s and {best.latency_ms.get('p50', 0):.0f} ms."
        )
    reasons += _no_llm_reasons(results, recommended, seed)
    reasons.append(_fine_tune_reason(results, preferred, seed))
    reasons += _break_even_reasons(results, recommended, costs)
    reasons += _probe_reasons(results, recommended, winners, preferred)
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


def _no_llm_reasons(
    results: Sequence[StrategyResult], recommended: StrategyResult, seed: int
) -> list[str]:
    """When a non-LLM baseline is recommended, say plainly that no LLM is needed."""
    llms = [r for r in results if r.kind != BASELINE]
    if recommended.kind != BASELINE or not llms or recommended.quality.score <= 0:
        return []  # a baseline that solves nothing is no reason to drop the LLM
    top = max(llms, key=lambda r: (r.quality.score, -cost_key(r)[1]))
    d, lo, hi = _diff(top, recommended, seed)
    compared = "not significantly better than" if d > 0 else "no better than"
    return [
        f"You don't need an LLM for this: {recommended.name} ({recommended.quality.score:.3f})"
        f" needs no language model, and the best LLM strategy, {top.name}"
        f" ({top.quality.score:.3f}), is {compared} it (paired difference {d:+.3f},"
        f" 95% CI {lo:+.3f} to {hi:+.3f})."
    ]


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


# Probe metrics (probes/metrics.py) and the sign of a harmful change (diff = after - before).
PROBE_HARMS = {
    "fabrication_rate": (1, "fabrication on unanswerable questions"),
    "forgetting": (-1, "general-knowledge accuracy"),
}


def probe_is_harmful(key: str, m: dict) -> bool:
    """The 95% CI of the paired before/after difference lies entirely on the harmful side of
    zero. Missing or non-finite bounds are no evidence of harm."""
    if key not in PROBE_HARMS or not isinstance(m, dict):
        return False
    sign = PROBE_HARMS[key][0]
    bound = m.get("ci_low" if sign > 0 else "ci_high")
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
        return False
    return bound > 0 if sign > 0 else bound < 0


def probe_harms(result: StrategyResult) -> list[str]:
    """What got significantly worse after this fine-tune, as sentences."""
    probes = result.details.get("probes") if isinstance(result.details, dict) else None
    harms = []
    for key, (_, label) in PROBE_HARMS.items():
        m = (probes or {}).get(key)
        if probe_is_harmful(key, m):
            harms.append(
                f"{label} went from {m['before']:.2f} to {m['after']:.2f} ({m['diff']:+.2f},"
                f" 95% CI {m['ci_low']:+.2f} to {m['ci_high']:+.2f})"
            )
    return harms


def _probe_reasons(
    results: Sequence[StrategyResult],
    recommended: StrategyResult,
    winners: list[StrategyResult],
    preferred: list[StrategyResult],
) -> list[str]:
    """One sentence per fine-tune whose probes got significantly worse: never silent."""
    reasons = []
    for r in results:
        harms = probe_harms(r)
        if r.kind != FINE_TUNING or not harms:
            continue
        said = f"After fine-tuning, {r.name}'s {'; '.join(harms)}."
        if r is recommended:
            said += (
                " It is recommended anyway because nothing else reaches its quality: use it only"
                " for this task, and keep retrieval or the base model for open questions."
            )
        elif r in winners and r not in preferred:
            said += f" That is why {recommended.name} is recommended instead."
        reasons.append(said)
    return reasons


def _break_even_reasons(
    results: Sequence[StrategyResult], recommended: StrategyResult, costs: CostReport | None
) -> list[str]:
    """When the one-off training cost of the leading fine-tune is paid back, if ever."""
    found = costs.break_evens(results, recommended.name) if costs is not None else []
    if costs is None or not found:
        return []
    scores = {r.name: r.quality.score for r in results}
    pick = next((b for b in found if b.strategy == recommended.name), None)
    b = pick or max(found, key=lambda b: scores[b.strategy])
    cur = costs.prices.currency
    mine = costs.per_strategy[b.strategy]
    other = costs.per_strategy[b.versus]
    head = (
        f"Cost: {b.strategy} costs {money(mine.cost_per_1k_requests, cur)} per 1,000 requests"
        f" against {money(other.cost_per_1k_requests, cur)} for {b.versus}"
    )
    if b.requests is None:
        return [
            f"{head}, so its one-off training ({mine.training_seconds:.0f} s,"
            f" {money(b.training_cost, cur)}) is never paid back by cheaper requests."
        ]
    volume = costs.prices.requests_per_day
    when = (
        f", {b.days_at_volume:,.1f} days at your stated volume of {volume:,.0f} requests a day"
        if b.days_at_volume is not None
        else " (set cost.requests_per_day in task.yaml to turn this into days)"
    )
    return [
        f"{head}; its one-off training ({mine.training_seconds:.0f} s,"
        f" {money(b.training_cost, cur)}) pays off after {b.requests:,} requests{when}."
    ]
