"""score_run on a small hand-made run, pinned by value: the clean-row result, the subsets, the
lenient views, the retrieval diagnosis, the unseen-answer rows and one prediction row per
example; and TestSplit read from an audit."""

from __future__ import annotations

import pytest

from shouldtune.core.metrics import Metric, exact_match, token_f1
from shouldtune.core.scoring import (
    TestSplit as Split,
)
from shouldtune.core.scoring import (
    lenient_views,
    quality,
    retrieval_diagnosis,
    score_run,
)
from shouldtune.core.types import Example, Generation, Quality, StrategyRun, Traits

pytestmark = pytest.mark.decision

F1 = Metric("token_f1", token_f1)
EXPECTED = ["paris", "red apple", "blue sky", "green grass", "two cats", "old oak tree"]


def _test() -> list[Example]:
    return [
        Example(f"question {i}?", a, None, f"test.jsonl:{i + 1}") for i, a in enumerate(EXPECTED)
    ]


def _gens() -> list[Generation]:
    return [
        Generation("paris", 11, 1, {"context": "paris is the capital"}),  # seen row
        Generation("a red pear", 12, 3),  # seen row
        Generation("the blue sky", 13, 3, {"context": "The sky is blue sky indeed"}),  # answer in
        Generation("grass", 14, 1, {"context": "lawns are nice"}),  # answer not in context
        Generation("two dogs", 15, 2),  # no context recorded
        Generation("old tree", 16, 2, {"context": 7}),  # not a text: not a retrieved context
    ]


def _run(gens: list[Generation] | None = None) -> StrategyRun:
    return StrategyRun(
        name="rag", kind="retrieval", traits=Traits.from_kind("retrieval"),
        generations=_gens() if gens is None else gens,
        latency_ms={"p50": 10.0, "p95": 12.0}, tokens_per_s=5.0, prompt_tokens_mean=13.5,
        train_seconds=1.5, eval_seconds=2.5, peak_rss_mb=100.0, details={"k": 3},
    )  # fmt: skip


SPLIT = Split.from_audit({"test_rows": {"seen": [0, 1], "answer_in_train": [2]}}, 6)


def test_score_run_pins_the_clean_row_result_and_every_prediction_row():
    result, rows = score_run(_run(), _test(), F1, SPLIT)  # default resamples and seed
    # Clean rows 2..5 score 1, 2/3, 1/2, 4/5 (token F1); seen rows 0, 1 score 1 and 1/2.
    assert result.quality == Quality("token_f1", 0.7417, 0.575, 0.9167, 4)
    assert result.scores == [1.0, 2 / 3, 0.5, 0.8]
    assert result.subsets == {
        "all": Quality("token_f1", 0.7444, 0.5833, 0.9111, 6),
        "seen": Quality("token_f1", 0.75, 0.5, 1.0, 2),
    }
    # Lenient views on the clean rows: only "the blue sky" contains its answer.
    assert result.lenient == {"contains": 0.25, "token_f1": 0.7417}
    assert result.details == {
        "k": 3,
        # Clean rows with a text context: 2 (answer in it, scored 1) and 3 (not, scored 2/3).
        "retrieval": {
            "rows": 2,
            "answer_in_context": 0.5,
            "score_when_in_context": 1.0,
            "score_when_not_in_context": 0.6667,
        },
        # Clean rows whose answer is not a training answer: 3, 4, 5.
        "unseen_answer_rows": {"rows": 3, "score": 0.6556},
    }
    assert (result.name, result.kind, result.traits) == ("rag", "retrieval", _run().traits)
    assert result.latency_ms == {"p50": 10.0, "p95": 12.0}
    assert (result.tokens_per_s, result.prompt_tokens_mean) == (5.0, 13.5)
    assert (result.train_seconds, result.eval_seconds, result.peak_rss_mb) == (1.5, 2.5, 100.0)
    assert result.predictions_file == "predictions/rag.jsonl"
    predicted = ["paris", "a red pear", "the blue sky", "grass", "two dogs", "old tree"]
    scores = [1.0, 0.5, 1.0, 2 / 3, 0.5, 0.8]
    assert rows == [
        {
            "index": i,
            "source": f"test.jsonl:{i + 1}",
            "input": f"question {i}?",
            "expected": EXPECTED[i],
            "predicted": predicted[i],
            "score": scores[i],
            "seen": i < 2,
            "prompt_tokens": 11 + i,
            "new_tokens": [1, 3, 3, 1, 2, 2][i],
        }
        for i in range(6)
    ]


