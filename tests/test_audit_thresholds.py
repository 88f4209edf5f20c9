"""The audit's thresholds at their boundaries: a case just above and just below each.

mutmut never mutates module-level constants, so these tests are what notices a changed
threshold: the near-duplicate similarity (Jaccard 0.8), the near-duplicate share that warns
(5% of train), and the clean test rows a verdict needs (20; half the rows below that).
"""

from __future__ import annotations

import pytest

from shouldtune.audit import run_audit
from shouldtune.audit.near import NearIndex, jaccard, shingles
from shouldtune.audit.overlap import (
    LeakSplit,
    check_leakage,
    check_near_duplicates,
    split_test,
)
from shouldtune.core.types import Example

pytestmark = pytest.mark.decision

SENTENCE = "please send the quarterly invoice for order number seven to my office"


def edited(length: int) -> tuple[str, str]:
    """The first `length` characters of a sentence, and the same with one letter replaced
    near the middle: 5 of its character 5-grams change, so Jaccard = (m - 5) / (m + 5)."""
    a = SENTENCE[:length]
    i = length // 2
    return a, a[:i] + "X" + a[i + 1 :]


# m = 45 five-grams: 40 / 50 = 0.8 exactly; m = 44: 39 / 49 = 0.796.
AT, BELOW = edited(49), edited(48)


def ex(text: str, out: str = "x", n: int = 1, file: str = "train") -> Example:
    return Example(text, out, None, f"{file}.jsonl:{n}")


def test_the_edited_pairs_sit_on_either_side_of_the_similarity():
    assert jaccard(shingles(AT[0]), shingles(AT[1])) == 0.8
    assert jaccard(shingles(BELOW[0]), shingles(BELOW[1])) == pytest.approx(39 / 49)


def test_near_duplicates_are_pairs_at_a_jaccard_of_at_least_0_8():
    assert NearIndex(list(AT)).pairs_within() == [(0, 1, 0.8)]
    assert NearIndex(list(BELOW)).pairs_within() == []
    # The same boundary where the audit asks it: test rows near a training row.
    assert NearIndex([AT[0]]).matches_for([AT[1], BELOW[1]]) == [(0, 0, 0.8)]


def test_the_audit_reports_the_pair_at_the_boundary_and_not_the_one_below():
    filler = [ex(f"unrelated question number {w} about shipping", "y", 3 + k)
              for k, w in enumerate(["one", "two", "three", "four", "five", "six"])]  # fmt: skip
    at = run_audit([ex(AT[0], n=1), ex(AT[1], n=2), *filler], [])
    finding = at.get("near_duplicates")
    assert finding.count == 1 and "Jaccard ≥ 0.8" in finding.message
    assert finding.examples[0]["similarity"] == 0.8
    below = run_audit([ex(BELOW[0], n=1), ex(BELOW[1], n=2), *filler], [])
    assert below.get("near_duplicates").count == 0


def test_a_test_row_at_the_similarity_with_the_same_answer_is_seen_and_below_it_clean():
    train = [ex(AT[0], "A"), ex("something else entirely, nothing alike", "B", 2)]
    test = [ex(AT[1], "A", 1, "test"), ex(BELOW[1], "A", 2, "test")]
    split = split_test(train, test, NearIndex([e.input for e in train]))
    assert split.near == {0: (0, 0.8)} and split.seen == [0]
    assert split.contrastive == {} and split.exact == {}


def _near_rows(rows_touched: int) -> list[tuple[int, int, float]]:
    """Near pairs that touch exactly this many distinct rows (chains 0-1, 1-2, ...)."""
    return [(i, i + 1, 0.9) for i in range(rows_touched - 1)]


@pytest.mark.parametrize(
    ("touched", "severity"),
    [(5, "info"), (6, "warning")],  # 5.0% of 100 rows is not past 5%; 6.0% is
)
def test_near_duplicates_warn_past_five_percent_of_train(touched, severity):
    train = [ex(f"row {i}", n=i + 1) for i in range(100)]
    finding = check_near_duplicates(train, _near_rows(touched))
    assert finding.severity == severity
    assert f"touching {touched} rows ({touched:.1f}%)" in finding.message


def _leak(n_test: int, n_seen: int):
    """n_test test rows of which the first n_seen repeat a training input exactly."""
    train = [ex(f"train question {i}", f"a{i}", i + 1) for i in range(n_seen)]
    test = [ex(f"train question {i}", f"a{i}", i + 1, "test") for i in range(n_seen)]
    test += [ex(f"fresh question {i}", f"b{i}", n_seen + i + 1, "test")
             for i in range(n_test - n_seen)]  # fmt: skip
    split = LeakSplit(exact={q: (q, 1.0) for q in range(n_seen)})
    return check_leakage(train, test, split)


@pytest.mark.parametrize(
    ("n_test", "n_seen", "severity"),
    [
        (40, 20, "warning"),  # 20 clean rows: enough for a verdict
        (40, 21, "blocking"),  # 19 clean rows
        (20, 1, "blocking"),  # a test set of exactly 20 needs all of them clean
        (19, 9, "warning"),  # under 20 rows: block only when most leak (10 clean of 19)
        (19, 10, "blocking"),  # 9 clean of 19
        (10, 5, "warning"),  # 5 clean of 10: half is not most
        (10, 6, "blocking"),
    ],
)
def test_clean_rows_a_verdict_needs(n_test, n_seen, severity):
    finding = _leak(n_test, n_seen)
    assert finding.severity == severity
    assert finding.data["clean"] == n_test - n_seen and finding.data["min_clean"] == 20
    if severity == "blocking" and n_test >= 20:
        assert finding.message.startswith(
            f"{n_test - n_seen} of {n_test} test rows are clean; a verdict needs at least 20."
        )
    elif severity == "blocking":
        assert finding.message.startswith(
            f"{n_test - n_seen} of {n_test} test rows are clean; most of the test set repeats"
            " training inputs."
        )
    else:
        assert finding.message.endswith(
            f"they are scored apart, the verdict uses the {n_test - n_seen} clean rows"
            f" (of {n_test})"
        )
