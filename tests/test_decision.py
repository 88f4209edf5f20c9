"""What the verdict decides, pinned: each rule of core/decision.py and core/verdict.py in a
case where it alone makes the difference (issue 22).

Every test names a change that would make it fail. Costs come from measured seconds at the
default 1 USD a machine hour: with 30 test rows `eval_seconds=30` is 1 s a request =
0.2778 USD per 1,000 requests, `eval_seconds=3` is 0.02778, and 360 s of training is 0.10 USD.
"""

from __future__ import annotations

import dataclasses

import pytest

from shouldtune.core.cost import Prices, api_cost, cost_report
from shouldtune.core.decision import LOOKUP_UNSEEN_MAX
from shouldtune.core.evidence import STILL_FALLING, still_learning
from shouldtune.core.needs import Needs
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult, Traits
from shouldtune.core.verdict import METRIC_GAP, decide

pytestmark = pytest.mark.decision

N = 30


def result(
    name: str,
    scores: list[float],
    kind: str = "prompting",
    train_seconds: float = 0.0,
    p50: float = 100.0,
    p95: float | None = None,
    eval_seconds: float = 3.0,
    traits: Traits | None = None,
    details: dict | None = None,
    prompt_tokens: float = 50.0,
) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("exact_match", mean, lo, hi, len(scores)),
        latency_ms={"p50": p50, "p95": p95 if p95 is not None else p50 * 1.5},
        tokens_per_s=10.0,
        prompt_tokens_mean=prompt_tokens,
        train_seconds=train_seconds,
        eval_seconds=eval_seconds,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
        details=details or {},
        traits=traits,
    )


def lora(scores: list[float], name: str = "lora", train_seconds: float = 360.0, **kw):
    return result(name, scores, kind="fine-tuning", train_seconds=train_seconds, **kw)


def baseline(scores: list[float], **kw):
    return result("baseline", scores, kind="baseline", **kw)


def ones(k: int, n: int = N) -> list[float]:
    """k right answers, then n - k wrong ones."""
    return [1.0] * k + [0.0] * (n - k)


def text(v) -> str:
    return "\n".join(v.reasons)


def line(v, start: str) -> str:
    (found,) = [r for r in v.reasons if r.startswith(start)]
    return found


# --- the non-LLM baseline is an alternative like any other (issue 22, hand-made change) ------


def test_a_fine_tune_that_only_ties_the_non_llm_baseline_is_not_recommended():
    # Baseline 30/30, LoRA 30/30: nothing to gain from training. Leaving the baseline out of
    # the alternatives made this "fine-tune lora".
    rs = [baseline(ones(30), p50=2), result("zero_shot", ones(10)), lora(ones(30))]
    v = decide(rs)
    assert (v.recommended, v.fine_tune, v.drivers) == ("baseline", False, ["no_training"])
    assert v.headline == "Verdict: don't fine-tune, no LLM needed — use baseline"
    assert v.steps["leader"] == "baseline" and v.steps["versus"] == "baseline"
    assert sorted(v.not_worse_than_best) == ["baseline", "lora"]
    assert line(v, "Do not fine-tune: lora is as good as baseline here") == (
        "Do not fine-tune: lora is as good as baseline here, and baseline needs no training"
        " (baseline: no training, 0.0278 USD per 1,000 requests, 2 ms p50;"
        " lora: 360 s of training (0.100 USD), 0.0278 USD per 1,000 requests, 100 ms p50);"
        " with no volume stated, needing no training comes first (set needs.requests_per_day"
        " to weigh the total costs)."
    )


def test_a_fine_tune_chosen_on_cost_is_not_called_better_than_a_baseline_it_ties():
    # The baseline is as accurate but slow per request (2 s); at volume LoRA's cheaper
    # requests win on cost, and "quality" must not be claimed: it does not beat the baseline.
    rs = [baseline(ones(28), eval_seconds=60.0), result("zero_shot", ones(8)), lora(ones(30))]
    v = decide(rs, needs=Needs(requests_per_day=1000))
    assert (v.recommended, v.fine_tune, v.drivers) == ("lora", True, ["cost"])
    assert v.headline == "Verdict: fine-tune — use lora (driver: cost at your volume)"
    assert "significantly better than every alternative" not in text(v)


