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
        Counts(3, 3, 0, 0),
        Counts(1, 3, 0, 0),
        Counts(0, 3, 1, 2),
        Counts(0, 3, 0, 2),
    ]
    assert [classify(c) for c in counts] == [HIGHLY_KNOWN, MAYBE_KNOWN, WEAKLY_KNOWN, UNKNOWN]
    # Samples are drawn only for examples never right greedily (2 and 3), 2 each, spread
    # over the prompts; example 1's "right" sample is never asked for.
    sampled = [q for q in oracle.asked if q.sample is not None]
    assert sorted((q.example, q.prompt, q.sample) for q in sampled) == [
        (2, 0, 0),
        (2, 1, 1),
        (3, 0, 0),
        (3, 1, 1),
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
    assert result["generations"] == 4 * 2 + 3 * 1
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