def test_the_seed_and_resamples_reach_every_interval():
    a, _ = score_run(_run(), _test(), F1, SPLIT, 2000, 0)
    b, _ = score_run(_run(), _test(), F1, SPLIT)
    assert a.quality == b.quality and a.subsets == b.subsets
    c, _ = score_run(_run(), _test(), F1, SPLIT, 50, 3)
    assert c.quality == quality("token_f1", [1.0, 2 / 3, 0.5, 0.8], 50, 3)
    assert c.subsets["all"] == quality("token_f1", [1.0, 0.5, 1.0, 2 / 3, 0.5, 0.8], 50, 3)
    assert c.subsets["seen"] == quality("token_f1", [1.0, 0.5], 50, 3)
    assert c.quality != a.quality


def test_no_seen_rows_no_contexts_no_answer_facts_add_nothing():
    gens = [Generation(g.text, g.prompt_tokens, g.new_tokens) for g in _gens()]
    result, rows = score_run(_run(gens), _test(), F1, Split(6))
    assert list(result.subsets) == ["all"]
    assert result.details == {"k": 3}
    assert result.quality.n == 6 and [r["seen"] for r in rows] == [False] * 6
    # Every clean answer is also a training answer: no unseen-answer rows to report.
    every = Split(6, answer_in_train=frozenset(range(6)))
    assert score_run(_run(gens), _test(), F1, every)[0].details == {"k": 3}


def test_score_run_refuses_a_run_of_the_wrong_length():
    with pytest.raises(ValueError, match=r"^rag: 5 answers for 6 examples$"):
        score_run(_run(_gens()[:5]), _test(), F1, SPLIT)


def test_the_details_hook_rescores_other_answers_on_the_clean_rows():
    seen: dict = {}

    def hook(details, score_texts, clean_scores):
        seen["clean_scores"] = clean_scores
        # Alternative answers for all 6 rows: only the clean rows (2..5) are scored.
        seen["rescored"] = score_texts(["x", "x", "blue", "green grass", "two cats", "oak"])
        return {**details, "hooked": True}

    srcs: list[str] = []

    def f1(p: str, e: str) -> float:
        return token_f1(p, e)

    class Recording(Metric):
        def score_rows(self, predicted, expected, sources):
            srcs.append(list(sources))
            return super().score_rows(predicted, expected, sources)

    result, _ = score_run(_run(), _test(), Recording("token_f1", f1), SPLIT, 50, 0, hook)
    assert seen["clean_scores"] == [1.0, 2 / 3, 0.5, 0.8]
    assert seen["rescored"] == [2 / 3, 1.0, 1.0, 0.5]
    assert srcs[-1] == ["test.jsonl:3", "test.jsonl:4", "test.jsonl:5", "test.jsonl:6"]
    assert result.details["hooked"] is True and result.details["k"] == 3
    assert result.details["unseen_answer_rows"] == {"rows": 3, "score": 0.6556}


def test_quality_rounds_mean_and_interval_to_four_places():
    # Sevenths: 4/7 = 0.571428..., the interval ends 2/7 and 6/7 of 200 resampled means.
    assert quality("m", [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0], 200, 0) == Quality(
        "m", 0.5714, 0.2857, 0.8571, 7
    )
    assert quality("m", [], 10, 0) == Quality("m", 0.0, 0.0, 0.0, 0)
    # The seed picks the resamples: 20 resamples of five scores, seeds 0 and 1.
    assert quality("m", [1.0, 0.0, 0.3, 0.9, 0.2], 20, 0) == Quality("m", 0.48, 0.2485, 0.8505, 5)
    assert quality("m", [1.0, 0.0, 0.3, 0.9, 0.2], 20, 1) == Quality("m", 0.48, 0.14, 0.6905, 5)


def test_lenient_views_on_the_given_rows():
    texts = ["the cat sat", "dog", "a bird flew"]
    expected = ["cat", "dog", "fish"]
    assert lenient_views(texts, expected, [0, 1, 2]) == {"contains": 0.6667, "token_f1": 0.5556}
    assert lenient_views(texts, expected, [1]) == {"contains": 1.0, "token_f1": 1.0}
    assert lenient_views(texts, expected, []) == {}


