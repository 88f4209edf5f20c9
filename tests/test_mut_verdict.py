"""The verdict's bookkeeping, pinned where `make mutate` found it loose: what an Option reads
from a result with missing latencies or costs, the rival the fine-tune is compared with, the
status and needs written into results.json, the cost notes, and the headline of older results.
"""

from __future__ import annotations

import pytest

from shouldtune.core.cost import CostReport, Prices
from shouldtune.core.decision import Decision, Option
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult
from shouldtune.core.verdict import decide, headline_of, option_for, strongest_alternative

pytestmark = pytest.mark.decision


def result(name: str, scores: list[float], latency: dict | None = None) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind="prompting",
        quality=Quality("exact_match", mean, lo, hi, len(scores)),
        latency_ms={"p50": 100.0, "p95": 150.0} if latency is None else latency,
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=0.0,
        eval_seconds=3.0,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
    )


EMPTY_COSTS = CostReport(Prices(), 10)  # no strategy's cost known


def test_option_without_latencies_or_costs_reads_zeros():
    o = option_for(result("few_shot", [1.0, 0.0] * 5, latency={}), EMPTY_COSTS)
    assert (o.p50_ms, o.p95_ms) == (0.0, 0.0)
    assert (o.cost_per_request, o.training_cost) == (0.0, 0.0)


def test_option_without_p95_falls_back_to_p50():
    o = option_for(result("few_shot", [1.0, 0.0] * 5, latency={"p50": 80.0}), EMPTY_COSTS)
    assert (o.p50_ms, o.p95_ms) == (80.0, 80.0)


def test_the_rival_is_the_most_accurate_acceptable_alternative_not_the_most_accurate():
    """The chosen strategy trains; of the alternatives, `a` scores higher but is significantly
    worse than the leader, `b` is within the margin: fine-tuning is compared with `b`."""
    options = [
        Option("a", 0.6, 0.4, 0.8),
        Option("b", 0.5, 0.3, 0.7),
        Option("lora", 0.7, 0.5, 0.9, trains=True),
    ]
    d = Decision(chosen="lora", acceptable=["lora", "b"], leader="lora")
    assert strongest_alternative(options, d).name == "b"
    # none acceptable but the leader: the most accurate usable one
    assert strongest_alternative(options, Decision(chosen="lora", acceptable=["lora"])).name == "a"


def test_no_results_is_an_error_that_says_so():
    with pytest.raises(ValueError, match=r"^no strategy results to decide on$"):
        decide([])


def test_status_and_needs_are_written_into_the_verdict():
    needs = Needs(requests_per_day=100)
    v = decide([result("few_shot", [1.0, 0.0] * 15)], needs=needs)
    assert (v.status, v.recommended) == ("recommend", "few_shot")
    assert v.needs == needs.to_json()
    assert v.needs["requests_per_day"] == 100
    assert [row["name"] for row in v.steps["table"]] == ["few_shot"]
    nothing = decide([result("few_shot", [0.0] * 30)])
    assert (nothing.status, nothing.recommended) == ("no_recommendation", None)


def test_cost_notes_say_how_seconds_and_flops_are_counted():
    data = EMPTY_COSTS.to_json([], None)
    assert data == {
        "prices": {
            "per_hour": 1.0,
            "currency": "USD",
            "api_input_per_million": None,
            "api_output_per_million": None,
            "requests_per_day": None,
        },
        "seconds_per_request": "batched test-set evaluation seconds / test examples",
        "flops": "2 x parameters x (prompt + generated tokens) per request;"
        " training 6 x parameters x training tokens",
        "break_even_versus": None,
        "break_even": [],
    }


def test_older_results_with_scores_get_the_old_headline():
    rows = [
        {"name": "few_shot", "kind": "prompting", "quality": {"score": 0.5}},
        {"name": "lora", "kind": "fine-tuning", "quality": {"score": 0.4}},
    ]
    old = {"verdict": {"recommended": "few_shot", "fine_tune": False}, "strategies": rows}
    assert headline_of(old) == "Verdict: don't fine-tune — use few_shot (older results)"
    zero = [dict(r, quality={"score": 0.0}) for r in rows]
    assert headline_of(dict(old, strategies=zero)) == (
        "No verdict: no strategy got a single test example right (older results)"
    )