def test_fine_tune_for_quality_must_beat_the_baseline_too():
    # LoRA beats zero_shot clearly and the baseline too: quality. Drop the baseline to one
    # LoRA does not beat significantly and quality is no longer a driver.
    strong = decide([baseline(ones(12), p50=2), result("zero_shot", ones(8)), lora(ones(30))])
    assert strong.drivers == ["quality"] and strong.fine_tune is True
    assert "the strongest is baseline (0.400; paired difference +0.600" in text(strong)
    tied = decide([baseline(ones(29), p50=2, eval_seconds=90.0), lora(ones(30))],
                  needs=Needs(latency_p95_ms=50))  # fmt: skip
    # The baseline's p95 (3 ms) meets the budget; LoRA's (150 ms) does not: baseline.
    assert tied.recommended == "baseline" and tied.fine_tune is False
    assert tied.drivers == ["needs"]
    assert "Do not fine-tune: every fine-tune breaks one of your needs (see above)." in tied.reasons


# --- thresholds at their boundaries ---------------------------------------------------------


@pytest.mark.parametrize(("unseen", "ruled_out"), [(0.05, True), (0.06, False), (0.0, True)])
def test_a_lookup_is_ruled_out_when_it_scores_at_most_5_percent_on_unseen_answers(
    unseen, ruled_out
):
    assert LOOKUP_UNSEEN_MAX == 0.05
    lookup = {"mode": "nearest", "unseen_answer_rows": {"rows": 12, "score": unseen}}
    v = decide([baseline(ones(18), p50=2, details=lookup), result("rag", ones(9))])
    assert (v.recommended == "rag") is ruled_out
    if ruled_out:
        assert v.steps["ruled_out"]["baseline"] == [
            "a lookup: it can only repeat training answers, and it scores"
            f" {unseen:.3f} on the test rows whose answer never appears in train"
        ]


def test_only_a_nearest_answer_lookup_without_an_llm_is_judged_as_a_lookup():
    zero = {"rows": 12, "score": 0.0}
    for details, traits in [
        ({"mode": "classifier", "unseen_answer_rows": zero}, None),  # not a lookup
        ({"mode": "nearest", "unseen_answer_rows": zero}, Traits(uses_llm=True)),  # an LLM
        ({"mode": "nearest"}, None),  # no unseen rows measured
    ]:
        v = decide([baseline(ones(18), p50=2, details=details, traits=traits),
                    result("rag", ones(9))])  # fmt: skip
        assert v.recommended == "baseline" and v.steps["ruled_out"] == {}


@pytest.mark.parametrize(
    ("last", "learning"),
    [(0.989, True), (0.991, False), (0.99, False)],  # 1.1%, 0.9%, exactly 1% below 1.0
)
def test_still_learning_means_the_last_dev_loss_fell_by_more_than_one_percent(last, learning):
    assert STILL_FALLING == 0.01
    history = [{"dev_loss": 1.2}, {"dev_loss": 1.0}, {"dev_loss": last}]
    assert still_learning({"stopped_early": False, "history": history}) is learning


def test_still_learning_reads_its_report_first_then_the_history():
    falling = [{"dev_loss": 2.0}, {"dev_loss": 1.0}]
    assert still_learning({"still_learning": False, "history": falling}) is False
    assert still_learning({"still_learning": True, "stopped_early": True}) is True
    assert still_learning({"history": falling}) is True
    assert still_learning({"stopped_early": True, "history": falling}) is False
    # The last evaluation must be the best so far: a rebound after a dip is no progress.
    rebound = [{"dev_loss": 0.5}, {"dev_loss": 2.0}, {"dev_loss": 1.0}]
    assert still_learning({"history": rebound}) is False
    odd = [{"dev_loss": float("nan")}, {"loss": 1.0}, "x", {"dev_loss": "1.0"}]
    assert still_learning({"history": odd}) is False  # nothing readable: no claim
    assert still_learning({"history": odd + [{"dev_loss": 3.0}]}) is True  # one look
    assert still_learning(None) is False and still_learning({}) is False


