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
