"""Four sentences of the verdict that were false, found while pinning core/reasons.py (issue 22),
now pinned as corrected: the choice line when a harm decided, "costs less" with no volume, the
reason a prompt wins a tie without a volume, and "the only usable strategy" with no rival.
Builders: tests/test_mut_reasons.py (1 USD per machine-second; few_shot 0.500 at 1 USD a
request against lora 0.533 at 0.10 USD a request, 10 USD of training).
"""

from __future__ import annotations

import pytest
from test_mut_reasons import HALF, PROBES, ones, result, tied, tune, verdict

from shouldtune.core.needs import Needs

pytestmark = pytest.mark.decision

PARTS = (
    "few_shot: no training, 1000.00 USD per 1,000 requests, 300 ms p50;"
    " lora: 10 s of training (10.00 USD), 100.00 USD per 1,000 requests, 100 ms p50"
)


def test_a_harm_that_decided_is_named_not_a_false_cost():
    # few_shot costs 36,500 USD over the year against lora's 3,660: the harm decided, not cost.
    v = verdict(tied(details=PROBES), needs=Needs(requests_per_day=100))
    assert v.reasons[2] == (
        "Recommended few_shot: 0.500 is not significantly below the leader lora (0.533; paired"
        " difference leader minus it +0.033, 95% CI +0.000 to +0.100). lora is as good but the"
        " probes found a harm after its fine-tuning (below), so the choice is among the"
        f" strategies without one: {PARTS}."
    )
    assert "cheaper" not in v.reasons[2]


@pytest.mark.parametrize("details", [{}, PROBES])
def test_without_a_volume_the_prompt_wins_for_needing_no_training_not_for_costing_less(details):
    v = verdict(tied(details=details))
    assert v.drivers == ["no_training"]
    assert v.reasons[3] == (
        "Do not fine-tune: lora is as good as few_shot here, and few_shot needs no training"
        f" ({PARTS}); with no volume stated, needing no training comes first (set"
        " needs.requests_per_day to weigh the total costs)."
    )


def test_a_choice_between_equal_prices_names_latency():
    rs = [
        result("baseline", ones(20), kind="baseline", p50=2),
        result("few_shot", ones(21), p50=50),
    ]
    v = verdict(rs)
    assert v.recommended == "baseline"
    assert (
        "It is faster: baseline: no training, 100.00 USD per 1,000 requests, 2 ms p50"
        in (v.reasons[1])
    )


def test_the_only_strategy_meeting_the_needs_is_not_compared_with_none():
    rs = [result("few_shot", ones(10), p50=600, p95=900), tune("lora", ones(29), p95=100)]
    v = verdict(rs, needs=Needs(latency_p95_ms=500))
    assert v.drivers == ["only_usable"]
    only = "Fine-tune (the only usable strategy): it is the only strategy that meets your needs."
    assert only in v.reasons
    assert not any("better than none" in r for r in v.reasons)


def test_three_fine_tunes_still_learning_are_listed_with_commas_and_and():
    rs = [result("few_shot_knn", ones(12))] + [
        tune(name, ones(2), details={"training": {"still_learning": True}})
        for name in ("full", "layers", "lora")
    ]
    assert verdict(rs).headline == (
        "Use few_shot_knn for now — undecided on fine-tuning: full, layers and lora were still"
        " learning"
    )


def test_equal_speed_the_cheaper_to_run_wins_and_a_full_tie_goes_by_name():
    cheap = result("a_prompt", ones(20), p50=50, eval_seconds=3.0)
    dear = result("b_prompt", ones(21), p50=50, eval_seconds=30.0)
    v = verdict([cheap, dear])
    assert v.recommended == "a_prompt"
    assert "It is cheaper to run: a_prompt: no training, 100.00 USD per 1,000" in v.reasons[1]
    twin = result("b_prompt", ones(21), p50=50, eval_seconds=3.0)
    v = verdict([cheap, twin])
    assert v.recommended == "a_prompt"
    assert "It ties on every count and comes first by name: a_prompt" in v.reasons[1]


@pytest.mark.parametrize(("p50", "how"), [(20, "is faster"), (50, "comes first by name")])
def test_at_a_volume_equal_totals_name_what_broke_the_tie(p50, how):
    rs = [
        result("a_prompt", ones(20), p50=p50, eval_seconds=3.0),
        result("b_prompt", ones(20), p50=50, eval_seconds=3.0),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=10))
    assert v.recommended == "a_prompt"
    assert f"It costs the same in all and {how}: a_prompt: no training, 100.00 USD" in v.reasons[1]


def test_at_a_volume_totals_inside_the_timing_noise_go_to_the_better_score():
    # b_prompt's requests cost 5% more (3.15 s against 3 s over the test set): a tie.
    rs = [
        result("a_prompt", ones(20), eval_seconds=3.0),
        result("b_prompt", ones(21), eval_seconds=3.15),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=10))
    assert v.recommended == "b_prompt"
    assert (
        "costs 383.25 USD in all against 365.00 USD: within 10%, inside the noise of the timings"
        " they come from, so a tie, broken by the better score (0.700 against 0.667)"
    ) in v.reasons[1]
    # 20% dearer is outside the noise: the cheaper one, whatever its score.
    rs[1] = result("b_prompt", ones(21), eval_seconds=3.6)
    assert verdict(rs, needs=Needs(requests_per_day=10)).recommended == "a_prompt"


def test_a_most_accurate_pick_is_not_called_the_cheapest_when_a_harm_decided():
    # The order-numbers run at 50,000 requests a day read "the cheapest of those it is not
    # significantly better than (lora)": lora was 5.7x cheaper a request, but harmed.
    rs = [
        result("few_shot", HALF, p50=300, eval_seconds=30.0),
        tune("lora", HALF, details=PROBES, eval_seconds=3.0),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=100))
    assert v.drivers == ["harms"]
    assert v.reasons[1] == (
        "Recommended few_shot: the most accurate strategy that meets your needs; not"
        " significantly worse: lora. lora is as good but the probes found a harm after its"
        f" fine-tuning (below), so the choice is among the strategies without one: {PARTS}."
    )


def test_of_several_equals_the_one_a_harm_kept_out_is_named():
    rs = [
        result("a_rag", HALF, p50=300, eval_seconds=60.0),
        result("few_shot", HALF, p50=300, eval_seconds=30.0),
        tune("tuned", HALF, details=PROBES, eval_seconds=3.0),
    ]
    v = verdict(rs, needs=Needs(requests_per_day=100))
    assert v.recommended == "few_shot"
    assert v.reasons[1].startswith(
        "Recommended few_shot: the most accurate strategy that meets your needs; not"
        " significantly worse: a_rag, tuned. tuned is as good but the probes found a harm"
    )
