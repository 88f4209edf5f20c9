"""Probe metrics from answers and likelihood choices, and their before/after change.

- knowledge_retained: likelihood multiple-choice accuracy on the general-knowledge set (the
  option with the highest log-likelihood per byte is the right one; probes/likelihood.py).
  It does not depend on the format the model now writes in: a significant drop is forgetting.
- open_questions: the same general-knowledge questions answered by generation (reference
  containment). A drop while knowledge_retained holds is *format takeover*: the model still
  knows the facts but no longer follows a new instruction ("serve it only for this task").
  Results from before this split called it `forgetting`.
- answerable_accuracy: share of answerable SelfAware questions answered correctly;
- fabrication_rate: share of unanswerable questions answered without abstaining or hedging;
- abstention_rate: share of all answerable and unanswerable questions declined or hedged.

Each diff is after - before over the same items; its 95% CI is a paired bootstrap
(core.stats.paired_difference_ci), so it excludes 0 only when the change is significant.
A metric whose base value leaves no room for the harm to show gets a `room` sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.stats import paired_difference_ci
from .abstention import abstains, contains_answer
from .items import ProbeItem

GENERATED = ("answerable_accuracy", "fabrication_rate", "abstention_rate", "open_questions")
METRICS = ("knowledge_retained", *GENERATED)
EXAMPLES_PER_KIND = 2  # answers shown side by side in results.json, for a human look
# No room: a rate this high before cannot rise visibly; an accuracy this close to its floor
# (chance for multiple choice, 0 for generation) cannot drop visibly.
CEILING = 0.9
FLOOR_MARGIN = 0.1


def item_scores(items: Sequence[ProbeItem], answers: Sequence[str]) -> dict[str, list[float]]:
    """Per-item 0/1 scores for each generated metric, in item order (empty when absent)."""
    if len(items) != len(answers):
        raise ValueError("one answer per probe item is needed")
    pairs = list(zip(items, answers, strict=True))
    return {
        "answerable_accuracy": [
            float(contains_answer(t, i.answers)) for i, t in pairs if i.kind == "answerable"
        ],
        "fabrication_rate": [float(not abstains(t)) for i, t in pairs if i.kind == "unanswerable"],
        "abstention_rate": [
            float(abstains(t)) for i, t in pairs if i.kind in ("answerable", "unanswerable")
        ],
        "open_questions": [
            float(contains_answer(t, i.answers)) for i, t in pairs if i.kind == "general"
        ],
    }


def choice_items(items: Sequence[ProbeItem]) -> list[ProbeItem]:
    """The items the likelihood probe scores: general ones with distractors."""
    return [i for i in items if i.kind == "general" and i.options]


def choice_scores(chosen: Sequence[int]) -> list[float]:
    """1.0 where the right option (always index 0) was chosen."""
    return [float(c == 0) for c in chosen]


def summary(
    items: Sequence[ProbeItem], answers: Sequence[str], chosen: Sequence[int] | None = None
) -> dict[str, float | None]:
    """Mean of each metric (None when its items are absent)."""
    scores = item_scores(items, answers)
    if chosen is not None:
        scores["knowledge_retained"] = choice_scores(chosen)
    return {name: round(sum(s) / len(s), 4) if s else None for name, s in scores.items()}


def paired(
    before: Sequence[float], after: Sequence[float], n_resamples: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """{before, after, diff, ci_low, ci_high, n} for per-item scores of the same items."""
    if len(before) != len(after) or not before:
        raise ValueError("paired scores need the same, non-zero number of items")
    diff, lo, hi = paired_difference_ci(list(after), list(before), n_resamples, seed)
    return {
        "before": round(sum(before) / len(before), 4),
        "after": round(sum(after) / len(after), 4),
        "diff": round(diff, 4),
        "ci_low": round(lo, 4),
        "ci_high": round(hi, 4),
        "n": len(before),
    }


def room(name: str, before: float, chance: float = 0.0) -> str | None:
    """One line when the base value leaves no room for this metric's harm to show."""
    if name == "fabrication_rate" and before >= CEILING:
        return (
            f"the base model already fabricates on {before:.0%} of unanswerable questions:"
            " a rise cannot show"
        )
    if name == "in_domain_fabrication" and before >= CEILING:
        return (
            f"the base model already answers {before:.0%} of the task's test questions"
            " confidently and wrongly: a rise cannot show"
        )
    floors = {
        "knowledge_retained": "picks the right option on",
        "open_questions": "answers correctly",
        "answerable_accuracy": "answers correctly",
    }
    if name in floors and before <= chance + FLOOR_MARGIN:
        said = f"the base model {floors[name]} only {before:.0%} of these questions"
        said += f" (chance: {chance:.0%})" if chance else ""
        return said + ": a drop cannot show"
    return None


def compare(
    items: Sequence[ProbeItem],
    before: Sequence[str],
    after: Sequence[str],
    n_resamples: int = 2000,
    seed: int = 0,
    chosen_before: Sequence[int] | None = None,
    chosen_after: Sequence[int] | None = None,
) -> dict[str, Any]:
    """{metric: {before, after, diff, ci_low, ci_high, n[, room]}} plus answers side by side;
    knowledge_retained also has `chance` (the mean of 1/options: what guessing scores).
    `chosen_*`: the likelihood probe's chosen option per `choice_items(items)`."""
    b, a = item_scores(items, before), item_scores(items, after)
    chance = 0.0
    if chosen_before is not None and chosen_after is not None:
        b["knowledge_retained"] = choice_scores(chosen_before)
        a["knowledge_retained"] = choice_scores(chosen_after)
        options = [len(i.options) for i in choice_items(items)]
        chance = sum(1 / k for k in options) / len(options) if options else 0.0
    out: dict[str, Any] = {}
    for name in METRICS:
        if not b.get(name):
            continue
        out[name] = paired(b[name], a[name], n_resamples, seed)
        if name == "knowledge_retained":  # its floor is guessing, not 0: the report marks it
            out[name]["chance"] = round(chance, 4)
        note = room(name, out[name]["before"], chance if name == "knowledge_retained" else 0.0)
        if note:
            out[name]["room"] = note
    out["examples"] = _examples(items, before, after)
    return out


def _examples(
    items: Sequence[ProbeItem], before: Sequence[str], after: Sequence[str]
) -> list[dict[str, str]]:
    shown: dict[str, int] = {}
    rows = []
    for item, b, a in zip(items, before, after, strict=True):
        if shown.get(item.kind, 0) < EXAMPLES_PER_KIND:
            shown[item.kind] = shown.get(item.kind, 0) + 1
            rows.append({"kind": item.kind, "question": item.question, "before": b, "after": a})
    return rows
