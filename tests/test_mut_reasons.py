"""Every sentence of the verdict (core/reasons.py), pinned by value in one scenario per branch:
why fine-tune wins or not, what would flip it, what the probes, the data and the metric say,
the next steps and the needs table (issue 22: the wording `make mutate` found unchecked).

Costs: prices of 3,600 USD a machine hour make one second cost 1 USD, so with 30 test rows
`eval_seconds=30` is 1 USD a request and `train_seconds` is the training cost in USD, exactly.
"""

from __future__ import annotations

import dataclasses

import pytest

from shouldtune.core.cost import Prices, cost_report
from shouldtune.core.evidence import Evidence
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult, Traits
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

N = 30
HOSTED = Traits(hosted=True)
LEARNING = {"training": {"still_learning": True}}


def result(name: str, scores: list[float], kind: str = "prompting", **kw) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(scores)
    p50 = kw.pop("p50", 100.0)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi, len(scores)),
        latency_ms={"p50": p50, "p95": kw.pop("p95", p50 * 1.5)},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=kw.pop("train_seconds", 0.0),
        eval_seconds=kw.pop("eval_seconds", 3.0),
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
        details=kw.pop("details", {}),
        **kw,
    )


def tune(name: str, scores: list[float], train_seconds: float = 10.0, **kw) -> StrategyResult:
    return result(name, scores, kind="fine-tuning", train_seconds=train_seconds, **kw)


def ones(k: int, n: int = N) -> list[float]:
    """k right answers, then n - k wrong ones."""
    return [1.0] * k + [0.0] * (n - k)


def verdict(results, needs: Needs | None = None, evidence: Evidence | None = None, **prices):
    """decide() at 1 USD a second (or the given prices), volume from the needs."""
    needs = needs or Needs()
    costs = cost_report(
        results,
        len(results[0].scores),
        None,
        Prices(**{"per_hour": 3600.0, "requests_per_day": needs.requests_per_day, **prices}),
    )
    return decide(results, costs=costs, needs=needs, evidence=evidence, n_resamples=400)


def line(v, start: str) -> str:
    """The one reason that starts so."""
    (found,) = [r for r in v.reasons if r.startswith(start)]
    return found


HALF = [1.0, 0.0] * 15  # 0.500
HALF_PLUS = [1.0, 1.0] + [1.0, 0.0] * 14  # 0.533: one more right, not significantly better


def tied(train_seconds: float = 10.0, **kw) -> list[StrategyResult]:
    """few_shot and lora tie on quality; few_shot costs 1 USD a request, lora 0.10 USD and
    `train_seconds` USD once; zero_shot gets nothing right."""
    return [
        result("zero_shot", ones(0)),
        result("few_shot", HALF, p50=300, eval_seconds=30.0),
        tune("lora", HALF_PLUS, train_seconds=train_seconds, eval_seconds=3.0, **kw),
    ]


def clear_win(train_seconds: float, needs: Needs):
    """lora (28/30, 0.50 USD a request) clearly beats few_shot (12/30, 1 USD a request)."""
    rs = [
        result("few_shot", ones(12), eval_seconds=30.0),
        tune("lora", ones(28), train_seconds=train_seconds, eval_seconds=15.0),
    ]
    return verdict(rs, needs=needs)


LOST = {"before": 1.0, "after": 0.83, "diff": -0.17, "ci_low": -0.27, "ci_high": -0.08}
FAB = {"before": 0.2, "after": 0.6, "diff": 0.4, "ci_low": 0.2, "ci_high": 0.6}
OPEN = {"before": 0.9, "after": 0.3, "diff": -0.6, "ci_low": -0.8, "ci_high": -0.4}
# More fabrication and less general knowledge (harms), open questions answered in the trained
# format (a finding).
PROBES = {"probes": {"knowledge_retained": LOST, "fabrication_rate": FAB, "open_questions": OPEN}}


# --- scenarios (each list read and checked against its numbers) -----------------------------


def test_a_harm_keeps_a_tied_cheaper_fine_tune_out_and_says_why():
    """lora ties few_shot and is far cheaper at 100 a day, but fabricates more and lost general
    knowledge. (reasons[2], the choice line, is pinned in tests/test_verdict_wording.py.)
    """
    v = verdict(tied(details=PROBES), needs=Needs(requests_per_day=100))
    assert v.headline == "Verdict: don't fine-tune — use few_shot"
    assert v.drivers == [
        "harms",
    ]
    assert v.reasons[:2] == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
    ]
    assert v.reasons[3:] == [
        (
            "Do not fine-tune: lora is as good as few_shot here and would otherwise be chosen"
            " (lora: 10 s of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50;"
            " few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms p50), but the"
            " probes found a harm after fine-tuning that few_shot does not have (below):"
            " weigh it, and if the tuned model would only ever serve this task, a forgetting"
            " harm may not matter to you."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests, 0.1 days at"
            " your stated volume of 100 requests a day."
        ),
        ("Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."),
        (
            "After fine-tuning, lora's fabrication on unanswerable questions went from 0.20"
            " to 0.60 (+0.40, 95% CI +0.20 to +0.60); general knowledge (likelihood of the"
            " right answer) went from 1.00 to 0.83 (-0.17, 95% CI -0.27 to -0.08). That is"
            " why few_shot is recommended instead."
        ),
        (
            "Format takeover: lora's answers to open general questions went from 0.90 to 0.30"
            " (-0.60, 95% CI -0.80 to -0.40) — it answers in the trained format instead:"
            " serve it only for this task."
        ),
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 450.0,
            "to": "lora",
            "sentence": (
                "Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."
            ),
        },
    ]


