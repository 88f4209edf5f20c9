"""core/verdict.py's rules where `make mutate` found no test deciding them (issue 22): which
probe change counts as a harm, which fine-tune the reasons talk about, a still-learning
fine-tune under a hard need, and the drivers "only_usable" and "quality". Each test names the
change it catches."""

from __future__ import annotations

import math

import pytest

from shouldtune.core.decision import Decision, Option
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult
from shouldtune.core.verdict import (
    PROBE_FINDINGS,
    decide,
    format_takeover,
    probe_harms,
    probe_is_harmful,
    strongest_fine_tune,
)

pytestmark = pytest.mark.decision

N = 30


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
        train_seconds=kw.pop("train_seconds", 120.0 if kind == "fine-tuning" else 0.0),
        eval_seconds=kw.pop("eval_seconds", 3.0),
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
        **kw,
    )


def ones(k: int, n: int = N) -> list[float]:
    return [1.0] * k + [0.0] * (n - k)


def ci(low: float | None, high: float | None) -> dict:
    return {"before": 0.5, "after": 0.6, "diff": 0.1, "ci_low": low, "ci_high": high}


# --- which probe change is a harm -----------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "low", "high", "harmful"),
    [
        ("fabrication_rate", 0.1, 0.3, True),  # more fabrication, the whole CI above 0
        ("fabrication_rate", 0.0, 0.3, False),  # the CI touches 0: no evidence
        ("fabrication_rate", -0.1, 0.3, False),  # only the low bound decides a rise
        ("knowledge_retained", -0.3, -0.1, True),  # less knowledge, the whole CI below 0
        ("knowledge_retained", -0.3, 0.0, False),  # touches 0
        ("knowledge_retained", -0.3, 0.5, False),  # only the high bound decides a fall
        ("knowledge_retained", -0.3, None, False),  # a missing bound is no evidence
        ("fabrication_rate", math.inf, math.inf, False),  # nor a non-finite one
        ("fabrication_rate", True, True, False),  # nor a flag
        ("open_questions", -0.3, -0.1, False),  # a finding, not a harm
    ],
)
def test_a_probe_harm_is_a_ci_entirely_on_the_harmful_side_of_zero(key, low, high, harmful):
    # Catches: the bound read from the wrong side, `>` -> `>=` / `<` -> `<=` or `< 1`, a
    # missing or infinite bound counted (or raising), the default table dropped.
    assert probe_is_harmful(key, ci(low, high)) is harmful


def test_a_given_table_is_the_one_read():
    # `table` replaced by PROBE_HARMS whatever was passed: findings would never be found.
    assert probe_is_harmful("open_questions", ci(-0.3, -0.1), PROBE_FINDINGS) is True
    assert probe_is_harmful("fabrication_rate", ci(0.1, 0.3), PROBE_FINDINGS) is False


def test_harms_and_findings_are_read_for_fine_tunes_only():
    probes = {"probes": {"fabrication_rate": ci(0.1, 0.3), "open_questions": ci(-0.3, -0.1)}}
    tuned = result("lora", ones(10), kind="fine-tuning", details=probes)
    prompt = result("few_shot", ones(10), details=probes)
    assert probe_harms(tuned) == [
        "fabrication on unanswerable questions went from 0.50 to 0.60 (+0.10, 95% CI +0.10 to"
        " +0.30)"
    ]
    assert format_takeover(tuned) == [
        "answers to open general questions went from 0.50 to 0.60 (+0.10, 95% CI -0.30 to -0.10)"
    ]
    assert probe_harms(prompt) == [] and format_takeover(prompt) == []
    odd = result("lora", ones(10), kind="fine-tuning", details=None)
    assert probe_harms(odd) == []  # details that are no dict: nothing to read


# --- which fine-tune the reasons talk about --------------------------------------------------


def test_the_fine_tune_talked_about_is_the_chosen_then_an_acceptable_one():
    tuned = [
        Option("full", 0.9, 0.8, 1.0, trains=True),
        Option("lora", 0.7, 0.6, 0.8, trains=True),
        Option("few_shot", 0.8, 0.7, 0.9),
    ]
    # The chosen fine-tune, even when another scores higher.
    d = Decision(chosen="lora", acceptable=["full", "lora"])
    assert strongest_fine_tune(tuned, d).name == "lora"
    # No fine-tune chosen: the most accurate acceptable one, not the most accurate.
    d = Decision(chosen="few_shot", acceptable=["few_shot", "lora"])
    assert strongest_fine_tune(tuned, d).name == "lora"
    # None acceptable: the most accurate.
    assert strongest_fine_tune(tuned, Decision(chosen="few_shot")).name == "full"


# --- undecided, and why (not) fine-tune ------------------------------------------------------


def test_a_still_learning_fine_tune_that_lost_keeps_it_undecided_unless_it_breaks_a_hard_need():
    # hard_reasons asked of the wrong option (None) would raise under a latency budget.
    learning = {"training": {"still_learning": True}}
    rs = [result("few_shot", ones(20)), result("lora", ones(5), "fine-tuning", details=learning)]
    v = decide(rs, needs=Needs(latency_p95_ms=1000.0))
    assert (v.fine_tune, v.drivers) == (None, ["still_learning"])
    slow = [rs[0], result("lora", ones(5), "fine-tuning", details=learning, p50=900.0)]
    v = decide(slow, needs=Needs(latency_p95_ms=1000.0))
    assert v.fine_tune is False  # over the budget: learning longer would not change it


