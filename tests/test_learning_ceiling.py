"""'Still learning' keeps the verdict open only where more training could change it: at the
best a fine-tune could reach (every row right, except rows whose answer no training output
holds), would it be chosen? (issue 30, item 6)"""

from __future__ import annotations

import pytest
from test_mut_reasons import LEARNING, ones, result, tune, verdict

from shouldtune.core.decision import learning_ceiling
from shouldtune.core.evidence import Evidence
from shouldtune.core.needs import Needs

pytestmark = pytest.mark.decision


def test_a_fine_tune_tied_with_the_leader_at_the_ceiling_is_decided_against():
    # The routing task: the baseline and lora both 1.000, lora still learning, its training
    # never paid back. More training cannot raise 1.000: decided, not "undecided".
    rs = [result("baseline", ones(30), kind="baseline"), tune("lora", ones(30), details=LEARNING)]
    v = verdict(rs, needs=Needs(requests_per_day=1000))
    assert v.fine_tune is False and "still_learning" not in v.drivers
    assert "undecided" not in v.headline


def test_one_that_would_lose_even_at_the_ceiling_is_decided_against_and_says_why():
    # few_shot 29/30 needs no training: lora at 30/30 would tie it, and ties go to no training.
    rs = [result("few_shot", ones(29)), tune("lora", ones(15), details=LEARNING)]
    v = verdict(rs)
    assert v.fine_tune is False and v.recommended == "few_shot"
    assert (
        "lora (0.500) was still learning, but more training cannot change this verdict: even at"
        " its ceiling (1.000) it would not be chosen."
    ) in v.reasons


def test_one_that_could_win_at_the_ceiling_stays_undecided_and_says_what_would_do_it():
    rs = [result("few_shot", ones(15)), tune("lora", ones(10), details=LEARNING)]
    v = verdict(rs)
    assert v.fine_tune is None and v.drivers == ["still_learning"]
    assert "at the best it could reach (1.000) it would be chosen" in " ".join(v.reasons)


def test_answers_no_training_output_holds_bound_what_training_can_reach():
    # A knowledge task: rag answers from docs/ (0.667); the clean rows' answers occur in no
    # training output, so lora (0.048, still learning) cannot learn them.
    n = 21
    rag, lora = ones(14, n), ones(1, n)
    unreachable = tuple(range(n))
    rs = [result("rag", rag, kind="retrieval"), tune("lora", lora, details=LEARNING)]
    open_verdict = verdict(rs)
    assert open_verdict.fine_tune is None  # without the bound, 1.000 would be within reach
    v = verdict(rs, evidence=Evidence(unreachable=unreachable))
    assert v.fine_tune is False and v.recommended == "rag"
    line = [r for r in v.reasons if r.startswith("lora (0.048) was still learning")][0]
    assert "the 21 clean test rows whose answer occurs in no training output" in line
    assert learning_ceiling(lora, unreachable) == lora
    assert learning_ceiling([0.0, 0.5, 1.0], [1]) == [1.0, 0.5, 1.0]


def test_the_bound_comes_from_the_audits_clean_rows():
    audit = {"test_rows": {"seen": [0], "answer_in_train": [1, 3]}}
    # Clean rows 1, 2, 3, 4 (positions 0-3): rows 2 and 4 hold answers no training output has.
    assert Evidence.from_run(False, audit, None, 5, 1).unreachable == (1, 3)
    assert Evidence.from_run(False, {**audit, "open_ended": True}, None, 5, 1).unreachable == ()
    assert Evidence.from_run(False, {"test_rows": {"seen": []}}, None, 5, 0).unreachable == ()