def test_a_harm_without_volume_is_moot():
    """Without a volume few_shot is chosen for needing no training: the harm is stated, not
    blamed. (reasons[3] is pinned in tests/test_verdict_wording.py.)
    """
    v = verdict(tied(details=PROBES))
    assert v.drivers == [
        "no_training",
    ]
    assert v.reasons[:3] == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "Recommended few_shot: 0.500 is not significantly below the leader lora (0.533;"
            " paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It needs no"
            " training: few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms p50;"
            " lora: 10 s of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50."
        ),
    ]
    assert v.reasons[4:] == [
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests (set"
            " needs.requests_per_day to weigh this in the verdict)."
        ),
        ("Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."),
        (
            "After fine-tuning, lora's fabrication on unanswerable questions went from 0.20"
            " to 0.60 (+0.40, 95% CI +0.20 to +0.60); general knowledge (likelihood of the"
            " right answer) went from 1.00 to 0.83 (-0.17, 95% CI -0.27 to -0.08)."
        ),
        (
            "Format takeover: lora's answers to open general questions went from 0.90 to 0.30"
            " (-0.60, 95% CI -0.80 to -0.40) — it answers in the trained format instead:"
            " serve it only for this task."
        ),
    ]


def test_a_dedicated_model_may_forget():
    """needs.dedicated: lost general knowledge is noted, not held against lora."""
    forgot = {"probes": {"knowledge_retained": LOST}}
    v = verdict(tied(details=forgot), needs=Needs(requests_per_day=100, dedicated=True))
    assert v.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "Recommended lora: the most accurate strategy that meets your needs, and the"
            " cheapest of those it is not significantly better than (few_shot)."
        ),
        (
            "Fine-tune (cost at your volume): at your volume its total cost is the lowest of"
            " the strategies that are as good."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests, 0.1 days at"
            " your stated volume of 100 requests a day."
        ),
        (
            "Volume: up to 0.03 requests a day few_shot costs least over 365 days, above it"
            " lora (you: 100); as good in quality: few_shot, lora."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "Change: if the task changed more than 3,284.0 times a year (each change retrains"
            " lora), few_shot would cost less."
        ),
        (
            "After fine-tuning, lora's general knowledge (likelihood of the right answer)"
            " went from 1.00 to 0.83 (-0.17, 95% CI -0.27 to -0.08): not held against it,"
            " since a tuned model would serve only this task (needs.dedicated)."
        ),
    ]


def test_a_harmed_fine_tune_far_ahead_is_recommended_anyway():
    """lora 29/30 with harms against few_shot 10/30: nothing as good is free of them."""
    v = verdict([result("few_shot", ones(10)), tune("lora", ones(29), details=PROBES)])
    assert v.headline == "Verdict: fine-tune — use lora (driver: quality)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.967 exact_match (95% CI 0.900-1.000) on 30 held-out"
            " examples."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is few_shot (0.333; paired difference +0.633,"
            " 95% CI +0.433 to +0.800)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "After fine-tuning, lora's fabrication on unanswerable questions went from 0.20"
            " to 0.60 (+0.40, 95% CI +0.20 to +0.60); general knowledge (likelihood of the"
            " right answer) went from 1.00 to 0.83 (-0.17, 95% CI -0.27 to -0.08). It is"
            " recommended anyway because nothing as good is free of it: use it only for this"
            " task, and keep retrieval or the base model for open questions."
        ),
        (
            "Format takeover: lora's answers to open general questions went from 0.90 to 0.30"
            " (-0.60, 95% CI -0.80 to -0.40) — it answers in the trained format instead:"
            " serve it only for this task."
        ),
        "Significantly worse than lora: few_shot (0.333).",
    ]


def test_only_fine_tunes_with_a_harm():
    """Only fine-tunes ran: nothing to weigh the harm against."""
    v = verdict(
        [tune("lora", ones(29), details=PROBES), tune("full", ones(20), train_seconds=50.0)]
    )
    assert v.headline == "No verdict on fine-tuning: only fine-tunes were run — the best is lora"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.967 exact_match (95% CI 0.900-1.000) on 30 held-out"
            " examples."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        "Only fine-tuned strategies were run: nothing to compare fine-tuning against.",
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "After fine-tuning, lora's fabrication on unanswerable questions went from 0.20"
            " to 0.60 (+0.40, 95% CI +0.20 to +0.60); general knowledge (likelihood of the"
            " right answer) went from 1.00 to 0.83 (-0.17, 95% CI -0.27 to -0.08). It is"
            " recommended anyway: only fine-tunes were run, nothing to weigh it against."
        ),
        (
            "Format takeover: lora's answers to open general questions went from 0.90 to 0.30"
            " (-0.60, 95% CI -0.80 to -0.40) — it answers in the trained format instead:"
            " serve it only for this task."
        ),
        "Significantly worse than lora: full (0.667).",
    ]


def test_fine_tune_wins_on_quality_and_says_what_each_change_of_the_task_costs():
    """lora is clearly better; the task changes twice a year at 1 request a day: each retraining
    costs 1 USD, and lora's cheaper requests (0.50 USD less, 182.50 USD a year) pay for (182.5
    - 1) / 1 = 181.5 of them.
    """
    v = clear_win(1.0, Needs(requests_per_day=1, changes_per_year=2))
    assert v.headline == "Verdict: fine-tune — use lora (driver: quality)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.933 exact_match (95% CI 0.833-1.000) on 30 held-out"
            " examples."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is few_shot (0.400; paired difference +0.533,"
            " 95% CI +0.366 to +0.700)."
        ),
        (
            "Your task changes 2 times a year: each change trains lora again (1 s, 1.00 USD a"
            " time), 2.0 more runs over 365 days (2.00 USD); few-shot and retrieval only"
            " change a prompt or an index. Retraining stops paying for itself above 181.5"
            " changes a year: beyond that few_shot (0.400) would cost less in all."
        ),
        (
            "Cost: lora costs 500.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (1 s, 1.00 USD) pays off after 2 requests, 2.0 days at"
            " your stated volume of 1 requests a day."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        "Significantly worse than lora: few_shot (0.400).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
    ]
    assert v.next_steps == []