@pytest.mark.parametrize(("contains", "noted"), [(0.75, True), (0.74, False)])
def test_the_metric_gap_note_starts_at_a_gap_of_0_25(contains, noted):
    assert METRIC_GAP == 0.25
    r = result("rag", ones(15))  # 0.500 exact_match
    r.lenient = {"contains": contains, "token_f1": 0.9}
    v = decide([r, result("zero_shot", ones(10))])
    notes = [x for x in v.reasons if x.startswith("Metric check")]
    assert bool(notes) is noted
    if noted:
        assert notes == [
            "Metric check: rag scores 0.50 exact_match, but 0.75 of its answers contain the"
            " expected answer — right but worded differently? Consider metric: contains or a"
            " stop string (shouldtune rescore RUN --metric contains)."
        ]


def test_the_metric_gap_is_not_measured_for_a_contains_metric_or_without_a_view():
    r = result("rag", ones(15))
    r.quality = dataclasses.replace(r.quality, metric="contains")
    r.lenient = {"contains": 0.9}
    assert not any(x.startswith("Metric check") for x in decide([r]).reasons)
    r2 = result("rag", ones(15))
    r2.lenient = {"token_f1": 1.0}
    assert not any(x.startswith("Metric check") for x in decide([r2]).reasons)


def test_usable_means_a_ci_above_zero_or_a_top_at_least_the_floor():
    none_right = decide([result("a", ones(0)), result("b", ones(6))])
    assert none_right.steps["ruled_out"] == {"a": ["not usable: it got no test example right"]}
    two = result("a", ones(2))
    reaches = decide([two, result("b", ones(6))])
    q = two.quality
    assert reaches.steps["ruled_out"]["a"] == [
        f"not usable: its 95% CI ({q.ci_low:.3f}-{q.ci_high:.3f}) reaches 0, so it cannot be"
        " told from getting nothing right"
    ]
    # With a floor, the top of the interval decides: at the floor is still usable.
    b = result("b", ones(6))
    at = decide([b], needs=Needs(min_quality=b.quality.ci_high))
    assert at.recommended == "b"
    above = decide([b], needs=Needs(min_quality=b.quality.ci_high + 0.001))
    assert above.recommended is None and above.status == "no_recommendation"
    # A floor adds to the "better than nothing" rule, never replaces it: a floor of 0 (or a
    # low one) does not make 0 of 30, nor an interval reaching 0, usable.
    for floor in (0.0, 0.01):
        assert decide([two], needs=Needs(min_quality=floor)).recommended is None
        assert "a" in decide([result("a", ones(0))], needs=Needs(min_quality=floor)).steps[
            "ruled_out"]  # fmt: skip
    v = decide([result("a", ones(0))], needs=Needs(min_quality=0.0))
    assert v.steps["ruled_out"]["a"] == ["not usable: it got no test example right"]


def test_default_prices_are_one_usd_a_machine_hour_and_no_api():
    p = Prices()
    assert (p.per_hour, p.currency, p.api_input_per_million, p.api_output_per_million) == (
        1.0, "USD", None, None)  # fmt: skip
    assert not p.has_api and Prices(api_output_per_million=1.0).has_api
    c = cost_report([lora(ones(30), train_seconds=3600.0, eval_seconds=30.0)], N, None, p)
    assert c.per_strategy["lora"].training_cost == 1.0
    assert c.per_strategy["lora"].cost_per_1k_requests == pytest.approx(1000 / 3600)


def test_default_needs_are_a_year_with_no_volume_budget_or_floor():
    n = Needs()
    assert (n.requests_per_day, n.horizon_days, n.latency_p95_ms, n.self_hosted) == (
        None, 365.0, None, False)  # fmt: skip
    assert (n.changes_per_year, n.min_quality, n.quality_margin) == (0.0, None, 0.0)
    assert Needs(changes_per_year=52, horizon_days=730).retrainings == pytest.approx(104.0)
    assert Needs(requests_per_day=10, horizon_days=30).requests == 300


# --- break-even: the hosted API's prices, and the rival it is computed against ---------------


