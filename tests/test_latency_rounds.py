"""Latency samples interleaved round-robin: machine load falls on every strategy alike
(issue 30, item 1), each request counted once, big fine-tunes timed alone."""

from __future__ import annotations

from pathlib import Path

import torch

from shouldtune.core.types import Example, Generation, Kind, Task
from shouldtune.eval import latency
from shouldtune.strategies.base import RunContext, Strategy


class Clock:
    """A fake clock: a request costs `cost` seconds, times `load` while the machine is busy
    (requests number `busy` in the order sent, warm-ups included)."""

    def __init__(self, busy: range):
        self.now, self.sent, self.busy = 0.0, 0, busy
        self.log: list[str] = []

    def __call__(self) -> float:
        return self.now

    def serve(self, name: str, cost: float) -> None:
        self.log.append(name)
        self.now += cost * (10.0 if self.sent in self.busy else 1.0)
        self.sent += 1


def _strategy(name: str, clock: Clock, cost: float = 1.0) -> Strategy:
    class Fake(Strategy):
        kind = Kind.BASELINE
        uses_llm = False

        def prepare(self, ctx):
            return {}

        def predict(self, examples, ctx):
            clock.serve(self.name, cost)
            ctx.progress.advance(len(examples))  # as generate's on_batch does
            return [Generation("x") for _ in examples]

    Fake.name = name
    return Fake(Fake.Options())


class Counter:
    def __init__(self):
        self.stages: list[tuple[str, str, int | None]] = []
        self.advanced = 0

    def stage(self, strategy, stage, total=None):
        self.stages.append((strategy, stage, total))

    def advance(self, n=1):
        self.advanced += n

    def log(self, message):
        pass


def _ctx(n: int = 10) -> RunContext:
    rows = [Example(f"q{i}", "x") for i in range(n)]
    return RunContext(task=Task("t", "", "exact_match", rows, rows, root=Path(".")))


def test_each_round_sends_one_request_to_every_strategy_in_a_seeded_shuffled_order():
    clock = Clock(range(0))
    names = ["a", "b", "c"]
    ctx = _ctx()
    got = latency.round_robin([_strategy(n, clock) for n in names], ctx, ctx.task.test, 7, clock)
    assert {n: len(v) for n, v in got.items()} == {"a": 10, "b": 10, "c": 10}
    warm, rounds = clock.log[:3], clock.log[3:]
    assert warm == names  # one untimed warm-up each, first
    chunks = [rounds[i : i + 3] for i in range(0, 30, 3)]
    assert all(sorted(c) == names for c in chunks)  # every round: each strategy once
    assert len({tuple(c) for c in chunks}) > 1  # the order changes between rounds
    again = Clock(range(0))
    latency.round_robin([_strategy(n, again) for n in names], ctx, ctx.task.test, 7, again)
    assert again.log == clock.log  # and is the same for the same seed


def test_a_busy_spell_falls_on_every_strategy_alike_not_on_whichever_ran_then():
    # Two equally fast strategies; the machine is 10x slower for requests 12-21 (a backup
    # job). Timed one after the other, the spell lands on b alone; round-robin shares it.
    busy = range(12, 22)
    clock = Clock(busy)
    ctx = _ctx(10)
    a, b = _strategy("a", clock), _strategy("b", clock)
    alone = {s.name: latency.solo(s, ctx, ctx.task.test, clock) for s in (a, b)}
    assert sum(alone["b"]) > 5 * sum(alone["a"])  # sequential timing blames b
    clock = Clock(busy)
    a, b = _strategy("a", clock), _strategy("b", clock)
    mixed = latency.round_robin([a, b], ctx, ctx.task.test, 0, clock)
    assert sum(mixed["a"]) == sum(mixed["b"])  # the spell split evenly: 5 slow requests each
    assert sorted(mixed["a"]) == sorted(mixed["b"])


def test_every_request_is_counted_once_though_the_strategy_counts_its_own_too():
    clock, ctx, progress = Clock(range(0)), _ctx(5), Counter()
    ctx.progress = progress
    pair = [_strategy("a", clock), _strategy("b", clock)]
    latency.round_robin(pair, ctx, ctx.task.test, 0, clock)
    assert progress.stages == [("latency", "round-robin over a, b", 10)]
    assert progress.advanced == 10  # "rag · latency: 34 of 20" came from counting twice
    progress.advanced = 0
    latency.solo(_strategy("c", clock), ctx, ctx.task.test, clock)
    assert progress.stages[-1] == ("c", "latency", 5) and progress.advanced == 5
    assert ctx.serving is False  # restored after the timing


def test_samples_replace_the_pending_latency_and_say_how_they_were_taken():
    from shouldtune.core.types import StrategyRun, Traits

    run = StrategyRun("a", "baseline", Traits(), [Generation("x")], {"p50": 0, "p95": 0, "n": 0},
                      1.0, 1.0, 0.0, 1.0, 1.0,
                      details={"latency_samples_ms": [], "latency_timed": "pending"})  # fmt: skip
    timed = latency.with_samples(run, [0.010] * 19 + [0.050], 0, "round-robin")
    assert timed.latency_ms["n"] == 20 and timed.latency_ms["p50"] == 10.0
    assert timed.details["latency_timed"] == "round-robin"
    assert timed.details["latency_samples_ms"][-1] == 50.0
    assert run.latency_ms["n"] == 0  # a new run, the old one untouched


def test_a_fine_tune_is_held_for_the_rounds_only_while_its_weights_fit():
    clock = Clock(range(0))
    prompting = _strategy("zero_shot", clock)
    assert latency.can_hold(prompting, free=0)  # holds no model of its own

    class Tuned:
        def __init__(self, model):
            self.model = model

    tune = _strategy("full", clock)
    weights = torch.nn.Linear(100, 100)  # 10,100 float32 parameters: 40,400 bytes
    tune.tuned_model = lambda: Tuned(weights)  # type: ignore[method-assign]
    assert latency.weight_bytes(weights) == 40_400
    assert latency.can_hold(tune, free=4 * 40_400)  # a quarter of what is free
    assert not latency.can_hold(tune, free=4 * 40_400 - 4)