def test_stops_paying_below_one_change_a_year():
    """Training at 100 USD: the 182.50 USD saved a year pay the first run and 0.825 more."""
    v = clear_win(100.0, Needs(requests_per_day=1, changes_per_year=2))
    assert line(v, "Your task changes") == (
        "Your task changes 2 times a year: each change trains lora again (100 s, 100.00"
        " USD a time), 2.0 more runs over 365 days (200.00 USD); few-shot and retrieval"
        " only change a prompt or an index. Retraining stops paying for itself above 0.8"
        " changes a year: beyond that few_shot (0.400) would cost less in all."
    )


def test_retraining_never_pays_when_the_savings_only_cover_the_first_run():
    """Training at 182.50 USD: the requests save exactly one run a year (k = 0), never a
    retraining.
    """
    v = clear_win(182.5, Needs(requests_per_day=1, changes_per_year=2))
    assert line(v, "Your task changes") == (
        "Your task changes 2 times a year: each change trains lora again (182 s, 182.50"
        " USD a time), 2.0 more runs over 365 days (365.00 USD); few-shot and retrieval"
        " only change a prompt or an index. Retraining never pays for itself in money"
        " against few_shot: its cheaper requests do not cover even one training run at"
        " your volume."
    )


def test_free_training_or_no_volume_says_nothing_about_when_retraining_stops_paying():
    """No training cost (nothing to divide by) or no stated volume: the changes line alone."""
    v = clear_win(0.0, Needs(requests_per_day=1, changes_per_year=2))
    none = clear_win(1.0, Needs(changes_per_year=0.5))
    assert line(v, "Your task changes") == (
        "Your task changes 2 times a year: each change trains lora again (0 s, 0 USD a"
        " time), 2.0 more runs over 365 days (0 USD); few-shot and retrieval only change"
        " a prompt or an index."
    )
    assert line(none, "Your task changes") == (
        "Your task changes 0.5 times a year: each change trains lora again (1 s, 1.00 USD"
        " a time), 0.5 more runs over 365 days (0.500 USD); few-shot and retrieval only"
        " change a prompt or an index."
    )
    assert line(none, "Cost:") == (
        "Cost: lora costs 500.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
        " its one-off training (1 s, 1.00 USD) pays off after 2 requests (set"
        " needs.requests_per_day to weigh this in the verdict)."
    )


def test_half_a_change_a_year_still_counts():
    """changes_per_year 0.5 is a change rate like any other (not rounded to none)."""
    v = clear_win(1.0, Needs(requests_per_day=1, changes_per_year=0.5))
    assert line(v, "Your task changes") == (
        "Your task changes 0.5 times a year: each change trains lora again (1 s, 1.00 USD"
        " a time), 0.5 more runs over 365 days (0.500 USD); few-shot and retrieval only"
        " change a prompt or an index. Retraining stops paying for itself above 181.5"
        " changes a year: beyond that few_shot (0.400) would cost less in all."
    )


def test_fine_tune_wins_on_cost_and_says_at_what_change_rate_it_would_not():
    """Tied at 100 requests a day: lora's total 10 + 365 x 100 x 0.10 = 3,660 USD against
    few_shot's 36,500; it stays cheaper up to (36,500 - 3,660) / 10 = 3,284 changes a year.
    """
    v = verdict(tied(), needs=Needs(requests_per_day=100))
    assert v.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "Recommended lora: the most accurate strategy that meets your needs, and the"
            " cheapest of those it is not significantly better than (few_shot)."
        ),
        (
            "Fine-tune (cost at your volume): at your volume its total cost is the lowest of"
            " the strategies that are as good."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests, 0.1 days at"
            " your stated volume of 100 requests a day."
        ),
        (
            "Volume: up to 0.03 requests a day few_shot costs least over 365 days, above it"
            " lora (you: 100); as good in quality: few_shot, lora."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "Change: if the task changed more than 3,284.0 times a year (each change retrains"
            " lora), few_shot would cost less."
        ),
    ]
    assert v.flips == [
        {
            "need": "requests_per_day",
            "now": 100,
            "at": 0.03,
            "below": "few_shot",
            "above": "lora",
            "sentence": (
                "Volume: up to 0.03 requests a day few_shot costs least over 365 days, above it"
                " lora (you: 100); as good in quality: few_shot, lora."
            ),
        },
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
        {
            "need": "changes_per_year",
            "now": 0,
            "at": 3284.0,
            "to": "few_shot",
            "sentence": (
                "Change: if the task changed more than 3,284.0 times a year (each change retrains"
                " lora), few_shot would cost less."
            ),
        },
    ]


def test_a_cheap_or_free_training_run():
    """Training at 0.70 USD: the change flip still computed, to 2 decimals; at 0 USD no change
    rate flips it and the volume flip is gone (lora is cheapest at any volume).
    """
    v = verdict(tied(0.7), needs=Needs(requests_per_day=100))
    free = verdict(tied(0.0), needs=Needs(requests_per_day=100))
    assert v.flips[-1] == {
        "need": "changes_per_year",
        "now": 0,
        "at": 46927.57,
        "to": "few_shot",
        "sentence": (
            "Change: if the task changed more than 46,927.6 times a year (each change"
            " retrains lora), few_shot would cost less."
        ),
    }
    assert free.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
    ]


