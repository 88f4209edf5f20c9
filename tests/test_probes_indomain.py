"""In-domain hallucination: confident wrong answers on the task's own held-out rows."""

from __future__ import annotations

import pytest

from shouldtune.probes.indomain import in_domain, row_flags


def test_row_flags_separate_confident_wrong_from_abstaining_and_right() -> None:
    texts = ["NBK-WHT-M x9 > BER (STD)", "CAP-RED-L x1 > OSL (EXP)", "I don't know.",
             "I think it is MUG-GRN-S x1 > ROM (NXT)", ""]  # fmt: skip
    scores = [1.0, 0.0, 0.0, 1.0, 0.0]
    fab, abst = row_flags(texts, scores)
    assert fab == [0.0, 1.0, 0.0, 0.0, 0.0]  # only the confident wrong code
    assert abst == [0.0, 0.0, 1.0, 1.0, 1.0]  # declines, hedges and silence
    with pytest.raises(ValueError):
        row_flags(texts, scores[:2])


def test_in_domain_paired_change_and_room() -> None:
    n = 20
    # Before: the base model hedges on half the rows and is confidently wrong on the rest.
    before_texts = ["I'm not sure."] * 10 + ["Some guess"] * 10
    before_scores = [0.0] * n
    # After: a fine-tune answers every row confidently, right on 5 of them.
    after_texts = ["ABC-1"] * n
    after_scores = [1.0] * 5 + [0.0] * 15
    out = in_domain(before_texts, before_scores, after_texts, after_scores, 500, 0)
    fab, abst = out["in_domain_fabrication"], out["in_domain_abstention"]
    assert (fab["before"], fab["after"], fab["diff"], fab["n"]) == (0.5, 0.75, 0.25, n)
    assert fab["ci_low"] > 0  # a significant rise in confident wrong answers
    assert "room" not in fab
    assert (abst["before"], abst["after"]) == (0.5, 0.0)
    # A base model confidently wrong everywhere leaves no room for a rise to show.
    flat = in_domain(["guess"] * n, [0.0] * n, after_texts, after_scores, 200, 0)
    assert flat["in_domain_fabrication"]["room"] == (
        "the base model already answers 100% of the task's test questions confidently and"
        " wrongly: a rise cannot show"
    )
    assert in_domain([], [], [], []) == {}
    with pytest.raises(ValueError, match="same test rows"):
        in_domain(["a"], [0.0], ["a", "b"], [0.0, 0.0])
