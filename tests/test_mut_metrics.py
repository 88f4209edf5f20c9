"""Metric errors name the metric, the row and a short view of the texts; the pre-flight check;
metric names and files; the word-level normalisation behind `contains` and `accuracy`."""

from __future__ import annotations

import pytest

from shouldtune.core.metrics import (
    PREFLIGHT_ROWS,
    Metric,
    MetricError,
    accuracy,
    check_metric_name,
    contains,
    load_metric,
    metric_file,
    token_f1,
)

pytestmark = pytest.mark.decision

LONG = "a " * 30 + "end"  # 63 characters: shown as its first 39 and an ellipsis
LONG_VIEW = "predicted 'a a a a a a a a a a a a a a a a a a a a…'"
TAIL = "; a metric must return a real number between 0 and 1"


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("SHOULDTUNE_DEBUG", raising=False)


def _error(func, predicted: str, expected: str, source: str | None) -> str:
    metric = Metric("python:m.py:f", func)
    with pytest.raises(MetricError) as err:
        if source is None:
            metric.score_row(predicted, expected)
        else:
            metric.score_row(predicted, expected, source)
    return str(err.value)


def _raises_key(p, e):
    raise KeyError("k")


def _raises_bare(p, e):
    raise ValueError()


def test_a_raising_metric_is_named_with_its_row_and_texts():
    assert _error(_raises_key, LONG, "the  gold\nanswer", "test.jsonl:3") == (
        "metric python:m.py:f raised KeyError: 'k' on test.jsonl:3"
        f" (expected 'the gold answer', {LONG_VIEW})"
    )
    # An exception without a message: its type alone.
    assert _error(_raises_bare, "p", "e", "test.jsonl:4") == (
        "metric python:m.py:f raised ValueError on test.jsonl:4 (expected 'e', predicted 'p')"
    )
    # No source: no "on ...".
    assert _error(_raises_bare, "p", "e", None) == (
        "metric python:m.py:f raised ValueError (expected 'e', predicted 'p')"
    )


def test_an_invalid_value_is_shown_cut_to_thirty_characters():
    assert _error(lambda p, e: "x" * 50, LONG, "gold", "test.jsonl:3") == (
        "metric python:m.py:f returned 'xxxxxxxxxxxxxxxxxxxxxxxxxxxx… on test.jsonl:3"
        f" (expected 'gold', {LONG_VIEW}){TAIL}"
    )
    assert _error(lambda p, e: 2, "p", "e", None) == (
        f"metric python:m.py:f returned 2 (expected 'e', predicted 'p'){TAIL}"
    )
    # A number written as text is not a number.
    assert _error(lambda p, e: "0.5", "p", "e", "") == (
        f"metric python:m.py:f returned '0.5' (expected 'e', predicted 'p'){TAIL}"
    )


def test_texts_up_to_forty_characters_are_shown_whole():
    forty, forty_one = "b" * 40, "c" * 41
    assert _error(lambda p, e: -1, forty, forty_one, None) == (
        f"metric python:m.py:f returned -1 (expected '{'c' * 39}…', predicted '{forty}'){TAIL}"
    )
    thirty = "1" * 29  # repr of a 29-digit int is 29 characters; of 10**30, 31
    assert _error(lambda p, e: int(thirty), "p", "e", None).startswith(
        f"metric python:m.py:f returned {thirty} ("
    )
    assert _error(lambda p, e: 10**30, "p", "e", None).startswith(
        f"metric python:m.py:f returned {'1' + '0' * 28}… ("
    )


def test_score_rows_needs_one_expected_and_source_per_answer():
    em = Metric("accuracy", accuracy)
    assert em.score_rows(["A", "b"], ["a", "c"], ["t:1", "t:2"]) == [1.0, 0.0]
    with pytest.raises(ValueError):
        em.score_rows(["a", "b"], ["a"], ["t:1", "t:2"])
    with pytest.raises(ValueError):
        em.score_rows(["a"], ["a"], ["t:1", "t:2"])


def test_preflight_scores_the_first_rows_expected_against_themselves():
    calls = []

    def record(p, e):
        calls.append((p, e))
        return 1.0

    expected = [f"e{i}" for i in range(PREFLIGHT_ROWS + 2)]
    sources = [f"t:{i}" for i in range(PREFLIGHT_ROWS + 2)]
    Metric("m", record).preflight(expected, sources)
    assert PREFLIGHT_ROWS == 5
    assert calls == [(f"e{i}", f"e{i}") for i in range(5)]
    with pytest.raises(ValueError):
        Metric("m", record).preflight(expected, sources[:-1])
    with pytest.raises(MetricError) as err:
        Metric("m", lambda p, e: 2).preflight(["a", "b"], ["t:1", "t:2"])
    assert str(err.value) == (
        "metric m returned 2 on t:1 (pre-flight check: the expected answer as prediction)"
        f" (expected 'a', predicted 'a'){TAIL}"
    )


def test_metric_names_and_files():
    with pytest.raises(ValueError) as err:
        check_metric_name("nope")
    assert str(err.value) == (
        "unknown metric; use one of exact_match, contains, token_f1, accuracy, chrf"
        " or python:FILE:FUNCTION"
    )
    assert metric_file("python:my_metric.py:score") == "my_metric.py"
    assert metric_file("exact_match") is None
    assert metric_file("python:a.py") is None
    assert metric_file("python:a.py:f:g") is None
    assert metric_file("pythonic:a.py:f") is None
    assert metric_file("a.py:f:python") is None


def test_load_metric_keeps_the_name(tmp_path):
    metric = load_metric("token_f1", tmp_path)
    assert metric.name == "token_f1" and metric.func is token_f1


def test_contains_drops_articles_and_case_on_both_sides():
    assert contains("a cat", "the cat") == 1.0
    assert contains("cat", "The Cat") == 1.0
    assert contains("The CAT sat", "cat") == 1.0
    assert contains("the", "a") == 1.0  # only articles: both empty
    assert contains("dog", "a") == 0.0


def test_accuracy_with_no_answer_line():
    assert accuracy("\n  \n", "xxxx") == 0.0
    assert accuracy("", "") == 1.0
    assert accuracy("\n  Billing  Issue \nmore", "billing issue") == 1.0
