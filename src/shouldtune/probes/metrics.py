"""Probe metrics from answers, and their before/after change with a paired-bootstrap CI.

- answerable_accuracy: share of answerable questions answered correctly (containment);
- fabrication_rate: share of unanswerable questions answered without abstaining;
- abstention_rate: share of all answerable and unanswerable questions the model declines;
- forgetting: accuracy on the general-knowledge set (a negative diff is what was forgotten).

Each diff is after - before over the same items; its 95% CI is a paired bootstrap
(core.stats.paired_difference_ci), so it excludes 0 only when the change is significant.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.stats import paired_difference_ci
from .abstention import abstains, contains_answer
from .forgetting import retained
from .items import ProbeItem

METRICS = ("answerable_accuracy", "fabrication_rate", "abstention_rate", "forgetting")
EXAMPLES_PER_KIND = 2  # answers shown side by side in results.json, for a human look


def item_scores(items: Sequence[ProbeItem], answers: Sequence[str]) -> dict[str, list[float]]:
    """Per-item 0/1 scores for each metric, in item order (empty when a kind is absent)."""
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
        "forgetting": retained(items, answers),
    }


def summary(items: Sequence[ProbeItem], answers: Sequence[str]) -> dict[str, float | None]:
    """Mean of each metric (None when its items are absent)."""
    return {
        name: round(sum(s) / len(s), 4) if s else None
        for name, s in item_scores(items, answers).items()
    }


def compare(
    items: Sequence[ProbeItem],
    before: Sequence[str],
    after: Sequence[str],
    n_resamples: int = 2000,
    seed: int = 0,
) -> dict[str, Any]:
    """{metric: {before, after, diff, ci_low, ci_high, n}} plus a few answers side by side."""
    b, a = item_scores(items, before), item_scores(items, after)
    out: dict[str, Any] = {}
    for name in METRICS:
        if not b[name]:
            continue
        diff, lo, hi = paired_difference_ci(a[name], b[name], n_resamples, seed)
        out[name] = {
            "before": round(sum(b[name]) / len(b[name]), 4),
            "after": round(sum(a[name]) / len(a[name]), 4),
            "diff": round(diff, 4),
            "ci_low": round(lo, 4),
            "ci_high": round(hi, 4),
            "n": len(b[name]),
        }
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
