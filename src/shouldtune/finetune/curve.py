"""Learning-curve points and the plain statement whether more data is likely to help."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..core.stats import bootstrap_ci, level_label, paired_difference_ci

# A gain from the previous point to the full set at least this large, even when not
# significant on a small test set, is reported as "probably still rising".
MATERIAL_GAIN = 0.05


def curve_point(
    fraction: float, n_train: int, scores: Sequence[float], n_resamples: int, seed: int
) -> dict[str, Any]:
    mean, lo, hi = bootstrap_ci(scores, n_resamples, seed)
    return {
        "fraction": fraction,
        "n_train": n_train,
        "score": round(mean, 4),
        "ci_low": round(lo, 4),
        "ci_high": round(hi, 4),
    }


def curve_trend(scores: Sequence[Sequence[float]], seed: int = 0) -> str:
    """'rising' (the last step gained significantly), 'probably_rising' (a material gain the
    test set cannot confirm) or 'flat', from the per-example scores of the last two points."""
    if len(scores) < 2:
        return "unknown"
    diff, lo, _ = paired_difference_ci(scores[-1], scores[-2], seed=seed)
    if lo > 0:
        return "rising"
    return "probably_rising" if diff >= MATERIAL_GAIN else "flat"


def curve_statement(
    points: Sequence[dict[str, Any]], scores: Sequence[Sequence[float]], seed: int = 0
) -> str:
    """Compare the last two points (paired over the same test examples)."""
    if len(points) < 2:
        return "Learning curve needs at least two training-set sizes."
    prev, last = points[-2], points[-1]
    diff, lo, hi = paired_difference_ci(scores[-1], scores[-2], seed=seed)
    went = (
        f"the score went from {prev['score']:.3f} with {prev['n_train']} training examples "
        f"to {last['score']:.3f} with {last['n_train']} ({diff:+.3f}, {level_label()} CI"
        f" {lo:+.3f} to {hi:+.3f})"
    )
    if lo > 0:
        return f"Still rising: {went}. More data of this kind is likely to help."
    if diff >= MATERIAL_GAIN:
        return (
            f"Probably still rising: {went}, but the interval includes no gain. More data may "
            "help; a larger test set would tell."
        )
    return (
        f"Flat: {went}. More data of the same kind is unlikely to help much; better data or "
        "another strategy is the lever."
    )