def test_fine_tune_significantly_worse_is_not_fine_tuned_for_quality():
    """lora 12/30 against few_shot 28/30."""
    v = verdict([result("few_shot", ones(28), p50=90), tune("lora", ones(12), p50=10)])
    assert v.headline == "Verdict: don't fine-tune — use few_shot"
    assert v.drivers == [
        "quality",
    ]
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.933 exact_match (95% CI 0.833-1.000) on 30"
            " held-out examples."
        ),
        "Recommended few_shot: the most accurate strategy that meets your needs.",
        (
            "Do not fine-tune: lora (0.400, 10 s of training) is not significantly better"
            " than few_shot (0.933; paired difference -0.533, 95% CI -0.700 to -0.366)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        ("Latency: with a p95 budget under 135 ms, lora would be chosen instead of few_shot."),
        "Significantly worse than few_shot: lora (0.400).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 135.0,
            "to": "lora",
            "sentence": (
                "Latency: with a p95 budget under 135 ms, lora would be chosen instead of few_shot."
            ),
        },
    ]


def test_tie_without_volume_needs_no_training_and_the_volume_flip_has_no_you():
    """No stated volume: the volume flip says where the cut is, without '(you: ...)'. (reasons[3]
    is pinned in tests/test_verdict_wording.py.)
    """
    v = verdict(tied())
    assert v.headline == "Verdict: don't fine-tune — use few_shot"
    assert v.drivers == [
        "no_training",
    ]
    assert v.reasons[:3] == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "Recommended few_shot: 0.500 is not significantly below the leader lora (0.533;"
            " paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It needs no"
            " training: few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms p50;"
            " lora: 10 s of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50."
        ),
    ]
    assert v.reasons[4:] == [
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests (set"
            " needs.requests_per_day to weigh this in the verdict)."
        ),
        (
            "Volume: up to 0.03 requests a day few_shot costs least over 365 days, above it"
            " lora; as good in quality: few_shot, lora."
        ),
        ("Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."),
    ]
    assert v.flips == [
        {
            "need": "requests_per_day",
            "now": None,
            "at": 0.03,
            "below": "few_shot",
            "above": "lora",
            "sentence": (
                "Volume: up to 0.03 requests a day few_shot costs least over 365 days, above it"
                " lora; as good in quality: few_shot, lora."
            ),
        },
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 450.0,
            "to": "lora",
            "sentence": (
                "Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."
            ),
        },
    ]


def test_frequent_changes_tip_a_tie_to_the_prompt():
    """At 1 request a day lora costs 10 x 53 + 36.50 = 566.50 USD with 52 retrainings, 46.50
    without, against few_shot's 365.
    """
    v = verdict(tied(), needs=Needs(requests_per_day=1, changes_per_year=52))
    assert v.headline == "Verdict: don't fine-tune — use few_shot"
    assert v.drivers == [
        "changes",
        "cost",
    ]
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "Recommended few_shot: 0.500 is not significantly below the leader lora (0.533;"
            " paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It is"
            " cheaper over 365 days at 1 requests a day: 365.00 USD in all against 566.50 USD"
            " (few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms p50; lora: 10 s"
            " of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50)."
        ),
        (
            "Your task changes 52 times a year: each change trains lora again (10 s, 10.00"
            " USD a time), 52.0 more runs over 365 days (520.00 USD); few-shot and retrieval"
            " only change a prompt or an index."
        ),
        (
            "Do not fine-tune: lora is as good as few_shot here, and at your volume few_shot"
            " costs less in all (few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms"
            " p50; lora: 10 s of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
            " its one-off training (10 s, 10.00 USD) pays off after 12 requests, 12.0 days at"
            " your stated volume of 1 requests a day."
        ),
        (
            "Volume: up to 1.6 requests a day few_shot costs least over 365 days, above it"
            " lora (you: 1); as good in quality: few_shot, lora."
        ),
        ("Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."),
        (
            "Change: if the task never changed, lora would be chosen; retraining at every"
            " change is what tips it."
        ),
    ]
    assert v.flips == [
        {
            "need": "requests_per_day",
            "now": 1,
            "at": 1.613,
            "below": "few_shot",
            "above": "lora",
            "sentence": (
                "Volume: up to 1.6 requests a day few_shot costs least over 365 days, above it"
                " lora (you: 1); as good in quality: few_shot, lora."
            ),
        },
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 450.0,
            "to": "lora",
            "sentence": (
                "Latency: with a p95 budget under 450 ms, lora would be chosen instead of few_shot."
            ),
        },
        {
            "need": "changes_per_year",
            "now": 52,
            "at": 0,
            "to": "lora",
            "sentence": (
                "Change: if the task never changed, lora would be chosen; retraining at every"
                " change is what tips it."
            ),
        },
    ]


def test_half_a_change_a_year_can_tip_it_too():
    """300 USD training: 336.50 USD without changes (cheaper than 365), 486.50 with half a
    retraining a year.
    """
    v = verdict(tied(300.0), needs=Needs(requests_per_day=1, changes_per_year=0.5))
    assert v.drivers == [
        "changes",
        "cost",
    ]
    assert v.flips[-1] == {
        "need": "changes_per_year",
        "now": 0.5,
        "at": 0,
        "to": "lora",
        "sentence": (
            "Change: if the task never changed, lora would be chosen; retraining at every"
            " change is what tips it."
        ),
    }


def test_two_drivers_are_named_in_the_headline():
    """lora beats zero_shot (the only alternative within budget) and ties few_shot, which is over
    it.
    """
    rs = [
        result("zero_shot", ones(8)),
        result("few_shot", HALF, p95=450),
        tune("lora", HALF_PLUS, p95=90),
    ]
    v = verdict(rs, needs=Needs(latency_p95_ms=300))
    assert v.headline == "Verdict: fine-tune — use lora (drivers: quality, latency)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        "Ruled out few_shot: p95 latency 450 ms is over the 300 ms budget.",
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is zero_shot (0.267; paired difference +0.267,"
            " 95% CI +0.066 to +0.500)."
        ),
        ("Fine-tune (latency): the alternatives as good as it are over your latency budget."),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for zero_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        "Latency: without your 300 ms budget, few_shot would be chosen.",
        ("Latency: with a p95 budget under 90 ms, nothing usable would be chosen instead of lora."),
        "Significantly worse than lora: zero_shot (0.267).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": None,
            "to": "few_shot",
            "sentence": "Latency: without your 300 ms budget, few_shot would be chosen.",
        },
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": 90.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 90 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
    ]


