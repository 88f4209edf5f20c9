"""Bootstrap confidence intervals over per-example scores, and paired comparisons.

Percentile bootstrap (Efron & Tibshirani 1993, ch. 13): resample the test examples with
replacement, take the mean each time, read the interval off the quantiles. Paired: the same
resampled examples for both strategies, i.e. the bootstrap of per-example differences, which
is what tells two strategies apart on one shared test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95  # every interval shouldtune reports; the report prints it from here
BOOTSTRAP_SAMPLES = 2000


def level_label() -> str:
    """CONFIDENCE as every reader sees it ("95%"), read when called rather than copied."""
    return f"{CONFIDENCE:.0%}"


def _resample_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_resamples, len(values)))
    return values[idx].mean(axis=1)


def bootstrap_ci(
    scores: Sequence[float],
    n_resamples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
    level: float = CONFIDENCE,
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap CI of the mean."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return 0.0, 0.0, 0.0
    means = _resample_means(values, n_resamples, seed)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(lo), float(hi)


@dataclass(frozen=True)
class Paired:
    """mean(a - b) over the same examples with its paired-bootstrap interval."""

    diff: float
    ci_low: float
    ci_high: float

    @property
    def significantly_above(self) -> bool:
        """a is better than b: the whole interval lies above zero."""
        return self.ci_low > 0

    @property
    def significantly_below(self) -> bool:
        return self.ci_high < 0

    @property
    def significant(self) -> bool:
        return self.significantly_above or self.significantly_below

    def sentence(self) -> str:
        level = level_label()
        return (
            f"paired difference {self.diff:+.3f}, {level} CI {self.ci_low:+.3f} to"
            f" {self.ci_high:+.3f}"
        )


def paired(
    a: Sequence[float],
    b: Sequence[float],
    n_resamples: int = BOOTSTRAP_SAMPLES,
    seed: int = 0,
) -> Paired:
    """a - b over the same examples, with a paired-bootstrap CI at CONFIDENCE."""
    if len(a) != len(b):
        raise ValueError("paired scores must cover the same examples")
    diff = np.asarray(a, float) - np.asarray(b, float)
    return Paired(*bootstrap_ci(diff, n_resamples, seed))


def paired_difference_ci(
    a: Sequence[float], b: Sequence[float], n_resamples: int = BOOTSTRAP_SAMPLES, seed: int = 0
) -> tuple[float, float, float]:
    """The same as `paired`, as a plain tuple (diff, low, high) for table code."""
    p = paired(a, b, n_resamples, seed)
    return p.diff, p.ci_low, p.ci_high