def test_break_even_uses_the_hosted_apis_prices_for_the_alternatives():
    # few_shot through an API: (400 x 2 + 10 x 6) / 1e6 = 0.00086 USD a request; LoRA on the
    # machine: 0.1 s = 0.0000278 USD. Training 0.1 USD / 0.000832 saved = 120.2 -> 121.
    shots = result("few_shot", ones(20), prompt_tokens=400, eval_seconds=30.0,
                   details={"new_tokens_mean": 10})  # fmt: skip
    tuned = lora(ones(20), details={"new_tokens_mean": 10})
    prices = Prices(api_input_per_million=2.0, api_output_per_million=6.0)
    costs = cost_report([shots, tuned], N, None, prices)
    assert costs.per_strategy["few_shot"].basis == "api"
    assert costs.per_strategy["lora"].basis == "machine"
    v = decide([shots, tuned], costs=costs)
    assert line(v, "Cost:") == (
        "Cost: lora costs 0.0278 USD per 1,000 requests against 0.860 USD for few_shot; its"
        " one-off training (360 s, 0.100 USD) pays off after 121 requests (set"
        " needs.requests_per_day to weigh this in the verdict)."
    )
    # Without the API's prices few_shot is machine time (1 s, 0.278 USD per 1,000): 400.
    machine = decide([shots, tuned], costs=cost_report([shots, tuned], N, None, Prices()))
    assert "pays off after 400 requests" in line(machine, "Cost:")


def test_api_cost_arithmetic_per_side():
    both = Prices(api_input_per_million=2.0, api_output_per_million=6.0)
    assert api_cost(400, 10, both) == pytest.approx(860e-6, rel=1e-12)
    assert api_cost(400, 10, Prices(api_output_per_million=6.0)) == pytest.approx(60e-6)
    assert api_cost(400, 10, Prices(api_input_per_million=2.0)) == pytest.approx(800e-6)
    assert api_cost(400, 10, Prices()) is None


def test_prices_from_task_yaml_keep_the_api_prices():
    from shouldtune.core.config import TaskConfig

    cfg = TaskConfig.model_validate(
        {"name": "t", "cost": {"price_per_hour": 2.5, "currency": "EUR",
                               "api_input_per_million": 0.5, "api_output_per_million": 1.5}}
    )  # fmt: skip
    p = Prices.from_config(cfg.cost, requests_per_day=300)
    assert p == Prices(2.5, "EUR", 0.5, 1.5, 300)
    assert Prices.from_config(None, requests_per_day=7) == Prices(requests_per_day=7)


def rival_case():
    """LoRA wins on quality; the alternatives differ in accuracy and in price."""
    return [
        result("zero_shot", ones(12), p50=50, eval_seconds=3.0),  # cheapest, weakest
        result("rag", ones(18), p50=300, eval_seconds=60.0),  # 2 s a request
        result("few_shot", ones(20), p50=200, eval_seconds=30.0),  # strongest: 1 s
        lora(ones(30), eval_seconds=3.0),
    ]


def test_break_even_is_against_the_strongest_alternative_not_the_cheapest_or_first():
    v = decide(rival_case())
    assert v.recommended == "lora" and v.steps["versus"] == "few_shot"
    assert line(v, "Cost:") == (
        "Cost: lora costs 0.0278 USD per 1,000 requests against 0.278 USD for few_shot; its"
        " one-off training (360 s, 0.100 USD) pays off after 400 requests (set"
        " needs.requests_per_day to weigh this in the verdict)."
    )
    # At 20 requests a day that is 400 / 20 = 20 days.
    busy = decide(rival_case(), needs=Needs(requests_per_day=20))
    assert "pays off after 400 requests, 20.0 days at your stated volume of 20 requests a day" \
        in line(busy, "Cost:")  # fmt: skip


def test_the_strongest_alternative_ties_break_on_latency_then_name():
    rs = [result("b_slow", ones(20), p50=300), result("c_fast", ones(20), p50=100),
          result("a_fast", ones(20), p50=100), lora(ones(30))]  # fmt: skip
    assert decide(rs).steps["versus"] == "a_fast"
    rs[2] = result("a_fast", ones(20), p50=101)
    assert decide(rs).steps["versus"] == "c_fast"


