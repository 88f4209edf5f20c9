"""The cost model on hand-computed numbers: FLOPs, money per 1,000 requests, break-even."""

from __future__ import annotations

import pytest

from shouldtune.core import cost
from shouldtune.core.config import CostConfig, TaskConfig
from shouldtune.core.needs import Needs
from shouldtune.core.types import Quality, StrategyResult
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

N_TEST = 40
PARAMS = 100_000_000
# 3.6 per hour is 0.001 per second: seconds and money are easy to check by hand.
PRICES = cost.Prices(per_hour=3.6, currency="EUR")


def result(
    name: str,
    kind: str = "prompting",
    eval_seconds: float = 20.0,
    prompt_tokens: float = 40.0,
    new_tokens: float = 10.0,
    train_seconds: float = 0.0,
    score: float = 0.5,
    details: dict | None = None,
) -> StrategyResult:
    scores = [1.0] * int(score * N_TEST) + [0.0] * (N_TEST - int(score * N_TEST))
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", score, score - 0.1, score + 0.1),
        latency_ms={"p50": 100.0, "p95": 150.0},
        tokens_per_s=new_tokens * N_TEST / eval_seconds,
        prompt_tokens_mean=prompt_tokens,
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=scores,
        details={"new_tokens_mean": new_tokens, **(details or {})},
    )


def lora(eval_seconds: float = 20.0, train_seconds: float = 100.0, score: float = 0.5):
    return result(
        "lora",
        kind="fine-tuning",
        eval_seconds=eval_seconds,
        train_seconds=train_seconds,
        score=score,
        details={"training": {"train_tokens": 2000}},
    )


def test_flops_formulas():
    assert cost.inference_flops(PARAMS, 50) == 1e10  # 2 x 1e8 x 50
    assert cost.training_flops(PARAMS, 2000) == 1.2e12  # 6 x 1e8 x 2000


def test_strategy_cost_by_hand():
    c = cost.strategy_cost(lora(), N_TEST, PARAMS, PRICES)
    assert c.flops_per_request == pytest.approx(1e10)  # 2 x 1e8 x (40 + 10)
    assert c.seconds_per_request == pytest.approx(0.5)  # 20 s / 40 requests
    assert c.machine_cost_per_1k_requests == pytest.approx(0.5)  # 500 s x 0.001
    assert c.cost_per_1k_requests == pytest.approx(0.5) and c.basis == "machine"
    assert c.api_cost_per_1k_requests is None
    assert c.training_flops == pytest.approx(1.2e12)
    assert c.training_seconds == 100.0
    assert c.training_cost == pytest.approx(0.1)  # 100 s x 0.001


def test_api_prices_apply_to_the_alternatives_not_the_fine_tune():
    prices = cost.Prices(per_hour=3.6, api_input_per_million=1.0, api_output_per_million=2.0)
    shots = result("few_shot", prompt_tokens=400, new_tokens=10)
    c = cost.strategy_cost(shots, N_TEST, PARAMS, prices)
    # (400 x 1.0 + 10 x 2.0) / 1e6 per request = 0.00042; x 1000 = 0.42
    assert c.api_cost_per_1k_requests == pytest.approx(0.42)
    assert c.cost_per_1k_requests == pytest.approx(0.42) and c.basis == "api"
    tuned = cost.strategy_cost(lora(), N_TEST, PARAMS, prices)
    assert tuned.basis == "machine" and tuned.cost_per_1k_requests == pytest.approx(0.5)
    only_input = cost.Prices(api_input_per_million=1.0)
    assert cost.api_cost(400, 10, only_input) == pytest.approx(0.0004)  # missing side is 0


@pytest.mark.parametrize(
    ("training", "tuned", "other", "expected"),
    [
        (0.1, 0.0005, 0.0015, 100),  # 0.1 / 0.001
        (0.3, 0.0, 0.1, 3),  # 0.3 / 0.1 is 2.9999999999999996 in floats: still 3
        (1.0, 0.0, 0.3, 4),  # 3.33 requests: the 4th one completes the payback
        (0.0, 0.1, 0.2, 0),  # nothing to pay back
        (1.0, 0.1, 0.1, None),  # requests cost the same: never
        (1.0, 0.2, 0.1, None),  # the fine-tune's requests are dearer: never
    ],
)
def test_break_even_formula(training, tuned, other, expected):
    assert cost.break_even_requests(training, tuned, other) == expected