def test_retrieval_diagnosis_reads_retrieval_and_reading_apart():
    contexts = ["Lyon is big", "the capital is Paris.", None, "Rome", 3]
    expected = ["lyon", "paris", "x", "milan", "y"]
    scores = [0.0, 1.0, 1.0, 1 / 3, 1.0]
    assert retrieval_diagnosis(contexts, expected, scores, [0, 1, 2, 3, 4]) == {
        "rows": 3,
        "answer_in_context": 0.6667,
        "score_when_in_context": 0.5,
        "score_when_not_in_context": 0.3333,
    }
    # Every context holds its answer: nothing to say about the misses.
    assert retrieval_diagnosis(contexts, expected, scores, [1]) == {
        "rows": 1,
        "answer_in_context": 1.0,
        "score_when_in_context": 1.0,
        "score_when_not_in_context": None,
    }
    assert retrieval_diagnosis(contexts, expected, scores, [3]) == {
        "rows": 1,
        "answer_in_context": 0.0,
        "score_when_in_context": None,
        "score_when_not_in_context": 0.3333,
    }
    assert retrieval_diagnosis(contexts, expected, scores, [2, 4]) is None
    assert retrieval_diagnosis(contexts, expected, scores, []) is None


def test_split_from_audit_reads_seen_answers_and_open_ended():
    audit = {
        "test_rows": {"seen": [1, 4, 5, "x", -1], "answer_in_train": [0, 2, 5, 9]},
        "open_ended": True,
    }
    split = Split.from_audit(audit, 5)
    assert split == Split(5, frozenset({1, 4}), frozenset({0, 2}), True)
    assert split.clean == [0, 2, 3]
    assert split.unseen_answers == [3]
    assert split.to_json() == {"clean": 3, "seen": 2, "rows_seen": [1, 4]}
    # No answer facts in the audit: unknown, not "none".
    plain = Split.from_audit({"test_rows": {"seen": [2]}}, 3)
    assert plain == Split(3, frozenset({2}), None, False)
    assert plain.unseen_answers is None
    assert Split.from_audit({"test_rows": {"answer_in_train": []}}, 2).unseen_answers == [0, 1]
    # An older audit, or none at all: every row clean.
    assert Split.from_audit(None, 2) == Split(2)
    assert Split.from_audit({"test_rows": [1]}, 2) == Split(2)
    assert Split(3).to_json() == {"clean": 3, "seen": 0, "rows_seen": []}


def test_exact_match_run_is_unchanged_by_the_metric_name():
    result, _ = score_run(_run(), _test(), Metric("exact_match", exact_match), SPLIT, 20, 0)
    assert result.quality.metric == "exact_match" and result.subsets["seen"].metric == "exact_match"
    assert result.quality.score == 0.25  # only "the blue sky" (articles dropped) matches


def test_the_seen_subset_is_resampled_with_the_seed():
    split = Split(6, frozenset({1, 2, 3, 4, 5}))
    seen_scores = [0.5, 1.0, 2 / 3, 0.5, 0.8]
    for seed in (1, 2):
        result, _ = score_run(_run(), _test(), F1, split, 20, seed)
        assert result.subsets["seen"] == quality("token_f1", seen_scores, 20, seed)
    assert quality("token_f1", seen_scores, 20, 1) != quality("token_f1", seen_scores, 20, 2)


def test_the_result_keeps_the_run_traits_not_the_kind_default():
    # A hosted retrieval strategy: its own traits, not what "retrieval" implies.
    hosted = Traits(trains=False, uses_llm=True, hosted=True)
    assert hosted != Traits.from_kind("retrieval")
    run = _run()
    run.traits = hosted
    result, _ = score_run(run, _test(), F1, SPLIT, 20, 0)
    assert result.traits == hosted


def test_a_metric_that_returns_extra_scores_is_refused_not_truncated():
    class Extra(Metric):
        def score_rows(self, predicted, expected, sources):
            return [*super().score_rows(predicted, expected, sources), 1.0]

    with pytest.raises(ValueError, match="zip"):
        score_run(_run(), _test(), Extra("token_f1", token_f1), SPLIT, 20, 0)
