"""A cold first request is not a latency sample (issue 30, item 1: one warm-up request)."""

from __future__ import annotations

import time
from pathlib import Path

from shouldtune.core.types import Example, Generation, Kind, Task
from shouldtune.eval.evaluate import evaluate
from shouldtune.strategies.base import RunContext, Strategy


class ColdStart(Strategy):
    """Its first single request takes 300 ms (a lazy load), every later one about 1 ms."""

    name = "cold"
    kind = Kind.BASELINE
    uses_llm = False

    def prepare(self, ctx):
        self.singles = 0
        return {}

    def predict(self, examples, ctx):
        if len(examples) == 1:
            self.singles += 1
            time.sleep(0.3 if self.singles == 1 else 0.001)
        return [Generation("x") for _ in examples]


def test_the_first_single_request_is_a_discarded_warm_up():
    rows = [Example(f"q{i}", "x") for i in range(8)]
    task = Task("t", "", "exact_match", rows, rows, root=Path("."))
    strategy = ColdStart(ColdStart.Options())
    run = evaluate(strategy, RunContext(task=task), latency_samples=6)
    assert strategy.singles == 7  # one warm-up, six timed
    assert run.latency_ms["p95"] < 100  # the 300 ms cold start is not among them


def test_twenty_samples_by_default_each_kept_with_the_p95_interval():
    from shouldtune.core.config import EvalConfig

    assert EvalConfig().latency_samples == 20
    rows = [Example(f"q{i}", "x") for i in range(25)]
    task = Task("t", "", "exact_match", rows, rows, root=Path("."))
    strategy = ColdStart(ColdStart.Options())
    run = evaluate(strategy, RunContext(task=task), latency_samples=20)
    lat = run.latency_ms
    assert lat["n"] == 20 and len(run.details["latency_samples_ms"]) == 20
    # The injected 300 ms first call is the warm-up: p95 stays within 3x the p50.
    assert lat["p95"] <= 3 * lat["p50"] + 5  # + 5 ms: sleep(1 ms) granularity on a busy CI
    assert lat["p95_ci_low"] <= lat["p95"] <= lat["p95_ci_high"]
    assert max(run.details["latency_samples_ms"]) < 100


def test_a_p95_from_few_samples_says_so_when_it_rules_a_strategy_out():
    from shouldtune.core.decision import Option, hard_reasons
    from shouldtune.core.needs import Needs

    few = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0, latency_n=6, p95_ci=(700.0, 1200.0))
    (why,) = hard_reasons(few, Needs(latency_p95_ms=500))
    assert why == (
        "p95 latency 900 ms (95% CI 700-1,200) is over the 500 ms budget; from only 6 requests,"
        " too few for a p95 (20), so it is nearly the slowest of them"
    )
    enough = Option("lora", 1.0, 1.0, 1.0, p95_ms=900.0, latency_n=20)
    assert hard_reasons(enough, Needs(latency_p95_ms=500)) == [
        "p95 latency 900 ms is over the 500 ms budget"
    ]