def test_control_drives_a_fine_tune_when_the_tied_prompt_is_hosted():
    """few_shot ties lora but runs on a hosted model; nothing may leave the machine."""
    rs = [result("few_shot", HALF, traits=HOSTED), tune("lora", HALF_PLUS)]
    v = verdict(rs, needs=Needs(self_hosted=True))
    assert v.headline == "Verdict: fine-tune — use lora (driver: control)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.533 exact_match (95% CI 0.367-0.700) on 30 held-out"
            " examples."
        ),
        (
            "Ruled out few_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted)."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (control): the alternatives as good as it run on a hosted model, and"
            " nothing may leave this machine."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        "Control: without self_hosted, few_shot would be chosen.",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
        {
            "need": "self_hosted",
            "now": True,
            "at": False,
            "to": "few_shot",
            "sentence": "Control: without self_hosted, few_shot would be chosen.",
        },
    ]


def test_a_hosted_best_says_what_self_hosted_would_choose():
    """Without self_hosted the hosted few_shot wins; with it rag would; alone, nothing would."""
    rs = [
        result("few_shot", ones(27), traits=HOSTED),
        result("rag", ones(20), kind="retrieval"),
        result("zero_shot", ones(12)),
    ]
    v = verdict(rs)
    alone = verdict(rs[:1])
    behind = verdict(
        [result("few_shot", ones(10), traits=HOSTED), result("rag", ones(27), kind="retrieval")]
    )
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.900 exact_match (95% CI 0.767-1.000) on 30"
            " held-out examples."
        ),
        "Recommended few_shot: the most accurate strategy that meets your needs.",
        "No fine-tuned strategy was run, so this verdict says nothing about fine-tuning.",
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of few_shot."
        ),
        "Control: with self_hosted, rag would be chosen.",
        "Significantly worse than few_shot: rag (0.667), zero_shot (0.400).",
    ]
    assert v.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of few_shot."
            ),
        },
        {
            "need": "self_hosted",
            "now": False,
            "at": True,
            "to": "rag",
            "sentence": "Control: with self_hosted, rag would be chosen.",
        },
    ]
    assert alone.flips[-1] == {
        "need": "self_hosted",
        "now": False,
        "at": True,
        "to": None,
        "sentence": "Control: with self_hosted, nothing usable would be chosen.",
    }
    assert behind.flips == [
        {
            "need": "latency_p95_ms",
            "now": None,
            "at": 150.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
                " of rag."
            ),
        },
    ]


def test_only_usable_strategy_names_the_alternative_it_does_not_beat():
    """few_shot's CI top (0.567) is under the 0.6 floor; lora's is not, though lora is not
    significantly better.
    """
    v = verdict(
        [result("few_shot", ones(12)), tune("lora", ones(15))], needs=Needs(min_quality=0.6)
    )
    assert v.headline == "Verdict: fine-tune — use lora (driver: the only usable strategy)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.500 exact_match (95% CI 0.333-0.667) on 30 held-out"
            " examples."
        ),
        (
            "Ruled out few_shot: even the top of its 95% CI (0.567) is below your floor of"
            " 0.600 (min_quality)."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (the only usable strategy): it is the only usable strategy, though not"
            " significantly better than few_shot (0.400; paired difference +0.100, 95% CI"
            " +0.000 to +0.200)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
    ]


def test_no_llm_needed_compares_with_the_best_llm_strategy():
    """The baseline is cheaper and not significantly worse than few_shot, the best of two LLM
    strategies.
    """
    rs = [
        result("baseline", ones(20), kind="baseline", p50=2, eval_seconds=0.3),
        result("few_shot", ones(21), p50=50),
        result("zero_shot", ones(15), p50=20),
    ]
    v = verdict(rs)
    assert v.headline == "Verdict: use baseline — no LLM needed (no fine-tune was run)"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.700 exact_match (95% CI 0.533-0.867) on 30"
            " held-out examples."
        ),
        (
            "Recommended baseline: 0.667 is not significantly below the leader few_shot"
            " (0.700; paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It"
            " is faster and cheaper to run: baseline: no training, 10.00 USD per 1,000"
            " requests, 2 ms p50; few_shot: no training, 100.00 USD per 1,000 requests, 50 ms p50."
        ),
        (
            "You don't need an LLM for this: baseline (0.667) needs no language model, and"
            " the best LLM strategy, few_shot (0.700), is not significantly better than it"
            " (paired difference +0.033, 95% CI +0.000 to +0.100)."
        ),
        "No fine-tuned strategy was run, so this verdict says nothing about fine-tuning.",
        (
            "Latency: with a p95 budget under 3 ms, nothing usable would be chosen instead of"
            " baseline."
        ),
        "Significantly worse than few_shot: zero_shot (0.500).",
    ]


