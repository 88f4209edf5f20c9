"""Scoring cached answers: clean and seen rows, lenient views, the metric-gap note."""

from __future__ import annotations

import pytest

from shouldtune.core.evidence import Evidence
from shouldtune.core.metrics import Metric, contains, exact_match
from shouldtune.core.scoring import TestSplit, score_run
from shouldtune.core.types import Example, Generation, StrategyRun, Traits
from shouldtune.core.verdict import METRIC_GAP, decide

pytestmark = pytest.mark.decision


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


def test_split_from_the_audit_scores_clean_seen_and_all_apart():
    test = _test(30)
    # The first 10 rows repeat training questions; a lookup gets them right, nothing else.
    answers = [f"a{i}" if i < 10 else "?" for i in range(30)]
    split = TestSplit.from_audit({"test_rows": {"seen": list(range(10))}}, 30)
    result, rows = score_run(_run("baseline", answers, "baseline"), test, EM, split, 200, 0)
    assert result.quality.score == 0.0 and result.quality.n == 20  # the verdict's number
    assert result.subsets["seen"].score == 1.0 and result.subsets["seen"].n == 10
    assert result.subsets["all"].score == pytest.approx(1 / 3, abs=1e-4)
    assert [r["seen"] for r in rows[:11]] == [True] * 10 + [False]
    assert len(result.scores) == 20
    # An older audit without row sets: every row is clean.
    assert TestSplit.from_audit({"findings": []}, 30).clean == list(range(30))
    assert TestSplit.from_audit({"test_rows": {"seen": [-1, 99, "x", 3]}}, 30).seen == {3}


def test_verdict_on_clean_rows_does_not_crown_a_memoriser():
    test = _test(40)
    split = TestSplit.from_audit({"test_rows": {"seen": list(range(20))}}, 40)
    memo = _run("baseline", [f"a{i}" if i < 20 else "?" for i in range(40)], "baseline")
    general = _run("rag", [f"a{i}" if i % 2 else "?" for i in range(40)], "retrieval")
    scored = [score_run(r, test, EM, split, 200, 0)[0] for r in (memo, general)]
    v = decide(scored, evidence=Evidence(n_test=40, n_seen=len(split.seen)))
    assert v.recommended == "rag"
    assert "20 clean held-out examples (20 of 40 test rows repeat" in v.reasons[0]


def _gap(score_texts: list[str], expected: list[str]):
    test = [Example(f"q{i}", e, None, f"t:{i}") for i, e in enumerate(expected)]
    result, _ = score_run(_run("rag", score_texts, "retrieval"), test, EM, TestSplit(len(test)))
    return result, decide([result])


def test_metric_gap_note_appears_exactly_when_the_gap_is_large():
    expected = ["1"] * 20
    # 5 of 20 answers wordy but right: contains 0.25 above exact match -> the note.
    wordy = ["1"] * 10 + ["It carries a 1-year warranty."] * 5 + ["2"] * 5
    result, v = _gap(wordy, expected)
    assert result.lenient["contains"] - result.quality.score == pytest.approx(METRIC_GAP)
    (note,) = [r for r in v.reasons if r.startswith("Metric check: rag")]
    assert "0.50 exact_match, but 0.75 of its answers contain the expected answer" in note
    assert "rescore RUN --metric contains" in note
    # 4 of 20: a gap of 0.20 is below the threshold: no note.
    fewer = ["1"] * 10 + ["It carries a 1-year warranty."] * 4 + ["2"] * 6
    _, v = _gap(fewer, expected)
    assert not any(r.startswith("Metric check") for r in v.reasons)


def test_a_metric_returning_out_of_range_values_is_refused_with_the_row():
    from shouldtune.core.errors import InputError

    bad = Metric("python:m.py:f", lambda p, e: 2.0 if e == "a3" else 1.0)
    with pytest.raises(InputError, match=r"returned 2.0 on test.jsonl:4 \(expected 'a3'"):
        score_run(_run("x", ["a"] * 5), _test(5), bad, TestSplit(5))
    assert Metric("m", lambda p, e: True).score_row("a", "b") == 1.0  # bools count


@pytest.mark.parametrize(
    ("answer", "expected", "score"),
    [
        ("The X carries a 1-year warranty.", "1", 1.0),
        ("It costs 10 dollars", "1", 0.0),
        ("Paris, of course.", "paris", 1.0),
        ("The answer: New York City", "new york", 1.0),
        ("newyork", "new york", 0.0),
        ("", "", 1.0),
        ("anything", "", 0.0),
    ],
)
def test_contains_is_whole_words_after_normalisation(answer, expected, score):
    assert contains(answer, expected) == score