def test_break_even_against_the_recommended_alternative():
    results = [result("few_shot", eval_seconds=60.0), lora(eval_seconds=20.0)]
    prices = cost.Prices(per_hour=3.6, requests_per_day=25)
    report = cost.cost_report(results, N_TEST, PARAMS, prices)
    (b,) = report.break_evens(results, "few_shot")
    # few_shot: 1.5 s a request, lora 0.5 s: saving 0.001 a request; training 0.1 -> 100
    assert (b.strategy, b.versus, b.requests) == ("lora", "few_shot", 100)
    assert b.days_at_volume == pytest.approx(4.0)  # 100 requests at 25 a day
    assert b.saving_per_1k_requests == pytest.approx(1.0)
    assert b.to_json()["requests"] == 100


def test_a_recommended_fine_tune_is_compared_with_the_strongest_alternative():
    # The verdict chooses the rival (core.verdict.strongest_alternative): the most accurate
    # alternative, not the cheapest (zero_shot) nor the first.
    results = [
        result("zero_shot", eval_seconds=10.0, score=0.2),
        result("few_shot", eval_seconds=60.0, score=0.4),
        lora(eval_seconds=20.0, score=0.9),
    ]
    report = cost.cost_report(results, N_TEST, PARAMS, PRICES)
    v = decide(results, costs=report)
    assert v.recommended == "lora" and v.steps["versus"] == "few_shot"
    (b,) = report.break_evens(results, v.steps["versus"])
    assert b.versus == "few_shot" and b.requests == 100 and b.days_at_volume is None
    assert report.break_evens(results, None) == []


def test_never_pays_off_when_the_fine_tune_is_not_cheaper():
    results = [result("zero_shot", eval_seconds=10.0), lora(eval_seconds=20.0)]
    report = cost.cost_report(results, N_TEST, PARAMS, PRICES)
    (b,) = report.break_evens(results, "zero_shot")
    assert b.requests is None and b.days_at_volume is None
    assert b.saving_per_1k_requests == pytest.approx(-0.25)  # 0.25 - 0.5 per 1,000


def test_parameters_for_each_kind():
    assert cost.parameters_for(result("b", kind="baseline"), PARAMS, remote=False) is None
    other = result("candidate:x", details={"parameters": 7})
    assert cost.parameters_for(other, PARAMS, remote=False) == 7
    assert cost.parameters_for(result("zero_shot"), PARAMS, remote=True) is None
    assert cost.parameters_for(lora(), PARAMS, remote=True) == PARAMS
    c = cost.strategy_cost(result("b", kind="baseline"), N_TEST, None, PRICES)
    assert c.flops_per_request is None and c.training_flops is None


def test_new_tokens_fall_back_to_throughput_times_seconds():
    r = result("zero_shot")
    r.details.pop("new_tokens_mean")
    c = cost.strategy_cost(r, N_TEST, PARAMS, PRICES)
    assert c.flops_per_request == pytest.approx(1e10)  # 10 tok/s x 20 s / 40 = 10 new tokens


def test_verdict_states_the_break_even():
    results = [result("few_shot", eval_seconds=60.0, score=0.5), lora(eval_seconds=20.0)]
    prices = cost.Prices(per_hour=3.6, currency="EUR", requests_per_day=25)
    costs = cost.cost_report(results, N_TEST, PARAMS, prices)
    v = decide(results, costs=costs, needs=Needs(requests_per_day=25))
    line = next(r for r in v.reasons if r.startswith("Cost:"))
    assert "lora costs 0.500 EUR per 1,000 requests against 1.50 EUR for few_shot" in line
    assert "pays off after 100 requests, 4.0 days at your stated volume of 25" in line
    no_volume = decide(results, costs=cost.cost_report(results, N_TEST, PARAMS, PRICES))
    assert "set needs.requests_per_day" in " ".join(no_volume.reasons)
    cheap = [result("few_shot", eval_seconds=10.0), lora(eval_seconds=20.0)]
    never = decide(cheap, costs=cost.cost_report(cheap, N_TEST, PARAMS, PRICES))
    assert "is never paid back" in " ".join(never.reasons)


def test_money_keeps_three_significant_digits():
    assert cost.money(1.5, "EUR") == "1.50 EUR"
    assert cost.money(0.5) == "0.500 USD"
    assert cost.money(0.000123) == "0.000123 USD"
    assert cost.money(1234.5) == "1234.50 USD"
    assert cost.money(0) == "0 USD"


def test_cost_config_in_task_yaml():
    cfg = TaskConfig.model_validate({"name": "t", "cost": {"price_per_hour": 0.1}})
    prices = cost.Prices.from_config(cfg.cost)
    assert prices.per_hour == 0.1 and prices.currency == "USD" and not prices.has_api
    assert cost.Prices.from_config(None) == cost.Prices()
    with pytest.raises(ValueError, match="extra"):
        CostConfig.model_validate({"price_per_hr": 1.0})
    with pytest.raises(ValueError):
        CostConfig.model_validate({"requests_per_day": 0})