def test_still_learning_fine_tunes_keep_it_undecided_and_say_what_to_do():
    """A --quick run: lora and full still learning, layers done but its learning curve still
    rising.
    """
    rs = [
        result("few_shot_knn", ones(12)),
        result("baseline", ones(0), kind="baseline"),
        tune("lora", ones(2), details={**LEARNING, "learning_curve_trend": "rising"}),
        tune("full", ones(3), details=LEARNING),
        tune(
            "layers",
            ones(4),
            details={
                "training": {"still_learning": False},
                "learning_curve_trend": "probably_rising",
            },
        ),
    ]
    v = verdict(rs, evidence=Evidence(quick=True))
    rising = verdict(
        [
            result("few_shot_knn", ones(12), details={"learning_curve_trend": "rising"}),
            tune("lora", ones(2), details={**LEARNING, "learning_curve_trend": "flat"}),
        ]
    )
    assert v.headline == (
        "Indicative (--quick): Use few_shot_knn for now — undecided on fine-tuning: full and"
        " lora were still learning"
    )
    assert v.reasons == [
        (
            "Best quality: few_shot_knn scored 0.400 exact_match (95% CI 0.233-0.567) on 30"
            " held-out examples."
        ),
        (
            "Indicative only: a --quick run (at most 30 test rows, one epoch, no"
            " learning-rate sweep) is a first look; run without --quick before you decide."
        ),
        "Ruled out baseline: not usable: it got no test example right.",
        (
            "Ruled out full: not usable: its 95% CI (0.000-0.200) reaches 0, so it cannot be"
            " told from getting nothing right."
        ),
        (
            "Ruled out lora: not usable: its 95% CI (0.000-0.167) reaches 0, so it cannot be"
            " told from getting nothing right."
        ),
        "Recommended few_shot_knn: the most accurate strategy that meets your needs.",
        (
            "Undecided on fine-tuning: full (0.100) was still learning when its training"
            " ended (dev loss still falling at its last evaluation), so its score is no"
            " evidence against fine-tuning; train it longer before deciding."
        ),
        (
            "Undecided on fine-tuning: lora (0.067) was still learning when its training"
            " ended (dev loss still falling at its last evaluation), so its score is no"
            " evidence against fine-tuning; train it longer before deciding."
        ),
        (
            "Cost: layers costs 100.00 USD per 1,000 requests against 100.00 USD for"
            " few_shot_knn, so its one-off training (10 s, 10.00 USD) is never paid back by"
            " cheaper requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of few_shot_knn."
        ),
        "Significantly worse than few_shot_knn: layers (0.133).",
    ]
    assert v.next_steps == [
        "run without --quick (every test row, full training, learning-rate sweep)",
        "train full longer (raise options.full.epochs): its dev loss was still falling",
        "train lora longer (raise options.lora.epochs): its dev loss was still falling",
        "add training data: layers's learning curve is still rising",
        "add training data: lora's learning curve is still rising",
    ]
    assert (
        rising.headline
        == "Use few_shot_knn for now — undecided on fine-tuning: lora was still learning"
    )
    assert rising.next_steps == [
        "train lora longer (raise options.lora.epochs): its dev loss was still falling",
    ]


def test_no_recommendation_says_the_floor_and_the_next_steps():
    """Nothing reaches min_quality 0.9; with no floor, nothing got a single answer right."""
    v = verdict(
        [result("few_shot", ones(12)), result("zero_shot", ones(9))], needs=Needs(min_quality=0.9)
    )
    nothing = verdict([result("baseline", ones(0), kind="baseline"), result("zero_shot", ones(0))])
    assert v.headline == "No recommendation yet: no strategy is usable"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.400 exact_match (95% CI 0.233-0.567) on 30"
            " held-out examples."
        ),
        (
            "Ruled out few_shot: even the top of its 95% CI (0.567) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "Ruled out zero_shot: even the top of its 95% CI (0.467) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "No recommendation: no strategy clears the usability floor (min_quality 0.900)."
            " Next: try a larger model (--model PATH), somebody else's fine-tune"
            " (--candidate), or a served model (--backend-url)."
        ),
    ]
    assert v.flips == []
    assert v.next_steps == [
        (
            "try a larger model (--model PATH), somebody else's fine-tune (--candidate), or a"
            " served model (--backend-url)"
        ),
    ]
    assert nothing.reasons == [
        (
            "Best quality: baseline scored 0.000 exact_match (95% CI 0.000-0.000) on 30"
            " held-out examples."
        ),
        "Ruled out baseline: not usable: it got no test example right.",
        "Ruled out zero_shot: not usable: it got no test example right.",
        (
            "No recommendation: no strategy clears the usability floor. Next: try a larger"
            " model (--model PATH), somebody else's fine-tune (--candidate), or a served"
            " model (--backend-url)."
        ),
    ]


def test_a_metric_gap_of_exactly_0_25_is_a_next_step():
    """rag 2/8 right by exact match, 4/8 contain the answer: a gap of exactly METRIC_GAP."""
    rag = result("rag", [1.0, 1.0] + [0.0] * 6)
    rag.lenient = {"contains": 0.5}
    v = verdict([rag, result("zero_shot", [0.0] * 8)], needs=Needs(min_quality=0.9))
    assert v.reasons == [
        ("Best quality: rag scored 0.250 exact_match (95% CI 0.000-0.625) on 8 held-out examples."),
        (
            "Ruled out rag: even the top of its 95% CI (0.625) is below your floor of 0.900"
            " (min_quality)."
        ),
        (
            "Ruled out zero_shot: even the top of its 95% CI (0.000) is below your floor of"
            " 0.900 (min_quality)."
        ),
        (
            "No recommendation: no strategy clears the usability floor (min_quality 0.900)."
            " Next: try a larger model (--model PATH), somebody else's fine-tune"
            " (--candidate), or a served model (--backend-url); check the metric: some"
            " answers contain the expected one (rescore --metric contains)."
        ),
        (
            "Metric check: rag scores 0.25 exact_match, but 0.50 of its answers contain the"
            " expected answer — right but worded differently? Consider metric: contains or a"
            " stop string (shouldtune rescore RUN --metric contains)."
        ),
    ]
    assert v.next_steps == [
        (
            "try a larger model (--model PATH), somebody else's fine-tune (--candidate), or a"
            " served model (--backend-url)"
        ),
        ("check the metric: some answers contain the expected one (rescore --metric contains)"),
    ]