def test_the_strongest_alternative_prefers_acceptable_then_usable_ones():
    # lora is chosen at volume; few_shot (as good) is acceptable, zero_shot is not.
    rs = [result("zero_shot", ones(16), p50=10, eval_seconds=3.0),
          result("few_shot", ones(28), p50=900, eval_seconds=30.0), lora(ones(29))]  # fmt: skip
    v = decide(rs, needs=Needs(requests_per_day=5000))
    assert v.recommended == "lora" and v.steps["versus"] == "few_shot"
    # Over the latency budget few_shot is ruled out; zero_shot, usable, is the rival.
    v = decide(rs, needs=Needs(requests_per_day=5000, latency_p95_ms=500))
    assert v.steps["versus"] == "zero_shot"
    # Nothing usable but LoRA: the most accurate alternative all the same.
    v = decide(rs, needs=Needs(latency_p95_ms=1, min_quality=0.0))
    assert v.recommended is None and v.steps["versus"] == "few_shot"


# --- which strategy is chosen: the order of preference, each step deciding ------------------


def test_two_winning_fine_tunes_at_volume_pick_the_lower_total_cost():
    # Fine-tunes serve the same model, so their requests cost the same per token: one rate,
    # pooled from both timings (18 s over 30 x 60 + 30 x 340 tokens = 0.0015 s a token).
    # dear: 1 USD training, 60 tokens (0.09 s) a request; cheap: 0.1 USD, 340 tokens (0.51 s).
    rs = [result("zero_shot", ones(10)),
          lora(ones(30), name="dear", train_seconds=3600, eval_seconds=3.0,
               prompt_tokens=50.0, details={"new_tokens_mean": 10.0}),
          lora(ones(30), name="cheap", train_seconds=360, eval_seconds=15.0,
               prompt_tokens=50.0, details={"new_tokens_mean": 290.0})]  # fmt: skip
    assert decide(rs).recommended == "cheap"  # no volume: cheaper training first
    v = decide(rs, needs=Needs(requests_per_day=100))
    # 36,500 requests: dear 1 + 36,500 x 0.09 / 3,600 = 1.91 USD, cheap 0.1 + 5.17 = 5.27 USD.
    assert v.recommended == "dear" and v.fine_tune is True
    assert set(v.steps["totals"]) == {"dear", "cheap"}  # the acceptable ones only
    assert v.steps["totals"]["dear"] == pytest.approx(1 + 36_500 * 0.09 / 3600, rel=1e-9)
    assert v.steps["totals"]["cheap"] == pytest.approx(0.1 + 36_500 * 0.51 / 3600, rel=1e-9)
    assert v.steps["order"] == "lowest total cost over the horizon"
    assert v.steps["chosen"] == "dear"


def test_fine_tunes_timed_apart_by_noise_cost_the_same_per_request():
    # The same tokens, timed 3 s and 15 s over the test set: one model, one rate (0.3 s).
    same = {"new_tokens_mean": 10.0}
    rs = [lora(ones(30), name="a", eval_seconds=3.0, details=same),
          lora(ones(30), name="b", eval_seconds=15.0, details=same)]  # fmt: skip
    costs = cost_report(rs, N, None, Prices())
    per = {k: c.seconds_per_request for k, c in costs.per_strategy.items()}
    assert per == {"a": pytest.approx(0.3), "b": pytest.approx(0.3)}
    alone = cost_report(rs[:1], N, None, Prices()).per_strategy["a"].seconds_per_request
    assert alone == pytest.approx(0.1)  # one fine-tune: its own timing
    prompt = result("p", ones(30), eval_seconds=15.0)  # a prompt is not pooled with them
    assert cost_report([*rs, prompt], N, None, Prices()).per_strategy["p"].seconds_per_request \
        == pytest.approx(0.5)


def test_the_fine_tune_the_reasons_talk_about_is_the_most_accurate_then_cheapest_to_train():
    rs = [result("few_shot", ones(29), p50=10),
          lora(ones(28), name="a_dear", train_seconds=900),
          lora(ones(28), name="b_cheap", train_seconds=90)]  # fmt: skip
    v = decide(rs)
    assert v.recommended == "few_shot" and v.drivers == ["no_training"]
    assert line(v, "Do not fine-tune").startswith("Do not fine-tune: b_cheap is as good as")
    rs[1] = lora(ones(29), name="a_dear", train_seconds=900)
    assert line(decide(rs), "Do not fine-tune").startswith("Do not fine-tune: a_dear is as")


