"""Rules that decide verdicts from outside core/verdict.py, held by the torch-free decision
tier: when a fine-tune counts as still learning, that scores are read on the audit's clean
rows only, and which way a probe's before/after change points."""

from __future__ import annotations

import math

import pytest

from shouldtune.core.cost import Prices
from shouldtune.core.evidence import (
    STILL_FALLING,
    STILL_FALLING_NATS,
    dev_loss_still_falling,
    still_learning,
)
from shouldtune.core.metrics import Metric
from shouldtune.core.needs import Needs
from shouldtune.core.types import Example, Generation, StrategyRun, Traits
from shouldtune.probes.metrics import paired
from shouldtune.results import RunRecord, Scoring, score_all

pytestmark = pytest.mark.decision


@pytest.mark.parametrize(
    ("losses", "stopped_early", "expected"),
    [
        ([2.0, 1.0, 0.5], False, True),  # falling by half: still learning
        ([2.0, 1.0, 0.5], True, False),  # early stopping said it had stopped improving
        ([], False, False),  # no dev set: no evidence
        ([0.7], False, True),  # one evaluation shows no plateau
        ([1.0, 0.5, 0.6], False, False),  # the last is not the best
        ([1.0, 1.0 * (1 - STILL_FALLING) + 1e-6], False, False),  # under 1% relative
        ([1.0, 1.0 * (1 - STILL_FALLING) - 1e-3], False, True),  # over 1% and over 0.01 nats
        # The demo's LoRA: 96% relative, but only 0.009 nats: converged, not learning.
        ([0.0093, 0.00035], False, False),
        ([0.5, 0.5 - STILL_FALLING_NATS - 1e-4], False, True),  # over both floors
        ([math.nan, 1.0, 0.5], False, True),  # a non-finite evaluation is skipped
    ],
)
def test_still_learning_is_a_dev_loss_still_falling_by_both_floors(losses, stopped_early, expected):
    assert dev_loss_still_falling(losses, stopped_early) is expected
    history = [{"dev_loss": x} for x in losses]  # results without the trainer's own flag
    training = {"history": history, "stopped_early": stopped_early}
    assert still_learning(training) is expected
    assert still_learning({**training, "still_learning": not expected}) is (not expected)


def _run(name: str, answers: list[str]) -> StrategyRun:
    gens = [Generation(a) for a in answers]
    return StrategyRun(name, "prompting", Traits(), gens, {"p50": 1.0, "p95": 1.0}, 1.0, 1.0,
                       0.0, 1.0, 1.0)  # fmt: skip


def test_scores_are_read_on_the_audits_clean_rows_only(tmp_path):
    test = [Example(f"q{i}", "yes") for i in range(6)]
    # "memo" is right only on rows 0 and 1, which repeat training rows with their answers;
    # "general" is wrong there and right on every clean row.
    runs = [_run("memo", ["yes", "yes", "no", "no", "no", "no"]),
            _run("general", ["no", "no", "yes", "yes", "yes", "yes"])]  # fmt: skip
    audit = {"test_rows": {"seen": [0, 1]}}
    record = RunRecord({"name": "t"}, test, {}, {"seed": 0}, runs, audit=audit)
    (tmp_path / "predictions").mkdir()
    metric = Metric("exact_match", lambda p, e: float(p == e))
    scored, split = score_all(record, Scoring(metric, Needs(), Prices(), 200), tmp_path)
    assert split.clean == [2, 3, 4, 5]
    by = {r.name: r.quality for r in scored}
    assert (by["memo"].score, by["memo"].n) == (0.0, 4)
    assert (by["general"].score, by["general"].n) == (1.0, 4)
    # Without an audit every row is clean, and the memoriser's two right answers count.
    plain, _ = score_all(RunRecord({"name": "t"}, test, {}, {"seed": 0}, runs), Scoring(
        metric, Needs(), Prices(), 200), tmp_path)  # fmt: skip
    assert {r.name: r.quality.n for r in plain} == {"memo": 6, "general": 6}


def test_a_probe_change_is_after_minus_before():
    before, after = [1.0] * 20, [1.0] * 10 + [0.0] * 10  # lost half: a drop
    drop = paired(before, after, 500, 0)
    assert (drop["before"], drop["after"], drop["diff"]) == (1.0, 0.5, -0.5)
    assert drop["ci_high"] < 0  # significant, and below zero
    rise = paired(after, before, 500, 0)
    assert rise["diff"] == 0.5 and rise["ci_low"] > 0


def test_the_verdict_reads_the_p95_interval_and_sample_count_from_the_results():
    from test_verdict import result

    from shouldtune.core.needs import Needs
    from shouldtune.core.verdict import decide

    slow = result("lora", [1.0] * 20 + [0.0] * 10, kind="fine-tuning", p50=600.0, p95=900.0)
    slow.latency_ms.update({"n": 6, "p95_ci_low": 700.0, "p95_ci_high": 1200.0})
    fast = result("few_shot", [1.0] * 12 + [0.0] * 18, p50=100.0, p95=150.0)
    v = decide([slow, fast], needs=Needs(latency_p95_ms=500))
    assert v.steps["ruled_out"]["lora"] == [
        "p95 latency 900 ms (95% CI 700-1,200) is over the 500 ms budget; from only 6 requests,"
        " too few for a p95 (20), so it is nearly the slowest of them"
    ]
    slow.latency_ms.update({"n": 20, "p95_ci_low": "?"})  # no interval unless both are numbers
    v = decide([slow, fast], needs=Needs(latency_p95_ms=500))
    assert v.steps["ruled_out"]["lora"] == ["p95 latency 900 ms is over the 500 ms budget"]
