"""The verdict: which strategy to use, whether to fine-tune, why, and what would change it.

The procedure is core/decision.py (rule out, leader, acceptable, cheapest); this module turns
results, costs, needs and evidence into its inputs, reads its outcome, and words it: the
headline, the reasons with their numbers, the drivers, the flips and the next steps. The report
and the CLI only show what is decided here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .cost import CostReport, Prices, cost_report, money
from .decision import (
    Decision,
    Option,
    Pairs,
    by_name,
    ceiling_flips,
    decide_steps,
    hard_reasons,
    without_harms,
)
from .evidence import Evidence, still_learning
from .needs import Needs
from .stats import BOOTSTRAP_SAMPLES, CONFIDENCE
from .types import StrategyResult, Verdict

LEVEL = f"{CONFIDENCE:.0%}"
# A gap this large between a strategy's score and the same answers scored leniently (contains,
# token F1) means the metric is hiding answers that are right but worded differently.
METRIC_GAP = 0.25

# Probe metrics (probes/metrics.py) whose significant change counts against a fine-tune:
# key -> (sign of a harmful change, what got worse). diff = after - before.
PROBE_HARMS = {
    "fabrication_rate": (1, "fabrication on unanswerable questions"),
    "knowledge_retained": (-1, "general knowledge (likelihood of the right answer)"),
    "in_domain_fabrication": (1, "confidently wrong answers to new task questions"),
}
# Changes worth saying that are no harm: the tuned model answers open questions in the
# format it was trained on ("forgetting": results written before the likelihood probe).
PROBE_FINDINGS = {
    "open_questions": (-1, "answers to open general questions"),
    "forgetting": (-1, "answers to open general questions"),
}


def probe_is_harmful(key: str, m: dict, table: dict | None = None) -> bool:
    """The 95% CI of the paired before/after difference lies entirely on the harmful side of
    zero. Missing or non-finite bounds are no evidence of harm."""
    table = PROBE_HARMS if table is None else table
    if key not in table or not isinstance(m, dict):
        return False
    sign = table[key][0]
    bound = m.get("ci_low" if sign > 0 else "ci_high")
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
        return False
    return bound > 0 if sign > 0 else bound < 0


def _probe_changes(result: StrategyResult, table: dict) -> list[str]:
    probes = result.details.get("probes") if isinstance(result.details, dict) else None
    found = []
    for key, (_, label) in table.items():
        m = (probes or {}).get(key)
        if probe_is_harmful(key, m, table):
            found.append(
                f"{label} went from {m['before']:.2f} to {m['after']:.2f} ({m['diff']:+.2f},"
                f" {LEVEL} CI {m['ci_low']:+.2f} to {m['ci_high']:+.2f})"
            )
    return found


# What a dedicated model (needs.dedicated: it serves only this task) may lose without harm.
DEDICATED_OK = ("knowledge_retained",)


def probe_harms(result: StrategyResult, dedicated: bool = False) -> list[str]:
    """What got significantly worse after this fine-tune, as phrases. Forgetting general
    knowledge is no harm to a model that will only ever serve this task."""
    if not result.trains:
        return []
    table = PROBE_HARMS
    if dedicated:
        table = {k: v for k, v in PROBE_HARMS.items() if k not in DEDICATED_OK}
    return _probe_changes(result, table)


def takes_over(probes: Any) -> bool:
    """Format takeover, decided once (the reasons and the report read it): open general
    questions answered significantly worse while the likelihood ranking did not drop — the
    model still knows, it answers in the task's format. A drop in both is forgetting, not a
    takeover. Results from before the likelihood probe: the open-question drop alone."""
    probes = probes if isinstance(probes, dict) else {}
    dropped = any(probe_is_harmful(k, probes.get(k), PROBE_FINDINGS) for k in PROBE_FINDINGS)
    forgot = probe_is_harmful("knowledge_retained", probes.get("knowledge_retained"))
    return dropped and not forgot


def format_takeover(result: StrategyResult) -> list[str]:
    if not result.trains or not isinstance(result.details, dict):
        return []
    if not takes_over(result.details.get("probes")):
        return []
    return _probe_changes(result, PROBE_FINDINGS)


# --- inputs of the procedure -------------------------------------------------------------


def option_for(r: StrategyResult, costs: CostReport, needs: Needs | None = None) -> Option:
    c = costs.per_strategy.get(r.name)
    unseen = r.details.get("unseen_answer_rows") if isinstance(r.details, dict) else None
    lookup = r.details.get("mode") == "nearest" and not r.uses_llm and isinstance(unseen, dict)
    return Option(
        name=r.name,
        score=r.quality.score,
        ci_low=r.quality.ci_low,
        ci_high=r.quality.ci_high,
        p50_ms=float(r.latency_ms.get("p50", 0.0)),
        p95_ms=float(r.latency_ms.get("p95", r.latency_ms.get("p50", 0.0))),
        cost_per_request=c.cost_per_1k_requests / 1000 if c else 0.0,
        training_cost=c.training_cost if c else 0.0,
        train_seconds=r.train_seconds,
        trains=r.trains,
        uses_llm=r.uses_llm,
        hosted=r.hosted,
        harms=tuple(probe_harms(r, dedicated=bool(needs and needs.dedicated))),
        lookup_unseen=float(unseen["score"]) if lookup and unseen else None,
        still_learning=r.trains and still_learning(r.details.get("training")),
        seed_scores=_seed_scores(r.details) if r.trains else (),
        latency_n=int(r.latency_ms.get("n", 0) or 0),
        p95_ci=_p95_ci(r.latency_ms),
    )


def _p95_ci(latency: dict[str, float]) -> tuple[float, float] | None:
    low, high = latency.get("p95_ci_low"), latency.get("p95_ci_high")
    if isinstance(low, int | float) and isinstance(high, int | float):
        return float(low), float(high)
    return None


def _seed_scores(details: Any) -> tuple[float, ...]:
    """A fine-tune's scores on its other seeds (seeds.py), when it was trained on more."""
    found = details.get("seed_scores") if isinstance(details, dict) else None
    if not isinstance(found, list):
        return ()
    return tuple(
        float(s["score"])
        for s in found
        if isinstance(s, dict) and isinstance(s.get("score"), int | float)
    )


