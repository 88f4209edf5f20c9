"""A lead that one seed in three reverses is not a lead (core/decision.py, seeds.py)."""

from __future__ import annotations

import pytest
from test_decision import result

from shouldtune.core.decision import Option, seeds_reverse
from shouldtune.core.verdict import decide

pytestmark = pytest.mark.decision

N = 40
LORA = [1.0] * 36 + [0.0] * 4  # 0.900
KNN = [1.0] * 20 + [0.0] * 20  # 0.500: lora leads it significantly on one seed


def lora(seed_scores: list[float] | None = None):
    details = {"training": {}, "learning_rate_chosen": 0.002, "lr_sweep": [], "dev_examples": 16}
    if seed_scores is not None:
        details["seed_scores"] = [{"seed": i + 1, "score": s} for i, s in enumerate(seed_scores)]
    return result("lora", LORA, kind="fine-tuning", train_seconds=100.0, details=details)


def test_a_significant_lead_on_one_seed_wins_on_quality():
    v = decide([lora(), result("few_shot_knn", KNN)])
    assert v.recommended == "lora" and v.fine_tune is True and v.drivers == ["quality"]


def test_a_lead_another_seed_reverses_is_not_a_lead():
    v = decide([lora([0.45, 0.88]), result("few_shot_knn", KNN)])
    assert v.steps["acceptable"] == ["few_shot_knn", "lora"]
    assert v.recommended == "few_shot_knn" and v.fine_tune is False
    assert (
        "lora no learning-rate sweep (learning rate 0.002; early stopping on dev), retrained on 2"
        " more seeds as its lead or deficit was within its interval: 0.450 (seed 1), 0.880"
        " (seed 2); a gap one seed reverses counts as none." in " ".join(v.reasons)
    )
    v_kept = decide([lora([0.85, 0.88]), result("few_shot_knn", KNN)])
    assert v_kept.recommended == "lora" and v_kept.drivers == ["quality"]


def test_a_deficit_another_seed_reverses_is_not_a_deficit():
    alt = Option("few_shot_knn", 0.9, 0.8, 1.0)
    tuned = Option("lora", 0.5, 0.35, 0.65, trains=True, seed_scores=(0.55, 0.92))
    assert seeds_reverse(alt, tuned) is True
    assert seeds_reverse(alt, Option("lora", 0.5, 0.35, 0.65, trains=True, seed_scores=(0.6,)))\
        is False
    assert seeds_reverse(alt, Option("lora", 0.5, 0.35, 0.65, trains=True)) is False
    # The margin counts as for the paired test: within it, equal.
    leader = Option("lora", 0.9, 0.8, 1.0, trains=True, seed_scores=(0.55,))
    assert seeds_reverse(leader, Option("knn", 0.5, 0.4, 0.6), margin=0.05) is True
    assert seeds_reverse(leader, Option("knn", 0.49, 0.4, 0.6), margin=0.05) is False