def test_a_fine_tune_worse_than_the_alternative_is_against_on_quality_even_if_another_is_slow():
    # `any(...) and all(...)` -> `or`: one slow fine-tune would make the driver "needs".
    rs = [
        result("few_shot", ones(25)),
        result("lora", ones(5), "fine-tuning"),
        result("full", ones(25), "fine-tuning", p50=900.0),
    ]
    v = decide(rs, needs=Needs(latency_p95_ms=1000.0))
    assert (v.recommended, v.fine_tune, v.drivers) == ("few_shot", False, ["quality"])
    all_slow = [rs[0], result("lora", ones(25), "fine-tuning", p50=900.0), rs[2]]
    assert decide(all_slow, needs=Needs(latency_p95_ms=1000.0)).drivers == ["needs"]


def test_a_fine_tune_that_is_the_only_usable_strategy_says_so():
    # Nothing else reaches the floor, and the fine-tune is not significantly above it either.
    rs = [result("few_shot", ones(7)), result("lora", ones(9), "fine-tuning")]
    v = decide(rs, needs=Needs(min_quality=0.42))
    assert (v.recommended, v.fine_tune, v.drivers) == ("lora", True, ["only_usable"])


def test_a_tied_fine_tune_loses_to_half_a_change_a_year_when_retraining_tips_the_cost():
    # `changes_per_year > 0` -> `> 1`: half a change a year would not be named.
    # few_shot 0.2778 USD per 1,000 requests; lora 0.0278 and 1 USD a training run: at 14
    # requests a day over a year lora saves 1.28 USD, less than 1.5 runs but more than one.
    rs = [
        result("few_shot", [1.0, 0.0] * 15, p50=300.0, eval_seconds=30.0),
        result("lora", [1.0, 1.0] + [1.0, 0.0] * 14, "fine-tuning", train_seconds=3600.0),
    ]
    v = decide(rs, needs=Needs(requests_per_day=14, changes_per_year=0.5))
    assert (v.recommended, v.fine_tune, v.drivers) == ("few_shot", False, ["changes", "cost"])
    assert decide(rs, needs=Needs(requests_per_day=14)).recommended == "lora"


def test_older_results_get_the_headline_they_were_shown_with():
    # headline_of / _legacy_headline (schema 1) in the tier: they were only reached through
    # the report's tests.
    from shouldtune.core.verdict import headline_of

    def old(verdict, strategies):
        return {"verdict": verdict, "strategies": strategies}

    tuned = [{"name": "lora", "kind": "fine-tuning"}, {"name": "full", "kind": "fine-tuning"}]
    no = {"fine_tune": False, "recommended": "lora"}
    assert headline_of({"verdict": {"headline": "Use x"}}) == "Use x"
    # A damaged results.json (any JSON where the verdict goes) still gets a headline.
    for damaged in (3, None, [], "yes"):
        assert headline_of(old(damaged, tuned)) == "No verdict: no strategy produced results"
    assert headline_of(old(no, tuned)) == (
        "No verdict on fine-tuning: only fine-tunes were run — the best is lora (older results)"
    )
    mixed = [*tuned, {"name": "zero_shot", "kind": "prompting", "quality": {"score": 0.5}}]
    assert headline_of(old(no, mixed)) == "Verdict: don't fine-tune — use lora (older results)"
    yes = {"fine_tune": True, "recommended": "lora"}
    assert headline_of(old(yes, mixed)) == "Verdict: fine-tune — use lora (older results)"
    failed = [{"name": n, "kind": "prompting", "quality": {"score": 0.0}} for n in ("a", "b")]
    assert headline_of(old({"fine_tune": False, "recommended": "a"}, failed)) == (
        "No verdict: no strategy got a single test example right (older results)"
    )
    for nothing in (old({"recommended": None}, mixed), old(None, None), []):
        assert headline_of(nothing) == "No verdict: no strategy produced results"


@pytest.mark.parametrize(
    ("kept", "takeover"),
    [
        (ci(-0.02, 0.03), True),  # knows as before, answers in its format: a takeover
        (ci(-0.30, -0.10), False),  # knowledge lost too: forgetting, not a takeover
        (None, True),  # results from before the likelihood probe: the open drop alone
    ],
)
def test_format_takeover_is_decided_once_and_the_report_says_the_same(kept, takeover):
    from shouldtune.core.verdict import takes_over
    from shouldtune.report.sections import _format_takeover

    probes = {"open_questions": ci(-0.8, -0.4)} | ({"knowledge_retained": kept} if kept else {})
    tuned = result("lora", ones(10), kind="fine-tuning", details={"probes": probes})
    assert takes_over(probes) is takeover
    assert bool(format_takeover(tuned)) is takeover
    if kept is not None:  # the report words it only with both measures to quote
        assert bool(_format_takeover("lora", probes)) is takeover
    assert takes_over({"open_questions": ci(-0.1, 0.2)} | ({"knowledge_retained": kept} if kept
                                                          else {})) is False  # fmt: skip
