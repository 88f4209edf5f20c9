"""Built-in metrics on hand-computed cases, and user scorers loaded from the task folder."""

from __future__ import annotations

import pytest

from shouldtune.core.errors import InputError
from shouldtune.core.metrics import (
    accuracy,
    check_metric_name,
    chrf,
    exact_match,
    load_metric,
    load_scorer,
    normalize,
    token_f1,
)
from shouldtune.core.taskio import load_task

pytestmark = pytest.mark.decision


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Cat!", "cat"),
        ("  Paris.  ", "paris"),
        ("an apple, a pear", "apple pear"),
        ("New\t York", "new york"),
        ("theater", "theater"),  # 'the' inside a word stays
    ],
)
def test_normalize(text, expected):
    assert normalize(text) == expected


@pytest.mark.parametrize(
    "predicted, expected, score",
    [
        ("The Cat!", "cat", 1.0),
        ("  Paris. ", "paris", 1.0),
        ("an apple", "apple", 1.0),
        ("New  York", "new york", 1.0),
        ("cats", "cat", 0.0),
        ("theater", "ater", 0.0),
        ("42", "42.0", 0.0),
    ],
)
def test_exact_match(predicted, expected, score):
    assert exact_match(predicted, expected) == score


@pytest.mark.parametrize(
    "predicted, expected, score",
    [
        # 'the' is dropped: pred {cat, sat}, gold {cat, sat, down}: P=1, R=2/3, F1=0.8
        ("the cat sat", "cat sat down", 0.8),
        ("x y z w", "x y q r", 0.5),  # P=R=1/2
        ("dog dog dog", "dog", 0.5),  # clipped counts: P=1/3, R=1 -> 2*(1/3)/(4/3)
        ("red green", "green red", 1.0),  # order does not matter
        ("blue", "red", 0.0),
        ("", "", 1.0),
        ("", "something", 0.0),
        ("something", "", 0.0),
        ("the", "a", 1.0),  # both normalise to nothing
    ],
)
def test_token_f1(predicted, expected, score):
    assert token_f1(predicted, expected) == pytest.approx(score)


@pytest.mark.parametrize(
    "predicted, expected, score",
    [
        ("Positive\nbecause the review praises it", "positive", 1.0),
        ("\n\n   positive  \nnegative", "positive", 1.0),
        ("POSITIVE   label", "positive label", 1.0),
        ("The answer is positive", "positive", 0.0),
        ("negative\npositive", "positive", 0.0),  # only the first non-empty line counts
        ("", "positive", 0.0),
    ],
)
def test_accuracy_first_line_rule(predicted, expected, score):
    assert accuracy(predicted, expected) == score


def test_chrf_identity_and_range():
    assert chrf("The quick brown fox.", "The quick brown fox.") == pytest.approx(1.0)
    unrelated = chrf("zzzz qqqq", "The quick brown fox jumps.")
    close = chrf("The quick brown fox jumped.", "The quick brown fox jumps.")
    assert 0.0 <= unrelated < 0.1
    assert 0.6 < close < 1.0
    assert chrf("", "reference text") == 0.0
    for pred, gold in [("abc", "abd"), ("hello world", "world hello"), ("x", "xxxxxxxx")]:
        assert 0.0 <= chrf(pred, gold) <= 1.0


def test_check_metric_name():
    for ok in ("exact_match", "token_f1", "accuracy", "chrf", "python:s.py:f"):
        check_metric_name(ok)
    for bad in ("bleu", "python:s.py", "python::f", "python:s.py:", "Exact_Match"):
        with pytest.raises(ValueError, match="unknown metric"):
            check_metric_name(bad)


def test_builtin_scorer_is_returned_by_name(tmp_path):
    assert load_scorer("token_f1", tmp_path) is token_f1


SCORER = """
def starts_same(predicted, expected):
    return predicted[:1] == expected[:1]

def half(predicted, expected):
    return 0.5
"""


def test_user_scorer_from_inside_the_task_folder(make_task_dir):
    root = make_task_dir(
        [{"input": "q", "output": "a"}],
        test=[{"input": "q", "output": "a"}],
        config={"metric": "python:scorer.py:starts_same"},
    )
    (root / "scorer.py").write_text(SCORER, encoding="utf-8")
    task = load_task(root)
    assert task.metric == "python:scorer.py:starts_same"
    metric = load_metric(task.metric, task.root)
    assert metric.score_row("apple", "avocado") == 1.0
    assert metric.score_row("apple", "banana") == 0.0
    assert isinstance(metric.score_row("a", "a"), float)  # the scorer returns a bool


def test_user_scorer_in_a_subfolder(tmp_path):
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "mine.py").write_text(SCORER, encoding="utf-8")
    assert load_scorer("python:metrics/mine.py:half", tmp_path)("x", "y") == 0.5


def test_user_scorer_path_escaping_the_task_folder_is_refused(tmp_path):
    root = tmp_path / "task"
    root.mkdir()
    (tmp_path / "x.py").write_text(SCORER, encoding="utf-8")  # exists, but outside
    with pytest.raises(InputError, match="must lie inside the task folder") as info:
        load_scorer("python:../x.py:half", root)
    assert "../x.py" in str(info.value)


def test_user_scorer_absolute_path_is_refused(tmp_path):
    root = tmp_path / "task"
    root.mkdir()
    outside = tmp_path / "abs.py"
    outside.write_text(SCORER, encoding="utf-8")
    with pytest.raises(InputError, match="must lie inside the task folder"):
        load_scorer(f"python:{outside}:half", root)


def test_user_scorer_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_scorer("python:missing.py:f", tmp_path)
    (tmp_path / "s.py").write_text(SCORER, encoding="utf-8")
    with pytest.raises(InputError, match="no function 'nope'") as info:
        load_scorer("python:s.py:nope", tmp_path)
    assert "s.py" in str(info.value)
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    with pytest.raises(InputError, match="importing the metric file failed") as info:
        load_scorer("python:broken.py:f", tmp_path)
    assert "boom" in str(info.value)
