"""baseline: TF-IDF + logistic regression or nearest neighbour, no LLM; and the verdict that
says "you don't need an LLM for this"."""

from __future__ import annotations

import json

import pytest

from shouldtune import strategies
from shouldtune.core.stats import bootstrap_ci
from shouldtune.core.taskio import load_task
from shouldtune.core.types import Quality, StrategyResult
from shouldtune.core.verdict import decide
from shouldtune.run import RunOptions, run_task
from shouldtune.strategies.base import RunContext
from shouldtune.strategies.baseline import is_label_like

WORDS = {
    "card": ["card", "lost", "stolen", "pin", "blocked"],
    "transfer": ["transfer", "sent", "payee", "wire", "account"],
    "refund": ["refund", "return", "money back", "reimburse", "charge"],
}


def labelled(n_per_class: int, offset: int = 0, test: bool = False) -> list[dict[str, str]]:
    template = "Hello, about {b} and {a} (case {i})" if test else "My {a} issue number {i}: {b}"
    rows = []
    for label, words in WORDS.items():
        for i in range(n_per_class):
            a, b = words[(i + offset) % 5], words[(i + offset + 2) % 5]
            rows.append({"input": template.format(a=a, b=b, i=i + offset), "output": label})
    return rows


def no_lm() -> None:
    raise AssertionError("the baseline must not load a language model")


def ctx_for(task) -> RunContext:
    return RunContext(task=task, lm_loader=no_lm, embedder_loader=no_lm)


def test_label_like_detection():
    assert is_label_like(["a", "b", "a", "b"])
    assert not is_label_like(["a", "b", "c", "d"])  # every output distinct: free text
    assert not is_label_like(["a"] * 4)  # one label: nothing to classify
    assert not is_label_like(["x" * 100, "x" * 100, "y", "y"])  # too long to be a label


def test_classifier_on_label_task_needs_no_lm(make_task_dir):
    task = load_task(make_task_dir(labelled(8), test=labelled(3, offset=1, test=True)))
    strategy = strategies.create("baseline")
    assert strategy.kind == "baseline" and strategy.skip_reason(task) is None
    ctx = ctx_for(task)
    details = strategy.prepare(ctx)
    assert details["mode"] == "classifier" and details["classes"] == 3
    assert details["majority_share"] == pytest.approx(1 / 3, abs=0.001)
    gens = strategy.predict(task.test, ctx)
    assert [g.text for g in gens] == [ex.output for ex in task.test]
    assert all(g.prompt_tokens == 0 and g.new_tokens == 0 for g in gens)


def test_nearest_neighbour_for_free_text(make_task_dir):
    train = [
        {"input": "capital of France", "output": "Paris is the capital."},
        {"input": "capital of Peru", "output": "Lima is the capital."},
        {"input": "largest planet", "output": "Jupiter."},
    ]
    test = [
        {"input": "what is the largest planet?", "output": "Jupiter."},
        {"input": "the capital of peru", "output": "Lima is the capital."},
    ]
    task = load_task(make_task_dir(train, test=test))
    strategy = strategies.create("baseline")
    ctx = ctx_for(task)
    assert strategy.prepare(ctx)["mode"] == "nearest"
    assert [g.text for g in strategy.predict(task.test, ctx)] == [
        "Jupiter.",
        "Lima is the capital.",
    ]
    # Chunked search gives the same answers as one big matrix.
    assert strategy._nearest([ex.input for ex in task.test], chunk=1) == [2, 1]


def test_forced_modes_and_skip(make_task_dir):
    task = load_task(make_task_dir(labelled(4), test=labelled(1)))
    nearest = strategies.create("baseline", {"mode": "nearest"})
    assert nearest.prepare(ctx_for(task))["mode"] == "nearest"
    one_label = load_task(
        make_task_dir(
            [{"input": str(i), "output": "x"} for i in range(5)],
            test=[{"input": "1", "output": "x"}],
        )
    )
    reason = strategies.create("baseline", {"mode": "classifier"}).skip_reason(one_label)
    assert reason and "two distinct labels" in reason


def result(name: str, scores: list[float], kind: str, p50: float, train_s: float = 0.0):
    mean, lo, hi = bootstrap_ci(scores)
    return StrategyResult(
        name=name,
        kind=kind,
        quality=Quality("accuracy", mean, lo, hi),
        latency_ms={"p50": p50, "p95": p50},
        tokens_per_s=0.0,
        prompt_tokens_mean=0.0,
        train_seconds=train_s,
        eval_seconds=1.0,
        peak_rss_mb=100.0,
        predictions_file=f"predictions/{name}.jsonl",
        scores=scores,
    )


def test_verdict_recommends_a_tied_baseline_and_says_no_llm_needed():
    few = [1.0, 0.0] * 20  # 0.500
    base = few[:]
    base[1] = base[3] = 0.0
    base[0] = 0.0  # 0.475: a little lower, not significantly
    v = decide(
        [
            result("baseline", base, "baseline", p50=2.0),
            result("few_shot", few, "prompting", p50=400.0),
            result("lora", few, "fine-tuning", p50=500.0, train_s=200),
        ]
    )
    assert v.recommended == "baseline" and v.fine_tune is False
    text = "\n".join(v.reasons)
    assert "You don't need an LLM for this: baseline (0.475) needs no language model" in text
    assert "the best LLM strategy, few_shot (0.500), is not significantly better than it" in text


def test_verdict_keeps_the_llm_when_the_baseline_is_significantly_worse():
    v = decide(
        [
            result("baseline", [0.0] * 30 + [1.0] * 10, "baseline", p50=2.0),
            result("few_shot", [1.0] * 40, "prompting", p50=400.0),
        ]
    )
    assert v.recommended == "few_shot"
    assert "need an LLM" not in "\n".join(v.reasons)
    assert "Significantly worse than few_shot: baseline (0.250)" in "\n".join(v.reasons)


def test_baseline_only_run_never_loads_the_model(
    make_task_dir, tiny_model_dir, tmp_path, monkeypatch
):
    from shouldtune.models import lm

    monkeypatch.setattr(lm.LanguageModel, "load", classmethod(lambda *a, **k: no_lm()))
    root = make_task_dir(
        labelled(6), test=labelled(2, offset=3, test=True), config={"metric": "accuracy"}
    )
    out = tmp_path / "run"
    results = run_task(root, RunOptions(out_dir=out, only=["baseline"], model=str(tiny_model_dir)))
    (only,) = results["strategies"]
    assert only["name"] == "baseline" and only["quality"]["score"] == 1.0
    assert results["model"]["parameters"] is None  # no LLM was loaded
    assert results["backend"] is None
    assert json.loads((out / "results.json").read_text())["verdict"]["recommended"] == "baseline"
    assert (out / "predictions" / "baseline.jsonl").is_file()
