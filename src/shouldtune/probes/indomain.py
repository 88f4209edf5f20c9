"""In-domain hallucination: on the task's own held-out questions, how often does the model
answer confidently and wrongly, before (the base model, zero-shot) and after a fine-tune?

Gekhman et al. (2024) measure the hallucination that fine-tuning on new facts causes on the
task's own kind of question, not on trivia. Per held-out test row:

- *abstains*: the answer declines or hedges (`abstention.abstains`);
- *fabricates*: it does not abstain and its score under the task's metric is below
  `CORRECT_AT` (a confident wrong answer).

Pure: texts and per-row scores in, paired before/after changes out (no model, no torch). The
caller passes the base model's zero-shot predictions and each fine-tune's predictions on the
same clean test rows, in the same order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .abstention import abstains
from .metrics import paired, room

CORRECT_AT = 0.5


def row_flags(texts: Sequence[str], scores: Sequence[float]) -> tuple[list[float], list[float]]:
    """(fabricates, abstains) per row, as 0/1."""
    if len(texts) != len(scores):
        raise ValueError(f"{len(texts)} answers for {len(scores)} scores")
    held = [abstains(t) for t in texts]
    fab = [float(not a and s < CORRECT_AT) for a, s in zip(held, scores, strict=True)]
    return fab, [float(a) for a in held]


def in_domain(
    before_texts: Sequence[str],
    before_scores: Sequence[float],
    after_texts: Sequence[str],
    after_scores: Sequence[float],
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """{"in_domain_fabrication": {...}, "in_domain_abstention": {...}}, each {before, after,
    diff, ci_low, ci_high, n} (plus `room` when the base model leaves no room for a rise)."""
    if len(before_texts) != len(after_texts):
        raise ValueError("before and after must answer the same test rows")
    if not before_texts:
        return {}
    fab_b, abst_b = row_flags(before_texts, before_scores)
    fab_a, abst_a = row_flags(after_texts, after_scores)
    fabrication = paired(fab_b, fab_a, n_resamples, seed)
    note = room("in_domain_fabrication", fabrication["before"])
    if note:
        fabrication["room"] = note
    return {
        "in_domain_fabrication": fabrication,
        "in_domain_abstention": paired(abst_b, abst_a, n_resamples, seed),
    }