def test_equal_totals_at_volume_go_to_the_lower_latency_then_the_name():
    rs = [result("b", ones(20), p50=200), result("a", ones(20), p50=300)]
    assert decide(rs, needs=Needs(requests_per_day=50)).recommended == "b"
    rs = [result("b", ones(20), p50=200), result("a", ones(20), p50=200)]
    assert decide(rs, needs=Needs(requests_per_day=50)).recommended == "a"
    assert decide(rs[::-1], needs=Needs(requests_per_day=50)).recommended == "a"


def test_without_a_volume_equal_latency_goes_to_the_cheaper_request_then_the_name():
    rs = [result("a", ones(20), eval_seconds=30.0), result("b", ones(20), eval_seconds=3.0)]
    v = decide(rs)
    assert v.recommended == "b"
    assert v.steps["order"] == "no training first, then cheaper training, then lower latency"
    same = [result("b", ones(20)), result("a", ones(20))]
    assert decide(same).recommended == "a" and decide(same[::-1]).recommended == "a"


@pytest.mark.parametrize(
    ("rs", "leader"),
    [
        # Equal scores: no training leads, then cheaper training, cheaper requests, latency.
        ([lora(ones(20), name="a"), result("b", ones(20))], "b"),
        ([lora(ones(20), name="a", train_seconds=900), lora(ones(20), name="b")], "b"),
        ([result("a", ones(20), eval_seconds=30.0), result("b", ones(20))], "b"),
        ([result("a", ones(20), p50=300), result("b", ones(20))], "b"),
        ([result("b", ones(20)), result("a", ones(20))], "a"),
        ([result("a", ones(20)), result("b", ones(21), p50=900, eval_seconds=90.0)], "b"),
    ],
)
def test_the_leader_is_the_most_accurate_then_the_cheapest(rs, leader):
    assert decide(rs).steps["leader"] == leader
    assert decide(rs[::-1]).steps["leader"] == leader


def test_the_quality_margin_admits_strategies_up_to_it_below_the_leader():
    # paired CI of lora (29/30) minus few_shot (24/30): about +0.03 to +0.30.
    rs = [result("few_shot", ones(24), p50=10), lora(ones(29))]
    strict = decide(rs)
    assert strict.recommended == "lora" and strict.not_worse_than_best == ["lora"]
    wide = decide(rs, needs=Needs(quality_margin=0.05))
    assert wide.recommended == "few_shot" and wide.fine_tune is False
    assert sorted(wide.not_worse_than_best) == ["few_shot", "lora"]
    assert "within your quality margin of 0.050" in text(wide)


# --- the wording of the choice --------------------------------------------------------------


def test_no_llm_needed_says_whether_the_best_llm_is_ahead_or_not():
    behind = decide([baseline(ones(20), p50=2), result("few_shot", ones(19))])
    assert line(behind, "You don't need an LLM") == (
        "You don't need an LLM for this: baseline (0.667) needs no language model, and the"
        " best LLM strategy, few_shot (0.633), is no better than it (paired difference -0.033,"
        " 95% CI -0.100 to +0.000)."
    )
    ahead = decide([baseline(ones(20), p50=2), result("few_shot", ones(21))])
    assert "few_shot (0.700), is not significantly better than it (paired difference +0.033," \
        in line(ahead, "You don't need an LLM")  # fmt: skip
    level = decide([baseline(ones(20), p50=2), result("few_shot", ones(20))])
    assert "is no better than it (paired difference +0.000" in line(level, "You don't need")
    llm = decide([result("few_shot", ones(25)), baseline(ones(20), p50=2)])
    assert not any(r.startswith("You don't need") for r in llm.reasons)


