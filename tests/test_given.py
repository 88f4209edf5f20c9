"""The verdict says what each side was given: tuning on dev and label ranking, by value."""

from __future__ import annotations

import pytest

from shouldtune.core.given import given_lines
from shouldtune.core.types import Quality, StrategyResult

pytestmark = pytest.mark.decision


def result(name: str, details: dict) -> StrategyResult:
    return StrategyResult(name, "x", Quality("accuracy", 0.5, 0.4, 0.6), {}, 0, 0, 0, 0, 0,
                          f"predictions/{name}.jsonl", [1.0, 0.0], details)  # fmt: skip


SEARCH = {
    "candidates": 14,
    "dev_rows": 46,
    "row_evaluations": 230,
    "seconds": 35.4,
    "chosen_label": "k = 16, selection = nearest, instruction = labels",
    "note": "",
}
SWEEP = {"learning_rate_chosen": 0.006, "dev_examples": 46, "seconds": {"lr_sweep": 120.2},
         "lr_sweep": [{"learning_rate": r, "steps": 6} for r in (0.002, 0.006, 0.02)]}  # fmt: skip


def test_each_sides_tuning_is_named_with_its_budget():
    lines = given_lines(
        [
            result("lora", SWEEP),
            result("few_shot_knn", {"search": SEARCH}),
            result("zero_shot", {"search": {"row_evaluations": 0, "note": "search off"}}),
            result("baseline", {}),
        ]
    )
    assert lines == [
        "Each side's tuning, on the same dev split (the test set chose nothing): few_shot_knn"
        " the best of 14 prompts on 46 dev rows (k = 16, selection = nearest, instruction ="
        " labels; 35 s); lora a learning-rate sweep over 3 rates on 46 dev rows (learning rate"
        " 0.006; 120 s); zero_shot its configured prompt (search off)."
    ]


def test_label_ranking_says_how_often_free_text_left_the_label_set():
    answered = {"ranked": 10, "free_outside_labels": 7, "free_checked": 10}
    lines = given_lines([result("zero_shot", {"label_answers": answered})])
    assert lines == [
        "A label task: the language-model strategies answered with the most likely label of"
        " the training set's labels; free generation would have answered outside them in"
        " zero_shot 7 of 10."
    ]


def test_nothing_tuned_says_nothing():
    assert given_lines([result("baseline", {}), result("lora", {})]) == []


def test_a_search_cut_by_its_budget_says_it_drew_from_more():
    drawn = {**SEARCH, "candidates": 7, "listed": 24}
    line = given_lines([result("rag", {"search": drawn})])[0]
    assert "rag the best of 7 prompts (drawn from 24 within its budget) on 46 dev rows" in line
    whole = {**SEARCH, "listed": 14}
    assert "drawn" not in given_lines([result("rag", {"search": whole})])[0]


def test_a_budget_that_held_one_candidate_is_the_configured_prompt():
    kept = {**SEARCH, "candidates": 1, "listed": 8, "note": "the 45 s budget holds no second"}
    line = given_lines([result("few_shot_knn", {"search": kept})])[0]
    assert "few_shot_knn its configured prompt (the 45 s budget holds no second)" in line
