"""A latency budget is decided on the p95's bootstrap interval, not its point estimate
(issue 30, item 1): a strategy breaks the budget only when it is clearly over it, and a kept
strategy whose point estimate is over says so."""

from __future__ import annotations

import pytest
from test_decision import result

from shouldtune.core.decision import Option, hard_reasons
from shouldtune.core.needs import Needs
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

GOOD = [1.0] * 40
SOME = [1.0] * 30 + [0.0] * 10


def _timed(name, scores, p50, p95, low, high, n=20, **kw):
    r = result(name, scores, p50=p50, p95=p95, **kw)
    r.latency_ms.update(n=n, p95_ci_low=low, p95_ci_high=high)
    return r


def test_a_p95_over_the_budget_whose_interval_reaches_under_it_is_kept_and_said():
    o = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0, latency_n=20, p95_ci=(450.0, 1200.0))
    assert hard_reasons(o, Needs(latency_p95_ms=500)) == []
    assert o.near_budget(500) and not o.over_budget(500)
    clearly = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0, latency_n=20, p95_ci=(600.0, 1200.0))
    assert clearly.over_budget(500) and not clearly.near_budget(500)
    assert hard_reasons(clearly, Needs(latency_p95_ms=500)) == [
        "p95 latency 900 ms (95% CI 600-1,200) is over the 500 ms budget"
    ]
    # Older results carry no interval: the point estimate decides.
    bare = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0)
    assert bare.over_budget(500) and bare.p95_floor == 900.0
    assert not bare.over_budget(None) and not bare.near_budget(None)


def test_the_verdict_keeps_a_strategy_not_clearly_over_and_names_the_doubt():
    runs = [
        _timed("lora", GOOD, 400, 900, 450, 1200, kind="fine-tuning", train_seconds=100),
        _timed("zero_shot", SOME, 100, 150, 120, 180),
    ]
    v = decide(runs, needs=Needs(latency_p95_ms=500))
    assert v.recommended == "lora"
    assert "lora" not in v.steps["ruled_out"]
    assert (
        "Latency: lora's p95 of 900 ms is over your 500 ms budget, but its 95% CI (450-1,200 ms,"
        " 20 requests) reaches under it: not clearly over, so it is kept; time more requests"
        " (eval.latency_samples) before you rely on it."
    ) in v.reasons
    row = next(r for r in v.steps["table"] if r["name"] == "lora")
    assert row["latency_ok"] is True and row["p95_ci"] == [450, 1200]
    # Clearly over: ruled out, and the doubt line is gone.
    runs[0] = _timed("lora", GOOD, 400, 900, 550, 1200, kind="fine-tuning", train_seconds=100)
    v = decide(runs, needs=Needs(latency_p95_ms=500))
    assert v.recommended == "zero_shot" and "lora" in v.steps["ruled_out"]
    assert not any("not clearly over" in r for r in v.reasons)


def test_flips_and_next_steps_use_the_low_end_of_the_interval():
    runs = [
        _timed("lora", GOOD, 400, 900, 700, 1200, kind="fine-tuning", train_seconds=100),
        _timed("zero_shot", SOME, 100, 150, 120, 180),
    ]
    v = decide(runs, needs=Needs())
    assert v.recommended == "lora"
    (flip,) = [f for f in v.flips if f["need"] == "latency_p95_ms"]
    assert flip["at"] == 700 and flip["to"] == "zero_shot"  # out only under its floor
    v = decide(runs[:1], needs=Needs(latency_p95_ms=500))
    assert v.recommended is None
    assert v.next_steps[0].startswith(
        "raise the p95 budget to at least 700 ms (lora, the fastest usable strategy)"
    )


def test_a_p95_exactly_at_the_budget_is_within_it_and_one_request_says_too_few():
    at = Option("lora", 1.0, 1.0, 1.0, p95_ms=500.0, latency_n=20, p95_ci=(450.0, 600.0))
    assert not at.near_budget(500) and not at.over_budget(500)  # "over" means above
    one = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0, latency_n=1)
    (why,) = hard_reasons(one, Needs(latency_p95_ms=500))
    assert why.endswith("from only 1 requests, too few for a p95 (20), so it is nearly the"
                        " slowest of them")  # fmt: skip
