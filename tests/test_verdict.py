"""The verdict on hand-made results: when fine-tuning wins, and the cheapest tie otherwise."""

from __future__ import annotations

import pytest

from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.types import Quality, StrategyResult
from shouldtune.core.verdict import cost_key, decide

N = 30


def result(
    name: str,
    scores: list[float],
    kind: str = "prompting",
    train_seconds: float = 0.0,
    p50: float = 100.0,
    metric: str = "exact_match",
) -> StrategyResult:
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality(metric, mean, lo, hi),
        latency_ms={"p50": p50, "p95": p50 * 1.5},
        tokens_per_s=10.0,
        prompt_tokens_mean=50.0,
        train_seconds=train_seconds,
        eval_seconds=1.0,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=list(scores),
    )


def lora(scores: list[float], train_seconds: float = 120.0, p50: float = 100.0):
    return result("lora", scores, kind="fine-tuning", train_seconds=train_seconds, p50=p50)


def ones(k: int, n: int = N) -> list[float]:
    """k correct answers followed by n - k wrong ones."""
    return [1.0] * k + [0.0] * (n - k)


def joined(verdict) -> str:
    return "\n".join(verdict.reasons)


def test_fine_tune_significantly_better_than_everything():
    results = [
        result("zero_shot", ones(0)),
        result("few_shot", ones(10), p50=150),
        lora(ones(30)),
    ]
    v = decide(results)
    assert v.fine_tune is True
    assert v.recommended == "lora"
    assert v.best == "lora"
    assert v.not_worse_than_best == ["lora"]
    text = joined(v)
    assert "Best quality: lora scored 1.000 exact_match" in text
    assert "on 30 held-out examples" in text
    assert "Fine-tune: lora beats every alternative significantly" in text
    assert "few_shot (0.333), is 0.667 lower" in text
    assert "Training took 120 s" in text
    assert "Significantly worse than lora: zero_shot (0.000), few_shot (0.333)." in text


def test_fine_tune_tied_with_few_shot_recommends_the_cheaper_few_shot():
    few = [1.0, 0.0] * 15  # 0.500
    tuned = few[:]
    tuned[1] = 1.0  # one more right answer: 0.533, not significant
    v = decide([result("zero_shot", ones(0)), result("few_shot", few, p50=300), lora(tuned)])
    assert v.fine_tune is False
    assert v.best == "lora"
    assert v.recommended == "few_shot"  # no training beats lower latency
    assert set(v.not_worse_than_best) == {"lora", "few_shot"}
    text = joined(v)
    assert "Recommended few_shot: 0.500 is not significantly below the best" in text
    assert "paired difference +0.033" in text
    assert "Do not fine-tune: lora (0.533, 120 s of training)" in text
    assert "not significantly better than few_shot (0.500" in text
    assert "Significantly worse than lora: zero_shot (0.000)." in text


def test_fine_tune_slightly_worse_than_prompting():
    few = ones(20)
    tuned = few[:]
    tuned[0] = 0.0
    v = decide([lora(tuned, p50=10), result("few_shot", few, p50=90)])
    assert v.fine_tune is False
    assert v.best == "few_shot"
    assert v.recommended == "few_shot"


def test_exact_tie_between_prompting_strategies_goes_to_lower_latency():
    scores = [1.0, 0.0, 1.0] * 10
    slow = result("zero_shot", scores, p50=200)
    fast = result("few_shot", scores, p50=80)
    for order in ([slow, fast], [fast, slow]):
        v = decide(order)
        assert v.recommended == "few_shot"
        assert v.best == "few_shot"
        assert v.fine_tune is False
        assert sorted(v.not_worse_than_best) == ["few_shot", "zero_shot"]


def test_cheaper_tie_is_explained_with_its_costs():
    best = result("rag", ones(16), kind="retrieval", p50=400)
    cheap = result("zero_shot", ones(15), p50=50)
    v = decide([best, cheap])
    assert v.best == "rag" and v.recommended == "zero_shot"
    text = joined(v)
    assert "Recommended zero_shot: 0.500 is not significantly below the best" in text
    assert "0 s of training, 50 ms per request (p50) against 0 s and 400 ms" in text


def test_clearly_worse_strategy_is_listed_as_significantly_worse():
    v = decide([result("rag", ones(27), kind="retrieval"), result("zero_shot", ones(3))])
    assert v.best == "rag" and v.recommended == "rag"
    assert v.not_worse_than_best == ["rag"]
    assert v.reasons[-1] == "Significantly worse than rag: zero_shot (0.100)."


def test_no_fine_tune_run_says_so():
    v = decide([result("zero_shot", ones(10)), result("few_shot", ones(12))])
    assert v.fine_tune is False
    assert any("No fine-tuned strategy was run" in r for r in v.reasons)
    assert not any("Significantly worse" in r for r in v.reasons)


def test_only_fine_tunes_run():
    v = decide([lora(ones(20))])
    assert v.fine_tune is False
    assert v.recommended == "lora"
    assert any("nothing to compare fine-tuning against" in r for r in v.reasons)


def test_reasons_cite_score_and_ci_to_three_decimals():
    scores = [1.0] * 22 + [0.0] * 8  # 0.7333...
    r = result("few_shot", scores)
    v = decide([r, result("zero_shot", ones(0))])
    q = r.quality
    assert v.reasons[0] == (
        f"Best quality: few_shot scored 0.733 exact_match (95% CI {q.ci_low:.3f}-{q.ci_high:.3f})"
        " on 30 held-out examples."
    )
    assert q.ci_low < 0.733 < q.ci_high


def test_two_fine_tunes_that_both_win_pick_the_cheaper_training():
    big = result("lora_big", ones(30), kind="fine-tuning", train_seconds=600)
    small = lora(ones(29), train_seconds=60)
    v = decide([result("zero_shot", ones(0)), big, small])
    assert v.fine_tune is True
    assert v.best == "lora_big"
    assert v.recommended == "lora"


def test_cost_key_orders_untrained_first_then_latency():
    a = result("a", ones(1), p50=500)
    b = result("b", ones(1), p50=100)
    c = lora(ones(1), p50=1)
    assert sorted([c, a, b], key=cost_key) == [b, a, c]


def test_all_strategies_at_zero_say_nothing_worked_not_no_llm_needed():
    zeros = [0.0] * N
    v = decide([result("baseline", zeros, kind="baseline", p50=1.0), result("zero_shot", zeros)])
    assert v.recommended == "baseline" and not v.fine_tune
    assert any(r.startswith("Nothing worked: no strategy got a single") for r in v.reasons)
    assert not any("don't need an LLM" in r for r in v.reasons)
    some = [1.0] * 3 + [0.0] * (N - 3)
    v = decide([result("baseline", some, kind="baseline", p50=1.0), result("zero_shot", zeros)])
    assert any("You don't need an LLM" in r for r in v.reasons)
    assert not any(r.startswith("Nothing worked") for r in v.reasons)


def test_no_results_is_an_error():
    with pytest.raises(ValueError):
        decide([])
