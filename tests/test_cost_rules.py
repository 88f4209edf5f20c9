"""core/cost.py where `make mutate` found no test deciding it (issue 22): break-even against
the fine-tune's own per-request cost, an unknown rival, the parameters behind FLOPs, and how
amounts are rounded into results.json and the report. Each test names the change it catches."""

from __future__ import annotations

import math

import pytest

from shouldtune.core.cost import (
    BreakEven,
    CostReport,
    Prices,
    StrategyCost,
    _sig,
    cost_report,
    money,
)
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult

pytestmark = pytest.mark.decision


def result(name: str, kind: str = "prompting", eval_seconds: float = 3.0, train_seconds=0.0):
    scores = [1.0, 0.0] * 15
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi, len(scores)),
        latency_ms={"p50": 100.0, "p95": 150.0},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=scores,
        details={"new_tokens_mean": 10.0},
    )


def test_break_even_subtracts_the_fine_tunes_own_per_request_cost():
    # 30 requests at 1 USD an hour: few_shot 9 s (0.0025 USD a request), lora 8 s
    # (0.002222), 3,600 s of training (1 USD): 1 / 0.0002778 = 3,600 requests.
    # `mine / 1000` -> `/ 1001` moves it to 3,572.
    rs = [result("few_shot", eval_seconds=270.0), result("lora", "fine-tuning", 240.0, 3600.0)]
    report = cost_report(rs, 30, None, Prices())
    (b,) = report.break_evens(rs, "few_shot")
    assert (b.strategy, b.versus, b.requests) == ("lora", "few_shot", 3600)


def test_break_even_against_a_strategy_that_has_no_cost_is_none_found():
    # `or` -> `and`: an unknown rival would raise KeyError.
    rs = [result("few_shot"), result("lora", "fine-tuning", train_seconds=60.0)]
    report = cost_report(rs, 30, None, Prices())
    assert report.break_evens(rs, "gone") == [] and report.break_evens(rs, None) == []


def test_flops_use_the_models_parameters_unless_a_backend_served_the_prompt():
    # remote's default True, the parameters or `remote` dropped: FLOPs would go missing or
    # stay when a served model (of unknown size) answered.
    rs = [result("few_shot"), result("lora", "fine-tuning", train_seconds=60.0)]
    local = cost_report(rs, 30, 1000, Prices())
    assert local.n_requests == 30
    assert local.per_strategy["few_shot"].flops_per_request == 2.0 * 1000 * 60.0
    served = cost_report(rs, 30, 1000, Prices(), remote=True)
    assert served.per_strategy["few_shot"].flops_per_request is None
    assert served.per_strategy["lora"].flops_per_request == 2.0 * 1000 * 60.0


def test_results_json_keeps_four_significant_digits():
    # _sig: digits 4, the exponent's sign and offset; 0 and non-finite values pass through.
    assert [_sig(v) for v in (1.23456, 0.000123456, 12345.6, 0.0)] == [
        1.235,
        0.0001235,
        12350.0,
        0.0,
    ]
    assert _sig(math.inf) == math.inf and math.isnan(_sig(math.nan))
    b = BreakEven("lora", "few_shot", 600, None, 1.23456, 1.66666)
    assert b.to_json() == {
        "strategy": "lora",
        "versus": "few_shot",
        "requests": 600,
        "days_at_volume": None,
        "training_cost": 1.235,
        "saving_per_1k_requests": 1.667,
    }
    assert (
        BreakEven("lora", "few_shot", 600, 12.34567, 1.0, 1.0).to_json()["days_at_volume"] == 12.35
    )
    cost = StrategyCost(None, 0.0123456, 12.3456, None, 12.3456, "machine", training_cost=0.5)
    assert cost.to_json()["machine_cost_per_1k_requests"] == 12.35
    assert cost.to_json()["flops_per_request"] is None and cost.to_json()["basis"] == "machine"


def test_the_cost_section_names_its_rival_and_break_evens():
    rs = [result("few_shot", eval_seconds=270.0), result("lora", "fine-tuning", 90.0, 3600.0)]
    report = cost_report(rs, 30, None, Prices(requests_per_day=100))
    data = report.to_json(rs, "few_shot")
    assert data["break_even_versus"] == "few_shot"
    assert data["prices"]["requests_per_day"] == 100
    assert data["break_even"] == [
        {
            "strategy": "lora",
            "versus": "few_shot",
            "requests": 600,
            "days_at_volume": 6.0,
            "training_cost": 1.0,
            "saving_per_1k_requests": 1.667,
        }
    ]
    assert CostReport(Prices(), 30).to_json(rs, None)["break_even"] == []


def test_money_shows_zero_and_non_finite_amounts_as_they_are():
    # `value == 0` mutated: 0 would print "0.0 USD" or inf "0 USD".
    assert money(0.0) == "0 USD" and money(0.0, "EUR") == "0 EUR"
    assert money(math.inf) == "inf USD" and money(1.0) == "1.00 USD"


def test_one_test_row_is_one_request():
    # `max(n_requests, 1)` -> `max(n_requests, 2)`: one row would count as two requests.
    r = result("few_shot", eval_seconds=2.0)
    cost = cost_report([r], 1, None, Prices()).per_strategy["few_shot"]
    assert cost.seconds_per_request == 2.0
    r.details.pop("new_tokens_mean")  # older results: tokens from throughput x seconds
    assert cost_report([r], 1, 1000, Prices()).per_strategy["few_shot"].flops_per_request == (
        2.0 * 1000 * (50.0 + 10.0 * 2.0)
    )


@pytest.mark.parametrize(("prompt", "basis"), [(0.0, "machine"), (1.0, "api")])
def test_a_request_of_no_tokens_is_machine_time_and_of_one_token_api(prompt, basis):
    # `tokens > 0` -> `>= 0` or `> 1`.
    r = result("few_shot")
    r.prompt_tokens_mean = prompt
    r.details["new_tokens_mean"] = 0.0
    prices = Prices(api_input_per_million=1.0, api_output_per_million=2.0)
    assert cost_report([r], 30, None, prices).per_strategy["few_shot"].basis == basis


def test_training_flops_only_for_a_strategy_that_trains():
    # The training details read whatever the kind: a prompt would get training FLOPs.
    prompt = result("few_shot")
    tuned = result("lora", "fine-tuning", train_seconds=60.0)
    for r in (prompt, tuned):
        r.details["training"] = {"train_tokens": 100}
    report = cost_report([prompt, tuned], 30, 1000, Prices())
    assert report.per_strategy["few_shot"].training_flops is None
    assert report.per_strategy["lora"].training_flops == 6.0 * 1000 * 100
