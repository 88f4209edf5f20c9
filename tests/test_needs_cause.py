"""When the needs rule out every usable strategy, the verdict names the need, not the quality
(issue 30, item 2)."""

from __future__ import annotations

import pytest
from test_decision import result

from shouldtune.core.needs import Needs
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

GOOD = [1.0] * 40
NONE = [0.0] * 40


def test_a_latency_budget_that_rules_out_every_usable_strategy_is_named():
    runs = [
        result("lora", GOOD, kind="fine-tuning", train_seconds=100, p50=868, p95=2400,
               details={"training": {"stopped_early": False, "dev_losses": [3, 2, 1]}}),
        result("few_shot_knn", GOOD[:30] + NONE[:10], p50=900, p95=1800),
        result("zero_shot", NONE, p50=700, p95=900),
    ]  # fmt: skip
    v = decide(runs, needs=Needs(latency_p95_ms=500, requests_per_day=100_000))
    assert v.recommended is None
    assert v.headline == (
        "No recommendation: no usable strategy meets your latency budget (p95 500 ms)"
    )
    assert v.next_steps[0] == (
        "raise the p95 budget to at least 1,800 ms (few_shot_knn, the fastest usable strategy),"
        " or make it faster: a GPU, a serving engine (--engine vllm), or a shorter prompt"
    )
    assert not any("larger model" in s for s in v.next_steps)
    line = next(r for r in v.reasons if r.startswith("No recommendation"))
    assert line.startswith(
        "No recommendation: every usable strategy breaks a need — few_shot_knn: p95 latency"
        " 1,800 ms is over the 500 ms budget; lora: p95 latency 2,400 ms is over the 500 ms budget"
    )


def test_nothing_usable_still_says_so():
    v = decide([result("zero_shot", NONE, p95=900)], needs=Needs(latency_p95_ms=500))
    assert v.headline == "No recommendation yet: no strategy is usable"
    assert any("larger model" in s for s in v.next_steps)


def test_a_self_hosting_need_that_rules_out_every_usable_strategy_is_named_with_its_step():
    from shouldtune.core.types import Traits

    hosted = Traits(trains=False, uses_llm=True, hosted=True)
    runs = [result("few_shot", GOOD, traits=hosted, p50=100, p95=150),
            result("zero_shot", NONE, p50=100, p95=150)]  # fmt: skip
    v = decide(runs, needs=Needs(self_hosted=True))
    assert v.recommended is None
    assert v.headline == "No recommendation: no usable strategy meets your self-hosting need"
    assert v.next_steps[0] == (
        "allow a hosted model (--hosted-ok), or serve that model on this machine"
    )
    # Both needs: both named, joined, each with its own step.
    slow_hosted = [result("few_shot", GOOD, traits=hosted, p50=900, p95=1800),
                   result("zero_shot", NONE, p50=100, p95=150)]  # fmt: skip
    v = decide(slow_hosted, needs=Needs(self_hosted=True, latency_p95_ms=500))
    assert v.headline == (
        "No recommendation: no usable strategy meets your latency budget (p95 500 ms) and"
        " self-hosting need"
    )
    assert v.next_steps[:2] == [
        "raise the p95 budget to at least 1,800 ms (few_shot, the fastest usable strategy), or"
        " make it faster: a GPU, a serving engine (--engine vllm), or a shorter prompt",
        "allow a hosted model (--hosted-ok), or serve that model on this machine",
    ]
    # A hosted strategy that is not usable is not what blocks: no self-hosting step for it.
    v = decide([result("few_shot", NONE, traits=hosted), result("zero_shot", GOOD, p95=900)],
               needs=Needs(self_hosted=True, latency_p95_ms=500))  # fmt: skip
    assert v.recommended is None
    assert not any(s.startswith("allow a hosted model") for s in v.next_steps)
    assert "self-hosting" not in v.headline
