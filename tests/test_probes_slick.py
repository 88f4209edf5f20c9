"""SliCK classification rules with a hand-built fake answer oracle (no model)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from shouldtune.probes import slick
from shouldtune.probes.slick import (
    HIGHLY_KNOWN,
    MAYBE_KNOWN,
    UNKNOWN,
    WEAKLY_KNOWN,
    Counts,
    Query,
    classify,
)


class FakeOracle:
    """Answers right exactly for the (example, prompt, sample) triples it is given; records
    every query so tests can check what was asked."""

    def __init__(self, greedy_right: set[tuple[int, int]], sample_right: set[tuple[int, int]]):
        self.greedy_right, self.sample_right = greedy_right, sample_right
        self.asked: list[Query] = []

    def __call__(self, queries: Sequence[Query]) -> list[bool]:
        self.asked += queries
        return [
            (q.example, q.prompt) in self.greedy_right
            if q.sample is None
            else (q.example, q.sample) in self.sample_right
            for q in queries
        ]


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        (Counts(3, 3), HIGHLY_KNOWN),
        (Counts(3, 3, 0, 4), HIGHLY_KNOWN),
        (Counts(1, 3), MAYBE_KNOWN),
        (Counts(2, 3, 0, 0), MAYBE_KNOWN),
        (Counts(0, 3, 1, 4), WEAKLY_KNOWN),
        (Counts(0, 3, 4, 4), WEAKLY_KNOWN),
        (Counts(0, 3, 0, 4), UNKNOWN),
        (Counts(0, 1, 0, 0), UNKNOWN),
        (Counts(1, 1), HIGHLY_KNOWN),
    ],
)
def test_classify_follows_gekhman_definitions(counts: Counts, expected: str) -> None:
    assert classify(counts) == expected


def test_classify_needs_a_greedy_answer() -> None:
    with pytest.raises(ValueError):
        classify(Counts(0, 0, 1, 1))


def test_measure_and_categories_with_fake_oracle() -> None:
    # example 0: right under all 3 prompts; 1: under prompt 2 only; 2: never greedy, sample 1
    # right; 3: never right.
    oracle = FakeOracle({(0, 0), (0, 1), (0, 2), (1, 2)}, {(2, 1), (1, 0)})
    counts = slick.measure(4, oracle, prompts=3, samples=2)
    assert counts == [
        Counts(3, 3, 0, 2),
        Counts(1, 3, 1, 2),
        Counts(0, 3, 1, 2),
        Counts(0, 3, 0, 2),
    ]
    # Example 1's right sample does not lift it: greedy answers decide first.
    assert [classify(c) for c in counts] == [HIGHLY_KNOWN, MAYBE_KNOWN, WEAKLY_KNOWN, UNKNOWN]
    # Every example is sampled, 2 each, spread over the prompts: what is generated does not
    # depend on which greedy answers a metric accepts.
    sampled = [q for q in oracle.asked if q.sample is not None]
    assert sorted((q.example, q.prompt, q.sample) for q in sampled) == [
        (i, s, s) for i in range(4) for s in range(2)
    ]
    assert sum(q.sample is None for q in oracle.asked) == 12


def test_analyse_reports_share_cost_and_warning() -> None:
    oracle = FakeOracle({(0, 0), (0, 1)}, set())
    result = slick.analyse(4, oracle, prompts=2, samples=1, warn_share=0.5)
    assert result["categories"] == {
        HIGHLY_KNOWN: 1,
        MAYBE_KNOWN: 0,
        WEAKLY_KNOWN: 0,
        UNKNOWN: 3,
    }
    assert result["unknown_share"] == 0.75
    assert result["generations"] == 4 * 2 + 4 * 1
    assert result["seconds"] >= 0
    assert "75%" in result["warning"] and "retrieval" in result["warning"]


def test_no_warning_below_threshold() -> None:
    oracle = FakeOracle({(i, p) for i in range(4) for p in range(2)} - {(3, 0), (3, 1)}, set())
    result = slick.analyse(4, oracle, prompts=2, samples=0, warn_share=0.5)
    assert result["unknown_share"] == 0.25
    assert result["warning"] is None


def test_oracle_must_answer_every_query() -> None:
    with pytest.raises(ValueError, match="answered 1 of 2"):
        slick.measure(1, lambda qs: [True], prompts=2, samples=0)


def test_collect_then_categorize_rescoring_without_generating() -> None:
    """Generation and categorisation apart: the same raw answers, two metrics."""
    calls: list[int] = []
    answers = {0: "Paris", 1: "paris, France", 2: "Lyon"}  # per prompt; samples say "Paris?"

    def answer(queries):
        calls.append(len(queries))
        return [answers[q.prompt] if q.sample is None else "Paris?" for q in queries]

    raw = slick.collect(2, answer, prompts=3, samples=2)
    assert calls == [6, 4]  # greedy, then samples for every example
    assert raw[0] == {"greedy": ["Paris", "paris, France", "Lyon"], "samples": ["Paris?"] * 2}

    def exact(pred: str, gold: str) -> float:
        return float(pred == gold)

    def contains(pred: str, gold: str) -> float:
        return float(gold.lower() in pred.lower())

    strict = slick.categorize(raw, ["Paris", "Rome"], exact, warn_share=0.5)
    loose = slick.categorize(raw, ["Paris", "Rome"], contains, warn_share=0.5)
    assert calls == [6, 4]  # re-scoring generated nothing
    assert strict["per_example"] == [MAYBE_KNOWN, UNKNOWN]
    assert loose["per_example"] == [MAYBE_KNOWN, UNKNOWN]
    # Only the samples are right under `contains` for an example whose greedy answers miss.
    assert slick.categorize(raw, ["Paris?", "Rome"], exact)["per_example"] == [WEAKLY_KNOWN,
                                                                               UNKNOWN]  # fmt: skip
    assert strict["generations"] == 2 * (3 + 2) and strict["prompts"] == 3
    assert strict["unknown_share"] == 0.5 and "50%" in strict["warning"]
    with pytest.raises(ValueError, match="raw answer sets"):
        slick.categorize(raw, ["Paris"], exact)
    with pytest.raises(ValueError, match="answered 1 of 6"):
        slick.collect(2, lambda qs: ["x"], prompts=3, samples=0)