def strongest_alternative(options: Sequence[Option], d: Decision) -> Option | None:
    """The one alternative (needs no training) fine-tuning is compared with, everywhere: the
    chosen strategy when it needs no training; else the most accurate acceptable one; else the
    most accurate one that meets the hard needs; else the most accurate one."""
    alts = sorted((o for o in options if not o.trains), key=lambda o: (-o.score, o.p50_ms, o.name))
    if not alts:
        return None
    names = by_name(alts)
    if d.chosen in names:
        return names[d.chosen]
    acceptable = [o for o in alts if o.name in d.acceptable]
    usable = [o for o in alts if o.name not in d.ruled_out]
    return (acceptable or usable or alts)[0]


def strongest_fine_tune(options: Sequence[Option], d: Decision) -> Option | None:
    tuned = sorted(
        (o for o in options if o.trains), key=lambda o: (-o.score, o.training_cost, o.name)
    )
    if not tuned:
        return None
    chosen = [o for o in tuned if o.name == d.chosen]
    ok = [o for o in tuned if o.name in d.acceptable]
    return (chosen or ok or tuned)[0]


# --- the decision ----------------------------------------------------------------------


@dataclass
class _Case:
    results: list[StrategyResult]
    options: list[Option]
    needs: Needs
    pairs: Pairs
    costs: CostReport
    evidence: Evidence
    d: Decision

    @property
    def named(self) -> dict[str, Option]:
        return by_name(self.options)

    @cached_property
    def ceiling(self) -> dict[str, float]:
        """Still-learning fine-tunes whose further training could change the decision (and
        their ceiling score): computed once, read by the verdict and its sentences."""
        return ceiling_flips(self.options, self.needs, self.pairs, self.evidence.unreachable)

    def result(self, name: str) -> StrategyResult:
        return next(r for r in self.results if r.name == name)

    def money(self, value: float) -> str:
        return money(value, self.costs.prices.currency)

    def per_1k(self, o: Option) -> str:
        return self.money(o.cost_per_request * 1000)


def decide(
    results: Sequence[StrategyResult],
    seed: int = 0,
    costs: CostReport | None = None,
    needs: Needs | None = None,
    evidence: Evidence | None = None,
    n_resamples: int = BOOTSTRAP_SAMPLES,
) -> Verdict:
    """The verdict on scored results (scores on the same clean test rows)."""
    if not results:
        raise ValueError("no strategy results to decide on")
    results = sorted(results, key=lambda r: r.name)
    needs = needs or Needs()
    evidence = evidence or Evidence()
    if costs is None:
        n = len(results[0].scores)
        costs = cost_report(results, n, None, Prices(requests_per_day=needs.requests_per_day))
    options = [option_for(r, costs, needs) for r in results]
    pairs = Pairs({r.name: r.scores for r in results}, n_resamples, seed)
    decision = decide_steps(options, needs, pairs)
    return _verdict(_Case(list(results), options, needs, pairs, costs, evidence, decision))


def _verdict(c: _Case) -> Verdict:
    from . import reasons  # the wording lives apart from the procedure

    d = c.d
    fine_tune, drivers = _fine_tune(c)
    flips = reasons.flips(c)
    best = min(c.options, key=lambda o: (-o.score, o.name))
    versus = strongest_alternative(c.options, d)
    status = "recommend" if d.chosen else "no_recommendation"
    verdict = Verdict(
        fine_tune=fine_tune,
        recommended=d.chosen,
        reasons=[],
        best=best.name,
        not_worse_than_best=list(d.acceptable),
        status=status,
        drivers=drivers,
        indicative=c.evidence.quick,
        steps={
            **d.to_json(),
            "versus": versus.name if versus else None,
            "table": reasons.needs_table(c),
        },
        flips=flips,
        needs=c.needs.to_json(),
    )
    verdict.next_steps = reasons.next_steps(c, verdict)
    verdict.reasons = reasons.all_reasons(c, verdict)
    verdict.headline = reasons.headline(c, verdict)
    return verdict


