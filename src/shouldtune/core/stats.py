"""Bootstrap confidence intervals over per-example scores."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _resample_means(values: np.ndarray, n_resamples: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(values), size=(n_resamples, len(values)))
    return values[idx].mean(axis=1)


def bootstrap_ci(
    scores: Sequence[float], n_resamples: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float, float]:
    """Mean and percentile-bootstrap CI of the mean."""
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return 0.0, 0.0, 0.0
    means = _resample_means(values, n_resamples, seed)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return float(values.mean()), float(lo), float(hi)


def paired_difference_ci(
    a: Sequence[float], b: Sequence[float], n_resamples: int = 2000, seed: int = 0
) -> tuple[float, float, float]:
    """Mean of a - b over the same examples, with a paired-bootstrap 95% CI."""
    if len(a) != len(b):
        raise ValueError("paired scores must cover the same examples")
    return bootstrap_ci(np.asarray(a, float) - np.asarray(b, float), n_resamples, seed)


def significantly_better(a: Sequence[float], b: Sequence[float], seed: int = 0) -> bool:
    """True when the 95% CI of mean(a - b) lies entirely above zero."""
    _, lo, _ = paired_difference_ci(a, b, seed=seed)
    return lo > 0