def test_a_quick_run_that_decides_is_indicative_with_no_next_steps():
    """--quick and lora clearly better: a decision, flagged as indicative."""
    v = verdict(
        [result("few_shot", ones(10)), tune("lora", ones(29))], evidence=Evidence(quick=True)
    )
    assert v.headline == "Indicative (--quick): Verdict: fine-tune — use lora (driver: quality)"
    assert v.reasons == [
        (
            "Best quality: lora scored 0.967 exact_match (95% CI 0.900-1.000) on 30 held-out"
            " examples."
        ),
        (
            "Indicative only: a --quick run (at most 30 test rows, one epoch, no"
            " learning-rate sweep) is a first look; run without --quick before you decide."
        ),
        "Recommended lora: the most accurate strategy that meets your needs.",
        (
            "Fine-tune (quality): it is significantly better than every alternative that"
            " meets your needs; the strongest is few_shot (0.333; paired difference +0.633,"
            " 95% CI +0.433 to +0.800)."
        ),
        (
            "Cost: lora costs 100.00 USD per 1,000 requests against 100.00 USD for few_shot,"
            " so its one-off training (10 s, 10.00 USD) is never paid back by cheaper"
            " requests."
        ),
        (
            "Latency: with a p95 budget under 150 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        "Significantly worse than lora: few_shot (0.333).",
    ]
    assert v.next_steps == []


def test_retrieval_check_per_share_and_score():
    """Under half the answers retrieved: retrieval failed; half or more and reading at least half
    right: both worked; else the model did not use it.
    """

    def rag(name, share, hit=None):
        diag = {"answer_in_context": share}
        if hit is not None:
            diag["score_when_in_context"] = hit
        return result(name, ones(20), kind="retrieval", details={"retrieval": diag})

    rs = [
        rag("rag_0", "n/a"),
        rag("rag_a", 0.3, 0.8),
        rag("rag_b", 0.5, 0.5),
        rag("rag_c", 1.0, 0.9),
        rag("rag_d", 0.7),
        rag("rag_e", 0.8, 0.2),
        result("few_shot", ones(20)),
    ]
    v = verdict(rs)
    assert [r for r in v.reasons if r.startswith("Retrieval check")] == [
        (
            "Retrieval check: for rag_a the expected answer was in the retrieved context for"
            " 30% of the questions, scoring 0.80 on those rows: retrieval mostly failed: the"
            " answer was not in the context it read (or the answer is composed from the"
            " documents rather than written in them)."
        ),
        (
            "Retrieval check: for rag_b the expected answer was in the retrieved context for"
            " 50% of the questions, scoring 0.50 on those rows: retrieval and reading both"
            " worked."
        ),
        (
            "Retrieval check: for rag_c the expected answer was in the retrieved context for"
            " 100% of the questions, scoring 0.90 on those rows: retrieval and reading both"
            " worked."
        ),
        (
            "Retrieval check: for rag_d the expected answer was in the retrieved context for"
            " 70% of the questions: retrieval and reading both worked."
        ),
        (
            "Retrieval check: for rag_e the expected answer was in the retrieved context for"
            " 80% of the questions, scoring 0.20 on those rows: retrieval found the answer;"
            " the model did not use it."
        ),
    ]
    assert v.reasons[1] == (
        "Recommended few_shot: the most accurate strategy that meets your needs, and the"
        " cheapest of those it is not significantly better than (rag_0, rag_a, rag_b,"
        " rag_c, rag_d, rag_e)."
    )


def test_the_metric_check_skips_a_contains_metric_and_goes_on():
    """a_contains is scored by contains already: no note for it, but one for b_gap after it."""
    a = result("a_contains", ones(20))
    a.quality = dataclasses.replace(a.quality, metric="contains")
    a.lenient = {"contains": 0.99}
    b = result("b_gap", ones(15))
    b.lenient = {"contains": 0.9}
    v = verdict([a, b])
    assert [r for r in v.reasons if r.startswith("Metric check")] == [
        (
            "Metric check: b_gap scores 0.50 exact_match, but 0.90 of its answers contain the"
            " expected answer — right but worded differently? Consider metric: contains or a"
            " stop string (shouldtune rescore RUN --metric contains)."
        ),
    ]


def test_training_data_warnings():
    """The documents contradict 30% of the training answers and SliCK warns; the SliCK warning is
    about fine-tuning, so only when one ran.
    """
    ev = Evidence(
        docs_warning="3 of 10 training answers are not in the documents.",
        docs_share=0.3,
        knowledge_warning="Most training facts are new to the model.",
        n_test=34,
        n_seen=4,
    )
    v = verdict([result("few_shot", ones(20)), tune("lora", ones(20))], evidence=ev)
    plain = verdict(
        [result("few_shot", ones(20))],
        evidence=Evidence(docs_warning="Docs are thin.", knowledge_warning="New facts."),
    )
    assert v.reasons[0] == (
        "Best quality: few_shot scored 0.667 exact_match (95% CI 0.500-0.833) on 30 clean"
        " held-out examples (4 of 34 test rows repeat a training input with its answer"
        " and are scored apart)."
    )
    assert v.reasons[-2:] == [
        (
            "Training data: the documents do not support 30% of your training answers (stale"
            " answers or incomplete documents) — a fine-tune would learn them as they are;"
            " retrieval follows the documents. 3 of 10 training answers are not in the"
            " documents."
        ),
        "Training data: Most training facts are new to the model.",
    ]
    assert plain.reasons[-1] == (
        "Training data: the documents do not support some of your training answers (stale"
        " answers or incomplete documents) — a fine-tune would learn them as they are;"
        " retrieval follows the documents. Docs are thin."
    )
    assert len(plain.reasons) == 5


def test_needs_table_with_every_need():
    """self_hosted, a 300 ms budget (rag's p95 is exactly 300: met) and 10 requests a day."""
    rs = [
        result("few_shot", ones(27), traits=HOSTED, p95=400),
        result("rag", ones(25), kind="retrieval", p95=300, eval_seconds=30.0),
        tune("lora", ones(26), p95=200, eval_seconds=6.0),
        result("zero_shot", ones(10), p95=500, traits=HOSTED),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=10, latency_p95_ms=300, self_hosted=True))
    assert v.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    assert v.reasons == [
        (
            "Best quality: few_shot scored 0.900 exact_match (95% CI 0.767-1.000) on 30"
            " held-out examples."
        ),
        (
            "Ruled out few_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted); p95 latency 400 ms is over the 300 ms budget."
        ),
        (
            "Ruled out zero_shot: runs on a hosted model, and nothing may leave this machine"
            " (self_hosted); p95 latency 500 ms is over the 300 ms budget."
        ),
        (
            "Recommended lora: the most accurate strategy that meets your needs, and the"
            " cheapest of those it is not significantly better than (rag)."
        ),
        (
            "Fine-tune (cost at your volume): at your volume its total cost is the lowest of"
            " the strategies that are as good."
        ),
        (
            "Cost: lora costs 200.00 USD per 1,000 requests against 1000.00 USD for rag; its"
            " one-off training (10 s, 10.00 USD) pays off after 13 requests, 1.3 days at your"
            " stated volume of 10 requests a day."
        ),
        (
            "Volume: up to 0.034 requests a day rag costs least over 365 days, above it lora"
            " (you: 10); as good in quality: lora, rag."
        ),
        (
            "Latency: with a p95 budget under 200 ms, nothing usable would be chosen instead"
            " of lora."
        ),
        (
            "Change: if the task changed more than 291.0 times a year (each change retrains"
            " lora), rag would cost less."
        ),
    ]
    assert v.flips == [
        {
            "need": "requests_per_day",
            "now": 10,
            "at": 0.034,
            "below": "rag",
            "above": "lora",
            "sentence": (
                "Volume: up to 0.034 requests a day rag costs least over 365 days, above it lora"
                " (you: 10); as good in quality: lora, rag."
            ),
        },
        {
            "need": "latency_p95_ms",
            "now": 300,
            "at": 200.0,
            "to": None,
            "sentence": (
                "Latency: with a p95 budget under 200 ms, nothing usable would be chosen instead"
                " of lora."
            ),
        },
        {
            "need": "changes_per_year",
            "now": 0,
            "at": 291.0,
            "to": "rag",
            "sentence": (
                "Change: if the task changed more than 291.0 times a year (each change retrains"
                " lora), rag would cost less."
            ),
        },
    ]
    assert v.steps["table"] == [
        {
            "name": "few_shot",
            "trains": False,
            "score": 0.9,
            "ci_low": 0.7666666666666667,
            "ci_high": 1.0,
            "quality_ok": True,
            "p95_ms": 400.0,
            "latency_ok": False,
            "hosted": True,
            "control_ok": False,
            "acceptable": False,
            "cost_per_1k": 100.0,
            "training_cost": 0.0,
            "total_cost": 365.0,
            "ruled_out": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 400 ms is over the 300 ms budget",
            ],
            "hard_needs": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 400 ms is over the 300 ms budget",
            ],
        },
        {
            "name": "lora",
            "trains": True,
            "score": 0.8666666666666667,
            "ci_low": 0.7333333333333333,
            "ci_high": 0.9666666666666667,
            "quality_ok": True,
            "p95_ms": 200.0,
            "latency_ok": True,
            "hosted": False,
            "control_ok": True,
            "acceptable": True,
            "cost_per_1k": 200.0,
            "training_cost": 10.0,
            "total_cost": 740.0,
            "ruled_out": [],
            "hard_needs": [],
        },
        {
            "name": "rag",
            "trains": False,
            "score": 0.8333333333333334,
            "ci_low": 0.7,
            "ci_high": 0.9666666666666667,
            "quality_ok": True,
            "p95_ms": 300.0,
            "latency_ok": True,
            "hosted": False,
            "control_ok": True,
            "acceptable": True,
            "cost_per_1k": 1000.0,
            "training_cost": 0.0,
            "total_cost": 3650.0,
            "ruled_out": [],
            "hard_needs": [],
        },
        {
            "name": "zero_shot",
            "trains": False,
            "score": 0.3333333333333333,
            "ci_low": 0.16666666666666666,
            "ci_high": 0.5,
            "quality_ok": True,
            "p95_ms": 500.0,
            "latency_ok": False,
            "hosted": True,
            "control_ok": False,
            "acceptable": False,
            "cost_per_1k": 100.0,
            "training_cost": 0.0,
            "total_cost": 365.0,
            "ruled_out": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 500 ms is over the 300 ms budget",
            ],
            "hard_needs": [
                "runs on a hosted model, and nothing may leave this machine (self_hosted)",
                "p95 latency 500 ms is over the 300 ms budget",
            ],
        },
    ]


def test_break_even_days_need_a_stated_volume_in_the_needs():
    """The price sheet has a volume but the needs do not: the verdict asks for
    needs.requests_per_day.
    """
    rs = [
        result("few_shot", ones(12), eval_seconds=30.0),
        tune("lora", ones(28), train_seconds=1.0, eval_seconds=15.0),
    ]
    v = verdict(rs, requests_per_day=100.0)
    assert line(v, "Cost:") == (
        "Cost: lora costs 500.00 USD per 1,000 requests against 1000.00 USD for few_shot;"
        " its one-off training (1 s, 1.00 USD) pays off after 2 requests (set"
        " needs.requests_per_day to weigh this in the verdict)."
    )