def _fine_tune(c: _Case) -> tuple[bool | None, list[str]]:
    """(fine_tune, drivers). None: undecided — nothing usable, only fine-tunes run (nothing
    to compare one with), or a fine-tune that could change the verdict was still learning."""
    d, named = c.d, c.named
    tuned = [o for o in c.options if o.trains]
    alts = [o for o in c.options if not o.trains]
    if d.chosen is None or not alts:
        return None, []
    if not tuned:  # the chosen strategy is no fine-tune; the reasons say none was run
        return False, ["not_run"]
    chosen = named[d.chosen]
    if chosen.trains:
        return True, _drivers_for(c, chosen)
    if _learning_could_change(c):
        return None, ["still_learning"]
    return False, _drivers_against(c)


def _learning_could_change(c: _Case) -> bool:
    """A still-learning fine-tune that, trained further up to its ceiling, would be chosen."""
    return bool(c.ceiling)


def _alts_meeting_hard_needs(c: _Case) -> list[Option]:
    return [o for o in c.options if not o.trains and not hard_reasons(o, c.needs)]


def _drivers_for(c: _Case, t: Option) -> list[str]:
    """Why fine-tuning wins: quality, cost at the volume, latency, control."""
    drivers = []
    alts = _alts_meeting_hard_needs(c)
    if alts and all(c.pairs.diff(t.name, a.name).significantly_above for a in alts):
        drivers.append("quality")
    relax = {
        "control": {"self_hosted": False} if c.needs.self_hosted else None,
        "latency": {"latency_p95_ms": None} if c.needs.latency_p95_ms is not None else None,
    }
    for name, change in relax.items():
        if change and not _trains(c, decide_steps(c.options, c.needs.relaxed(**change), c.pairs)):
            drivers.append(name)
    if c.needs.requests is not None and any(not c.named[n].trains for n in c.d.preferred):
        drivers.append("cost")
    if not drivers:
        drivers.append("only_usable")
    return drivers


def _drivers_against(c: _Case) -> list[str]:
    """Why not: a fine-tune tied but costs more (needs no training / at your volume / the task
    changes too often), was worse, or broke a need."""
    d, why = c.d, []
    tuned = [o for o in c.options if o.trains]
    if any(o.name in d.acceptable for o in tuned):
        if c.needs.changes_per_year > 0 and _trains(
            c, decide_steps(c.options, c.needs.relaxed(changes_per_year=0.0), c.pairs)
        ):
            why.append("changes")
        if _trains(c, decide_steps(without_harms(c.options), c.needs, c.pairs)):
            why.append("harms")  # as good and cheaper at your needs, but it was harmed
        else:
            why.append("cost" if c.needs.requests is not None else "no_training")
    elif any(hard_reasons(o, c.needs) for o in tuned) and all(
        hard_reasons(o, c.needs) for o in tuned
    ):
        why.append("needs")
    else:
        why.append("quality")
    return why


def _trains(c: _Case, d: Decision) -> bool:
    return d.chosen is not None and c.named[d.chosen].trains


# --- reading a verdict back from results.json -------------------------------------------


def headline_of(results: dict) -> str:
    """The verdict's own headline; results written before schema 2 get the sentence they were
    shown with, marked as older."""
    verdict = results.get("verdict") if isinstance(results, dict) else None
    if isinstance(verdict, dict) and isinstance(verdict.get("headline"), str):
        return verdict["headline"]
    return _legacy_headline(
        verdict, results.get("strategies") if isinstance(results, dict) else None
    )


def _legacy_headline(verdict: dict | None, strategies: list | None) -> str:
    """Schema 1 had no headline: the report computed it like this."""
    if not isinstance(verdict, dict) or not verdict.get("recommended"):
        return "No verdict: no strategy produced results"
    name = verdict["recommended"]
    rows = [s for s in strategies or [] if isinstance(s, dict)]
    scores = [(s.get("quality") or {}).get("score") for s in rows]
    if scores and all(isinstance(x, int | float) and x <= 0 for x in scores):
        return "No verdict: no strategy got a single test example right (older results)"
    if verdict.get("fine_tune"):
        return f"Verdict: fine-tune — use {name} (older results)"
    if {s.get("kind") for s in rows} == {"fine-tuning"}:
        return (
            "No verdict on fine-tuning: only fine-tunes were run — the best is"
            f" {name} (older results)"
        )
    return f"Verdict: don't fine-tune — use {name} (older results)"
