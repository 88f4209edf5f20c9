"""A fine-tune's learning curve is scored at scoring time (the fine-tune's score_details hook).

Apart from tests/test_scoring.py: the hook lives in finetune/, which imports torch, and the
decision tier (`pytest -m decision`) never does.
"""

from __future__ import annotations

from shouldtune.core.metrics import Metric, exact_match
from shouldtune.core.scoring import TestSplit, score_run
from shouldtune.core.types import Example, Generation, StrategyRun, Traits


def _run(name: str, texts: list[str], kind: str = "prompting", **details) -> StrategyRun:
    return StrategyRun(
        name=name, kind=kind, traits=Traits.from_kind(kind),
        generations=[Generation(t, 10, 2) for t in texts],
        latency_ms={"p50": 10.0, "p95": 12.0}, tokens_per_s=5.0, prompt_tokens_mean=10.0,
        train_seconds=0.0, eval_seconds=1.0, peak_rss_mb=1.0, details=dict(details),
    )  # fmt: skip


def _test(n: int) -> list[Example]:
    return [Example(f"q{i}", f"a{i}", None, f"test.jsonl:{i + 1}") for i in range(n)]


EM = Metric("exact_match", exact_match)


def test_learning_curve_points_are_scored_at_scoring_time():
    from shouldtune.strategies.finetuned import FineTuneStrategy

    test = _test(10)
    details = {
        "train_examples": 40,
        "learning_curve": [
            {"fraction": 0.25, "n_train": 10, "predictions": ["?"] * 10},
            {
                "fraction": 0.5,
                "n_train": 20,
                "predictions": [f"a{i}" for i in range(5)] + ["?"] * 5,
            },
        ],
    }
    run = _run("lora", [f"a{i}" for i in range(10)], "fine-tuning", **details)

    def hook(d, score, scores):
        return FineTuneStrategy.score_details(d, score, scores, 200, 0)

    result, _ = score_run(run, test, EM, TestSplit(10), 200, 0, hook)
    curve = result.details["learning_curve"]
    assert [p["score"] for p in curve] == [0.0, 0.5, 1.0]
    assert [p["n_train"] for p in curve] == [10, 20, 40]
    assert "predictions" not in curve[0]
    assert result.details["learning_curve_trend"] in ("rising", "probably_rising")