def test_the_choice_line_names_the_leader_and_the_cost_that_decided():
    v = decide([result("few_shot", ones(20), p50=300, eval_seconds=30.0),
                result("zero_shot", ones(19), p50=100)])  # fmt: skip
    assert v.recommended == "zero_shot"
    assert line(v, "Recommended zero_shot") == (
        "Recommended zero_shot: 0.633 is not significantly below the leader few_shot (0.667;"
        " paired difference leader minus it +0.033, 95% CI +0.000 to +0.100). It is faster and"
        " cheaper to run: zero_shot: no training, 0.0278 USD per 1,000 requests, 100 ms p50;"
        " few_shot: no training, 0.278 USD per 1,000 requests, 300 ms p50."
    )
    at_volume = decide(
        [result("few_shot", ones(20), eval_seconds=30.0), result("zero_shot", ones(19))],
        needs=Needs(requests_per_day=1000, horizon_days=30),
    )
    assert line(at_volume, "Recommended zero_shot").endswith(
        "It is cheaper over 30 days at 1,000 requests a day: 0.833 USD in all against"
        " 8.33 USD (zero_shot: no training, 0.0278 USD per 1,000 requests, 100 ms p50;"
        " few_shot: no training, 0.278 USD per 1,000 requests, 100 ms p50)."
    )
    alone = decide([result("few_shot", ones(20)), result("zero_shot", ones(5))])
    assert line(alone, "Recommended") == (
        "Recommended few_shot: the most accurate strategy that meets your needs."
    )
    tied = decide([result("few_shot", ones(20)), result("zero_shot", ones(19), p50=300)])
    assert line(tied, "Recommended") == (
        "Recommended few_shot: the most accurate strategy that meets your needs; not "
        "significantly worse: zero_shot. It is faster: few_shot: no training, 0.0278 USD per "
        "1,000 requests, 100 ms p50; zero_shot: no training, 0.0278 USD per 1,000 requests, 300 "
        "ms p50."
    )


# --- the same inputs give the same verdict; the seed reaches every interval ------------------

F1_A = [0.63, 0.9, 0.78, 0.23, 0.3, 0.87, 0.01, 0.82, 0.8, 0.47, 0.3, 0.28, 0.25, 0.45, 0.5,
        0.55, 1.0, 0.79, 0.62, 0.99, 0.22, 0.16, 0.61, 0.04, 0.04]  # fmt: skip
F1_B = [0.33, 0.99, 0.32, 0.79, 0.87, 0.39, 0.44, 0.37, 0.11, 0.48, 0.24, 0.26, 0.18, 0.19,
        0.81, 0.42, 0.26, 0.59, 0.6, 0.65, 0.91, 0.15, 0.37, 0.28, 0.02]  # fmt: skip


def f1_case():
    return [result("rag", F1_A, p50=300), result("few_shot", F1_B, p50=100)]


def test_the_same_results_give_the_same_verdict_and_the_seed_reaches_the_paired_intervals():
    a, b = decide(f1_case()), decide(f1_case())
    assert dataclasses.asdict(a) == dataclasses.asdict(b)
    # The paired interval (scipy reference in test_stats_reference.py): -0.0788 to +0.2036.
    assert a.recommended == "few_shot"
    assert "(0.504; paired difference leader minus it +0.064, 95% CI -0.079 to +0.204)" \
        in line(a, "Recommended few_shot")  # fmt: skip
    other = decide(f1_case(), seed=1)
    assert line(other, "Recommended few_shot") != line(a, "Recommended few_shot")
    assert decide(f1_case(), seed=1).reasons == other.reasons


def test_the_resamples_reach_the_paired_intervals():
    few = decide(f1_case(), n_resamples=50)
    assert line(few, "Recommended few_shot") != line(decide(f1_case()), "Recommended few_shot")


def test_fine_tunes_that_generate_nothing_are_not_pooled():
    # No tokens to spread the seconds over: each keeps its own timing (no division by zero).
    empty = {"new_tokens_mean": 0.0}
    rs = [lora(ones(30), name="a", eval_seconds=3.0, prompt_tokens=0.0, details=empty),
          lora(ones(30), name="b", eval_seconds=15.0, prompt_tokens=0.0, details=empty)]
    from shouldtune.core.cost import pooled_fine_tune_rate

    assert pooled_fine_tune_rate(rs, N) is None
    assert pooled_fine_tune_rate([lora(ones(30))], N) is None  # one: nothing to pool
    # Any tokens at all are enough to pool over (0.3 token-requests here).
    few = [lora(ones(30), name=n, eval_seconds=3.0, prompt_tokens=0.01, details=empty)
           for n in ("a", "b")]  # fmt: skip
    assert pooled_fine_tune_rate(few, N) == pytest.approx(6.0 / (2 * N * 0.01))
